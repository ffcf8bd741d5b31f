using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// What a detector found about one clerk or terminal. Carries no personal data: principals are staff and terminal
/// codes, evidence is ledger sequences, <see cref="Detail"/> is numbers and detector vocabulary only.
/// </summary>
/// <param name="Detector">The detector's stable name (e.g. <c>open-lookups</c>).</param>
/// <param name="Principal">The clerk or terminal the finding is about.</param>
/// <param name="Store">Store code of the entry that produced it, when known.</param>
/// <param name="Score">0–100: how strongly the finding indicates misuse. <see cref="RiskPolicy"/> combines scores into risk.</param>
/// <param name="Window">The window the detector judged over (zero for single-event findings).</param>
/// <param name="Observed">The measured value (a count) in that window.</param>
/// <param name="Threshold">The value it was judged against (the limit or the baseline-derived threshold).</param>
/// <param name="Detail">Short explanation, e.g. <c>own median 3, MAD 1; peers median 4, MAD 1</c>; never personal data.</param>
/// <param name="Evidence">Ledger sequences of the entries the finding rests on, ascending, at most <see cref="MaxEvidence"/>.</param>
/// <param name="Memory">How long the score counts towards the principal's risk after the finding.</param>
public sealed record Finding(
    string Detector,
    Principal Principal,
    string? Store,
    int Score,
    TimeSpan Window,
    int Observed,
    int Threshold,
    string Detail,
    IReadOnlyList<long> Evidence,
    TimeSpan Memory)
{
    /// <summary>Most ledger sequences a finding keeps as evidence.</summary>
    public const int MaxEvidence = 200;
}

/// <summary>
/// A streaming detector: fed every committed ledger entry in sequence order (allowed and refused), it keeps state
/// keyed by clerk, terminal or store (so it can be sharded by that key) and appends findings. Time is the entries'
/// time, never the wall clock, so a replay gives the same findings as the live run.
/// </summary>
/// <remarks>Implementations are not thread-safe; the <see cref="MonitorEngine"/> drives them from one thread.</remarks>
public interface IDetector
{
    /// <summary>The detector's stable name, recorded in findings and alerts.</summary>
    string Id { get; }

    /// <summary>
    /// How far back in ledger time the detector's state reaches (its longest window, or how long its findings count
    /// towards risk, whichever is longer): a restarted monitor replays at least this much of the ledger so that the
    /// detector's state, and the risk of the findings it raised, are as if the process had never stopped
    /// (<see cref="MonitorEngine.History"/>, docs/monitoring.md "Restart").
    /// </summary>
    TimeSpan History { get; }

    /// <summary>Observes one entry and appends any findings to <paramref name="findings"/>.</summary>
    /// <param name="sequence">The entry's ledger sequence (or, in a replay, its line number).</param>
    /// <param name="entry">The entry.</param>
    /// <param name="findings">Where findings go.</param>
    void Observe(long sequence, AccessEntry entry, List<Finding> findings);

    /// <summary>Lets time-driven state (pending lookups, expiring windows) advance to <paramref name="nowMs"/> (Unix ms); the engine calls it at most once per simulated minute.</summary>
    void Advance(long nowMs, List<Finding> findings);

    /// <summary>Forgets the principal's state (an officer restored it; its past activity was judged legitimate).</summary>
    void Reset(Principal principal);
}

/// <summary>A lookup that no business transaction followed: the clerk viewed a subscriber and never completed a service for them within <see cref="DetectionOptions.OrphanAfter"/>.</summary>
/// <param name="Clerk">The clerk's account code.</param>
/// <param name="Terminal">The terminal of the lookup, when known.</param>
/// <param name="Store">The store, when known.</param>
/// <param name="Subject">The subscriber's internal ID (kept in memory only, never written anywhere).</param>
/// <param name="Sequence">Ledger sequence of the (latest) lookup.</param>
/// <param name="LookupMs">Time of the lookup (Unix ms).</param>
/// <param name="Episode">Ledger sequence of the entry that began the lookup (a search and the views of what it found are one lookup); −1 when unknown.</param>
/// <param name="DuringOtherService">Whether the lookup began while the clerk was serving another customer: after the first read and before the
/// <c>service-complete</c> of a lookup that was then served.</param>
public readonly record struct OrphanLookup(string Clerk, string? Terminal, string? Store, long Subject, long Sequence, long LookupMs, long Episode = -1, bool DuringOtherService = false);

/// <summary>
/// Marks a detector whose <see cref="IDetector.Observe"/> does nothing (it learns only from orphan lookups and
/// <see cref="IDetector.Advance"/>): <see cref="MonitorEngine"/> does not call it for each entry.
/// </summary>
internal interface IObservesNoEntries
{
}

/// <summary>A detector that also consumes orphan lookups found by <see cref="OpenLookupsDetector"/>.</summary>
public interface IOrphanObserver
{
    /// <summary>Observes one orphan lookup at ledger time <paramref name="nowMs"/>.</summary>
    void OnOrphan(in OrphanLookup orphan, long nowMs, List<Finding> findings);
}
