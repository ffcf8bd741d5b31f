using System.Globalization;
using Custodian.Identity;
using Custodian.Ledger;

namespace Custodian.Monitoring;

/// <summary>
/// What the embedded <see cref="AccessMonitor"/> and the sharded monitor workers (docs/events.md, "Monitor workers") do
/// alike with a hard-limit breach of <see cref="DistinctSubjectsDetector"/>: the alert, the finding's wording, whom it
/// suspends, and the monitor's own ledger entries. One place, so both modes raise the same alerts with the same text.
/// </summary>
public static class HardLimitBreaches
{
    /// <summary>The longest reason a monitor entry or suspension carries, in characters (the ledger's reason limit).</summary>
    public const int MaxReasonLength = 500;

    /// <summary>
    /// The alert for <paramref name="breach"/>: the detector's name, the breaching principal, the window, counts and
    /// evidence; <see cref="AlertSeverity.Critical"/> at twice the limit or more, otherwise <see cref="AlertSeverity.High"/>.
    /// </summary>
    /// <param name="detector">The detector that found the breach (its evidence is read).</param>
    /// <param name="breach">The breach.</param>
    /// <param name="store">The breaching entry's store, or null.</param>
    public static NewAlert Alert(DistinctSubjectsDetector detector, DetectorBreach breach, string? store)
    {
        ArgumentNullException.ThrowIfNull(detector);
        return new NewAlert(
            DistinctSubjectsDetector.DetectorName,
            breach.Principal,
            store,
            breach.Window,
            breach.Observed,
            breach.Limit,
            detector.GetEvidence(breach),
            breach.Observed >= 2L * breach.Limit ? AlertSeverity.Critical : AlertSeverity.High);
    }

    /// <summary>The finding in words, e.g. <c>distinct-subjects: clerk:c1 read 13 distinct subscribers within 3600 s, over the clerk limit of 12</c>.</summary>
    /// <param name="detectorName">The alert's detector name.</param>
    /// <param name="breach">The breach.</param>
    public static string Finding(string detectorName, DetectorBreach breach) => string.Create(
        CultureInfo.InvariantCulture,
        $"{detectorName}: {breach.Principal} read {breach.Observed} distinct subscribers within {(long)breach.Window.TotalSeconds} s, over the {breach.Principal.Kind.ToName()} limit of {breach.Limit}");

    /// <summary>Whom a breach suspends: the clerk AND the terminal of the breaching entry (each when the entry names it).</summary>
    /// <param name="entry">The breaching entry.</param>
    /// <returns>0–2 principals, clerk first.</returns>
    public static List<Principal> Targets(AccessEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var targets = new List<Principal>(2);
        if (entry.Account is not null)
        {
            targets.Add(new Principal(PrincipalKind.Clerk, entry.Account));
        }

        if (entry.Terminal is not null)
        {
            targets.Add(new Principal(PrincipalKind.Terminal, entry.Terminal));
        }

        return targets;
    }

    /// <summary>The suspension's reason for <paramref name="target"/>, truncated to <see cref="MaxReasonLength"/>.</summary>
    /// <param name="finding">From <see cref="Finding"/>.</param>
    /// <param name="target">The principal suspended.</param>
    /// <param name="breaching">The principal that breached (the other target is "suspended with it").</param>
    /// <param name="alertReference">The alert's ID, or words saying it was not stored.</param>
    public static string SuspensionReason(string finding, Principal target, Principal breaching, string alertReference) =>
        Truncate(target == breaching ? $"{finding} (alert {alertReference})." : $"{finding}; suspended with it (alert {alertReference}).");

    /// <summary>A ledger entry written by the monitor itself (account <see cref="AccessMonitor.MonitorAccount"/>, outcome allowed).</summary>
    /// <param name="time">When, from the monitor's <see cref="TimeProvider"/>.</param>
    /// <param name="task">What the monitor did (<see cref="AccessTask.AlertRaised"/>, <see cref="AccessTask.Suspended"/>, ...).</param>
    /// <param name="store">The store concerned, or null.</param>
    /// <param name="target">The alert or principal acted on.</param>
    /// <param name="reason">Why; truncated to <see cref="MaxReasonLength"/>.</param>
    public static AccessEntry MonitorEntry(DateTimeOffset time, AccessTask task, string? store, string target, string? reason) => new()
    {
        Time = time,
        Task = task,
        Outcome = AccessOutcome.Allowed,
        Account = AccessMonitor.MonitorAccount,
        Store = store,
        Target = target,
        Reason = reason is null ? null : Truncate(reason),
    };

    /// <summary><paramref name="text"/> cut to at most <see cref="MaxReasonLength"/> characters.</summary>
    public static string Truncate(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length <= MaxReasonLength ? text : text[..MaxReasonLength];
    }
}
