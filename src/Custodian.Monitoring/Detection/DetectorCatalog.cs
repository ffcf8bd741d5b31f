using System.Collections.Frozen;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// The one list of the monitor's detectors: each stable name (as stored in <see cref="Alert.Detector"/>, the
/// ledger and incident scopes) with a short English title (the SIEM's OCSF 2004 <c>finding_info.title</c>,
/// docs/siem.md). The detectors and what they measure are in docs/monitoring.md "Detectors and their defaults".
/// Ordered as that table. Immutable and thread-safe.
/// </summary>
public static class DetectorCatalog
{
    /// <summary>The detectors' stable names with their titles, in the order of docs/monitoring.md (11 entries).</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> All =
    [
        new(OpenLookupsDetector.DetectorName, "Customers looked up and not served"),
        new(BaselineDetector.DetectorName, "Reads far above the clerk's or peers' baseline"),
        new(TimingDetector.DetectorName, "Machine-like or off-hours reads"),
        new(EnumerationDetector.DetectorName, "Phone-number enumeration"),
        new(IdentityDetector.DetectorName, "Account possibly used by someone else"),
        new(WatchListDetector.DetectorName, "Watch-listed subscriber read"),
        new(HouseholdDetector.DetectorName, "Own household looked up"),
        new(TargetingDetector.DetectorName, "Contract-ending or other-area subscribers targeted"),
        new(CollusionDetector.DetectorName, "Same subscribers looked up with a clerk of another store"),
        new(SideLookupsDetector.DetectorName, "Side lookups during another customer's service"),
        new(DistinctSubjectsDetector.DetectorName, "Distinct-subscriber limit exceeded"),
    ];

    private static readonly FrozenDictionary<string, string> Titles = All.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The stable names of <see cref="All"/>, ordinal.</summary>
    public static readonly FrozenSet<string> Names = All.Select(d => d.Key).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="name"/> is a detector's stable name (ordinal, case-sensitive).</summary>
    /// <param name="name">A candidate name; null is not one.</param>
    /// <returns>True when it is in <see cref="All"/>.</returns>
    public static bool IsKnown(string? name) => name is not null && Titles.ContainsKey(name);

    /// <summary>The title of the detector <paramref name="name"/>, or null when it is not one of <see cref="All"/>.</summary>
    /// <param name="name">A detector's stable name.</param>
    /// <returns>The title, e.g. "Machine-like or off-hours reads" for <c>machine-timing</c>.</returns>
    public static string? TitleOf(string? name) => name is not null && Titles.TryGetValue(name, out var title) ? title : null;
}
