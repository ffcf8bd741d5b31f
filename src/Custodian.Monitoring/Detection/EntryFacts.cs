using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>Small predicates over ledger entries shared by the detectors.</summary>
internal static class EntryFacts
{
    /// <summary>An allowed read of personal data that returned at least one subscriber.</summary>
    public static bool IsRead(AccessEntry e) =>
        e.Outcome == AccessOutcome.Allowed && e.Task.ReadsPersonalData() && e.Subjects.Count > 0;

    /// <summary>A search that found nobody: allowed with no subjects, or refused as a malformed phone number.</summary>
    public static bool IsNotFoundSearch(AccessEntry e) =>
        e.Task == AccessTask.Search && e.Account is not null
        && ((e.Outcome == AccessOutcome.Allowed && e.Subjects.Count == 0)
            || (e.Outcome == AccessOutcome.Denied && e.ErrorCode is "phone-invalid" or "validation-failed"));

    public static Principal? Clerk(AccessEntry e) => e.Account is null ? null : new Principal(PrincipalKind.Clerk, e.Account);

    public static Principal? Terminal(AccessEntry e) => e.Terminal is null ? null : new Principal(PrincipalKind.Terminal, e.Terminal);

    public static IReadOnlyList<long> Evidence(IEnumerable<long> sequences)
    {
        var sorted = sequences.Where(s => s >= 0).Distinct().Order().ToList();
        return sorted.Count <= Finding.MaxEvidence ? sorted : sorted.GetRange(sorted.Count - Finding.MaxEvidence, Finding.MaxEvidence);
    }
}
