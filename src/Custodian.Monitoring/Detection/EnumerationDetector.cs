using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>enumeration</c>: many searches that find nobody — someone working through a list of phone numbers (a
/// telemarketing list, a guessed range) rather than serving the customer at the counter. Counts, per clerk and per
/// terminal, not-found searches (allowed with no subscriber, or refused as a malformed number) within one hour:
/// from <see cref="DetectionOptions.NotFoundSearchesAlert"/> on it scores 40, plus 15 for each one more (capped at
/// 100). Memory 1 hour.
/// </summary>
/// <remarks>
/// Near-sequential numbers cannot be judged from ledger entries: they carry the subscribers found, never the number
/// searched for (not even as a blind index), so a run of misses is the signal the ledger allows.
/// </remarks>
public sealed class EnumerationDetector : IDetector
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "enumeration";

    private const long WindowMs = 3_600_000;
    private readonly DetectionOptions _options;
    private readonly Dictionary<Principal, State> _states = [];
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
        if (!EntryFacts.IsNotFoundSearch(entry))
        {
            return;
        }

        var ms = entry.Time.ToUnixTimeMilliseconds();
        foreach (var who in new[] { EntryFacts.Clerk(entry), EntryFacts.Terminal(entry) })
        {
            if (who is not { } p)
            {
                continue;
            }

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
                continue;
            }

            var score = (int)Math.Min(100L, 40L + (15L * (n - _options.NotFoundSearchesAlert)));
            if (score <= s.LastScore)
            {
                continue;
            }

            s.LastScore = score;
            findings.Add(new Finding(DetectorName, p, entry.Store, score, TimeSpan.FromHours(1), n, _options.NotFoundSearchesAlert,
                $"{n} searches found nobody within an hour", EntryFacts.Evidence(s.Misses.Select(x => x.Sequence)), TimeSpan.FromHours(1)));
        }
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
    }

    /// <inheritdoc />
    public void Reset(Principal principal) => _states.Remove(principal);

    private sealed class State
    {
        public readonly Queue<(long Sequence, long Ms)> Misses = new();
        public long LastMs; // time of the newest miss (the queue's tail)
        public int LastScore;
    }
}
