using System.Runtime.CompilerServices;
using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>open-lookups</c>: subscribers a clerk (or a terminal) read that no business transaction followed. A normal
/// clerk reads the customer in front of them and then completes a service (<c>service-complete</c>) for them; a
/// scraper reads and never serves. The detector keeps, per principal, the subscribers read within
/// <see cref="DetectionOptions.OrphanAfter"/> with no <c>service-complete</c> by that clerk since ("open"), grouped
/// into lookups by the entry that first read them (a search returning a family of three is one lookup; a scraper's
/// search and view of one subscriber is one lookup). Beyond <see cref="DetectionOptions.OpenLookupsAllowed"/> open
/// lookups, each one more adds
/// <see cref="DetectionOptions.OpenLookupsStep"/> points (memory 1 hour). A lookup still open after
/// <see cref="DetectionOptions.OrphanAfter"/> becomes an <see cref="OrphanLookup"/>, passed to the
/// <see cref="IOrphanObserver"/>s (baseline and collusion detectors).
/// </summary>
/// <remarks>State is keyed by clerk and by terminal. Reads: allowed search, view, unmask, print, download with subjects.</remarks>
public sealed class OpenLookupsDetector : IDetector
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "open-lookups";

    private const int MaxPooled = 4096;
    private const int MaxServiceSpans = 64;
    private const long ServiceSpanKeptMs = 86_400_000;
    private static readonly TimeSpan Memory = TimeSpan.FromHours(1);

    private readonly DetectionOptions _options;
    private readonly IOrphanObserver[] _observers;
    private readonly long _orphanAfterMs;
    private readonly PrincipalSlots _slots;
    private readonly SlotMap<State> _states = new(); // by principal slot
    private readonly List<int> _idle = [];
    private readonly Stack<State> _pool = new(); // dropped states, cleared, reused so that their collections keep their capacity

    // By principal slot: the time of the oldest read in the state's Order queue (NoHead when it is empty or there is no
    // state), so that the per-minute sweep tells a state with nothing due from one contiguous array instead of
    // touching the state, its queue and the queue's buffer (three objects) for each of hundreds of principals.
    private long[] _headMs = [];
    private const long NoHead = long.MinValue / 4;

    // Every read queued in a state's Order, as (slot, time), so that the per-minute sweep finds the states with a due
    // read without checking every state: a state is due exactly when its oldest queued read is, and that read is
    // listed here. Reads arrive in time order, so a FIFO is ordered by time; a read older than the last one listed
    // (an entry out of time order) goes to a heap instead. A listed read whose state has moved on (served, expired,
    // dropped) is skipped when it comes due.
    private readonly Queue<(int Slot, long Ms)> _reads = new();
    private readonly PriorityQueue<int, long> _lateReads = new();
    private long _lastReadMs = long.MinValue;
    private readonly List<int> _due = []; // positions (SlotMap order) of the states due in this sweep
    private int[] _dueMark = []; // by slot: the sweep number that last listed it in _due
    private int _sweep;

    /// <summary>Creates the detector.</summary>
    /// <param name="options">Thresholds.</param>
    /// <param name="observers">Receive orphan lookups (clerks' only), in order.</param>
    public OpenLookupsDetector(DetectionOptions options, IEnumerable<IOrphanObserver> observers)
        : this(options, observers, new PrincipalSlots())
    {
    }

    internal OpenLookupsDetector(DetectionOptions options, IEnumerable<IOrphanObserver> observers, PrincipalSlots slots)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(observers);
        _options = options;
        _slots = slots;
        _observers = [.. observers];
        _orphanAfterMs = (long)options.OrphanAfter.TotalMilliseconds;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>One day: how long a served customer's service span is kept (a lookup begun inside it is a side lookup).</remarks>
    public TimeSpan History => TimeSpan.FromMilliseconds(ServiceSpanKeptMs);

    /// <summary>The principal's open lookups now (for the console and tests).</summary>
    public int OpenCount(Principal principal) => _slots.TryGet(principal, out var slot) && _states.Get(slot) is { } s ? s.Episodes.Count : 0;

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        var ms = entry.Time.ToUnixTimeMilliseconds();
        if (entry.Task == AccessTask.ServiceComplete && entry.Outcome == AccessOutcome.Allowed)
        {
            Serve(_slots.ClerkOf(entry), isClerk: true, _slots.SubjectsOf(entry), ms);
            Serve(_slots.TerminalOf(entry), isClerk: false, _slots.SubjectsOf(entry), ms);
            return;
        }

        if (!EntryFacts.IsRead(entry))
        {
            return;
        }

        Track(_slots.ClerkOf(entry), sequence, entry, ms, findings);
        Track(_slots.TerminalOf(entry), sequence, entry, ms, findings);
    }

    private void Serve(int slot, bool isClerk, ReadOnlySpan<long> subjects, long ms)
    {
        if (slot == PrincipalSlots.None || _states.Get(slot) is not { } s)
        {
            return;
        }

        foreach (var subject in subjects)
        {
            if (s.Open.Remove(subject, out var served))
            {
                s.Close(served.Episode);
                if (isClerk)
                {
                    s.AddService(served.Episode, served.EpisodeMs, ms);
                }
            }
        }

        if (s.Episodes.Count <= _options.OpenLookupsAllowed)
        {
            s.LastScore = 0;
        }
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
        _idle.Clear();
        _states.CheckOrder();

        // The states whose oldest read is at least OrphanAfter old, visited in the states' order (SlotMap positions),
        // as a sweep over all states in that order that skipped the others would. A state with nothing due (its
        // oldest read is younger): Expire would change nothing, since every change to Episodes already reset
        // LastScore when it fell to the allowance.
        _due.Clear();
        _sweep++;
        while (_reads.TryPeek(out var read) && nowMs - read.Ms >= _orphanAfterMs)
        {
            _reads.Dequeue();
            ListIfDue(read.Slot, nowMs);
        }

        while (_lateReads.TryPeek(out var slot, out var ms) && nowMs - ms >= _orphanAfterMs)
        {
            _lateReads.Dequeue();
            ListIfDue(slot, nowMs);
        }

        if (_due.Count == 0)
        {
            return;
        }

        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_due).Sort();
        foreach (var position in _due)
        {
            var slot = _states.SlotAt(position);
            var state = _states.Get(slot)!;
            Expire(slot, state, nowMs, findings);
            if (state.Open.Count == 0 && state.Order.Count == 0)
            {
                _idle.Add(slot);
            }
        }

        foreach (var slot in _idle)
        {
            _states.Remove(slot, out var state); // nothing open: drop the state (kept for reuse)
            Release(slot, state!);
        }
    }

    // Lists the slot's position for this sweep when it has a state whose oldest queued read is due (once).
    private void ListIfDue(int slot, long nowMs)
    {
        if (_dueMark[slot] != _sweep && _states.Get(slot) is not null && nowMs - _headMs[slot] >= _orphanAfterMs)
        {
            _dueMark[slot] = _sweep;
            _due.Add(_states.PositionOf(slot));
        }
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        if (_slots.TryGet(principal, out var slot) && _states.Remove(slot, out var state))
        {
            Release(slot, state);
        }
    }

    private void Release(int slot, State state)
    {
        _headMs[slot] = NoHead;
        state.Open.Clear();
        state.Episodes.Clear();
        state.Order.Clear();
        state.ClearServices();
        state.LastScore = 0;
        if (_pool.Count < MaxPooled)
        {
            _pool.Push(state);
        }
    }

    private void Track(int slot, long sequence, AccessEntry entry, long ms, List<Finding> findings)
    {
        if (slot == PrincipalSlots.None)
        {
            return;
        }

        var state = _states.Get(slot);
        if (state is null)
        {
            state = _pool.TryPop(out var reused) ? reused : new State();
            _states.Add(slot, state);
        }
        if (slot >= _headMs.Length)
        {
            var grown = new long[Math.Max(64, Math.Max(slot + 1, _headMs.Length * 2))];
            Array.Fill(grown, NoHead, _headMs.Length, grown.Length - _headMs.Length);
            _headMs.CopyTo(grown, 0);
            _headMs = grown;
            Array.Resize(ref _dueMark, grown.Length);
        }

        // The oldest queued read's time from the contiguous by-slot array (kept equal to state.Order's head, NoHead when
        // it is empty) instead of the queue and its buffer.
        if (_headMs[slot] is var headMs && headMs != NoHead && ms - headMs >= _orphanAfterMs)
        {
            Expire(slot, state, ms, findings); // otherwise nothing is due, and Expire would change nothing (see Advance)
        }

        foreach (var subject in _slots.SubjectsOf(entry))
        {
            var episode = sequence;
            var episodeMs = ms;
            ref var lookup = ref state.Open.GetValueRefOrAddDefault(subject, out var exists);
            if (exists)
            {
                episode = lookup.Episode;
                episodeMs = lookup.EpisodeMs;
            }
            else
            {
                state.Episodes.GetValueRefOrAddDefault(sequence, out _)++;
            }

            lookup = new OpenLookup(ms, sequence, episode, episodeMs, entry.Terminal, entry.Store);
            state.Order.Enqueue((subject, ms));
        }

        _headMs[slot] = state.Order.Peek().Ms; // IsRead: at least one subject, so the queue is not empty
        if (ms >= _lastReadMs)
        {
            _reads.Enqueue((slot, ms));
            _lastReadMs = ms;
        }
        else
        {
            _lateReads.Enqueue(slot, ms);
        }

        var open = state.Episodes.Count;
        var over = open - _options.OpenLookupsAllowed;
        if (over <= 0)
        {
            state.LastScore = 0;
            return;
        }

        var score = (int)Math.Min(100L, (long)over * _options.OpenLookupsStep);
        if (score <= state.LastScore)
        {
            return;
        }

        state.LastScore = score;
        findings.Add(new Finding(
            DetectorName,
            _slots[slot],
            entry.Store,
            score,
            _options.OrphanAfter,
            open,
            _options.OpenLookupsAllowed,
            $"{open} lookups ({state.Open.Count} subscribers) without a completed service within {(long)_options.OrphanAfter.TotalMinutes} min",
            EntryFacts.Evidence(state.OpenSequences()),
            Memory));
    }

    private void Expire(int slot, State state, long nowMs, List<Finding> findings)
    {
        while (state.Order.TryPeek(out var head) && nowMs - head.Ms >= _orphanAfterMs)
        {
            state.Order.Dequeue();
            if (state.Open.Count == 0)
            {
                continue; // nothing open: this read was served (without probing the table)
            }

            ref var found = ref state.Open.GetValueRefOrNullRef(head.Subject);
            if (Unsafe.IsNullRef(ref found) || found.Ms != head.Ms)
            {
                continue; // served, or read again later (a newer queue item stands for it)
            }

            var open = found;
            state.Open.Remove(head.Subject);
            state.Close(open.Episode);
            if (_slots[slot] is { Kind: PrincipalKind.Clerk } principal)
            {
                var orphan = new OrphanLookup(principal.Id, open.Terminal, open.Store, head.Subject, open.Sequence, open.Ms, open.Episode,
                    state.DuringOtherService(open.Episode, open.EpisodeMs));
                foreach (var o in _observers)
                {
                    o.OnOrphan(orphan, nowMs, findings);
                }
            }
        }

        _headMs[slot] = state.Order.TryPeek(out var next) ? next.Ms : NoHead;
        if (state.Episodes.Count <= _options.OpenLookupsAllowed)
        {
            state.LastScore = 0;
        }
    }

    private readonly record struct OpenLookup(long Ms, long Sequence, long Episode, long EpisodeMs, string? Terminal, string? Store);

    private sealed class State
    {
        // Flat open-addressing tables (one array each, one cache line per probe) rather than Dictionary (buckets, then
        // entries): only looked up, counted and cleared; never enumerated in an order that could reach a decision.
        public readonly LongMap<OpenLookup> Open = new(4); // subscriber → its open read
        public readonly LongMap<int> Episodes = new(4); // first-read sequence → open subscribers of that lookup
        public readonly Queue<(long Subject, long Ms)> Order = new();
        public readonly Queue<(long Episode, long StartMs, long EndMs)> Services = new(); // completed services, newest last
        public int LastScore;
        private long _maxServiceEpisode = long.MinValue; // at least every episode in Services (the largest ever queued since the last clear)

        // A completed service: its lookup began at startMs, its (first) service-complete came at endMs.
        public void AddService(long episode, long startMs, long endMs)
        {
            if (Services.Count > 0 && Services.Peek().EndMs < endMs - ServiceSpanKeptMs)
            {
                Services.Dequeue();
            }

            if (Services.Count >= MaxServiceSpans)
            {
                Services.Dequeue();
            }

            if (episode <= _maxServiceEpisode)
            {
                // Only then can it be queued already (a lookup is usually served after every earlier one was).
                foreach (var (e, _, _) in Services)
                {
                    if (e == episode)
                    {
                        return; // another member of the same lookup
                    }
                }
            }

            Services.Enqueue((episode, startMs, endMs));
            _maxServiceEpisode = Math.Max(_maxServiceEpisode, episode);
        }

        public void ClearServices()
        {
            Services.Clear();
            _maxServiceEpisode = long.MinValue;
        }

        // Whether a lookup that began at startMs fell strictly inside another customer's service.
        public bool DuringOtherService(long episode, long startMs)
        {
            foreach (var (e, start, end) in Services)
            {
                if (e != episode && start < startMs && startMs < end)
                {
                    return true;
                }
            }

            return false;
        }

        // The sequences of the open reads (for a finding's evidence, which sorts them).
        public List<long> OpenSequences()
        {
            var values = new List<OpenLookup>(Open.Count);
            Open.CopyValues(values);
            return values.ConvertAll(v => v.Sequence);
        }

        public void Close(long episode)
        {
            ref var n = ref Episodes.GetValueRefOrNullRef(episode);
            if (Unsafe.IsNullRef(ref n))
            {
                return;
            }

            if (n <= 1)
            {
                Episodes.Remove(episode);
            }
            else
            {
                n--;
            }
        }
    }
}
