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

    private static readonly TimeSpan Memory = TimeSpan.FromHours(1);

    private readonly DetectionOptions _options;
    private readonly IOrphanObserver[] _observers;
    private readonly long _orphanAfterMs;
    private readonly Dictionary<Principal, State> _states = [];
    private readonly List<Principal> _idle = [];

    /// <summary>Creates the detector.</summary>
    /// <param name="options">Thresholds.</param>
    /// <param name="observers">Receive orphan lookups (clerks' only), in order.</param>
    public OpenLookupsDetector(DetectionOptions options, IEnumerable<IOrphanObserver> observers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(observers);
        _options = options;
        _observers = [.. observers];
        _orphanAfterMs = (long)options.OrphanAfter.TotalMilliseconds;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <summary>The principal's open lookups now (for the console and tests).</summary>
    public int OpenCount(Principal principal) => _states.TryGetValue(principal, out var s) ? s.Episodes.Count : 0;

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        var ms = entry.Time.ToUnixTimeMilliseconds();
        if (entry.Task == AccessTask.ServiceComplete && entry.Outcome == AccessOutcome.Allowed)
        {
            foreach (var p in new[] { EntryFacts.Clerk(entry), EntryFacts.Terminal(entry) })
            {
                if (p is { } principal && _states.TryGetValue(principal, out var s))
                {
                    foreach (var subject in entry.Subjects)
                    {
                        if (s.Open.Remove(subject.Value, out var served))
                        {
                            s.Close(served.Episode);
                        }
                    }

                    if (s.Episodes.Count <= _options.OpenLookupsAllowed)
                    {
                        s.LastScore = 0;
                    }
                }
            }

            return;
        }

        if (!EntryFacts.IsRead(entry))
        {
            return;
        }

        Track(EntryFacts.Clerk(entry), sequence, entry, ms, findings);
        Track(EntryFacts.Terminal(entry), sequence, entry, ms, findings);
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
        _idle.Clear();
        foreach (var (principal, state) in _states)
        {
            Expire(principal, state, nowMs, findings);
            if (state.Open.Count == 0 && state.Order.Count == 0)
            {
                _idle.Add(principal);
            }
        }

        foreach (var principal in _idle)
        {
            _states.Remove(principal); // nothing open: drop the state
        }
    }

    /// <inheritdoc />
    public void Reset(Principal principal) => _states.Remove(principal);

    private void Track(Principal? who, long sequence, AccessEntry entry, long ms, List<Finding> findings)
    {
        if (who is not { } principal)
        {
            return;
        }

        if (!_states.TryGetValue(principal, out var state))
        {
            state = new State();
            _states[principal] = state;
        }

        Expire(principal, state, ms, findings);
        foreach (var subject in entry.Subjects)
        {
            var episode = sequence;
            if (state.Open.TryGetValue(subject.Value, out var earlier))
            {
                episode = earlier.Episode;
            }
            else
            {
                state.Episodes[sequence] = state.Episodes.GetValueOrDefault(sequence) + 1;
            }

            state.Open[subject.Value] = new OpenLookup(ms, sequence, episode, entry.Terminal, entry.Store);
            state.Order.Enqueue((subject.Value, ms));
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
            principal,
            entry.Store,
            score,
            _options.OrphanAfter,
            open,
            _options.OpenLookupsAllowed,
            $"{open} lookups ({state.Open.Count} subscribers) without a completed service within {(long)_options.OrphanAfter.TotalMinutes} min",
            EntryFacts.Evidence(state.Open.Values.Select(v => v.Sequence)),
            Memory));
    }

    private void Expire(Principal principal, State state, long nowMs, List<Finding> findings)
    {
        while (state.Order.TryPeek(out var head) && nowMs - head.Ms >= _orphanAfterMs)
        {
            state.Order.Dequeue();
            if (!state.Open.TryGetValue(head.Subject, out var open) || open.Ms != head.Ms)
            {
                continue; // served, or read again later (a newer queue item stands for it)
            }

            state.Open.Remove(head.Subject);
            state.Close(open.Episode);
            if (principal.Kind == PrincipalKind.Clerk)
            {
                var orphan = new OrphanLookup(principal.Id, open.Terminal, open.Store, head.Subject, open.Sequence, open.Ms);
                foreach (var o in _observers)
                {
                    o.OnOrphan(orphan, nowMs, findings);
                }
            }
        }

        if (state.Episodes.Count <= _options.OpenLookupsAllowed)
        {
            state.LastScore = 0;
        }
    }

    private readonly record struct OpenLookup(long Ms, long Sequence, long Episode, string? Terminal, string? Store);

    private sealed class State
    {
        public readonly Dictionary<long, OpenLookup> Open = [];
        public readonly Dictionary<long, int> Episodes = []; // first-read sequence → open subscribers of that lookup
        public readonly Queue<(long Subject, long Ms)> Order = new();
        public int LastScore;

        public void Close(long episode)
        {
            if (Episodes.TryGetValue(episode, out var n))
            {
                if (n <= 1)
                {
                    Episodes.Remove(episode);
                }
                else
                {
                    Episodes[episode] = n - 1;
                }
            }
        }
    }
}
