using System.Globalization;
using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>baseline</c>: a principal's distinct subscribers read and orphan lookups over 1 hour, 1 day, 7 days and 30 days,
/// judged against the principal's OWN history and against its PEER GROUP with robust statistics (median and MAD, see
/// <see cref="RobustStatistics"/>), not one global constant.
/// </summary>
/// <remarks>
/// <para>Metrics and windows (store-local days, <see cref="DetectionOptions.LocalOffset"/>):</para>
/// <list type="bullet">
/// <item><c>distinct-1h</c>: distinct subscribers read in the current local clock hour; own history = each past active
/// day's busiest hour.</item>
/// <item><c>distinct-1d</c>, <c>orphans-1d</c>: distinct subscribers read / orphan lookups today; own history = past active days.</item>
/// <item><c>distinct-7d</c>, <c>orphans-7d</c>, <c>distinct-30d</c>, <c>orphans-30d</c>: sums of the daily values over
/// today and the previous 6 / 29 days (subscriber-days); own history = the same sums at the end of past days.</item>
/// <item><c>orphan-share-7d</c>: orphans-7d as a percentage of distinct-7d (not judged below 150 subscribers):
/// independent of how busy the clerk is, so a few unserved lookups a day stand out against a clerk's usual walk-away
/// rate. Judged with 0.8 k (k = 4 by default): its peer distribution is narrow and well estimated.</item>
/// </list>
/// <para>
/// Own threshold = median + k × max(1.4826 × MAD, minimum spread) over the principal's own history, used once it has
/// <see cref="DetectionOptions.BaselineMinDays"/> samples. Peer threshold = the same formula over the current values
/// of the principal's peers active today, in two groups — the same store, kind and role (clerk or store manager), and
/// the whole chain's principals of that kind and role — taking the HIGHER of the two thresholds (a group with fewer
/// than <see cref="DetectionOptions.PeerGroupMinSize"/> active members gives none): a store-wide burst (an opening
/// day, recovery after an outage) raises the store group's values together and is not flagged, and a naturally fast
/// clerk in a small store is judged against the chain. The group includes the principal itself (the median and MAD
/// are robust to that one value) so the cached threshold can be shared by the whole group. A value is flagged when it
/// exceeds BOTH thresholds (only the peer one while the own history is short): score 70 (step-up), or 100 (suspend)
/// when it exceeds the higher threshold by as much again as that threshold lies above its median. Memory: 1 day
/// (1 h and 1 d windows), 7 days (7 d and 30 d).
/// </para>
/// <para>Minimum spreads (so that a principal with very regular days is not flagged for one extra customer): distinct
/// 1h 4, 1d 10, 7d 30, 30d 80; orphans 1d 3, 7d 6, 30d 15; orphan share 2 percentage points. Peer thresholds are cached per group for 10 minutes of ledger time.</para>
/// </remarks>
public sealed class BaselineDetector : IDetector, IOrphanObserver
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "baseline";

    private const int Days = 30;
    private const long HourMs = 3_600_000;
    private const long DayMs = 86_400_000;
    private const long PeerCacheMs = 600_000;

    private static readonly Metric[] Metrics =
    [
        new("distinct-1h", 0, 0, 4, TimeSpan.FromHours(1)),
        new("distinct-1d", 0, 1, 10, TimeSpan.FromDays(1)),
        new("distinct-7d", 0, 7, 30, TimeSpan.FromDays(7)),
        new("distinct-30d", 0, 30, 80, TimeSpan.FromDays(30)),
        new("orphans-1d", 1, 1, 3, TimeSpan.FromDays(1)),
        new("orphans-7d", 1, 7, 6, TimeSpan.FromDays(7)),
        new("orphans-30d", 1, 30, 15, TimeSpan.FromDays(30)),
        new("orphan-share-7d", 2, 7, 2, TimeSpan.FromDays(7), 0.8),
    ];

    private readonly DetectionOptions _options;
    private readonly long _offsetMs;
    private readonly Dictionary<Principal, State> _states = [];
    private readonly Dictionary<GroupKey, List<State>> _groups = [];
    private readonly Dictionary<(GroupKey, int), (long AtMs, double Threshold, double Median, double Mad, int Size)> _peerCache = [];
    private double[] _scratch = new double[64];

    /// <summary>Creates the detector.</summary>
    public BaselineDetector(DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _offsetMs = (long)options.LocalOffset.TotalMilliseconds;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        if (!EntryFacts.IsRead(entry))
        {
            return;
        }

        var ms = entry.Time.ToUnixTimeMilliseconds();
        foreach (var p in new[] { EntryFacts.Clerk(entry), EntryFacts.Terminal(entry) })
        {
            if (p is not { } principal)
            {
                continue;
            }

            var s = GetState(principal, entry.Store, entry.Role?.ToString(), ms);
            var grew = false;
            foreach (var subject in entry.Subjects)
            {
                grew |= s.Today.Add(subject.Value);
                s.Hour.Add(subject.Value);
            }

            s.MaxHourToday = Math.Max(s.MaxHourToday, s.Hour.Count);
            s.LastSequences.Enqueue(sequence);
            if (s.LastSequences.Count > Finding.MaxEvidence)
            {
                s.LastSequences.Dequeue();
            }

            if (grew)
            {
                Judge(s, metricKind: 0, ms, entry.Store, findings);
            }
        }
    }

    /// <inheritdoc />
    public void OnOrphan(in OrphanLookup orphan, long nowMs, List<Finding> findings)
    {
        foreach (var p in new[] { new Principal(PrincipalKind.Clerk, orphan.Clerk), orphan.Terminal is null ? (Principal?)null : new Principal(PrincipalKind.Terminal, orphan.Terminal) })
        {
            if (p is not { } principal || !_states.TryGetValue(principal, out var s))
            {
                continue;
            }

            Roll(s, nowMs);
            s.OrphansToday++;
            s.LastSequences.Enqueue(orphan.Sequence);
            if (s.LastSequences.Count > Finding.MaxEvidence)
            {
                s.LastSequences.Dequeue();
            }

            Judge(s, metricKind: 1, nowMs, orphan.Store, findings);
        }
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        if (_states.TryGetValue(principal, out var s))
        {
            // Keep the history (the baseline) but forget today's flags and counts: the officer judged them legitimate.
            s.Today.Clear();
            s.Hour.Clear();
            s.OrphansToday = 0;
            s.MaxHourToday = 0;
            Array.Clear(s.Flagged);
        }
    }

    /// <summary>The current value of <paramref name="metric"/> (e.g. <c>distinct-1d</c>) for the principal; 0 when unknown or not judged yet.</summary>
    /// <exception cref="ArgumentException">When the metric name is unknown.</exception>
    public int CurrentValue(Principal principal, string metric)
    {
        var m = Array.FindIndex(Metrics, x => x.Name == metric);
        if (m < 0)
        {
            throw new ArgumentException("Unknown metric name.", nameof(metric));
        }

        return _states.TryGetValue(principal, out var s) && Value(s, Metrics[m]) is var v && !double.IsNaN(v) ? (int)v : 0;
    }

    private State GetState(Principal principal, string? store, string? role, long ms)
    {
        if (!_states.TryGetValue(principal, out var s))
        {
            s = new State(principal, new GroupKey(principal.Kind, store, principal.Kind == PrincipalKind.Clerk ? role : null));
            _states[principal] = s;
            AddToGroup(s.Group, s);
            AddToGroup(s.Group with { Store = null }, s);
        }

        Roll(s, ms);
        return s;
    }

    private void AddToGroup(GroupKey key, State s)
    {
        if (!_groups.TryGetValue(key, out var list))
        {
            list = [];
            _groups[key] = list;
        }

        list.Add(s);
    }

    private void Roll(State s, long ms)
    {
        var local = ms + _offsetMs;
        var day = Math.DivRem(local, DayMs, out _);
        var hour = local / HourMs;
        if (s.Day == long.MinValue)
        {
            s.Day = day;
            s.HourIndex = hour;
            return;
        }

        if (hour != s.HourIndex)
        {
            s.HourIndex = hour;
            s.Hour.Clear();
        }

        while (s.Day < day)
        {
            // Close the day: push today's values into the ring and record the end-of-day window sums as history.
            var active = s.Today.Count > 0;
            var slot = (int)(((s.Day % Days) + Days) % Days);
            s.Distinct[slot] = s.Today.Count;
            s.Orphans[slot] = s.OrphansToday;
            s.MaxHour[slot] = s.MaxHourToday;
            s.Active[slot] = active;
            if (active)
            {
                for (var m = 0; m < Metrics.Length; m++)
                {
                    if (double.IsNaN(Value(s, Metrics[m], includeTodayLive: false, endDay: s.Day)))
                    {
                        continue;
                    }

                    s.History[m].Add(Value(s, Metrics[m], includeTodayLive: false, endDay: s.Day));
                    if (s.History[m].Count > Days)
                    {
                        s.History[m].RemoveAt(0);
                    }
                }
            }

            s.Today.Clear();
            s.OrphansToday = 0;
            s.MaxHourToday = 0;
            Array.Clear(s.Flagged);
            Array.Fill(s.OwnThreshold, double.NaN);
            s.Day++;
            if (day - s.Day > Days)
            {
                // Long absence: fast-forward, clearing the ring.
                Array.Clear(s.Distinct);
                Array.Clear(s.Orphans);
                Array.Clear(s.MaxHour);
                Array.Clear(s.Active);
                s.Day = day;
            }
        }
    }

    private static double Value(State s, Metric m, bool includeTodayLive = true, long endDay = long.MinValue)
    {
        if (m.Kind == 2)
        {
            // Percentage of the distinct subscribers read that were never served; NaN (not judged) below 150 subscribers.
            var distinct = Value(s, m with { Kind = 0 }, includeTodayLive, endDay);
            return distinct < 150 ? double.NaN : 100.0 * Value(s, m with { Kind = 1 }, includeTodayLive, endDay) / distinct;
        }

        if (m.Days == 0)
        {
            return includeTodayLive ? s.Hour.Count : s.MaxHourToday;
        }

        // Days window: today (live or closing) + previous Days-1 days from the ring.
        double sum = m.Kind == 0 ? s.Today.Count : s.OrphansToday;
        var today = includeTodayLive ? s.Day : endDay;
        for (var back = 1; back < m.Days; back++)
        {
            var d = today - back;
            var slot = (int)(((d % Days) + Days) % Days);
            sum += m.Kind == 0 ? s.Distinct[slot] : s.Orphans[slot];
        }

        return sum;
    }

    private void Judge(State s, int metricKind, long ms, string? store, List<Finding> findings)
    {
        for (var m = 0; m < Metrics.Length; m++)
        {
            var metric = Metrics[m];
            if ((metric.Kind != metricKind && !(metric.Kind == 2 && metricKind == 1)) || s.Flagged[m] >= 100)
            {
                continue;
            }

            var value = Value(s, metric);
            if (double.IsNaN(value))
            {
                continue;
            }

            var own = OwnThreshold(s, m);
            if (!double.IsNaN(own.Threshold) && value <= own.Threshold)
            {
                continue;
            }

            var peer = PeerThreshold(s, m, ms);
            if (double.IsNaN(peer.Threshold) && double.IsNaN(own.Threshold))
            {
                continue; // neither a history nor a peer group: the hard limits alone apply
            }

            if (!double.IsNaN(peer.Threshold) && value <= peer.Threshold)
            {
                continue;
            }

            var (threshold, median) = double.IsNaN(own.Threshold) || (!double.IsNaN(peer.Threshold) && peer.Threshold > own.Threshold)
                ? (peer.Threshold, peer.Median)
                : (own.Threshold, own.Median);
            var score = value > threshold + (threshold - median) ? 100 : 70;
            if (score <= s.Flagged[m])
            {
                continue;
            }

            s.Flagged[m] = score;
            var detail = string.Create(
                CultureInfo.InvariantCulture,
                $"{metric.Name} {value:0}: own {(double.IsNaN(own.Threshold) ? "n/a" : $"median {own.Median:0.#}, MAD {own.Mad:0.#}, threshold {own.Threshold:0.#}")}; peers {(double.IsNaN(peer.Threshold) ? "n/a" : $"({peer.Size}) median {peer.Median:0.#}, MAD {peer.Mad:0.#}, threshold {peer.Threshold:0.#}")}");
            findings.Add(new Finding(
                DetectorName,
                s.Principal,
                store,
                score,
                metric.Window,
                (int)value,
                (int)Math.Ceiling(threshold),
                detail,
                EntryFacts.Evidence(s.LastSequences),
                metric.Days <= 1 ? TimeSpan.FromDays(1) : TimeSpan.FromDays(7)));
        }
    }

    private (double Threshold, double Median, double Mad) OwnThreshold(State s, int m)
    {
        if (!double.IsNaN(s.OwnThreshold[m]))
        {
            return (s.OwnThreshold[m], s.OwnMedian[m], s.OwnMad[m]);
        }

        var history = s.History[m];
        if (history.Count < _options.BaselineMinDays)
        {
            return (double.NaN, double.NaN, double.NaN);
        }

        var span = Scratch(history.Count);
        for (var i = 0; i < history.Count; i++)
        {
            span[i] = history[i];
        }

        var r = RobustStatistics.UpperThreshold(span, _options.BaselineK * Metrics[m].KFactor, Metrics[m].MinSpread);
        s.OwnThreshold[m] = r.Threshold;
        s.OwnMedian[m] = r.Median;
        s.OwnMad[m] = r.Mad;
        return r;
    }

    private (double Threshold, double Median, double Mad, int Size) PeerThreshold(State s, int m, long ms)
    {
        // The higher of the store group's and the chain-wide group's thresholds: a store-wide burst raises the first,
        // a naturally fast clerk in a small store is judged by the second.
        var global = GroupThreshold(s, s.Group with { Store = null }, m, ms);
        if (s.Group.Store is null || !_groups.ContainsKey(s.Group))
        {
            return global;
        }

        var local = GroupThreshold(s, s.Group, m, ms);
        return double.IsNaN(local.Threshold) || (!double.IsNaN(global.Threshold) && global.Threshold >= local.Threshold) ? global : local;
    }

    private (double Threshold, double Median, double Mad, int Size) GroupThreshold(State s, GroupKey key, int m, long ms)
    {
        if (_peerCache.TryGetValue((key, m), out var cached) && ms - cached.AtMs < PeerCacheMs)
        {
            return (cached.Threshold, cached.Median, cached.Mad, cached.Size);
        }

        var peers = _groups[key];
        var span = Scratch(peers.Count);
        var n = 0;
        foreach (var peer in peers)
        {
            Roll(peer, ms);
            if (peer.Today.Count > 0 && Value(peer, Metrics[m]) is var v && !double.IsNaN(v))
            {
                span[n++] = v;
            }
        }

        var result = n < _options.PeerGroupMinSize
            ? (double.NaN, double.NaN, double.NaN)
            : RobustStatistics.UpperThreshold(span[..n], _options.BaselineK * Metrics[m].KFactor, Metrics[m].MinSpread);
        _peerCache[(key, m)] = (ms, result.Item1, result.Item2, result.Item3, n);
        return (result.Item1, result.Item2, result.Item3, n);
    }

    private Span<double> Scratch(int size)
    {
        if (_scratch.Length < size)
        {
            _scratch = new double[size * 2];
        }

        return _scratch.AsSpan(0, size);
    }

    private readonly record struct Metric(string Name, int Kind, int Days, double MinSpread, TimeSpan Window, double KFactor = 1.0);

    private readonly record struct GroupKey(PrincipalKind Kind, string? Store, string? Role);

    private sealed class State(Principal principal, GroupKey group)
    {
        public readonly Principal Principal = principal;
        public readonly GroupKey Group = group;
        public readonly HashSet<long> Today = [];
        public readonly HashSet<long> Hour = [];
        public readonly int[] Distinct = new int[Days];
        public readonly int[] Orphans = new int[Days];
        public readonly int[] MaxHour = new int[Days];
        public readonly bool[] Active = new bool[Days];
        public readonly List<double>[] History = [.. Metrics.Select(_ => new List<double>())];
        public readonly double[] OwnThreshold = [.. Metrics.Select(_ => double.NaN)];
        public readonly double[] OwnMedian = new double[Metrics.Length];
        public readonly double[] OwnMad = new double[Metrics.Length];
        public readonly int[] Flagged = new int[Metrics.Length];
        public readonly Queue<long> LastSequences = new();
        public long Day = long.MinValue;
        public long HourIndex;
        public int OrphansToday;
        public int MaxHourToday;
    }
}
