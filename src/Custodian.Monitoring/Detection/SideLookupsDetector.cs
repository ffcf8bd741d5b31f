using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>side-lookups</c>: the slow scraper's signature. A clerk at a counter serves one customer at a time: they read the
/// customer in front of them, serve them and complete the service. A script on the clerk's PC (or a clerk working a
/// list on the side) reads subscribers whenever it likes — often while the clerk is in the middle of serving someone
/// else — and never serves them. A <em>side lookup</em> is an orphan lookup (<see cref="OpenLookupsDetector"/>: read,
/// never served within <see cref="DetectionOptions.OrphanAfter"/>) that BEGAN strictly inside another customer's service
/// by the same clerk (after that customer's first read, before their <c>service-complete</c>;
/// <see cref="OrphanLookup.DuringOtherService"/>). A customer who walks away after being looked up is an orphan but
/// not a side lookup; a family served together is one lookup.
/// </summary>
/// <remarks>
/// <para>Counted per clerk over 7 days (by lookup time), each lookup once. Beyond
/// <see cref="DetectionOptions.SideLookupsAllowed"/> (3): the next scores 70 (step-up: plain views need the subscriber
/// present), the one after 85, and from <see cref="DetectionOptions.SideLookupsAllowed"/> + 3 on 100 (suspend). Memory 7 days.</para>
/// <para>Why a fixed allowance and not a baseline: in normal work side lookups are rare events, not a volume (a customer
/// served before the previous one's transaction was completed who then walks away); over 11 simulated 30-day workloads of
/// 300 clerks no innocent clerk had more than 3 within 7 days, while the slow scraper of 5 records a day produced about
/// 2 a working day (docs/monitoring.md, "Evaluation").</para>
/// </remarks>
public sealed class SideLookupsDetector : IDetector, IOrphanObserver, IObservesNoEntries
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "side-lookups";

    private const long WindowMs = 7 * 86_400_000L;
    private static readonly TimeSpan Memory = TimeSpan.FromDays(7);

    private readonly DetectionOptions _options;
    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);
    private readonly List<string> _idle = [];

    /// <summary>Creates the detector.</summary>
    /// <exception cref="ArgumentNullException">When <paramref name="options"/> is null.</exception>
    public SideLookupsDetector(DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>Seven days: side lookups are counted over 7 days by lookup time, and its findings count for 7 days.</remarks>
    public TimeSpan History => TimeSpan.FromMilliseconds(WindowMs);

    /// <summary>The clerk's side lookups within the last 7 days as of the last one counted (for the console and tests).</summary>
    public int Count(string clerk) => _states.TryGetValue(clerk, out var s) ? s.Lookups.Count : 0;

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
    }

    /// <inheritdoc />
    public void OnOrphan(in OrphanLookup orphan, long nowMs, List<Finding> findings)
    {
        if (!orphan.DuringOtherService)
        {
            return;
        }

        if (!_states.TryGetValue(orphan.Clerk, out var s))
        {
            s = new State();
            _states[orphan.Clerk] = s;
        }

        var episode = orphan.Episode >= 0 ? orphan.Episode : orphan.Sequence;
        foreach (var (e, _, _) in s.Lookups)
        {
            if (e == episode)
            {
                return; // another subscriber of a lookup already counted (a family read together)
            }
        }

        Expire(s, orphan.LookupMs);
        s.Lookups.Enqueue((episode, orphan.Sequence, orphan.LookupMs));
        var n = s.Lookups.Count;
        var over = n - _options.SideLookupsAllowed;
        var score = over <= 0 ? 0 : over == 1 ? 70 : over == 2 ? 85 : 100;
        if (score <= s.LastScore)
        {
            return;
        }

        s.LastScore = score;
        var sequences = new List<long>(n);
        foreach (var (_, sequence, _) in s.Lookups)
        {
            sequences.Add(sequence);
        }

        findings.Add(new Finding(DetectorName, new Principal(PrincipalKind.Clerk, orphan.Clerk), orphan.Store, score, TimeSpan.FromDays(7), n,
            _options.SideLookupsAllowed, $"{n} never-served lookups begun during another customer's service within 7 days",
            EntryFacts.Evidence(sequences), Memory));
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
        foreach (var (clerk, s) in _states)
        {
            Expire(s, nowMs);
            if (s.Lookups.Count == 0)
            {
                _idle.Add(clerk);
            }
        }

        foreach (var clerk in _idle)
        {
            _states.Remove(clerk);
        }

        _idle.Clear();
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        if (principal.Kind == PrincipalKind.Clerk)
        {
            _states.Remove(principal.Id);
        }
    }

    private void Expire(State s, long nowMs)
    {
        while (s.Lookups.TryPeek(out var head) && nowMs - head.Ms >= WindowMs)
        {
            s.Lookups.Dequeue();
        }

        if (s.Lookups.Count <= _options.SideLookupsAllowed)
        {
            s.LastScore = 0;
        }
    }

    private sealed class State
    {
        public readonly Queue<(long Episode, long Sequence, long Ms)> Lookups = new();
        public int LastScore;
    }
}
