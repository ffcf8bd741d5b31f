using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>open-lookups</c>: subscribers a clerk (or a terminal) read that no business transaction followed. A normal
/// clerk reads the customer in front of them and then completes a service (<c>service-complete</c>) for them; a
/// scraper reads and never serves. The detector keeps, per principal, the subscribers read within
/// <see cref="DetectionOptions.OrphanAfter"/> with no <c>service-complete</c> by that clerk since ("open"); beyond
/// <see cref="DetectionOptions.OpenLookupsAllowed"/> open lookups, each one more adds
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
    public int OpenCount(Principal principal) => _states.TryGetValue(principal, out var s) ? s.Open.Count : 0;

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
                        s.Open.Remove(subject.Value);
                    }

                    if (s.Open.Count <= _options.OpenLookupsAllowed)
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
            state.Open[subject.Value] = new OpenLookup(ms, sequence, entry.Terminal, entry.Store);
            state.Order.Enqueue((subject.Value, ms));
        }

        var over = state.Open.Count - _options.OpenLookupsAllowed;
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
            state.Open.Count,
            _options.OpenLookupsAllowed,
            $"{state.Open.Count} subscribers read without a completed service within {(long)_options.OrphanAfter.TotalMinutes} min",
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
            if (principal.Kind == PrincipalKind.Clerk)
            {
                var orphan = new OrphanLookup(principal.Id, open.Terminal, open.Store, head.Subject, open.Sequence, open.Ms);
                foreach (var o in _observers)
                {
                    o.OnOrphan(orphan, nowMs, findings);
                }
            }
        }

        if (state.Open.Count <= _options.OpenLookupsAllowed)
        {
            state.LastScore = 0;
        }
    }

    private readonly record struct OpenLookup(long Ms, long Sequence, string? Terminal, string? Store);

    private sealed class State
    {
        public readonly Dictionary<long, OpenLookup> Open = [];
        public readonly Queue<(long Subject, long Ms)> Order = new();
        public int LastScore;
    }
}
