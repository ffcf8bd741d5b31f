namespace Custodian.Monitoring;

/// <summary>Where an alert stands in the officer's review. Stored by the names from <see cref="AlertStates.ToName"/>.</summary>
public enum AlertState
{
    /// <summary>Raised, not yet reviewed.</summary>
    Open = 1,

    /// <summary>An officer has seen it and is investigating.</summary>
    Acknowledged = 2,

    /// <summary>An officer judged it not to be misuse. Final.</summary>
    FalsePositive = 3,

    /// <summary>An officer confirmed misuse (an incident may follow). Final.</summary>
    Confirmed = 4,

    /// <summary>The suspended principal was restored by an officer (<see cref="AccessMonitor.RestoreAsync"/>). Final.</summary>
    Restored = 5,
}

/// <summary>Stable names of <see cref="AlertState"/>: <c>open</c>, <c>acknowledged</c>, <c>false-positive</c>, <c>confirmed</c>, <c>restored</c>.</summary>
public static class AlertStates
{
    /// <summary>The stable name.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For a value outside the enum.</exception>
    public static string ToName(this AlertState state) => state switch
    {
        AlertState.Open => "open",
        AlertState.Acknowledged => "acknowledged",
        AlertState.FalsePositive => "false-positive",
        AlertState.Confirmed => "confirmed",
        AlertState.Restored => "restored",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    /// <summary>Parses a stable name (exact, lower case); false for anything else.</summary>
    public static bool TryParse(string? name, out AlertState state)
    {
        foreach (var candidate in Enum.GetValues<AlertState>())
        {
            if (string.Equals(candidate.ToName(), name, StringComparison.Ordinal))
            {
                state = candidate;
                return true;
            }
        }

        state = default;
        return false;
    }

    /// <summary>Whether the state is final (false-positive, confirmed or restored): no further transition is accepted.</summary>
    public static bool IsFinal(this AlertState state) => state is AlertState.FalsePositive or AlertState.Confirmed or AlertState.Restored;
}

/// <summary>How urgent an alert is. Stored by its lower-case name (<c>low</c>, <c>medium</c>, <c>high</c>, <c>critical</c>).</summary>
public enum AlertSeverity
{
    /// <summary>Informational.</summary>
    Low = 1,

    /// <summary>Review within the monthly cycle.</summary>
    Medium = 2,

    /// <summary>Review now: the principal was suspended automatically.</summary>
    High = 3,

    /// <summary>Review now: the principal was suspended and the count is at least twice the limit (a bulk read in one go).</summary>
    Critical = 4,
}

/// <summary>Stable names of <see cref="AlertSeverity"/>.</summary>
public static class AlertSeverities
{
    /// <summary>The stable name: <c>low</c>, <c>medium</c>, <c>high</c> or <c>critical</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For a value outside the enum.</exception>
    public static string ToName(this AlertSeverity severity) => severity switch
    {
        AlertSeverity.Low => "low",
        AlertSeverity.Medium => "medium",
        AlertSeverity.High => "high",
        AlertSeverity.Critical => "critical",
        _ => throw new ArgumentOutOfRangeException(nameof(severity)),
    };

    /// <summary>Parses a stable name; false for anything else.</summary>
    public static bool TryParse(string? name, out AlertSeverity severity)
    {
        foreach (var candidate in Enum.GetValues<AlertSeverity>())
        {
            if (string.Equals(candidate.ToName(), name, StringComparison.Ordinal))
            {
                severity = candidate;
                return true;
            }
        }

        severity = default;
        return false;
    }
}

/// <summary>
/// What an alert rests on: ledger sequences, never subscriber IDs (fetch the entries from the ledger to see whose
/// data was read). Stored as JSON <c>{"first":…,"last":…,"total":…,"sequences":[…]}</c>.
/// </summary>
/// <param name="FirstSequence">Lowest sequence in <paramref name="Sequences"/> before capping (the earliest entry that keeps a subscriber in the window).</param>
/// <param name="LastSequence">The breaching entry's sequence.</param>
/// <param name="Sequences">Sequences of the entries that put each distinct subscriber in the window, ascending; the newest <see cref="MaxSequences"/> when there are more.</param>
/// <param name="TotalSequences">How many distinct sequences there were before capping.</param>
public sealed record AlertEvidence(long FirstSequence, long LastSequence, IReadOnlyList<long> Sequences, int TotalSequences)
{
    /// <summary>Most sequences kept in <see cref="Sequences"/>.</summary>
    public const int MaxSequences = 200;

