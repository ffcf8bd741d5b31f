namespace Custodian.Siem.Ocsf;

/// <summary>
/// How an officer, administrator or system action of the access ledger becomes an OCSF 1.8.0 6003 API Activity event
/// (the table is docs/siem.md §1, "API Activity").
/// </summary>
/// <param name="ActivityId">OCSF <c>activity_id</c>: 1 Create, 2 Read, 3 Update, 4 Delete or 99 Other.</param>
/// <param name="ActivityName">OCSF <c>activity_name</c>: <c>Create</c>, <c>Read</c>, <c>Update</c>, <c>Delete</c>, or the ledger task name for 99 Other.</param>
/// <param name="ResourceType">The <c>resources[0].type</c> of the event when the entry has a target, e.g. <c>staff-account</c>, <c>terminal</c>, <c>alert</c>, <c>incident</c>, <c>claim</c>.</param>
public sealed record ApiActivityMapping(int ActivityId, string ActivityName, string ResourceType);
