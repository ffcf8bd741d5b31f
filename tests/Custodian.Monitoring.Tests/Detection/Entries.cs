using Custodian.Identity;
using Custodian.Ledger;

namespace Custodian.Monitoring.Tests.Detection;

/// <summary>Builds ledger-shaped entries for detector tests.</summary>
internal static class Entries
{
    /// <summary>2026-11-02 12:00 store-local (UTC+9), a Monday inside store hours.</summary>
    public static readonly DateTimeOffset Noon = new(2026, 11, 2, 12, 0, 0, TimeSpan.FromHours(9));

    public static AccessEntry Read(DateTimeOffset at, string clerk, AccessTask task, params long[] subjects) => new()
    {
        Time = at,
        Task = task,
        Outcome = AccessOutcome.Allowed,
        Account = clerk,
        Role = StaffRole.Clerk,
        Terminal = "T-" + clerk,
        Store = "S001",
        Subjects = [.. subjects.Select(s => new SubscriberId(s))],
    };

    public static AccessEntry Served(DateTimeOffset at, string clerk, params long[] subjects) => Read(at, clerk, AccessTask.ServiceComplete, subjects);
}