    /// <summary>
    /// What the detector judged against, for detectors other than the hard limits: the baseline and peer statistics
    /// (e.g. <c>orphans-7d 41: own median 20, MAD 3, threshold 42.2; peers (11) median 19, MAD 4, threshold 48.7</c>)
    /// and the principal's combined risk. Numbers and detector vocabulary only, never personal data. Null when none;
    /// stored as the evidence JSON's optional <c>detail</c> member.
    /// </summary>
    public string? Detail { get; init; }

    /// <summary>
    /// The monitor action the detection decision behind the alert took (<see cref="Detection.MonitorAction.Alert"/>,
    /// <see cref="Detection.MonitorAction.StepUp"/> or <see cref="Detection.MonitorAction.Suspend"/>), so that a later decision
    /// of the same finding at a HIGHER action is not taken as answered by this alert
    /// (<see cref="Detection.MonitorDecision.IsAnsweredBy"/>, docs/monitoring.md "Restart"). Null for hard-limit alerts and for
    /// alerts stored before 2026-12-03; stored as the evidence JSON's optional <c>action</c> member (the stable name,
    /// e.g. <c>step-up</c>).
    /// </summary>
    public Detection.MonitorAction? Action { get; init; }

    /// <summary>Value equality, comparing <see cref="Sequences"/> element by element.</summary>
    public bool Equals(AlertEvidence? other) =>
        other is not null
        && FirstSequence == other.FirstSequence
        && LastSequence == other.LastSequence
        && TotalSequences == other.TotalSequences
        && string.Equals(Detail, other.Detail, StringComparison.Ordinal)
        && Action == other.Action
        && Sequences.SequenceEqual(other.Sequences);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(FirstSequence, LastSequence, TotalSequences, Sequences.Count);
}

/// <summary>What a detector reports, before the store assigns an identifier and a state.</summary>
/// <param name="Detector">The detector's stable name (e.g. <see cref="DistinctSubjectsDetector.DetectorName"/>).</param>
/// <param name="Principal">The breaching clerk or terminal.</param>
/// <param name="Store">Store code of the breaching entry, when known.</param>
/// <param name="Window">The breached window.</param>
/// <param name="Observed">Distinct subscribers observed in the window.</param>
/// <param name="Limit">The window's limit.</param>
/// <param name="Evidence">Ledger sequences.</param>
/// <param name="Severity">Urgency.</param>
public sealed record NewAlert(
    string Detector,
    Principal Principal,
    string? Store,
    TimeSpan Window,
    int Observed,
    int Limit,
    AlertEvidence Evidence,
    AlertSeverity Severity);

/// <summary>An alert as stored. Carries no personal data: principals are staff and terminal codes, evidence is ledger sequences.</summary>
/// <param name="Id">Identifier <c>A-</c> + 26 Crockford base-32 characters (a ULID: 48-bit Unix milliseconds, 80 random bits), sortable by time.</param>
/// <param name="RaisedAt">When it was raised (UTC, millisecond precision).</param>
/// <param name="Detector">The detector's stable name.</param>
/// <param name="Principal">The breaching clerk or terminal.</param>
/// <param name="Store">Store code of the breaching entry, when known.</param>
/// <param name="Window">The breached window (whole seconds).</param>
/// <param name="Observed">Distinct subscribers observed.</param>
/// <param name="Limit">The limit exceeded.</param>
/// <param name="Evidence">Ledger sequences.</param>
/// <param name="Severity">Urgency.</param>
/// <param name="State">Review state.</param>
/// <param name="UpdatedAt">When the state last changed (equals <paramref name="RaisedAt"/> when never).</param>
/// <param name="UpdatedBy">Who changed it last: an officer's account code, or <c>monitor</c>.</param>
/// <param name="Note">The officer's note (never personal data), or null.</param>
public sealed record Alert(
    string Id,
    DateTimeOffset RaisedAt,
    string Detector,
    Principal Principal,
    string? Store,
    TimeSpan Window,
    int Observed,
    int Limit,
    AlertEvidence Evidence,
    AlertSeverity Severity,
    AlertState State,
    DateTimeOffset UpdatedAt,
    string UpdatedBy,
    string? Note);
