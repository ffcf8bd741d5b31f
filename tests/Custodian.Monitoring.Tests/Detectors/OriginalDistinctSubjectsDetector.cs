using System.Runtime.InteropServices;
using Custodian.Identity;
using Microsoft.Extensions.Options;

// The DistinctSubjectsDetector of commit 2628df8 (Dictionary-based), verbatim but for its name: the oracle of
// DistinctSubjectsDetectorEquivalenceTests. Do not change it.

namespace Custodian.Monitoring.Tests.Detectors;

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
/// moves to the newest end), a dictionary subscriber → list node, and per window a boundary node and a count.
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
/// <para>Not thread-safe: one thread (the <see cref="AccessMonitor"/>'s loop, under its lock) drives it.</para>
/// </remarks>
internal sealed class OriginalDistinctSubjectsDetector
{
    /// <summary>The detector's stable name, recorded in alerts and ledger reasons.</summary>
    public const string DetectorName = "distinct-subjects";

    private readonly WindowLimit[] _windows;
    private readonly long[] _windowMs;
    private readonly int[][] _limits; // [kind-1][window]
    private readonly Dictionary<string, KeyState>[] _states =
        [new(StringComparer.Ordinal), new(StringComparer.Ordinal)];

    /// <summary>Creates the detector.</summary>
    /// <param name="options">Validated like <see cref="MonitorOptionsValidator"/>; windows are copied, later changes are not seen.</param>
    /// <exception cref="OptionsValidationException">When <paramref name="options"/> breaks a rule of <see cref="MonitorOptions"/>.</exception>
    public OriginalDistinctSubjectsDetector(MonitorOptions options)
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
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_states[(int)principal.Kind - 1], principal.Id, out _);
        var state = slot ??= new KeyState(_windows.Length);

        var nowMs = Math.Max(time.ToUnixTimeMilliseconds(), state.LastMs);
        state.LastMs = nowMs;
        var factor = Factor(principal, nowMs);
        Evict(state, nowMs);

        var last = _windows.Length - 1;
        for (var i = 0; i < subjects.Count; i++)
        {
            var subject = subjects[i].Value;
            if (state.Latched && state.Count[last] > limits[last] * factor && !state.Index.ContainsKey(subject))
            {
                continue; // suspended: keep at most limit + 1 subscribers
            }

            Touch(state, subject, nowMs, sequence);
        }

        if (state.Latched)
        {
            return false;
        }

        for (var w = 0; w < _windows.Length; w++)
        {
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
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_states[(int)principal.Kind - 1], principal.Id, out _);
        slot ??= new KeyState(_windows.Length);
        slot.Latched = true;
    }

    /// <summary>Whether <paramref name="principal"/> is latched (reported and not reset since).</summary>
    public bool IsLatched(Principal principal) =>
        principal.Id is not null && _states[(int)principal.Kind - 1].TryGetValue(principal.Id, out var s) && s.Latched;

    /// <summary>Forgets everything about <paramref name="principal"/>: its windows and its latch (an officer judged its past activity legitimate).</summary>
    /// <returns>True when there was state to forget.</returns>
    public bool Reset(Principal principal) =>
        principal.Id is not null && _states[(int)principal.Kind - 1].Remove(principal.Id);

    /// <summary>
    /// Distinct subscribers <paramref name="principal"/> read in each window ending at <paramref name="now"/>
    /// (without changing state), shortest window first. Zero counts for an unknown principal.
    /// </summary>
    public IReadOnlyList<WindowCount> GetCounts(Principal principal, DateTimeOffset now)
    {
        var limits = LimitsFor(principal.Kind);
        var result = new WindowCount[_windows.Length];
        _states[(int)principal.Kind - 1].TryGetValue(principal.Id ?? string.Empty, out var state);
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
        if (breach.Principal.Id is not null && _states[(int)breach.Principal.Kind - 1].TryGetValue(breach.Principal.Id, out var state))
        {
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
    public int Prune(DateTimeOffset now, Func<Principal, bool>? keepLatched = null)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var dropped = 0;
        for (var k = 0; k < _states.Length; k++)
        {
            List<string>? remove = null;
            foreach (var (id, state) in _states[k])
            {
                Evict(state, Math.Max(nowMs, state.LastMs));
                if (state.Index.Count == 0 && (!state.Latched || (keepLatched is not null && !keepLatched(new Principal((PrincipalKind)(k + 1), id)))))
                {
                    (remove ??= []).Add(id);
                }
            }

            foreach (var id in remove ?? [])
            {
                _states[k].Remove(id);
                dropped++;
            }
        }

        return dropped;
    }

    private int Factor(Principal principal, long nowMs) => LimitFactor is { } f ? Math.Clamp(f(principal, nowMs), 1, 10) : 1;

    private int[] LimitsFor(PrincipalKind kind) => kind switch
    {
        PrincipalKind.Clerk => _limits[0],
        PrincipalKind.Terminal => _limits[1],
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private void Evict(KeyState s, long nowMs)
    {
        var last = _windowMs.Length - 1;
        for (var w = 0; w < last; w++)
        {
            var cutoff = nowMs - _windowMs[w];
            var b = s.Boundary[w];
            while (b != -1 && s.Nodes[b].LastMs <= cutoff)
            {
                b = s.Nodes[b].Next;
                s.Count[w]--;
            }

            s.Boundary[w] = b;
        }

        // The largest window's boundary is always the head: evicting from it frees the node.
        var largestCutoff = nowMs - _windowMs[last];
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
    }

    private void Touch(KeyState s, long subject, long nowMs, long sequence)
    {
        ref var index = ref CollectionsMarshal.GetValueRefOrAddDefault(s.Index, subject, out var exists);
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
                }
            }

            return;
        }

        var i = index;
        var isTail = s.Tail == i;
        var oldMs = s.Nodes[i].LastMs;
        for (var w = 0; w < _windowMs.Length; w++)
        {
            if (oldMs <= nowMs - _windowMs[w])
            {
                // Was outside this (shorter) window; it re-enters at the newest end.
                s.Count[w]++;
                if (s.Boundary[w] == -1)
                {
                    s.Boundary[w] = i;
                }
            }
            else if (s.Boundary[w] == i && !isTail)
            {
                s.Boundary[w] = s.Nodes[i].Next;
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
            s.Boundary[^1] = s.Head;
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

    private sealed class KeyState(int windows)
    {
        public Node[] Nodes = new Node[8];
        public int Used;
        public int Free = -1;
        public int Head = -1;
        public int Tail = -1;
        public long LastMs = long.MinValue;
        public bool Latched;
        public readonly Dictionary<long, int> Index = [];
        public readonly int[] Boundary = Enumerable.Repeat(-1, windows).ToArray();
        public readonly int[] Count = new int[windows];

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

