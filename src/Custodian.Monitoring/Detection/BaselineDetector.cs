using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Custodian.Identity;
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
/// rate. Judged with the same k as the others (it was 0.8 k until the side-lookups detector took over the slow scraper:
/// at 0.8 k it caused every false alert of the 30-day evaluation, up to 1.4 per 1,000 clerk-days on a seed).</item>
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

    // Presized for a busy clerk's day (up to ~150 distinct subscribers, docs/monitoring.md): a new principal's table
    // does not grow through five resizes on its first day. Capacity only; it never changes what is counted.
    private const int InitialDayCapacity = 128;

    private static readonly Metric[] Metrics =
    [
        new("distinct-1h", 0, 0, 4, TimeSpan.FromHours(1)),
        new("distinct-1d", 0, 1, 10, TimeSpan.FromDays(1)),
        new("distinct-7d", 0, 7, 30, TimeSpan.FromDays(7)),
        new("distinct-30d", 0, 30, 80, TimeSpan.FromDays(30)),
        new("orphans-1d", 1, 1, 3, TimeSpan.FromDays(1)),
        new("orphans-7d", 1, 7, 6, TimeSpan.FromDays(7)),
        new("orphans-30d", 1, 30, 15, TimeSpan.FromDays(30)),
        new("orphan-share-7d", 2, 7, 2, TimeSpan.FromDays(7)),
    ];

    private readonly DetectionOptions _options;
    private readonly long _offsetMs;
    private readonly PrincipalSlots _slots;
    private readonly SlotMap<State> _states = new(); // by principal slot
    private readonly Dictionary<GroupKey, Group> _groups = [];
    private readonly List<BaselineDay> _closedDays = [];
    private readonly List<State> _changedOpenDays = []; // principals whose open day changed since DrainChangedOpenDays (RecordsOpenDays)
    private double[] _scratch = new double[64];
    private long _countsFromMs = long.MinValue; // reads and orphans before it are not counted (SeedThrough)

    /// <summary>Creates the detector.</summary>
    public BaselineDetector(DetectionOptions options)
        : this(options, new PrincipalSlots())
    {
    }

    internal BaselineDetector(DetectionOptions options, PrincipalSlots slots)
    {
        ArgumentNullException.ThrowIfNull(options);
        Debug.Assert(Metrics.Length == MetricCount, "the per-metric inline arrays hold every metric");
        _options = options;
        _slots = slots;
        _offsetMs = (long)options.LocalOffset.TotalMilliseconds;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>Seven days: its 1-hour, 1-day and 7-day values exactly. The 30-day sums and the own history (up to 30 past active days) are not replayed but restored from stored days (<see cref="Seed"/>, <see cref="BaselineDayStore"/>; without them they would be rebuilt from those 7 days only, docs/monitoring.md, "Restart").</remarks>
    public TimeSpan History => TimeSpan.FromDays(7);

    /// <summary>
    /// Whether each active day a principal closes is kept for <see cref="DrainClosedDays"/> (off by default: the
    /// evaluation and benchmarks do not store them; the live monitor does, docs/monitoring.md "Restart").
    /// </summary>
    public bool RecordsClosedDays { get; set; }

    /// <summary>
    /// Moves the active days closed since the last call (a principal's day closes at its first read or orphan of a later
    /// local day, or when its peer group is judged after the day ended) into <paramref name="into"/>, oldest first per
    /// principal; empty unless <see cref="RecordsClosedDays"/>.
    /// </summary>
    /// <returns>How many were moved.</returns>
    public int DrainClosedDays(ICollection<BaselineDay> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        foreach (var day in _closedDays)
        {
            into.Add(day);
        }

        var count = _closedDays.Count;
        _closedDays.Clear();
        return count;
    }

    /// <summary>
    /// Whether the principals whose open (current) local day changed are kept for <see cref="DrainChangedOpenDays"/> (off
    /// by default; the live monitor stores them so that a restart restores a principal's last active day, which closes
    /// only at its next read, docs/monitoring.md "Restart"). Once on, every drained open day is also recorded again when
    /// it closes (<see cref="DrainClosedDays"/>, with <see cref="RecordsClosedDays"/>) even when it ends with no read and no
    /// orphan (after a <see cref="Reset"/>), so that its stored row is always replaced by the day's final counts.
    /// </summary>
    public bool RecordsOpenDays { get; set; }

    /// <summary>
    /// Adds to <paramref name="into"/> the open local day, with its counts so far, of every principal whose counts of that
    /// day changed (a new subscriber, a busier hour, an orphan, or a <see cref="Reset"/>) since the last call — each
    /// principal once, and none whose changed day has closed since (<see cref="DrainClosedDays"/> has it, complete).
    /// Empty unless <see cref="RecordsOpenDays"/>. The counts only, never a subscriber.
    /// </summary>
    /// <returns>How many were added.</returns>
    public int DrainChangedOpenDays(ICollection<BaselineDay> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var count = 0;
        foreach (var s in _changedOpenDays)
        {
            if (!s.OpenDayChanged)
            {
                continue; // closed since it changed, or listed twice
            }

            s.OpenDayChanged = false;
            s.OpenDayDrained = true;
            into.Add(new BaselineDay(s.Principal, s.Store, s.Role, s.Day, s.TodayCount, s.OrphansToday, s.MaxHourToday));
            count++;
        }

        _changedOpenDays.Clear();
        return count;
    }

    /// <summary>
    /// The first local day that a restarted monitor rebuilds from ledger entries when it replays from
    /// <paramref name="replayFrom"/>: the day after the one <paramref name="replayFrom"/> + <see cref="DetectionOptions.OrphanAfter"/>
    /// falls in, so that the lookups of the hour before it (whose orphans that day counts) are replayed too. Earlier
    /// days come from stored <see cref="BaselineDay"/> rows (<see cref="Seed"/>).
    /// </summary>
    /// <returns>The local day number (days since 1970-01-01 at <see cref="DetectionOptions.LocalOffset"/>).</returns>
    public long FirstReplayedDay(DateTimeOffset replayFrom) =>
        Math.DivRem(replayFrom.ToUnixTimeMilliseconds() + (long)_options.OrphanAfter.TotalMilliseconds + _offsetMs, DayMs, out _) + 1;

    /// <summary>
    /// Counts only reads and orphans from the start of local day <paramref name="firstDay"/> on (<see cref="FirstReplayedDay"/>):
    /// the days before it were given by <see cref="Seed"/>, so the replayed entries of their last hours must not be
    /// counted again. Call before the replay.
    /// </summary>
    public void SeedThrough(long firstDay) => _countsFromMs = (firstDay * DayMs) - _offsetMs;

    /// <summary>
    /// Restores one closed day of a principal, as if its entries had been observed: call in ascending day order per
    /// principal, for days before <see cref="SeedThrough"/>'s, before the replay. The day is closed (into the 30-day ring
    /// and the own history) at the principal's next seeded day or first replayed entry.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When a count is negative.</exception>
    public void Seed(in BaselineDay day)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(day.Distinct);
        ArgumentOutOfRangeException.ThrowIfNegative(day.Orphans);
        ArgumentOutOfRangeException.ThrowIfNegative(day.MaxHour);
        var slot = _slots.Intern(day.Principal.Kind, day.Principal.Id);
        var s = GetState(slot, day.Store, day.Role, (day.Day * DayMs) - _offsetMs);
        if (s.Day != day.Day || s.TodayCount != 0)
        {
            return; // out of order or a day already counted: ignored rather than counted twice
        }

        s.TodayCount = day.Distinct; // the count alone: the subscribers themselves are never stored
        s.OrphansToday = day.Orphans;
        s.MaxHourToday = day.MaxHour;
        Sync(s);
    }

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        if (!EntryFacts.IsRead(entry))
        {
            return;
        }

        var ms = entry.Time.ToUnixTimeMilliseconds();
        if (ms < _countsFromMs)
        {
            return; // a day restored by Seed
        }
        var role = entry.Role;
        if (_slots.ClerkOf(entry) is var clerk and not PrincipalSlots.None)
        {
            Observe(clerk, role, sequence, entry, ms, findings);
        }

        if (_slots.TerminalOf(entry) is var terminal and not PrincipalSlots.None)
        {
            Observe(terminal, role, sequence, entry, ms, findings);
        }
    }

    private void Observe(int slot, StaffRole? role, long sequence, AccessEntry entry, long ms, List<Finding> findings)
    {
        var s = GetState(slot, entry.Store, role, ms);
        var grew = false;
        var hourBefore = s.HourCount;
        var maxHourBefore = s.MaxHourToday;
        foreach (var subject in _slots.SubjectsOf(entry))
        {
            ref var hourMark = ref s.Today.GetValueRefOrAddDefault(subject, out var seenToday);
            if (!seenToday)
            {
                grew = true;
                s.TodayCount++;
            }

            if (!seenToday || hourMark != s.HourGeneration)
            {
                hourMark = s.HourGeneration; // first read of this subscriber in the current clock hour
                s.HourCount++;
            }
        }

        s.MaxHourToday = Math.Max(s.MaxHourToday, s.HourCount);
        if (s.HourCount != hourBefore)
        {
            SyncCounts(s); // a subscriber new today is new in the hour too, so otherwise no count changed
            if (grew || s.MaxHourToday != maxHourBefore)
            {
                OpenDayChanged(s); // a day's stored counts: distinct subscribers, orphans and the busiest hour
            }
        }

        s.AddSequence(sequence);

        if (grew)
        {
            Judge(s, metricKind: 0, ms, entry.Store, findings);
        }
    }

    /// <inheritdoc />
    public void OnOrphan(in OrphanLookup orphan, long nowMs, List<Finding> findings)
    {
        OnOrphan(new Principal(PrincipalKind.Clerk, orphan.Clerk), orphan, nowMs, findings);
        if (orphan.Terminal is { } terminal)
        {
            OnOrphan(new Principal(PrincipalKind.Terminal, terminal), orphan, nowMs, findings);
        }
    }

    private void OnOrphan(Principal principal, in OrphanLookup orphan, long nowMs, List<Finding> findings)
    {
        if (nowMs < _countsFromMs || !_slots.TryGet(principal, out var slot) || _states.Get(slot) is not { } s)
        {
            return;
        }

        Roll(s, nowMs);
        s.OrphansToday++;
        SyncCounts(s);
        OpenDayChanged(s);
        s.AddSequence(orphan.Sequence);

        Judge(s, metricKind: 1, nowMs, orphan.Store, findings);
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        if (_slots.TryGet(principal, out var slot) && _states.Get(slot) is { } s)
        {
            // Keep the history (the baseline) but forget today's flags and counts: the officer judged them legitimate.
            s.ClearToday();
            s.ClearHour();
            s.OrphansToday = 0;
            s.MaxHourToday = 0;
            ((Span<int>)s.Flagged).Clear();
            Sync(s);
            OpenDayChanged(s);
        }
    }

    // Lists the principal for DrainChangedOpenDays (once until drained or its day closes).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void OpenDayChanged(State s)
    {
        if (RecordsOpenDays && !s.OpenDayChanged)
        {
            s.OpenDayChanged = true;
            _changedOpenDays.Add(s);
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

        return _slots.TryGet(principal, out var slot) && _states.Get(slot) is { } s && Value(s, Metrics[m]) is var v && !double.IsNaN(v) ? (int)v : 0;
    }

    /// <summary>
    /// For <see cref="TargetingDetector"/>: distinct subscribers the principal of <paramref name="slot"/> read over the 7
    /// local days ending with local day <paramref name="day"/> (subscriber-days, as <c>distinct-7d</c>), from the counts this
    /// detector keeps; 0 for an unknown principal. Days after the principal's latest counted day count 0.
    /// </summary>
    internal long DistinctOver7(int slot, long day)
    {
        long sum = 0;
        for (var d = day - 6; d <= day; d++)
        {
            sum += DistinctOn(slot, d);
        }

        return sum;
    }

    /// <summary>For <see cref="TargetingDetector"/>: distinct subscribers the principal read on local day <paramref name="day"/> (today live, or a past day of the last 30); 0 otherwise.</summary>
    internal int DistinctOn(int slot, long day)
    {
        if (_states.Get(slot) is not { } s || s.Day == long.MinValue)
        {
            return 0;
        }

        return day == s.Day ? s.TodayCount : day < s.Day && s.Day - day < Days ? s.Distinct[(int)(((day % Days) + Days) % Days)] : 0;
    }

    /// <summary>The principal slots this detector shares with the engine's other detectors.</summary>
    internal PrincipalSlots Slots => _slots;

    /// <summary>
    /// For <see cref="TargetingDetector"/>: the slots of the principal's store peer group (same store, kind and role,
    /// itself included) into <paramref name="into"/> (cleared first); none when the principal is unknown or has no store.
    /// </summary>
    internal void StorePeers(int slot, List<int> into)
    {
        into.Clear();
        if (_states.Get(slot) is not { HasStore: true } s)
        {
            return;
        }

        for (var i = 0; i < s.Local.Count; i++)
        {
            into.Add(s.Local.Members[i].Slot);
        }
    }

    private State GetState(int slot, string? store, StaffRole? role, long ms)
    {
        if (_states.Get(slot) is not { } s)
        {
            var principal = _slots[slot];
            // Peer groups are resolved once, here: the store's (kind, store, role) and the chain's (kind, role). A
            // principal with no store has the chain group as both (and is listed in it twice).
            var key = new GroupKey(principal.Kind, store, principal.Kind == PrincipalKind.Clerk ? role : null);
            var local = GetGroup(key);
            var chain = GetGroup(key with { Store = null });
            s = new State(principal, local, chain, store is not null) { Store = store, Role = key.Role, Slot = slot };
            _states.Add(slot, s);
            s.LocalIndex = local.Add(s);
            s.ChainIndex = chain.Add(s);
            Sync(s);
        }

        Roll(s, ms);
        return s;
    }

    private Group GetGroup(GroupKey key)
    {
        if (!_groups.TryGetValue(key, out var group))
        {
            group = new Group();
            _groups[key] = group;
        }

        return group;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Roll(State s, long ms)
    {
        var local = ms + _offsetMs;
        if (local >= s.HourStart && local - s.HourStart < HourMs)
        {
            return; // same local clock hour (so the same day) as the last roll: nothing to do
        }

        RollOver(s, local);
    }

    private void RollOver(State s, long local)
    {
        RollOverState(s, local);
        Sync(s);
    }

    private void RollOverState(State s, long local)
    {
        var day = Math.DivRem(local, DayMs, out _);
        var hour = local / HourMs;
        if (s.Day == long.MinValue)
        {
            s.Day = day;
            SetHour(s, hour);
            return;
        }

        if (hour != s.HourIndex)
        {
            SetHour(s, hour);
            s.ClearHour();
        }

        while (s.Day < day)
        {
            // Close the day: push today's values into the ring and record the end-of-day window sums as history.
            var active = s.TodayCount > 0;
            var slot = (int)(((s.Day % Days) + Days) % Days);
            s.Distinct[slot] = s.TodayCount;
            s.Orphans[slot] = s.OrphansToday;
            s.PastSumsDay = long.MinValue;
            s.MaxHour[slot] = s.MaxHourToday;
            s.Active[slot] = active;
            if (RecordsClosedDays && (active || s.OrphansToday > 0 || s.OpenDayDrained))
            {
                // A drained open day is recorded even with no count left (a Reset): its stored row gets the final counts.
                _closedDays.Add(new BaselineDay(s.Principal, s.Store, s.Role, s.Day, s.TodayCount, s.OrphansToday, s.MaxHourToday));
            }

            s.OpenDayChanged = false; // the closed day supersedes any open-day snapshot not yet drained
            s.OpenDayDrained = false;

            if (active)
            {
                for (var m = 0; m < Metrics.Length; m++)
                {
                    var value = Value(s, Metrics[m], includeTodayLive: false, endDay: s.Day);
                    if (!double.IsNaN(value))
                    {
                        s.AddHistory(m, value);
                    }
                }
            }

            s.ClearToday();
            s.OrphansToday = 0;
            s.MaxHourToday = 0;
            ((Span<int>)s.Flagged).Clear();
            s.ForgetOwnThresholds();
            s.ShortHistory = 0;
            s.Day++;
            if (day - s.Day > Days)
            {
                // Long absence: fast-forward, clearing the ring.
                Array.Clear(s.Distinct);
                s.PastSumsDay = long.MinValue;
                Array.Clear(s.Orphans);
                Array.Clear(s.MaxHour);
                Array.Clear(s.Active);
                s.Day = day;
            }
        }
    }

    private static void SetHour(State s, long hour)
    {
        s.HourIndex = hour;
        s.HourStart = hour >= 0 ? hour * HourMs : long.MaxValue; // the fast path in Roll only for times after 1970
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
            return includeTodayLive ? s.HourCount : s.MaxHourToday;
        }

        // Days window: today (live or closing) + previous Days-1 days from the ring.
        long today = m.Kind == 0 ? s.TodayCount : s.OrphansToday;
        return today + PastSum(s, m.Kind, m.Days, includeTodayLive ? s.Day : endDay);
    }

    // Value(s, m) with today's live values, without the Metric copies and the recursion: the same arithmetic, for the
    // hot paths (every judged read, every member of a peer group being recomputed).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double LiveValue(State s, int kind, int days)
    {
        if (kind == 2)
        {
            var distinct = LiveCount(s, 0, days);
            return distinct < 150 ? double.NaN : 100.0 * LiveCount(s, 1, days) / distinct;
        }

        return LiveCount(s, kind, days);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double LiveCount(State s, int kind, int days) =>
        days == 0 ? s.HourCount : (kind == 0 ? s.TodayCount : s.OrphansToday) + PastSum(s, kind, days, s.Day);

    // Sum of the ring's daily values over the days - 1 days before `today`. The four sums the metrics use (distinct and
    // orphans over 6 and 29 past days) are cached per principal until its ring or day changes.
    private static long PastSum(State s, int kind, int days, long today)
    {
        if (days <= 1)
        {
            return 0;
        }

        if (s.PastSumsDay != today)
        {
            s.PastDistinct7 = SumBack(s.Distinct, today, 7);
            s.PastDistinct30 = SumBack(s.Distinct, today, Days);
            s.PastOrphans7 = SumBack(s.Orphans, today, 7);
            s.PastOrphans30 = SumBack(s.Orphans, today, Days);
            s.PastSumsDay = today;
        }

        return (kind, days) switch
        {
            (0, 7) => s.PastDistinct7,
            (0, Days) => s.PastDistinct30,
            (_, 7) => s.PastOrphans7,
            (_, Days) => s.PastOrphans30,
            _ => SumBack(kind == 0 ? s.Distinct : s.Orphans, today, days),
        };
    }

    private static long SumBack(int[] ring, long today, int days)
    {
        long sum = 0;
        var slot = (int)(((today % Days) + Days) % Days);
        for (var back = 1; back < days; back++)
        {
            slot = slot == 0 ? Days - 1 : slot - 1;
            sum += ring[slot];
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

            var value = LiveValue(s, metric.Kind, metric.Days);
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
                EntryFacts.Evidence(s.LastSequences.AsSpan(0, s.LastSequenceCount).ToArray()),
                metric.Days <= 1 ? TimeSpan.FromDays(1) : TimeSpan.FromDays(7)));
        }
    }

    private (double Threshold, double Median, double Mad) OwnThreshold(State s, int m)
    {
        ref var cached = ref s.Own[m];
        if (!double.IsNaN(cached.Threshold))
        {
            return (cached.Threshold, cached.Median, cached.Mad);
        }

        if ((s.ShortHistory & (1 << m)) != 0)
        {
            return (double.NaN, double.NaN, double.NaN); // known since the day's history was last changed
        }

        var count = s.History[m].Count;
        if (count < _options.BaselineMinDays)
        {
            s.ShortHistory |= 1 << m;
            return (double.NaN, double.NaN, double.NaN);
        }

        // The history kept in ascending order beside it: the same threshold without copying or selecting.
        var r = RobustStatistics.UpperThresholdOfSorted(s.SortedHistory(m, count), _options.BaselineK, Metrics[m].MinSpread);
        cached = new OwnStatistics(r.Threshold, r.Median, r.Mad);
        return r;
    }

    private (double Threshold, double Median, double Mad, int Size) PeerThreshold(State s, int m, long ms)
    {
        // The higher of the store group's and the chain-wide group's thresholds: a store-wide burst raises the first,
        // a naturally fast clerk in a small store is judged by the second.
        var global = GroupThreshold(s.Chain, m, ms);
        if (!s.HasStore)
        {
            return global;
        }

        var local = GroupThreshold(s.Local, m, ms);
        return double.IsNaN(local.Threshold) || (!double.IsNaN(global.Threshold) && global.Threshold >= local.Threshold) ? global : local;
    }

    private (double Threshold, double Median, double Mad, int Size) GroupThreshold(Group group, int m, long ms)
    {
        ref var cached = ref group.Cache[m];
        if (cached.Known && ms - cached.AtMs < PeerCacheMs)
        {
            return (cached.Threshold, cached.Median, cached.Mad, cached.Size);
        }

        // The members' current values come from the group's compact views (one contiguous array), not from the
        // members' state objects: the same numbers (each view is written whenever its member's counts, hour or day
        // change), read without touching 300 objects for the chain's group. A member whose view lies outside the
        // current clock hour is rolled first, exactly as Roll would (which rewrites the view).
        var count = group.Count;
        var span = Scratch(count);
        var metric = Metrics[m];
        var local = ms + _offsetMs;
        var views = group.Views;
        for (var i = 0; i < count; i++)
        {
            ref var view = ref views[i];
            if (!(local >= view.HourStart && local - view.HourStart < HourMs))
            {
                RollOver(group.Members[i], local); // rewrites this member's views only, so rolling all first changes no value
            }
        }

        // The values of the members active today, in member order: one loop per metric, so that the metric's field is
        // chosen once rather than per member.
        var n = (metric.Kind, metric.Days) switch
        {
            (0, 0) => Collect<HourCount>(views, count, span),
            (0, 1) => Collect<TodayCount>(views, count, span),
            (0, 7) => Collect<Distinct7>(views, count, span),
            (0, Days) => Collect<Distinct30>(views, count, span),
            (1, 1) => Collect<OrphansToday>(views, count, span),
            (1, 7) => Collect<Orphans7>(views, count, span),
            (1, Days) => Collect<Orphans30>(views, count, span),
            _ => CollectAny(views, count, span, metric.Kind, metric.Days),
        };

        var result = n < _options.PeerGroupMinSize
            ? (double.NaN, double.NaN, double.NaN)
            : RobustStatistics.UpperThreshold(span[..n], _options.BaselineK, Metrics[m].MinSpread);
        cached = new PeerStatistics(true, ms, result.Item1, result.Item2, result.Item3, n);
        return (result.Item1, result.Item2, result.Item3, n);
    }

    // The count metrics' values (never NaN) of the members active today; the slot is written for every member and kept
    // only for an active one, which spares a branch that no predictor gets right.
    private static int Collect<T>(MemberView[] views, int count, Span<double> span)
        where T : struct, IViewCount
    {
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            ref var view = ref views[i];
            span[n] = T.Of(view);
            n += view.TodayCount > 0 ? 1 : 0;
        }

        return n;
    }

    private static int CollectAny(MemberView[] views, int count, Span<double> span, int kind, int days)
    {
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            ref var view = ref views[i];
            if (view.TodayCount > 0 && ViewValue(view, kind, days) is var v && !double.IsNaN(v))
            {
                span[n++] = v;
            }
        }

        return n;
    }

    // ViewCount of one metric, as a type so that Collect is compiled once per metric: the same arithmetic.
    private interface IViewCount
    {
        static abstract double Of(in MemberView v);
    }

    private readonly struct HourCount : IViewCount
    {
        public static double Of(in MemberView v) => v.HourCount;
    }

    private readonly struct TodayCount : IViewCount
    {
        public static double Of(in MemberView v) => v.TodayCount + 0L;
    }

    private readonly struct Distinct7 : IViewCount
    {
        public static double Of(in MemberView v) => v.TodayCount + v.PastDistinct7;
    }

    private readonly struct Distinct30 : IViewCount
    {
        public static double Of(in MemberView v) => v.TodayCount + v.PastDistinct30;
    }

    private readonly struct OrphansToday : IViewCount
    {
        public static double Of(in MemberView v) => v.OrphansToday + 0L;
    }

    private readonly struct Orphans7 : IViewCount
    {
        public static double Of(in MemberView v) => v.OrphansToday + v.PastOrphans7;
    }

    private readonly struct Orphans30 : IViewCount
    {
        public static double Of(in MemberView v) => v.OrphansToday + v.PastOrphans30;
    }

    // LiveValue over a member's view: the same arithmetic on the same numbers.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double ViewValue(in MemberView v, int kind, int days)
    {
        if (kind == 2)
        {
            var distinct = ViewCount(v, 0, days);
            return distinct < 150 ? double.NaN : 100.0 * ViewCount(v, 1, days) / distinct;
        }

        return ViewCount(v, kind, days);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double ViewCount(in MemberView v, int kind, int days) =>
        days == 0 ? v.HourCount : (kind == 0 ? v.TodayCount : v.OrphansToday) + (days <= 1 ? 0 : (kind, days) switch
        {
            (0, 7) => v.PastDistinct7,
            (0, Days) => v.PastDistinct30,
            (_, 7) => v.PastOrphans7,
            (_, Days) => v.PastOrphans30,
            _ => throw new UnreachableException("The baseline's metrics span 0, 1, 7 or 30 days."),
        });

    // Writes the member's live numbers into its views in both peer groups (after any change of hour, day or counts).
    private static void Sync(State s)
    {
        _ = PastSum(s, 0, 7, s.Day); // refreshes the cached past sums when the day or the ring changed
        Write(ref s.Local.Views[s.LocalIndex], s);
        Write(ref s.Chain.Views[s.ChainIndex], s);

        static void Write(ref MemberView v, State s)
        {
            v.HourStart = s.HourStart;
            v.TodayCount = s.TodayCount;
            v.HourCount = s.HourCount;
            v.OrphansToday = s.OrphansToday;
            v.PastDistinct7 = s.PastDistinct7;
            v.PastDistinct30 = s.PastDistinct30;
            v.PastOrphans7 = s.PastOrphans7;
            v.PastOrphans30 = s.PastOrphans30;
        }
    }

    // Only the counts changed (same hour and day): the cheaper write.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SyncCounts(State s)
    {
        ref var local = ref s.Local.Views[s.LocalIndex];
        local.TodayCount = s.TodayCount;
        local.HourCount = s.HourCount;
        local.OrphansToday = s.OrphansToday;
        ref var chain = ref s.Chain.Views[s.ChainIndex];
        chain.TodayCount = s.TodayCount;
        chain.HourCount = s.HourCount;
        chain.OrphansToday = s.OrphansToday;
    }

    private Span<double> Scratch(int size)
    {
        if (_scratch.Length < size)
        {
            _scratch = new double[size * 2];
        }

        return _scratch.AsSpan(0, size);
    }

    private readonly record struct Metric(string Name, int Kind, int Days, double MinSpread, TimeSpan Window);

    private readonly record struct GroupKey(PrincipalKind Kind, string? Store, StaffRole? Role);

    // A peer group's last computed threshold per metric (reused for PeerCacheMs of ledger time).
    private readonly record struct PeerStatistics(bool Known, long AtMs, double Threshold, double Median, double Mad, int Size);

    // A member's numbers that a peer-group pass reads, copied out of its state (see GroupThreshold).
    private struct MemberView
    {
        public long HourStart;
        public long PastDistinct7;
        public long PastDistinct30;
        public long PastOrphans7;
        public long PastOrphans30;
        public int TodayCount;
        public int HourCount;
        public int OrphansToday;
    }

    private sealed class Group
    {
        public readonly PeerStatistics[] Cache = new PeerStatistics[Metrics.Length];
        public State[] Members = new State[8];
        public MemberView[] Views = new MemberView[8];
        public int Count;

        // Appends a member (a principal with no store is added to the chain's group twice); returns its index.
        public int Add(State s)
        {
            if (Count == Members.Length)
            {
                Array.Resize(ref Members, Count * 2);
                Array.Resize(ref Views, Count * 2);
            }

            Members[Count] = s;
            return Count++;
        }
    }

    private const int MetricCount = 8; // Metrics.Length (asserted in the constructor)

    // A metric's own threshold, median and MAD (see OwnThreshold).
    private readonly record struct OwnStatistics(double Threshold, double Median, double Mad);

    [InlineArray(MetricCount)]
    private struct MetricOwnStatistics
    {
        private OwnStatistics _first;
    }

    [InlineArray(MetricCount)]
    private struct MetricInts
    {
        private int _first;
    }

    private sealed class State(Principal principal, Group local, Group chain, bool hasStore)
    {
        public readonly Principal Principal = principal;
        public readonly Group Local = local;
        public readonly Group Chain = chain;
        public readonly bool HasStore = hasStore;
        public string? Store; // the store and role of its peer group, for BaselineDay
        public StaffRole? Role;
        public int Slot; // the principal's slot in PrincipalSlots
        public int LocalIndex; // index in Local's members and views
        public int ChainIndex; // index in Chain's members and views
        // Subscribers read today (local day), each with the generation of the clock hour in which it was last counted
        // towards HourCount: the hour's distinct subscribers are those marked with the current HourGeneration (the hour
        // always lies within the day, so one table serves both counts).
        public readonly LongMap<int> Today = new(InitialDayCapacity);
        public int TodayCount; // Today.Count, kept here so that a peer-group pass reads no other object
        public int HourGeneration = 1;
        public int HourCount;
        public readonly int[] Distinct = new int[Days];
        public readonly int[] Orphans = new int[Days];
        public readonly int[] MaxHour = new int[Days];
        public readonly bool[] Active = new bool[Days];
        // Own history per metric: the last Days end-of-day values (active days only), oldest first, and the same values
        // in ascending order (allocated on the first value and grown with the history, so a new principal costs no more).
        public readonly List<double>[] History = [.. Metrics.Select(_ => new List<double>())];
        public readonly double[]?[] Sorted = new double[Metrics.Length][];
        // Per metric, inside the state object (inline arrays) rather than four arrays of their own: Judge reads them
        // for every read that grew a count, so they share the state's cache lines instead of costing a miss each.
        public MetricOwnStatistics Own = Unknown(); // the own threshold, median and MAD; Threshold NaN: not computed since the history changed
        public MetricInts Flagged; // the highest score raised today per metric
        // The last MaxEvidence sequences (reads and orphans), a ring filled from index 0; their order does not matter to Evidence.
        public readonly long[] LastSequences = new long[Finding.MaxEvidence];
        public int LastSequenceCount;
        public int LastSequenceNext;
        public long Day = long.MinValue;
        public long PastSumsDay = long.MinValue;
        public long PastDistinct7;
        public long PastDistinct30;
        public long PastOrphans7;
        public long PastOrphans30;
        public long HourIndex;
        public long HourStart = long.MaxValue; // local ms at which HourIndex starts

        public int OrphansToday;
        public int MaxHourToday;
        public int ShortHistory; // bit m: metric m's history holds fewer than BaselineMinDays values (cleared whenever History changes)
        public bool OpenDayChanged; // listed in _changedOpenDays: Day's counts changed since last drained
        public bool OpenDayDrained; // Day's counts were drained as an open day (so its close is recorded whatever its counts)

        // Every metric's own threshold unknown (NaN), as after a change of the history.
        public void ForgetOwnThresholds() => Own = Unknown();

        private static MetricOwnStatistics Unknown()
        {
            var own = default(MetricOwnStatistics);
            ((Span<OwnStatistics>)own).Fill(new OwnStatistics(double.NaN, 0, 0));
            return own;
        }

        /// <summary>Metric <paramref name="m"/>'s history in ascending order (its <paramref name="count"/> = History[m].Count values).</summary>
        public ReadOnlySpan<double> SortedHistory(int m, int count) => Sorted[m].AsSpan(0, count);

        // Appends a value to metric m's history, dropping the oldest beyond Days, and keeps the sorted copy in step.
        public void AddHistory(int m, double value)
        {
            var history = History[m];
            ref var sorted = ref Sorted[m];
            history.Add(value);
            var count = history.Count;
            if (count > Days)
            {
                // The oldest value leaves the history and the sorted copy (one occurrence of that very value).
                var at = Array.IndexOf(sorted!, history[0], 0, count - 1);
                Debug.Assert(at >= 0, "the value leaving the history is in its sorted copy");
                Array.Copy(sorted!, at + 1, sorted!, at, count - 2 - at);
                history.RemoveAt(0);
                count--;
            }

            if ((sorted?.Length ?? 0) < count)
            {
                Array.Resize(ref sorted, Math.Min(Days, Math.Max(8, 2 * count)));
            }

            var target = sorted!; // allocated or grown above when it had no room
            var i = count - 1; // values already in the sorted copy
            while (i > 0 && target[i - 1] > value)
            {
                target[i] = target[i - 1];
                i--;
            }

            target[i] = value;
        }

        // Keeps the last MaxEvidence sequences, as a queue that drops its oldest would.
        public void AddSequence(long sequence)
        {
            LastSequences[LastSequenceNext] = sequence;
            LastSequenceNext = LastSequenceNext == Finding.MaxEvidence - 1 ? 0 : LastSequenceNext + 1;
            LastSequenceCount = Math.Min(LastSequenceCount + 1, Finding.MaxEvidence);
        }

        public void ClearToday()
        {
            Today.Clear();
            TodayCount = 0;
        }

        // A new clock hour (or a reset): no subscriber counted in it yet.
        public void ClearHour()
        {
            HourGeneration++;
            HourCount = 0;
        }
    }
}
