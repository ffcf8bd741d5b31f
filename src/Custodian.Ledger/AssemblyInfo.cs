namespace Custodian.Ledger;
