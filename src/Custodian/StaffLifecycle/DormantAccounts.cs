using System.ComponentModel.DataAnnotations;
using Custodian.Access.Sessions;
using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Ledger;
using Microsoft.Extensions.Options;

namespace Custodian.StaffLifecycle;

/// <summary>
/// Settings of the daily dormant-account run inside <c>custodian serve</c> (section <c>Custodian:DormantAccounts</c>,
/// e.g. env <c>Custodian__DormantAccounts__Days=60</c>). PIPA safety standard Art. 5: access rights of people who no
/// longer use them are revoked. Validated at start: a bad value stops the server naming the setting.
/// </summary>
public sealed class DormantAccountOptions
{
    /// <summary>Configuration section under <c>Custodian</c>.</summary>
    public const string Section = "DormantAccounts";

    /// <summary>Whether <c>serve</c> runs the job; false leaves it to <c>custodian staff disable-dormant</c> (cron).</summary>
    /// <value>The default is true.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>An active account with no sign-in for this many days (counted from creation when it never signed in) is disabled.</summary>
    /// <value>The default is 90 days (the same as <c>staff disable-dormant --days</c>); allowed 1 to 3650.</value>
    [Range(1, 3650)]
    public int Days { get; set; } = 90;

    /// <summary>How often the job runs; the first run is one interval after the start.</summary>
    /// <value>The default is 1 day; allowed 1 minute to 7 days.</value>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(1);
}

/// <summary>Source-generated validator of the data annotations on <see cref="DormantAccountOptions"/>.</summary>
[OptionsValidator]
public sealed partial class DormantAccountOptionsValidator : IValidateOptions<DormantAccountOptions>
{
}

/// <summary>
/// Disables dormant accounts (<see cref="StaffDirectory.DisableDormantAsync"/>), ends their sessions and records each as
/// a <see cref="AccessTask.StaffDisabled"/> entry ("dormant: no sign-in for N days", target the account). One code path
/// for <c>custodian staff disable-dormant</c> and the daily <see cref="DormantAccountService"/>.
/// </summary>
/// <param name="staff">Staff accounts.</param>
/// <param name="sessions">Sessions of this process (a running server's are ended on the account's next request, docs/access.md §6.1).</param>
/// <param name="ledger">Where each disabling is recorded.</param>
/// <param name="time">Clock.</param>
public sealed class DormantAccounts(StaffDirectory staff, SessionStore sessions, IAccessLedger ledger, TimeProvider time)
{
    /// <summary>Disables every active account with no sign-in for <paramref name="days"/> days.</summary>
    /// <param name="days">The dormancy period in days, 1–3650.</param>
    /// <param name="operator">The account recorded as having disabled them (the CLI's local operator, or <see cref="ServerOperator"/>).</param>
    /// <param name="cancellationToken">Cancels between accounts.</param>
    /// <returns>The accounts disabled, ordered.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="days"/> is outside 1–3650.</exception>
    /// <exception cref="LedgerUnavailableException">When a disabling could not be recorded (the account stays disabled; the next run does not repeat it).</exception>
    public async Task<IReadOnlyList<string>> DisableAsync(int days, string @operator, CancellationToken cancellationToken = default) =>
        (await RunAsync(days, @operator, cancellationToken)).Disabled;

    /// <summary>
    /// <see cref="DisableAsync"/>, also telling which dormant security officer was kept because it is the last active one
    /// (<see cref="DormantRun.KeptOfficer"/>, event 3312).
    /// </summary>
    /// <param name="days">The dormancy period in days, 1–3650.</param>
    /// <param name="operator">The account recorded as having disabled them (the CLI's local operator, or <see cref="ServerOperator"/>).</param>
    /// <param name="cancellationToken">Cancels between accounts.</param>
    /// <returns>The accounts disabled, ordered, and the officer kept (null when none).</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="days"/> is outside 1–3650.</exception>
    /// <exception cref="LedgerUnavailableException">When a disabling could not be recorded (the account stays disabled; the next run does not repeat it).</exception>
    public async Task<DormantRun> RunAsync(int days, string @operator, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(days, 3650);
        var run = await staff.DisableDormantRunAsync(TimeSpan.FromDays(days));
        var disabled = run.Disabled;
        foreach (var account in disabled)
        {
            sessions.RevokeAccount(account);
            await ledger.AppendAsync(
                new AccessEntry
                {
                    Time = time.GetUtcNow(),
                    Task = AccessTask.StaffDisabled,
                    Outcome = AccessOutcome.Allowed,
                    Account = @operator,
                    Role = StaffRole.SecurityOfficer,
                    Target = account,
                    Reason = $"dormant: no sign-in for {days} days",
                },
                cancellationToken);
        }

        return run;
    }

    /// <summary>The account recorded for the server's own daily run: <c>dormant-account-job</c>.</summary>
    public const string ServerOperator = "dormant-account-job";
}
