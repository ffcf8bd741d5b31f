using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Custodian.Identity;
using Custodian.Monitoring.Detection;
using Microsoft.Extensions.Options;

namespace Custodian.Monitoring;

/// <summary>
/// Counts, per principal (clerk account; terminal) and per sliding window of <see cref="MonitorOptions.Windows"/>,
/// the DISTINCT subscribers the principal read, and reports a <see cref="DetectorBreach"/> the first time a count
/// exceeds its limit. Windows are exact, not bucketed: a subscriber is inside the window ending at the principal's
/// latest ledger time <c>now</c> when its most recent read by that principal happened at <c>t</c> with
/// <c>now − t &lt; window</c>. Time is the ledger entries' time, never the wall clock.
/// </summary>
/// <remarks>
/// <para>
/// Per principal the detector keeps one list of subscribers ordered by their last read (a subscriber read again
/// moves to the newest end; its nodes live in one array, linked by index), a flat open-addressing table
/// subscriber → list node, and per window a boundary node and a count.
/// Each update evicts with the entry's time and then touches the entry's subjects: O(1) amortised per subject and
/// window, no allocation once the principal's arrays have grown. Memory per principal is one node per distinct
/// subscriber inside the largest window, which cannot exceed that window's limit + 1 before the principal is
/// latched (reported); once latched, no new subscribers are recorded beyond limit + 1, so a suspended scraper
/// does not grow the state.
/// </para>
/// <para>
/// Ledger times are taken as non-decreasing per principal: an entry older than the principal's latest (concurrent
/// appends may commit a few milliseconds out of order) counts as read at the latest time, which can only keep it
/// in a window longer, never shorter.
/// </para>
/// <para>
/// A principal's state is found by its code string: first in a small direct-mapped cache keyed by the string
/// INSTANCE (one reference comparison; the live monitor asks <see cref="IsLatched"/> and then <see cref="Observe"/> with
/// the same entry's code, and entries of a session usually carry the same code object), else in the dictionary by the
/// code's characters. A cached state that was since forgotten (<see cref="Reset"/>, <see cref="Prune"/>) is never served.
/// A forgotten state is cleared and kept (up to 4,096 of them) for the next new principal, with its arrays' capacity: a
/// clerk back after a day off, or a new terminal, allocates nothing once the detector has run a while.
/// </para>
/// <para>
/// <see cref="Prune"/> visits only the states that may be empty at its time: a priority queue orders the states by the
/// ledger time their newest subscriber leaves the largest window (a lower bound, re-keyed when reached early; stale
/// items are skipped by version). The eviction a prune would apply to the other states is deferred to their next use,
/// applying the latest time of the prunes since (a stack of prune times, strictly decreasing), so every answer is the
/// one of evicting every state at every prune. Memory: besides the states, one queue item per state plus one per
/// <see cref="Observe"/> that empties a state and per <see cref="Reset"/> (skipped and freed when reached).
/// </para>
/// <para>Not thread-safe: one thread (the <see cref="AccessMonitor"/>'s loop, under its lock) drives it.</para>
/// </remarks>
public sealed class DistinctSubjectsDetector
{
    /// <summary>The detector's stable name, recorded in alerts and ledger reasons.</summary>
    public const string DetectorName = "distinct-subjects";

    private readonly WindowLimit[] _windows;
    private readonly long[] _windowMs;
    private readonly int[][] _limits; // [kind-1][window]
    private readonly Dictionary<string, KeyState>[] _states =
        [new(StringComparer.Ordinal), new(StringComparer.Ordinal)];

    // Direct-mapped cache (code string instance, kind) → state; see the remarks. A power of two.
    private const int CacheSize = 1024;
    private readonly CacheEntry[] _cache = new CacheEntry[CacheSize];

    // Forgotten states, cleared, reused for new principals (their node array and index keep their capacity: a clerk back
    // after a day off costs no allocation). At most MaxPooled.
    private const int MaxPooled = 4096;
    private readonly Stack<KeyState> _pool = new();

