using System.Globalization;
using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>targeting</c>: a clerk whose reads lean towards a segment a buyer of personal data wants — subscribers whose
/// contract ends soon (<see cref="AccessSignals.ContractEnding"/>: a telemarketer's list of churn prospects) or who
/// belong to another area than the store (<see cref="AccessSignals.OtherArea"/>: a list bought elsewhere). Two metrics
/// per clerk, over the 7 store-local days ending today (<see cref="DetectionOptions.LocalOffset"/>):
/// <list type="bullet">
/// <item><c>ending-share-7d</c>: distinct subscribers (per day, summed: subscriber-days) read in entries flagged
/// <c>ending</c>, as a percentage of the distinct subscribers read (the baseline's <c>distinct-7d</c>);</item>
/// <item><c>away-share-7d</c>: the same for entries flagged <c>away</c>.</item>
/// </list>
/// Judged, like <see cref="BaselineDetector"/>'s metrics, against the clerk's OWN history (the value at the end of each
/// past active day, last 30, used once there are <see cref="DetectionOptions.BaselineMinDays"/>) and its STORE PEER
/// GROUP (the same store, kind and role, itself included; today's values of peers with enough volume, at least
/// <see cref="DetectionOptions.PeerGroupMinSize"/> of them) with robust statistics: threshold = median + k ×
/// max(1.4826 × MAD, 3 percentage points), k = <see cref="DetectionOptions.BaselineK"/>
/// (<see cref="RobustStatistics.UpperThreshold"/>). Over every threshold available (at least one): 50 (alert); beyond twice
/// the distance from median to threshold: 70 (step-up). At most one finding per metric and score a day. Memory 7 days.
/// Not judged below <see cref="DetectionOptions.TargetingMinSubjects"/> distinct subscribers over the 7 days, so a
/// clerk with three reads cannot alert.
/// </summary>
/// <remarks>
/// <para>Needs the engine's <see cref="BaselineDetector"/> (for the distinct-subscriber counts, the denominator and the
/// peer group) and must run after it (<see cref="MonitorEngine.CreateDefault"/> does). An entry's flag holds when one of
/// its subjects has it (docs/ledger-format.md §1.1), so all subjects of a flagged entry count: a family read together
/// counts in the numerator as it does in the denominator.</para>
/// <para>An entry without signals returns at the first check: nothing is counted per unflagged read (the denominator is
/// the baseline's). The daily flagged counts are not stored like <see cref="BaselineDay"/>: after a restart the own
/// history is rebuilt from the replayed 7 days only (docs/monitoring.md, "Targeting").</para>
/// </remarks>
public sealed class TargetingDetector : IDetector
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "targeting";

    /// <summary>Minimum spread of the robust threshold, in percentage points: 3.</summary>
    public const double MinSpread = 3;

    private const int Days = 30;
    private const long DayMs = 86_400_000;
    private const long PeerCacheMs = 600_000;
    private static readonly string[] MetricNames = ["ending-share-7d", "away-share-7d"];

    private readonly DetectionOptions _options;
    private readonly BaselineDetector _baseline;
    private readonly PrincipalSlots _slots;
    private readonly long _offsetMs;
    private readonly Dictionary<int, State> _states = []; // by clerk slot
    private readonly Dictionary<(string Store, int Metric), (long AtMs, double Threshold, double Median, double Mad, int Size)> _peerCache = [];
    private readonly List<int> _peers = [];
    private double[] _scratch = new double[16];

    /// <summary>Creates the detector over <paramref name="baseline"/>'s counts (run it after the baseline).</summary>
    /// <param name="options">Thresholds.</param>
    /// <param name="baseline">The engine's baseline detector, run before this one.</param>
    public TargetingDetector(DetectionOptions options, BaselineDetector baseline)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(baseline);
        _options = options;
        _baseline = baseline;
        _slots = baseline.Slots;
        _offsetMs = (long)options.LocalOffset.TotalMilliseconds;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>Seven days: the window of its shares and the memory of its findings.</remarks>
    public TimeSpan History => TimeSpan.FromDays(7);

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        if (entry.Signals is not { } signals || !(signals.ContractEnding || signals.OtherArea) || !EntryFacts.IsRead(entry))
        {
            return;
        }

        var slot = _slots.ClerkOf(entry);
        if (slot == PrincipalSlots.None)
        {
            return;
        }

        var ms = entry.Time.ToUnixTimeMilliseconds();
        var day = Math.DivRem(ms + _offsetMs, DayMs, out _);
        if (!_states.TryGetValue(slot, out var s))
        {
            s = new State(_slots[slot]);
            _states[slot] = s;
        }

        Roll(s, slot, day);
        day = s.Day; // an entry a few ms out of order around midnight counts in the current day
        s.AddSequence(sequence);
        var subjects = _slots.SubjectsOf(entry);
        for (var m = 0; m < 2; m++)
        {
            if (!(m == 0 ? signals.ContractEnding : signals.OtherArea))
            {
                continue;
            }

            var grew = false;
            foreach (var subject in subjects)
            {
                if (s.Today[m].Add(subject))
                {
                    s.Counts[m][Ring(day)]++;
                    grew = true;
                }
            }

            if (grew)
            {
                Judge(s, slot, m, day, ms, entry.Store, findings);
            }
        }
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        if (_slots.TryGet(principal, out var slot) && _states.TryGetValue(slot, out var s))
        {
            s.Flagged[0] = 0;
            s.Flagged[1] = 0; // keep the history (the baseline); the officer judged today's reads legitimate
        }
    }

    /// <summary>The clerk's current value of <paramref name="metric"/> (<c>ending-share-7d</c> or <c>away-share-7d</c>), a percentage; NaN below the minimum volume or when unknown.</summary>
    /// <exception cref="ArgumentException">When the metric name is unknown.</exception>
    public double CurrentValue(Principal principal, string metric, DateTimeOffset now)
    {
        var m = Array.IndexOf(MetricNames, metric);
        if (m < 0)
        {
            throw new ArgumentException("Unknown metric name.", nameof(metric));
        }

        if (!_slots.TryGet(principal, out var slot))
        {
            return double.NaN;
        }

        return Share(slot, m, Math.DivRem(now.ToUnixTimeMilliseconds() + _offsetMs, DayMs, out _));
    }

    private static int Ring(long day) => (int)(((day % Days) + Days) % Days);

    // Moves the state to `day`: each day closed adds its end-of-day values to the own history (active days with volume).
    private void Roll(State s, int slot, long day)
    {
        if (s.Day == long.MinValue)
        {
            s.Day = day;
            return;
        }

        if (day <= s.Day)
        {
            return; // the same day (or an entry a few ms out of order around midnight: counted in the current day)
        }

        for (var d = s.Day; d < day && d < s.Day + Days; d++)
        {
            if (_baseline.DistinctOn(slot, d) > 0)
            {
                for (var m = 0; m < 2; m++)
                {
                    if (ShareAt(s, slot, m, d) is var v && !double.IsNaN(v))
                    {
                        s.AddHistory(m, v);
                    }
                }
            }
        }

        // Clear the ring's days between the last one counted and the new day (a long absence clears all).
        for (var d = s.Day + 1; d <= day && d <= s.Day + Days; d++)
        {
            s.Counts[0][Ring(d)] = 0;
            s.Counts[1][Ring(d)] = 0;
        }

        s.Today[0].Clear();
        s.Today[1].Clear();
        s.Flagged[0] = 0;
        s.Flagged[1] = 0;
        s.Day = day;
    }

    // The 7-day share (percentage) ending with day `day` for state s; NaN below the minimum volume.
    private double ShareAt(State s, int slot, int m, long day)
    {
        var distinct = _baseline.DistinctOver7(slot, day);
        if (distinct < _options.TargetingMinSubjects)
        {
            return double.NaN;
        }

        long flagged = 0;
        for (var d = day - 6; d <= day; d++)
        {
            flagged += d <= s.Day && s.Day - d < Days ? s.Counts[m][Ring(d)] : 0;
        }

        return 100.0 * Math.Min(flagged, distinct) / distinct;
    }

    private double Share(int slot, int m, long day)
    {
        if (_states.TryGetValue(slot, out var s))
        {
            return ShareAt(s, slot, m, day);
        }

        // A peer with no flagged read in memory: 0 % once it has the volume.
        return _baseline.DistinctOver7(slot, day) >= _options.TargetingMinSubjects ? 0 : double.NaN;
    }

    private void Judge(State s, int slot, int m, long day, long ms, string? store, List<Finding> findings)
    {
        if (s.Flagged[m] >= 70)
        {
            return;
        }

        var value = ShareAt(s, slot, m, day);
        if (double.IsNaN(value))
        {
            return;
        }

        var own = OwnThreshold(s, m);
        if (!double.IsNaN(own.Threshold) && value <= own.Threshold)
        {
            return;
        }

        var peer = store is null ? (Threshold: double.NaN, Median: double.NaN, Mad: double.NaN, Size: 0) : PeerThreshold(slot, store, m, day, ms);
        if (double.IsNaN(peer.Threshold) && double.IsNaN(own.Threshold))
        {
            return; // neither a history nor a peer group
        }

        if (!double.IsNaN(peer.Threshold) && value <= peer.Threshold)
        {
            return;
        }

        var (threshold, median) = double.IsNaN(own.Threshold) || (!double.IsNaN(peer.Threshold) && peer.Threshold > own.Threshold)
            ? (peer.Threshold, peer.Median)
            : (own.Threshold, own.Median);
        var score = value > threshold + (threshold - median) ? 70 : 50;
        if (score <= s.Flagged[m])
        {
            return;
        }

        s.Flagged[m] = score;
        var detail = string.Create(
            CultureInfo.InvariantCulture,
            $"{MetricNames[m]} {value:0.#}% of {_baseline.DistinctOver7(slot, day)}: own {(double.IsNaN(own.Threshold) ? "n/a" : $"median {own.Median:0.#}, MAD {own.Mad:0.#}, threshold {own.Threshold:0.#}")}; peers {(double.IsNaN(peer.Threshold) ? "n/a" : $"({peer.Size}) median {peer.Median:0.#}, MAD {peer.Mad:0.#}, threshold {peer.Threshold:0.#}")}");
        findings.Add(new Finding(DetectorName, s.Principal, store, score, TimeSpan.FromDays(7), (int)value, (int)Math.Ceiling(threshold), detail,
            EntryFacts.Evidence(s.LastSequences.AsSpan(0, s.LastSequenceCount).ToArray()), TimeSpan.FromDays(7)));
    }

    // The own threshold, computed once per history change (a day's close) and kept until the next.
    private (double Threshold, double Median, double Mad) OwnThreshold(State s, int m)
    {
        if (s.OwnKnown[m])
        {
            return s.Own[m];
        }

        s.Own[m] = s.History[m].Count >= _options.BaselineMinDays
            ? RobustStatistics.UpperThreshold(Scratch(s.History[m]), _options.BaselineK, MinSpread)
            : (double.NaN, double.NaN, double.NaN);
        s.OwnKnown[m] = true;
        return s.Own[m];
    }

    private (double Threshold, double Median, double Mad, int Size) PeerThreshold(int slot, string store, int m, long day, long ms)
    {
        if (_peerCache.TryGetValue((store, m), out var cached) && ms - cached.AtMs < PeerCacheMs && ms >= cached.AtMs)
        {
            return (cached.Threshold, cached.Median, cached.Mad, cached.Size);
        }

        _baseline.StorePeers(slot, _peers);
        if (_scratch.Length < _peers.Count)
        {
            _scratch = new double[_peers.Count * 2];
        }

        var n = 0;
        foreach (var peer in _peers)
        {
            if (Share(peer, m, day) is var v && !double.IsNaN(v))
            {
                _scratch[n++] = v;
            }
        }

        var result = n < _options.PeerGroupMinSize
            ? (double.NaN, double.NaN, double.NaN)
            : RobustStatistics.UpperThreshold(_scratch.AsSpan(0, n), _options.BaselineK, MinSpread);
        _peerCache[(store, m)] = (ms, result.Item1, result.Item2, result.Item3, n);
        return (result.Item1, result.Item2, result.Item3, n);
    }

    private Span<double> Scratch(List<double> values)
    {
        if (_scratch.Length < values.Count)
        {
            _scratch = new double[values.Count * 2];
        }

        var span = _scratch.AsSpan(0, values.Count);
        values.CopyTo(span);
        return span;
    }

    private sealed class State(Principal principal)
    {
        public readonly Principal Principal = principal;
        public readonly HashSet<long>[] Today = [[], []]; // subscribers counted today per metric (ending, away)
        public readonly int[][] Counts = [new int[Days], new int[Days]]; // per metric, distinct flagged subscribers per day (ring)
        public readonly List<double>[] History = [[], []]; // per metric, end-of-day values of the last Days active days
        public readonly int[] Flagged = new int[2]; // highest score raised today per metric
        public readonly (double Threshold, double Median, double Mad)[] Own = new (double, double, double)[2]; // per metric, valid when OwnKnown
        public readonly bool[] OwnKnown = new bool[2];
        public readonly long[] LastSequences = new long[Finding.MaxEvidence];
        public int LastSequenceCount;
        public int LastSequenceNext;
        public long Day = long.MinValue;

        public void AddHistory(int m, double value)
        {
            OwnKnown[m] = false;
            History[m].Add(value);
            if (History[m].Count > Days)
            {
                History[m].RemoveAt(0);
            }
        }

        public void AddSequence(long sequence)
        {
            LastSequences[LastSequenceNext] = sequence;
            LastSequenceNext = LastSequenceNext == Finding.MaxEvidence - 1 ? 0 : LastSequenceNext + 1;
            LastSequenceCount = Math.Min(LastSequenceCount + 1, Finding.MaxEvidence);
        }
    }
}
