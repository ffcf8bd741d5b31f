namespace Custodian.Monitoring;
