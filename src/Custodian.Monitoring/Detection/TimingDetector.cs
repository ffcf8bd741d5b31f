using System.Globalization;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>machine-timing</c>: reads that a person at a counter does not produce.
/// <list type="bullet">
/// <item><b>Sustained rate without idle</b>: at least <see cref="DetectionOptions.ActiveMinutesAlert"/> of the last 15
/// minutes each hold a read (a clerk serving customers reads in bursts and then talks, types and prints): score 50, or
/// 75 when all 15 do.</item>
/// <item><b>Regular gaps</b>: the last 10 gaps between lookups that start a new subscriber have a coefficient of
/// variation below 0.2 and a mean under 3 minutes (a script with a fixed or lightly jittered pause): score 50.</item>
/// <item><b>Outside store hours</b>: distinct subscribers read outside <see cref="DetectionOptions.StoreOpens"/>–<see cref="DetectionOptions.StoreCloses"/>
/// (store-local, ± <see cref="DetectionOptions.HoursGrace"/>) within one hour: 1 scores 45, 3 score 75, 5 score 100.</item>
/// </list>
/// Memory 1 hour. State is keyed by clerk and by terminal.
/// </summary>
public sealed class TimingDetector : IDetector
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "machine-timing";

    private const int Gaps = 10;
    private const int MaxPooled = 4096;
    private const int RecentKept = 30; // ledger sequences kept as evidence
    private const int SeenKept = 256; // subscribers remembered to tell a new one from a repeat (then forgotten at once)
    private static readonly TimeSpan Memory = TimeSpan.FromHours(1);

    private readonly DetectionOptions _options;
    private readonly long _offsetMs;
    private readonly long _opensMs;
    private readonly long _closesMs;
    private readonly PrincipalSlots _slots;
    private readonly SlotMap<State> _states = new(); // by principal slot
    private readonly List<int> _idle = [];
    private readonly Stack<State> _pool = new();
    private long[] _lastMs = new long[64]; // by principal slot: State.LastMs, for the per-minute sweep without touching each state
    private long _oldestLastMs = NoneMs; // at most every state's LastMs (the lowest at the last sweep, or a later read's)
    private const long NoneMs = long.MaxValue / 4;
    private const long IdleMs = 2 * 3_600_000L;

    /// <summary>Creates the detector.</summary>
    public TimingDetector(DetectionOptions options)
        : this(options, new PrincipalSlots())
    {
    }

    internal TimingDetector(DetectionOptions options, PrincipalSlots slots)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _slots = slots;
        _offsetMs = (long)options.LocalOffset.TotalMilliseconds;
        _opensMs = (long)(options.StoreOpens - options.HoursGrace).TotalMilliseconds;
        _closesMs = (long)(options.StoreCloses + options.HoursGrace).TotalMilliseconds;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>Two hours: the longest idle gap it remembers; its windows and findings' memory are 1 hour or shorter.</remarks>
    public TimeSpan History => TimeSpan.FromMilliseconds(IdleMs);

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        if (!EntryFacts.IsRead(entry))
        {
            return;
        }

        var ms = entry.Time.ToUnixTimeMilliseconds();
        Track(_slots.ClerkOf(entry), sequence, entry, ms, findings);
        Track(_slots.TerminalOf(entry), sequence, entry, ms, findings);
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
        if (nowMs - _oldestLastMs <= IdleMs)
        {
            return; // every state read within IdleMs: none is idle, as the sweep below would find
        }

        _states.CheckOrder();
        var oldest = NoneMs;
        for (var position = 0; position < _states.End; position++)
        {
            var p = _states.SlotAt(position);
            if (p < 0)
            {
                continue;
            }

            if (nowMs - _lastMs[p] > IdleMs)
            {
                _idle.Add(p);
            }
            else
            {
                oldest = Math.Min(oldest, _lastMs[p]);
            }
        }

        _oldestLastMs = oldest;

        foreach (var slot in _idle)
        {
            Release(slot);
        }

        _idle.Clear();
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        if (_slots.TryGet(principal, out var slot))
        {
            Release(slot);
        }
    }

    private void Release(int slot)
    {
        if (_states.Remove(slot, out var state) && _pool.Count < MaxPooled)
        {
            state.Clear();
            _pool.Push(state); // reused so that its collections keep their capacity
        }
    }

    private void Track(int slot, long sequence, AccessEntry entry, long ms, List<Finding> findings)
    {
        if (slot == PrincipalSlots.None)
        {
            return;
        }

        var s = _states.Get(slot);
        if (s is null)
        {
            s = _pool.TryPop(out var reused) ? reused : new State();
            _states.Add(slot, s);
        }
        var p = slot;

        s.LastMs = ms;
        if (slot >= _lastMs.Length)
        {
            Array.Resize(ref _lastMs, Math.Max(slot + 1, _lastMs.Length * 2));
        }

        _lastMs[slot] = ms;
        _oldestLastMs = Math.Min(_oldestLastMs, ms);
        s.AddRecent(sequence);

        // Sustained activity: a 15-slot ring of minute numbers that held a read.
        var minute = ms / 60_000;
        s.Minutes[(int)(minute % 15)] = minute;
        var active = ActiveMinutes(s.Minutes, minute - 15);

        if (active >= _options.ActiveMinutesAlert && Due(s, 0, active == 15 ? 75 : 50))
        {
            Flag(s, p, 0, active == 15 ? 75 : 50, entry.Store, TimeSpan.FromMinutes(15), active, _options.ActiveMinutesAlert, $"reads in {active} of the last 15 minutes", findings);
        }

        // Regular gaps between lookups of a new subscriber.
        var isNew = false;
        var subjects = _slots.SubjectsOf(entry);
        foreach (var subject in subjects)
        {
            isNew |= s.Seen.Add(subject);
        }

        if (s.Seen.Count > SeenKept)
        {
            s.Seen.Clear();
        }

        if (isNew)
        {
            if (s.LastNewMs != long.MinValue)
            {
                s.GapsRing[s.GapCount++ % Gaps] = ms - s.LastNewMs;
            }

            s.LastNewMs = ms;
            if (s.GapCount >= Gaps)
            {
                double mean = 0;
                foreach (var g in s.GapsRing)
                {
                    mean += g;
                }

                mean /= Gaps;
                if (mean < 180_000 && Due(s, 1, 50) && CoefficientOfVariation(s, mean) is var cv && cv < 0.2)
                {
                    Flag(s, p, 1, 50, entry.Store, TimeSpan.FromMilliseconds(mean * Gaps), (int)Math.Round(cv * 100), 20,
                        string.Create(CultureInfo.InvariantCulture, $"last {Gaps} gaps between new subscribers: mean {mean / 1000:0} s, coefficient of variation {cv:0.00}"), findings);
                }
            }
        }

        // Outside store hours.
        var timeOfDay = ((ms + _offsetMs) % 86_400_000 + 86_400_000) % 86_400_000;
        if (timeOfDay < _opensMs || timeOfDay >= _closesMs)
        {
            while (s.OffHours.TryPeek(out var head) && ms - head.Ms >= 3_600_000)
            {
                s.OffHours.Dequeue();
            }

            foreach (var subject in subjects)
            {
                if (!ContainsSubject(s.OffHours, subject))
                {
                    s.OffHours.Enqueue((subject, ms));
                }
            }

            var n = s.OffHours.Count;
            var score = n >= 5 ? 100 : n >= 3 ? 75 : 45;
            if (Due(s, 2, score))
            {
                Flag(s, p, 2, score, entry.Store, TimeSpan.FromHours(1), n, 0, OffHoursDetail(n), findings);
            }
        }
    }

    // How many of the ring's 15 minutes are after `after`: four 4-lane compares instead of 15 branches on data that
    // changes with every read. The ring's 16th element is a fixed "never" that no compare counts.
    private static int ActiveMinutes(in SixteenLongs minutes, long after)
    {
        ReadOnlySpan<long> m = minutes;
        var threshold = Vector256.Create(after);
        var bits = Vector256.GreaterThan(Vector256.Create(m[..4]), threshold).ExtractMostSignificantBits()
            | (Vector256.GreaterThan(Vector256.Create(m[4..8]), threshold).ExtractMostSignificantBits() << 4)
            | (Vector256.GreaterThan(Vector256.Create(m[8..12]), threshold).ExtractMostSignificantBits() << 8)
            | (Vector256.GreaterThan(Vector256.Create(m[12..16]), threshold).ExtractMostSignificantBits() << 12);
        return BitOperations.PopCount(bits);
    }

    /// <summary>
    /// The off-hours rule's detail: how many distinct subscribers were read outside store hours in the last hour. Its
    /// threshold is 0 (none is expected), which the alert views show as "none allowed", never as a ratio "1/0".
    /// </summary>
    internal static string OffHoursDetail(int subscribers) =>
        string.Create(CultureInfo.InvariantCulture, $"{subscribers} {(subscribers == 1 ? "subscriber" : "subscribers")} read outside store hours within an hour");

    private static bool ContainsSubject(Queue<(long Subject, long Ms)> queue, long subject)
    {
        foreach (var x in queue)
        {
            if (x.Subject == subject)
            {
                return true;
            }
        }

        return false;
    }

    // The coefficient of variation of the last Gaps gaps, whose mean is `mean`.
    private static double CoefficientOfVariation(State s, double mean)
    {
        double variance = 0;
        foreach (var g in s.GapsRing)
        {
            variance += (g - mean) * (g - mean);
        }

        return mean <= 0 ? 0 : Math.Sqrt(variance / Gaps) / mean;
    }

    // Whether a rule's finding at this score would be new: not already raised at this score or higher within the last
    // hour. Asked before Flag so that the finding's detail text is formatted only for a finding that is raised.
    private static bool Due(State s, int rule, int score) => !(s.FlagScore[rule] >= score && s.LastMs - s.FlagMs[rule] < 3_600_000);

    // Raises a rule's finding; the caller has checked Due.
    private void Flag(State s, int p, int rule, int score, string? store, TimeSpan window, int observed, int threshold, string detail, List<Finding> findings)
    {
        var ms = s.LastMs;
        s.FlagScore[rule] = score;
        s.FlagMs[rule] = ms;
        findings.Add(new Finding(DetectorName, _slots[p], store, score, window, observed, threshold, detail, EntryFacts.Evidence(s.RecentSequences()), Memory));
    }

    // The fixed-size rings live inside the state object (inline arrays): one object to touch per read instead of five.
    [InlineArray(16)]
    private struct SixteenLongs
    {
        private long _first;
    }

    [InlineArray(Gaps)]
    private struct GapLongs
    {
        private long _first;
    }

    [InlineArray(RecentKept)]
    private struct RecentLongs
    {
        private long _first;
    }

    [InlineArray(3)]
    private struct ThreeLongs
    {
        private long _first;
    }

    [InlineArray(3)]
    private struct ThreeInts
    {
        private int _first;
    }

    private sealed class State
    {
        public readonly SubjectSet Seen = new(SeenKept + 1); // 512 slots, 4 KB
        public readonly Queue<(long Subject, long Ms)> OffHours = new();
        public RecentLongs Recent; // the last RecentKept sequences read (a ring; their order does not matter to Evidence)
        public int RecentCount;
        public int RecentNext;
        public SixteenLongs Minutes; // a ring of 15 (minute % 15); the 16th stays long.MinValue / 2 (see ActiveMinutes)
        public GapLongs GapsRing;
        public ThreeInts FlagScore;
        public ThreeLongs FlagMs;
        public long LastNewMs = long.MinValue;
        public int GapCount;
        public long LastMs;

        public State() => ((Span<long>)Minutes).Fill(long.MinValue / 2);

        // Keeps the last RecentKept sequences, as a queue that drops its oldest would.
        public void AddRecent(long sequence)
        {
            Recent[RecentNext] = sequence;
            RecentNext = RecentNext == RecentKept - 1 ? 0 : RecentNext + 1;
            RecentCount = Math.Min(RecentCount + 1, RecentKept);
        }

        // The kept sequences (filled from index 0 until the ring is full).
        public long[] RecentSequences() => ((ReadOnlySpan<long>)Recent)[..RecentCount].ToArray();

        // Back to the state of a new instance.
        public void Clear()
        {
            ((Span<long>)Minutes).Fill(long.MinValue / 2);
            ((Span<long>)GapsRing).Clear();
            Seen.Clear();
            OffHours.Clear();
            RecentCount = 0;
            RecentNext = 0;
            ((Span<int>)FlagScore).Clear();
            ((Span<long>)FlagMs).Clear();
            LastNewMs = long.MinValue;
            GapCount = 0;
            LastMs = 0;
        }
    }
}
