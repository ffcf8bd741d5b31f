namespace Custodian.Protection;
