using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>distinct-subjects</c> as an <see cref="IDetector"/>: the hard distinct-subscriber limits of
/// <see cref="DistinctSubjectsDetector"/> (10 min / 1 h / 24 h, see <see cref="MonitorOptions"/>), a breach scoring
/// 100 (suspend). Used by <c>monitor replay</c> and <c>evaluate</c>; the live <see cref="AccessMonitor"/> applies
/// the same limits itself.
/// </summary>
public sealed class HardLimitDetector : IDetector
{
    private static readonly TimeSpan Memory = TimeSpan.FromDays(1);
    private readonly DistinctSubjectsDetector _inner;

    /// <summary>Creates the detector with <paramref name="options"/>' windows.</summary>
    public HardLimitDetector(MonitorOptions options) => _inner = new DistinctSubjectsDetector(options);

    /// <inheritdoc />
    public string Id => DistinctSubjectsDetector.DetectorName;

    /// <inheritdoc />
    /// <remarks>One day, or the largest window if longer: its findings count for a day.</remarks>
    public TimeSpan History => Memory > _inner.LargestWindow ? Memory : _inner.LargestWindow;

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        if (!EntryFacts.IsRead(entry))
        {
            return;
        }

        // The clerk, then the terminal (no array per read).
        if (entry.Account is { } account)
        {
            Observe(new Principal(PrincipalKind.Clerk, account), sequence, entry, findings);
        }

        if (entry.Terminal is { } terminal)
        {
            Observe(new Principal(PrincipalKind.Terminal, terminal), sequence, entry, findings);
        }
    }

    private void Observe(Principal p, long sequence, AccessEntry entry, List<Finding> findings)
    {
        if (_inner.Observe(p, entry.Time, entry.Subjects, sequence, out var breach))
        {
            var evidence = _inner.GetEvidence(breach);
            findings.Add(new Finding(Id, p, entry.Store, 100, breach.Window, breach.Observed, breach.Limit,
                $"{breach.Observed} distinct subscribers within {(long)breach.Window.TotalMinutes} min, over the {p.Kind.ToName()} limit of {breach.Limit}",
                evidence.Sequences, Memory));
        }
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings) => _inner.Prune(DateTimeOffset.FromUnixTimeMilliseconds(nowMs), _ => true);

    /// <inheritdoc />
    public void Reset(Principal principal) => _inner.Reset(principal);
}
