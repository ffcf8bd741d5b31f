using System.Runtime.InteropServices;
using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>enumeration</c>: someone working through a list of phone numbers (a telemarketing list, a guessed range) rather
/// than serving the customer at the counter. Two rules, per clerk and per terminal, each over one hour:
/// <list type="bullet">
/// <item>not-found searches (allowed with no subscriber, or refused as a malformed number): from
/// <see cref="DetectionOptions.NotFoundSearchesAlert"/> on it scores 40, plus 15 for each one more (capped at 100);</item>
/// <item>allowed searches in one 100-number block (<see cref="AccessSignals.NumberBlock"/>, a keyed pseudonym, found or not),
/// a subscriber found more than once counting once: from <see cref="DetectionOptions.BlockSearchesAlert"/> searches in the
/// same block within the hour it scores 40, plus 15 for each one more (capped at 100) — near-sequential numbers. Evidence
/// names the count, never the block.</item>
/// </list>
/// Memory 1 hour. Both rules report under this detector's name; a principal's contribution to risk is the higher score.
/// </summary>
/// <remarks>
/// Entries written before <see cref="AccessSignals"/> existed have no block: only the not-found rule judges them. A
/// search with no block and found subscribers returns after two field reads.
/// </remarks>
public sealed class EnumerationDetector : IDetector
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "enumeration";

    private const long WindowMs = 3_600_000;
    private readonly DetectionOptions _options;
    private readonly Dictionary<Principal, State> _states = [];
    private readonly Dictionary<Principal, BlockState> _blocks = [];
    private readonly List<Principal> _idle = [];

    /// <summary>Creates the detector.</summary>
    public EnumerationDetector(DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>One hour: not-found searches are counted over an hour, and its findings count for an hour.</remarks>
    public TimeSpan History => TimeSpan.FromMilliseconds(WindowMs);

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        if (entry.Task != AccessTask.Search)
        {
            return;
        }

        if (entry.Signals?.NumberBlock is { } block && entry.Account is not null && entry.Outcome == AccessOutcome.Allowed)
        {
            ObserveBlock(sequence, entry, block, findings);
        }

        if (!EntryFacts.IsNotFoundSearch(entry))
        {
            return;
        }

        var ms = entry.Time.ToUnixTimeMilliseconds();
        if (EntryFacts.Clerk(entry) is { } clerk)
        {
            ObserveMiss(clerk, sequence, ms, entry.Store, findings);
        }

        if (EntryFacts.Terminal(entry) is { } terminal)
        {
            ObserveMiss(terminal, sequence, ms, entry.Store, findings);
        }
    }

    private void ObserveMiss(Principal p, long sequence, long ms, string? store, List<Finding> findings)
    {
        if (!_states.TryGetValue(p, out var s))
        {
            s = new State();
            _states[p] = s;
        }

        while (s.Misses.TryPeek(out var head) && ms - head.Ms >= WindowMs)
        {
            s.Misses.Dequeue();
        }

        s.Misses.Enqueue((sequence, ms));
        s.LastMs = ms;
        var n = s.Misses.Count;
        if (n < _options.NotFoundSearchesAlert)
        {
            s.LastScore = 0;
            return;
        }

        var score = (int)Math.Min(100L, 40L + (15L * (n - _options.NotFoundSearchesAlert)));
        if (score <= s.LastScore)
        {
            return;
        }

        s.LastScore = score;
        findings.Add(new Finding(DetectorName, p, store, score, TimeSpan.FromHours(1), n, _options.NotFoundSearchesAlert,
            $"{n} searches found nobody within an hour", EntryFacts.Evidence(s.Misses.Select(x => x.Sequence)), TimeSpan.FromHours(1)));
    }

    // Near-sequential numbers: the searches of the last hour, per principal, with their block (parsed from its 16 hex
    // characters: no string kept); the count of the entry's block among them decides.
    private void ObserveBlock(long sequence, AccessEntry entry, string block, List<Finding> findings)
    {
        if (!ulong.TryParse(block, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var key))
        {
            return; // not a block pseudonym (the ledger's decoder and the replay reader refuse such; nothing to compare)
        }

        var ms = entry.Time.ToUnixTimeMilliseconds();
        var subject = entry.Subjects.Count > 0 ? entry.Subjects[0].Value : 0; // 0: found nobody
        ObserveBlock(new Principal(PrincipalKind.Clerk, entry.Account!), key, subject, sequence, ms, entry.Store, findings);
        if (entry.Terminal is { } terminal)
        {
            ObserveBlock(new Principal(PrincipalKind.Terminal, terminal), key, subject, sequence, ms, entry.Store, findings);
        }
    }

    private void ObserveBlock(Principal p, ulong key, long subject, long sequence, long ms, string? store, List<Finding> findings)
    {
        if (!_blocks.TryGetValue(p, out var s))
        {
            s = new BlockState();
            _blocks[p] = s;
        }

        while (s.Searches.TryPeek(out var head) && ms - head.Ms >= WindowMs)
        {
            s.Searches.Dequeue();
            s.Remove(head.Block, head.Subject);
        }

        s.Searches.Enqueue((key, subject, sequence, ms));
        var n = s.Add(key, subject);
        s.LastMs = ms;
        if (s.ScoreUntilMs <= ms)
        {
            s.LastScore = 0; // the findings raised within the last hour have left memory
        }

        var threshold = _options.BlockSearchesAlert;
        if (n < threshold)
        {
            return;
        }

        var score = (int)Math.Min(100L, 40L + (15L * (n - threshold)));
        if (score <= s.LastScore)
        {
            return;
        }

        s.LastScore = score;
        s.ScoreUntilMs = ms + WindowMs;
        var evidence = new List<long>(n);
        foreach (var x in s.Searches)
        {
            if (x.Block == key)
            {
                evidence.Add(x.Sequence);
            }
        }

        findings.Add(new Finding(DetectorName, p, store, score, TimeSpan.FromHours(1), n, threshold,
            $"{n} searches in one 100-number block within an hour", EntryFacts.Evidence(evidence), TimeSpan.FromHours(1)));
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
        foreach (var (p, s) in _states)
        {
            if (s.Misses.Count == 0 || nowMs - s.LastMs >= WindowMs)
            {
                _idle.Add(p);
            }
        }

        foreach (var p in _idle)
        {
            _states.Remove(p);
        }

        _idle.Clear();
        foreach (var (_, s) in _blocks)
        {
            if (s.Searches.Count != 0 && nowMs - s.LastMs >= WindowMs)
            {
                // Idle for an hour: nothing left in the window. The state is kept (one per clerk or terminal that ever
                // searched with a block, bounded by the staff and terminals) so that the next search allocates nothing.
                s.Clear();
                s.LastScore = 0;
            }
        }
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        _states.Remove(principal);
        _blocks.Remove(principal);
    }

    private sealed class State
    {
        public readonly Queue<(long Sequence, long Ms)> Misses = new();
        public long LastMs; // time of the newest miss (the queue's tail)
        public int LastScore;
    }

    // A principal's searches of the last hour, and per block the count the rule compares with its threshold, kept up to
    // date as searches enter and leave the window (one dictionary update each way), so that a search costs the same
    // whatever the number of searches in the window (it scanned the whole window before: quadratic in a busy hour).
    private sealed class BlockState
    {
        public readonly Queue<(ulong Block, long Subject, long Sequence, long Ms)> Searches = new(); // Subject 0: found nobody
        public long LastMs; // time of the newest search (the queue's tail)
        public long ScoreUntilMs; // LastScore counts until then (one hour after it was raised)
        public int LastScore; // the highest score raised within the last hour

        // Per block: searches that found nobody (each counts) + distinct subscribers found (each counts once).
        private readonly Dictionary<ulong, int> _counts = [];

        // Per (block, subscriber found): how many searches in the window found that subscriber.
        private readonly Dictionary<(ulong Block, long Subject), int> _found = [];

        // Adds a search that entered the window; returns its block's count, this search included.
        public int Add(ulong block, long subject)
        {
            if (subject != 0 && CollectionsMarshal.GetValueRefOrAddDefault(_found, (block, subject), out _)++ > 0)
            {
                return _counts[block]; // found again: the subscriber already counts
            }

            return ++CollectionsMarshal.GetValueRefOrAddDefault(_counts, block, out _);
        }

        // Removes a search that left the window (the oldest one).
        public void Remove(ulong block, long subject)
        {
            if (subject != 0)
            {
                ref var occurrences = ref CollectionsMarshal.GetValueRefOrNullRef(_found, (block, subject));
                if (--occurrences > 0)
                {
                    return; // still found by a later search in the window
                }

                _found.Remove((block, subject));
            }

            ref var count = ref CollectionsMarshal.GetValueRefOrNullRef(_counts, block);
            if (--count == 0)
            {
                _counts.Remove(block);
            }
        }

        // Empties the window.
        public void Clear()
        {
            Searches.Clear();
            _counts.Clear();
            _found.Clear();
        }
    }
}