    // The states by the ledger time from which a prune may find them empty (a lower bound: re-keyed when popped early;
    // long.MinValue for a state with no subscriber). An item whose version is not its state's current one is stale.
    private readonly PriorityQueue<DueItem, long> _due = new();
    private readonly List<DueItem> _keptDue = [];

    // The prunes so far (_pruneCount), and for deferring their eviction to each state's next use, the prune times as a
    // stack of (prune number, time) with the numbers increasing and the times strictly decreasing: the first entry whose
    // number is above n holds the latest time of the prunes after prune n.
    private long _pruneCount;
    private long[] _pruneSeqs = new long[4];
    private long[] _pruneMs = new long[4];
    private int _pruneStack;

    /// <summary>Creates the detector.</summary>
    /// <param name="options">Validated like <see cref="MonitorOptionsValidator"/>; windows are copied, later changes are not seen.</param>
    /// <exception cref="OptionsValidationException">When <paramref name="options"/> breaks a rule of <see cref="MonitorOptions"/>.</exception>
    public DistinctSubjectsDetector(MonitorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new MonitorOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(string.Empty, typeof(MonitorOptions), result.Failures);
        }

        _windows = [.. options.Windows.OrderBy(w => w.Window)];
        _windowMs = [.. _windows.Select(w => (long)w.Window.TotalMilliseconds)];
        _limits =
        [
            [.. _windows.Select(w => w.ClerkLimit)],
            [.. _windows.Select(w => w.TerminalLimit)],
        ];
    }

    /// <summary>The windows, shortest first.</summary>
    public IReadOnlyList<WindowLimit> Windows => _windows;

    /// <summary>
    /// Optional per-principal raise of the limits (four eyes, <c>raise-quota</c>, docs/access.md §7): given the principal and
    /// the ledger time (Unix ms), the factor (1–10) every window's limit is multiplied by for it. Called once per read on
    /// the monitor's thread; must be fast and thread-safe. Null (the default, and in replays): factor 1 for everyone.
    /// </summary>
    public Func<Principal, long, int>? LimitFactor { get; set; }

    /// <summary>The longest window: how far back the monitor replays the ledger on start.</summary>
    public TimeSpan LargestWindow => _windows[^1].Window;

    /// <summary>Number of principals with state (for diagnostics and memory tests).</summary>
    public int TrackedPrincipals => _states[0].Count + _states[1].Count;

    /// <summary>
    /// Records that <paramref name="principal"/> read <paramref name="subjects"/> at ledger time
    /// <paramref name="time"/> in entry <paramref name="sequence"/>, and reports whether this made a window's
    /// distinct count exceed its limit for the first time since the principal was last <see cref="Reset"/>.
    /// After a breach the principal is latched: later calls record repeats and at most limit + 1 subscribers
    /// in the largest window, and return false until <see cref="Reset"/>.
    /// </summary>
    /// <param name="principal">The clerk or terminal; its <see cref="Principal.Id"/> must not be null.</param>
    /// <param name="time">The entry's ledger time.</param>
    /// <param name="subjects">The entry's subjects; duplicates and subscribers already in a window count once.</param>
    /// <param name="sequence">The entry's ledger sequence, kept as evidence.</param>
    /// <param name="breach">The breached window (the shortest one when several breach at once).</param>
    /// <returns>True on a new breach.</returns>
    public bool Observe(Principal principal, DateTimeOffset time, IReadOnlyList<SubscriberId> subjects, long sequence, out DetectorBreach breach)
    {
        breach = default;
        ArgumentNullException.ThrowIfNull(principal.Id);
        ArgumentNullException.ThrowIfNull(subjects);
        var limits = LimitsFor(principal.Kind);
        var state = GetOrAdd(principal);
        ApplyPrunes(state);

        var nowMs = Math.Max(time.ToUnixTimeMilliseconds(), state.LastMs);
        state.LastMs = nowMs;
        Evict(state, nowMs);

        // LimitFactor is asked only where it can change the answer (it is ≥ 1): for a latched principal's cap, and for a
        // window whose count exceeds its unraised limit. A normal read never calls it.
        var last = _windows.Length - 1;
        var largestLimit = state.Latched ? limits[last] * Factor(principal, nowMs) : int.MaxValue;
        if (subjects is SubscriberId[] array)
        {
            // The usual list type: no interface call per subscriber.
            foreach (var subject in array)
            {
                Add(state, subject.Value, nowMs, sequence, largestLimit);
            }
        }
        else
        {
            for (var i = 0; i < subjects.Count; i++)
            {
                Add(state, subjects[i].Value, nowMs, sequence, largestLimit);
            }
        }

        if (state.Head == -1 && state.DueMs != long.MinValue)
        {
            // Emptied by this read's eviction (and nothing recorded): due at every prune from now on.
            Schedule(state, long.MinValue);
        }

        if (state.Latched)
        {
            return false;
        }

        var factor = 0; // not asked yet
        for (var w = 0; w < _windows.Length; w++)
        {
            if (state.Count[w] <= limits[w])
            {
                continue;
            }

            if (factor == 0)
            {
                factor = Factor(principal, nowMs);
            }

            if (state.Count[w] > limits[w] * factor)
            {
                state.Latched = true;
                breach = new DetectorBreach(principal, _windows[w].Window, state.Count[w], limits[w] * factor, sequence);
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Marks <paramref name="principal"/> as already reported (e.g. suspended by an officer, or a <c>suspended</c>
    /// ledger entry seen while replaying) so that it raises no breach until <see cref="Reset"/>.
    /// </summary>
    public void Latch(Principal principal)
    {
        ArgumentNullException.ThrowIfNull(principal.Id);
        GetOrAdd(principal).Latched = true;
    }

    /// <summary>Whether <paramref name="principal"/> is latched (reported and not reset since).</summary>
    public bool IsLatched(Principal principal) => Find(principal) is { Latched: true };

    /// <summary>Forgets everything about <paramref name="principal"/>: its windows and its latch (an officer judged its past activity legitimate).</summary>
    /// <returns>True when there was state to forget.</returns>
    public bool Reset(Principal principal)
    {
        if (principal.Id is null || !_states[(int)principal.Kind - 1].Remove(principal.Id, out var state))
        {
            return false;
        }

        Forget(state);
        return true;
    }

    /// <summary>
    /// Distinct subscribers <paramref name="principal"/> read in each window ending at <paramref name="now"/>
    /// (without changing state), shortest window first. Zero counts for an unknown principal.
    /// </summary>
    public IReadOnlyList<WindowCount> GetCounts(Principal principal, DateTimeOffset now)
    {
        var limits = LimitsFor(principal.Kind);
        var result = new WindowCount[_windows.Length];
        var state = Find(principal);
        if (state is not null)
        {
            ApplyPrunes(state);
        }

        var nowMs = Math.Max(now.ToUnixTimeMilliseconds(), state?.LastMs ?? long.MinValue);
        for (var w = 0; w < _windows.Length; w++)
        {
            var count = 0;
            if (state is not null)
            {
                var cutoff = nowMs - _windowMs[w];
                for (var n = state.Tail; n != -1 && state.Nodes[n].LastMs > cutoff; n = state.Nodes[n].Prev)
                {
                    count++;
                }
            }

            result[w] = new WindowCount(_windows[w].Window, count, limits[w] * Factor(principal, nowMs));
        }

        return result;
    }

    /// <summary>
    /// The evidence of <paramref name="breach"/>: the ledger sequences of the entries that put each distinct
    /// subscriber into the breached window (each subscriber's latest read by the principal), ascending, keeping the
    /// newest <see cref="AlertEvidence.MaxSequences"/>. Call right after <see cref="Observe"/> reported it.
    /// </summary>
    /// <exception cref="ArgumentException">When the breach's window is not a configured window.</exception>
    public AlertEvidence GetEvidence(DetectorBreach breach)
    {
        var w = Array.FindIndex(_windows, x => x.Window == breach.Window);
        if (w < 0)
        {
            throw new ArgumentException("The breach's window must be one of the configured windows.", nameof(breach));
        }

        var set = new SortedSet<long>();
        if (Find(breach.Principal) is { } state)
        {
            ApplyPrunes(state);
            for (var n = state.Boundary[w]; n != -1; n = state.Nodes[n].Next)
            {
                set.Add(state.Nodes[n].Sequence);
            }
        }

        var total = set.Count;
        var first = total == 0 ? breach.Sequence : set.Min;
        return new AlertEvidence(first, breach.Sequence, [.. set.Skip(Math.Max(0, total - AlertEvidence.MaxSequences))], total);
    }

    /// <summary>
    /// Drops the state of principals whose every window is empty at <paramref name="now"/> and that are not latched,
    /// or that are latched but for which <paramref name="keepLatched"/> returns false. Bounds memory across many idle
    /// principals; the monitor calls it periodically.
    /// </summary>
    /// <returns>How many principals were dropped.</returns>
    /// <remarks>
    /// Only the states that can be empty at <paramref name="now"/> are visited (found by the time they become empty, in a
    /// priority queue: O(log n) per visited state); the eviction at <paramref name="now"/> of every other state is
    /// deferred to its next use (<see cref="Observe"/>, <see cref="GetCounts"/>, <see cref="GetEvidence"/>), which
    /// applies the latest time of the prunes since its previous use, with the same result as evicting at each prune.
    /// </remarks>
    public int Prune(DateTimeOffset now, Func<Principal, bool>? keepLatched = null)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        PushPrune(nowMs);
        var dropped = 0;
        var largest = _windowMs[^1];
        while (_due.TryPeek(out var item, out var dueMs) && dueMs <= nowMs)
        {
            _due.Dequeue();
            var state = item.State;
            if (item.Version != state.DueVersion)
            {
                continue; // forgotten (Reset, dropped) or re-keyed since
            }

            ApplyPrunes(state);
            if (state.Head != -1)
            {
                // Not empty yet: due when its newest subscriber leaves the largest window.
                state.DueMs = state.Nodes[state.Tail].LastMs + largest;
                _keptDue.Add(new DueItem(state, ++state.DueVersion));
                continue;
            }

            if (!state.Latched || (keepLatched is not null && !keepLatched(new Principal(item.Kind, item.Id))))
            {
                _states[(int)item.Kind - 1].Remove(item.Id);
                Forget(state);
                dropped++;
            }
            else
            {
                // Latched and kept: asked again at every prune, as long as it stays empty.
                state.DueMs = long.MinValue;
                _keptDue.Add(new DueItem(state, ++state.DueVersion));
            }
        }

        foreach (var kept in _keptDue)
        {
            _due.Enqueue(kept, kept.State.DueMs);
        }

        _keptDue.Clear();
        return dropped;
    }

    // The state of a principal, or null when it has none: one reference comparison when the cache holds its code's
    // instance, else one dictionary lookup (whose hit then fills the cache).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private KeyState? Find(Principal principal)
    {
        if (principal.Id is not { } id)
        {
            return null;
        }

        var states = _states[(int)principal.Kind - 1];
        ref var cached = ref _cache[RuntimeHelpers.GetHashCode(id) & (CacheSize - 1)];
        if (ReferenceEquals(cached.Id, id) && cached.Kind == principal.Kind && cached.Generation == cached.State!.Generation)
        {
            return cached.State;
        }

        if (!states.TryGetValue(id, out var state))
        {
            return null;
        }

        cached = new CacheEntry(id, principal.Kind, state, state.Generation);
        state.CacheSlot = RuntimeHelpers.GetHashCode(id) & (CacheSize - 1);
        return state;
    }

    // The state of a principal (Id not null), created empty when it has none.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private KeyState GetOrAdd(Principal principal)
    {
        var id = principal.Id;
        var states = _states[(int)principal.Kind - 1];
        ref var cached = ref _cache[RuntimeHelpers.GetHashCode(id) & (CacheSize - 1)];
        if (ReferenceEquals(cached.Id, id) && cached.Kind == principal.Kind && cached.Generation == cached.State!.Generation)
        {
            return cached.State;
        }

        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(states, id, out _);
        if (slot is null)
        {
            // New (a forgotten state reused when there is one, so that its arrays keep their capacity): no earlier prune
            // applies to it, and with no subscriber it is due at the next prune.
            slot = _pool.TryPop(out var reused) ? reused : new KeyState(_windows.Length);
            slot.Id = id!;
            slot.Kind = principal.Kind;
            slot.AppliedPrunes = _pruneCount;
            Schedule(slot, long.MinValue);
        }

        var state = slot;
        cached = new CacheEntry(id, principal.Kind, state, state.Generation);
        state.CacheSlot = RuntimeHelpers.GetHashCode(id) & (CacheSize - 1);
        return state;
    }

    // A state removed from the dictionary: never served by the cache again (a new generation: every cache slot that
    // holds it, under any instance of its code, is stale), and cleared into the pool for reuse by a new principal while
    // the pool has room. Its queue items are stale from now on (a new due version; versions only grow).
    private void Forget(KeyState state)
    {
        state.DueVersion++;
        state.Generation++;
        ref var cached = ref _cache[state.CacheSlot];
        if (ReferenceEquals(cached.State, state))
        {
            cached = default;
        }

        if (_pool.Count < MaxPooled)
        {
            state.Clear(_windows.Length);
            _pool.Push(state);
        }
    }

    // Re-keys a state in the due queue (the previous item becomes stale).
    private void Schedule(KeyState state, long dueMs)
    {
        state.DueMs = dueMs;
        _due.Enqueue(new DueItem(state, ++state.DueVersion), dueMs);
    }

    // Records a prune at nowMs on the stack of prune times (see the fields).
    private void PushPrune(long nowMs)
    {
        _pruneCount++;
        while (_pruneStack > 0 && _pruneMs[_pruneStack - 1] <= nowMs)
        {
            _pruneStack--;
        }

        if (_pruneStack == _pruneSeqs.Length)
        {
            Array.Resize(ref _pruneSeqs, _pruneStack * 2);
            Array.Resize(ref _pruneMs, _pruneStack * 2);
        }

        _pruneSeqs[_pruneStack] = _pruneCount;
        _pruneMs[_pruneStack] = nowMs;
        _pruneStack++;
    }

    // Applies to a state the evictions of the prunes since its last use: a prune evicts at max(prune time, LastMs), and
    // LastMs has not changed since (only Observe changes it, after calling this); evictions at several times amount
    // to one eviction at the latest of them.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ApplyPrunes(KeyState state)
    {
        if (state.AppliedPrunes == _pruneCount)
        {
            return;
        }

        // The first stack entry numbered above the state's last applied prune (numbers ascending).
        int lo = 0, hi = _pruneStack - 1;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_pruneSeqs[mid] > state.AppliedPrunes)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        state.AppliedPrunes = _pruneCount;
        Evict(state, Math.Max(_pruneMs[lo], state.LastMs));
    }

    private int Factor(Principal principal, long nowMs) => LimitFactor is { } f ? Math.Clamp(f(principal, nowMs), 1, 10) : 1;

    private int[] LimitsFor(PrincipalKind kind) => kind switch
    {
        PrincipalKind.Clerk => _limits[0],
        PrincipalKind.Terminal => _limits[1],
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    // Evicts at nowMs. A window whose boundary's time (BoundaryMs, kept beside the index) is inside it is left without
    // touching its nodes: the usual case, and what keeps a read to the cache lines of the nodes it changes.
    private void Evict(KeyState s, long nowMs)
    {
        var last = _windowMs.Length - 1;
        for (var w = 0; w < last; w++)
        {
            var cutoff = nowMs - _windowMs[w];
            var b = s.Boundary[w];
            if (b == -1 || s.BoundaryMs[w] > cutoff)
            {
                continue;
            }

            do
            {
                b = s.Nodes[b].Next;
                s.Count[w]--;
            }
            while (b != -1 && s.Nodes[b].LastMs <= cutoff);

            s.Boundary[w] = b;
            if (b != -1)
            {
                s.BoundaryMs[w] = s.Nodes[b].LastMs;
            }
        }

        // The largest window's boundary is always the head: evicting from it frees the node.
        var largestCutoff = nowMs - _windowMs[last];
        if (s.Head == -1 || s.BoundaryMs[last] > largestCutoff)
        {
            return;
        }

        while (s.Head != -1 && s.Nodes[s.Head].LastMs <= largestCutoff)
        {
            var n = s.Head;
            s.Index.Remove(s.Nodes[n].Subject);
            s.Head = s.Nodes[n].Next;
            if (s.Head == -1)
            {
                s.Tail = -1;
            }
            else
            {
                s.Nodes[s.Head].Prev = -1;
            }

            s.Nodes[n].Next = s.Free;
            s.Free = n;
            s.Count[last]--;
        }

        s.Boundary[last] = s.Head;
        if (s.Head != -1)
        {
            s.BoundaryMs[last] = s.Nodes[s.Head].LastMs;
        }
    }

    // One subscriber of a read: recorded (Touch), unless the principal is latched, already holds more than the largest
    // window's limit (largestLimit, factor applied; int.MaxValue when not latched) and does not hold this subscriber
    // (suspended: keep at most limit + 1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Add(KeyState s, long subject, long nowMs, long sequence, int largestLimit)
    {
        if (s.Latched && s.Count[_windowMs.Length - 1] > largestLimit && Unsafe.IsNullRef(ref s.Index.GetValueRefOrNullRef(subject)))
        {
            return;
        }

        Touch(s, subject, nowMs, sequence);
    }

    private void Touch(KeyState s, long subject, long nowMs, long sequence)
    {
        ref var index = ref s.Index.GetValueRefOrAddDefault(subject, out var exists);
        if (!exists)
        {
            var n = s.Allocate();
            index = n;
            ref var node = ref s.Nodes[n];
            node.Subject = subject;
            node.LastMs = nowMs;
            node.Sequence = sequence;
            node.Next = -1;
            node.Prev = s.Tail;
            if (s.Tail == -1)
            {
                s.Head = n;
            }
            else
            {
                s.Nodes[s.Tail].Next = n;
            }

            s.Tail = n;
            for (var w = 0; w < _windowMs.Length; w++)
            {
                s.Count[w]++;
                if (s.Boundary[w] == -1)
                {
                    s.Boundary[w] = n;
                    s.BoundaryMs[w] = nowMs;
                }
            }

            return;
        }

        var i = index;
        var isTail = s.Tail == i;
        var oldMs = s.Nodes[i].LastMs;
        var next = s.Nodes[i].Next;
        for (var w = 0; w < _windowMs.Length; w++)
        {
            if (oldMs <= nowMs - _windowMs[w])
            {
                // Was outside this (shorter) window; it re-enters at the newest end.
                s.Count[w]++;
                if (s.Boundary[w] == -1)
                {
                    s.Boundary[w] = i;
                    s.BoundaryMs[w] = nowMs;
                }
            }
            else if (s.Boundary[w] == i)
            {
                // The window's oldest: it moves to the newest end (the next becomes the oldest), or, already the newest,
                // stays the boundary with its new time.
                if (isTail)
                {
                    s.BoundaryMs[w] = nowMs;
                }
                else
                {
                    s.Boundary[w] = next;
                    s.BoundaryMs[w] = s.Nodes[next].LastMs;
                }
            }
        }

        if (!isTail)
        {
            // Unlink and append at the tail.
            ref var node = ref s.Nodes[i];
            if (node.Prev == -1)
            {
                s.Head = node.Next;
            }
            else
            {
                s.Nodes[node.Prev].Next = node.Next;
            }

            s.Nodes[node.Next].Prev = node.Prev;
            node.Prev = s.Tail;
            node.Next = -1;
            s.Nodes[s.Tail].Next = i;
            s.Tail = i;
            // The largest window's boundary is the head (the loop above moved it on when it was this node).
        }

        s.Nodes[i].LastMs = nowMs;
        s.Nodes[i].Sequence = sequence;
    }

    private struct Node
    {
        public long Subject;
        public long LastMs;
        public long Sequence;
        public int Prev;
        public int Next;
    }

    private readonly record struct CacheEntry(string? Id, PrincipalKind Kind, KeyState? State, int Generation);

    private readonly record struct DueItem(KeyState State, int Version)
    {
        public string Id => State.Id;

        public PrincipalKind Kind => State.Kind;
    }

    // MonitorOptions.MaxWindows values, inline.
    [InlineArray(MonitorOptions.MaxWindows)]
    private struct WindowValues<T>
    {
        private T _first;

        public static WindowValues<T> Filled(T value, int count)
        {
            var values = default(WindowValues<T>);
            ((Span<T>)values)[..count].Fill(value);
            return values;
        }
    }

    private sealed class KeyState
    {
        public Node[] Nodes = new Node[8];
        public int Used;
        public int Free;
        public int Head;
        public int Tail;
        public long LastMs;
        public bool Latched;
        public int Generation; // incremented when forgotten: a cache entry of an earlier generation must not be served
        public int CacheSlot; // the cache slot it was last put in
        public string Id = string.Empty; // the principal's code (the dictionary's key)
        public PrincipalKind Kind;
        public long AppliedPrunes; // _pruneCount when the prunes' evictions were last applied to it
        public long DueMs; // its key in the due queue
        public int DueVersion; // the version of its current item in the due queue
        public readonly LongMap<int> Index = new(8);

        // Per window, shortest first (the first `windows` items are used): the oldest node inside it (-1: none), that
        // node's LastMs (kept so that an eviction with nothing to evict touches no node), and the distinct count. Inline,
        // in the state's own cache lines.
        public WindowValues<int> Boundary;
        public WindowValues<long> BoundaryMs;
        public WindowValues<int> Count;

        // A new state: nothing observed, no window's boundary (-1).
        public KeyState(int windows) => Clear(windows);

        // Back to the state of a new KeyState, keeping the arrays' capacity, the generation and the due version.
        public void Clear(int windows)
        {
            Used = 0;
            Free = -1;
            Head = -1;
            Tail = -1;
            LastMs = long.MinValue;
            Latched = false;
            DueMs = 0;
            Index.Clear();
            Boundary = WindowValues<int>.Filled(-1, windows);
            BoundaryMs = default;
            Count = default;
        }

        public int Allocate()
        {
            if (Free != -1)
            {
                var n = Free;
                Free = Nodes[n].Next;
                return n;
            }

            if (Used == Nodes.Length)
            {
                Array.Resize(ref Nodes, Nodes.Length * 2);
            }

            return Used++;
        }
    }
}

/// <summary>A window whose distinct-subscriber count exceeded its limit.</summary>
/// <param name="Principal">The clerk or terminal.</param>
/// <param name="Window">The window's length.</param>
/// <param name="Observed">Distinct subscribers in the window, including the breaching entry's; greater than <paramref name="Limit"/>.</param>
/// <param name="Limit">The window's limit for the principal's kind.</param>
/// <param name="Sequence">Ledger sequence of the breaching entry.</param>
public readonly record struct DetectorBreach(Principal Principal, TimeSpan Window, int Observed, int Limit, long Sequence);

/// <summary>A principal's distinct-subscriber count in one window.</summary>
/// <param name="Window">The window's length.</param>
/// <param name="Observed">Distinct subscribers read in the window.</param>
/// <param name="Limit">The window's limit for the principal's kind; breached when <paramref name="Observed"/> exceeds it.</param>
public sealed record WindowCount(TimeSpan Window, int Observed, int Limit);
