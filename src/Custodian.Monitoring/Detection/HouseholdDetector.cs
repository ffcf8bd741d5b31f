using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>household</c>: snooping on the clerk's own household or family plan. The guard flags a read
/// (<see cref="AccessSignals.SameHousehold"/>) whose subscriber shares the reading clerk's surname and address (keyed
/// indexes) or family plan. A clerk serving a relative who came to the counter completes a service for them; a clerk
/// looking a relative up without serving them is the insider-snooping pattern (UEBA "access to related persons'
/// records"). So a household lookup is judged once it is settled:
/// <list type="bullet">
/// <item>served: a <c>service-complete</c> by the same clerk for one of its subscribers within
/// <see cref="DetectionOptions.OrphanAfter"/> (60 min) — legitimate, nothing counted;</item>
/// <item>not served within that time: a household snoop. Each scores: the 1st within 7 days 50 (alert, medium), the 2nd
/// 55, the 3rd and later 70 (step-up: further views need the subscriber present). Memory 7 days.</item>
/// </list>
/// Flagged reads by the same clerk within <see cref="LookupMs"/> (10 minutes) of the lookup's first read are the same
/// lookup (a search and the views of what it found). State keyed by clerk; subscriber IDs are held in memory only, for
/// the service match, and never appear in a finding.
/// </summary>
/// <remarks>
/// Sibling of <see cref="WatchListDetector"/>: the watch list names subscribers the privacy office protects from every
/// clerk and scores at the read; this detector relates a subscriber to the reading clerk only, from the guard's flag, and
/// waits for the lookup to settle so that serving one's family at the counter is not an alert.
/// The window is 7 days, not 30: a restarted monitor replays <see cref="MonitorEngine.History"/> (7 days and 1 hour with
/// the standard detectors), and a 30-day window would need a replay four times as long (docs/monitoring.md, "Household").
/// </remarks>
public sealed class HouseholdDetector : IDetector
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "household";

    /// <summary>Flagged reads by one clerk within this time of a pending lookup's first read belong to that lookup: 10 minutes in ms.</summary>
    public const long LookupMs = 600_000;

    private const long WindowMs = 7 * 86_400_000L;
    private readonly long _settleMs;
    private readonly Dictionary<string, ClerkState> _clerks = new(StringComparer.Ordinal);
    private readonly List<string> _idle = [];

    /// <summary>Creates the detector.</summary>
    /// <param name="options">Its <see cref="DetectionOptions.OrphanAfter"/> is the time a lookup has to be served.</param>
    public HouseholdDetector(DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _settleMs = (long)options.OrphanAfter.TotalMilliseconds;
    }

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>Seven days: household snoops are counted over 7 days, and its findings count for 7 days.</remarks>
    public TimeSpan History => TimeSpan.FromMilliseconds(WindowMs);

    /// <summary>Score of the 1st, 2nd and 3rd-or-later unserved household lookup within 7 days: 50, 55, 70.</summary>
    /// <param name="count">Unserved household lookups within 7 days, ≥ 1.</param>
    public static int ScoreFor(int count) => count switch
    {
        <= 1 => 50,
        2 => 55,
        _ => 70,
    };

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        if (entry.Account is null || entry.Outcome != AccessOutcome.Allowed)
        {
            return;
        }

        if (entry.Task == AccessTask.ServiceComplete)
        {
            if (_clerks.Count != 0 && _clerks.TryGetValue(entry.Account, out var served))
            {
                Serve(served, entry);
            }

            return;
        }

        if (entry.Signals is not { SameHousehold: true } || !EntryFacts.IsRead(entry))
        {
            return;
        }

        var ms = entry.Time.ToUnixTimeMilliseconds();
        if (!_clerks.TryGetValue(entry.Account, out var s))
        {
            s = new ClerkState(entry.Account);
            _clerks[entry.Account] = s;
        }

        s.Store = entry.Store ?? s.Store;
        var lookup = s.Pending.Count > 0 && ms - s.Pending[^1].FirstMs < LookupMs ? s.Pending[^1] : null;
        if (lookup is null)
        {
            lookup = new Lookup(ms);
            s.Pending.Add(lookup);
        }

        lookup.Sequences.Add(sequence);
        for (var i = 0; i < entry.Subjects.Count; i++)
        {
            lookup.Subjects.Add(entry.Subjects[i].Value);
        }
    }

    private static void Serve(ClerkState s, AccessEntry entry)
    {
        for (var i = s.Pending.Count - 1; i >= 0; i--)
        {
            var lookup = s.Pending[i];
            for (var k = 0; k < entry.Subjects.Count; k++)
            {
                if (lookup.Subjects.Contains(entry.Subjects[k].Value))
                {
                    s.Pending.RemoveAt(i); // served: the clerk's relative was a customer at the counter
                    break;
                }
            }
        }
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
        if (_clerks.Count == 0)
        {
            return;
        }

        foreach (var (account, s) in _clerks)
        {
            while (s.Pending.Count > 0 && nowMs - s.Pending[0].FirstMs >= _settleMs)
            {
                var lookup = s.Pending[0];
                s.Pending.RemoveAt(0);
                Snoop(s, lookup, lookup.FirstMs + _settleMs, findings);
            }

            Expire(s, nowMs);
            if (s.Pending.Count == 0 && s.Snoops.Count == 0)
            {
                _idle.Add(account);
            }
        }

        foreach (var account in _idle)
        {
            _clerks.Remove(account);
        }

        _idle.Clear();
    }

    private static void Snoop(ClerkState s, Lookup lookup, long atMs, List<Finding> findings)
    {
        Expire(s, atMs);
        s.Snoops.Add((lookup.FirstMs, lookup.Sequences));
        var n = s.Snoops.Count;
        var evidence = new List<long>();
        foreach (var x in s.Snoops)
        {
            evidence.AddRange(x.Sequences);
        }

        findings.Add(new Finding(DetectorName, new Principal(PrincipalKind.Clerk, s.Account), s.Store, ScoreFor(n), TimeSpan.FromDays(7), n, 1,
            $"{n} household {(n == 1 ? "lookup" : "lookups")} not served within 7 days", EntryFacts.Evidence(evidence), TimeSpan.FromDays(7)));
    }

    // Drops the snoops that left the window (a loop, not RemoveAll with a lambda: a captured parameter would allocate
    // its closure on every call of the method that declares it, even on the return for no state).
    private static void Expire(ClerkState s, long nowMs)
    {
        var keep = 0;
        while (keep < s.Snoops.Count && nowMs - s.Snoops[keep].Ms >= WindowMs)
        {
            keep++;
        }

        s.Snoops.RemoveRange(0, keep);
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        if (principal.Kind == PrincipalKind.Clerk)
        {
            _clerks.Remove(principal.Id);
        }
    }

    private sealed class Lookup(long firstMs)
    {
        public readonly long FirstMs = firstMs;
        public readonly List<long> Sequences = [];
        public readonly HashSet<long> Subjects = [];
    }

    private sealed class ClerkState(string account)
    {
        public readonly string Account = account;
        public readonly List<Lookup> Pending = []; // unsettled household lookups, oldest first
        public readonly List<(long Ms, List<long> Sequences)> Snoops = []; // unserved household lookups within 7 days
        public string? Store;
    }
}
