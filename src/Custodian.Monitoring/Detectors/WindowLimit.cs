using System.ComponentModel.DataAnnotations;

namespace Custodian.Monitoring;

/// <summary>
/// One sliding window of <see cref="DistinctSubjectsDetector"/> and its limits: a principal breaches the
/// window when the number of DISTINCT subscribers it read in the last <see cref="Window"/> EXCEEDS its limit
/// (so a limit of 12 allows 12 and alerts on the 13th). Defaults and their derivation: docs/monitoring.md.
/// </summary>
/// <param name="Window">Length of the window, 1 minute to 7 days. An entry at ledger time <c>t</c> is inside the window ending at <c>now</c> when <c>now − t &lt; Window</c> (millisecond resolution).</param>
/// <param name="ClerkLimit">Most distinct subscribers one staff account may read within <see cref="Window"/>, 1–1,000,000.</param>
/// <param name="TerminalLimit">Most distinct subscribers one terminal may read within <see cref="Window"/>, 1–1,000,000.</param>
public sealed record WindowLimit(
    [property: Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")] TimeSpan Window,
    [property: Range(1, 1_000_000)] int ClerkLimit,
    [property: Range(1, 1_000_000)] int TerminalLimit)
{
    /// <summary>The limit that applies to <paramref name="kind"/>.</summary>
    public int LimitFor(PrincipalKind kind) => kind == PrincipalKind.Clerk ? ClerkLimit : TerminalLimit;
}
