namespace Custodian.Access;
