using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>watch-list</c>: snooping. Subscribers on <see cref="DetectionOptions.WatchList"/> (public figures, staff's own
/// families, subscribers under protection) are served only at dedicated desks; a clerk reading one scores 60
/// (step-up: further views need the subscriber present), a second distinct one within 7 days scores 100 (suspend).
/// Memory 7 days. State keyed by clerk.
/// </summary>
/// <remarks>
/// Shared surname, address or family plan cannot be judged from ledger entries (they carry no names or addresses);
/// the privacy office expresses such relations by putting those subscribers on the watch list.
/// </remarks>
public sealed class WatchListDetector : IDetector
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "watch-list";

    private const long WindowMs = 7 * 86_400_000L;
    private readonly DetectionOptions _options;
    private readonly Dictionary<string, List<(long Subject, long Ms, long Sequence)>> _reads = new(StringComparer.Ordinal);

    /// <summary>Creates the detector.</summary>
    public WatchListDetector(DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>Seven days: watch-listed reads are counted over 7 days, and its findings count for 7 days.</remarks>
    public TimeSpan History => TimeSpan.FromMilliseconds(WindowMs);

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        if (_options.WatchList.Count == 0 || entry.Account is null || !EntryFacts.IsRead(entry))
        {
            return;
        }

        var subjects = entry.Subjects;
        for (var i = 0; i < subjects.Count; i++)
        {
            if (_options.WatchList.Contains(subjects[i].Value))
            {
                Record(entry.Account, entry.Store, subjects[i].Value, entry.Time.ToUnixTimeMilliseconds(), sequence, findings);
            }
        }
    }

    // Kept out of Observe: its lambdas capture locals, and C# allocates their closure on entry to the declaring scope.
    private void Record(string account, string? store, long subject, long ms, long sequence, List<Finding> findings)
    {
        if (!_reads.TryGetValue(account, out var list))
        {
            list = [];
            _reads[account] = list;
        }

        list.RemoveAll(x => ms - x.Ms >= WindowMs);
        if (list.Exists(x => x.Subject == subject))
        {
            return;
        }

        list.Add((subject, ms, sequence));
        var n = list.Count;
        findings.Add(new Finding(DetectorName, new Principal(PrincipalKind.Clerk, account), store, n >= 2 ? 100 : 60, TimeSpan.FromDays(7), n, 1,
            $"{n} watch-listed subscribers read within 7 days", EntryFacts.Evidence(list.Select(x => x.Sequence)), TimeSpan.FromDays(7)));
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        if (principal.Kind == PrincipalKind.Clerk)
        {
            _reads.Remove(principal.Id);
        }
    }
}
