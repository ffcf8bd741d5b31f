using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>collusion</c>: several clerks, each under their own limits, working the same target list (the same tool
/// resold). A subscriber is a customer of one store; orphan lookups (<see cref="OpenLookupsDetector"/>) of the SAME
/// subscriber by clerks of DIFFERENT stores within 7 days are "shared". A clerk whose shared orphans reach
/// <see cref="DetectionOptions.SharedOrphansSuspend"/> (default 4) distinct subscribers with one other clerk scores 100
/// (suspend), as does that clerk; one fewer (3 by default) scores 30: risk only, below the default alert threshold
/// (<see cref="DetectionOptions.AlertRisk"/>, 40), so it acts only combined with another detector's finding (with a 50:
/// risk 65, step-up); fewer scores nothing. Memory 7 days. The values are the calibrated ones of docs/monitoring.md,
/// "Detectors and their defaults".
/// </summary>
/// <remarks>The one detector keyed by subscriber rather than by clerk (shard it by subscriber ID); it holds only
/// orphan lookups from the last 7 days.</remarks>
public sealed class CollusionDetector : IDetector, IOrphanObserver, IObservesNoEntries
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "collusion";

    private const long WindowMs = 7 * 86_400_000L;
    private readonly DetectionOptions _options;
    private readonly Dictionary<long, List<OrphanLookup>> _bySubject = [];
    private readonly Dictionary<(string, string), Queue<(long Sequence, long Ms)>> _shared = [];
    private readonly Queue<(long Subject, long Ms)> _order = new();

    /// <summary>Creates the detector.</summary>
    public CollusionDetector(DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>Seven days: shared orphan lookups are kept for 7 days.</remarks>
    public TimeSpan History => TimeSpan.FromMilliseconds(WindowMs);

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
    }

    /// <inheritdoc />
    public void OnOrphan(in OrphanLookup orphan, long nowMs, List<Finding> findings)
    {
        if (orphan.Store is null)
        {
            return;
        }

        if (!_bySubject.TryGetValue(orphan.Subject, out var list))
        {
            list = [];
            _bySubject[orphan.Subject] = list;
        }

        foreach (var earlier in list)
        {
            if (string.Equals(earlier.Clerk, orphan.Clerk, StringComparison.Ordinal))
            {
                return; // this clerk's earlier orphan of this subscriber was already paired: each subscriber counts once per pair
            }
        }

        foreach (var other in list)
        {
            if (orphan.LookupMs - other.LookupMs < WindowMs
                && !string.Equals(other.Store, orphan.Store, StringComparison.Ordinal)
                && !string.Equals(other.Clerk, orphan.Clerk, StringComparison.Ordinal))
            {
                var pair = string.CompareOrdinal(orphan.Clerk, other.Clerk) < 0 ? (orphan.Clerk, other.Clerk) : (other.Clerk, orphan.Clerk);
                var shared = Share(pair, orphan.Sequence, other.Sequence, nowMs);
                Report(orphan.Clerk, orphan.Store, other.Clerk, shared, findings);
                Report(other.Clerk, other.Store, orphan.Clerk, shared, findings);
            }
        }

        list.Add(orphan);
        _order.Enqueue((orphan.Subject, orphan.LookupMs));
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
        while (_order.TryPeek(out var head) && nowMs - head.Ms >= WindowMs)
        {
            _order.Dequeue();
            if (_bySubject.TryGetValue(head.Subject, out var list))
            {
                RemoveExpired(list, nowMs);
                if (list.Count == 0)
                {
                    _bySubject.Remove(head.Subject);
                }
            }
        }
    }

    // Kept out of Advance: the lambda captures nowMs, and C# allocates its closure on entry to the declaring scope.
    private static void RemoveExpired(List<OrphanLookup> list, long nowMs) => list.RemoveAll(x => nowMs - x.LookupMs >= WindowMs);

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        if (principal.Kind == PrincipalKind.Clerk)
        {
            foreach (var key in _shared.Keys.Where(k => k.Item1 == principal.Id || k.Item2 == principal.Id).ToList())
            {
                _shared.Remove(key);
            }
        }
    }

    private Queue<(long Sequence, long Ms)> Share((string, string) pair, long mine, long theirs, long nowMs)
    {
        if (!_shared.TryGetValue(pair, out var q))
        {
            q = new Queue<(long, long)>();
            _shared[pair] = q;
        }

        while (q.TryPeek(out var head) && nowMs - head.Ms >= WindowMs)
        {
            q.Dequeue();
        }

        q.Enqueue((Math.Min(mine, theirs), nowMs));
        q.Enqueue((Math.Max(mine, theirs), nowMs));
        return q;
    }

    private void Report(string clerk, string? store, string partner, Queue<(long Sequence, long Ms)> shared, List<Finding> findings)
    {
        var n = shared.Count / 2;
        if (n < _options.SharedOrphansSuspend - 1)
        {
            return;
        }

        findings.Add(new Finding(DetectorName, new Principal(PrincipalKind.Clerk, clerk), store, n >= _options.SharedOrphansSuspend ? 100 : 30, TimeSpan.FromDays(7), n,
            _options.SharedOrphansSuspend, $"{n} unserved lookups of the same subscribers as clerk {partner} of another store within 7 days",
            EntryFacts.Evidence(shared.Select(x => x.Sequence)), TimeSpan.FromDays(7)));
    }
}
