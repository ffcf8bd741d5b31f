using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring.Detection;

namespace Custodian.Monitoring.Tests.Detection;

public sealed class DetectorTests
{
    private static readonly DetectionOptions Options = new() { WatchList = new HashSet<long> { 77, 78 } };

    [Fact]
    public void Open_lookups_become_orphans_after_an_hour_and_reach_the_observers()
    {
        var observer = new RecordingObserver();
        var detector = new OpenLookupsDetector(Options, [observer]);
        var findings = new List<Finding>();
        detector.Observe(5, Entries.Read(Entries.Noon, "C1", AccessTask.Search, 1, 2), findings);
        detector.Observe(6, Entries.Read(Entries.Noon.AddSeconds(20), "C1", AccessTask.View, 1), findings);
        detector.Observe(7, Entries.Served(Entries.Noon.AddMinutes(5), "C1", 2), findings);
        Assert.Equal(1, detector.OpenCount(new Principal(PrincipalKind.Clerk, "C1")));
        detector.Advance(Entries.Noon.AddMinutes(59).ToUnixTimeMilliseconds(), findings);
        Assert.Empty(observer.Orphans);
        detector.Advance(Entries.Noon.AddMinutes(61).ToUnixTimeMilliseconds(), findings);
        var orphan = Assert.Single(observer.Orphans);
        Assert.Equal(("C1", "T-C1", "S001", 1L, 6L), (orphan.Clerk, orphan.Terminal, orphan.Store, orphan.Subject, orphan.Sequence));
        Assert.Empty(findings);
        Assert.Equal(0, detector.OpenCount(new Principal(PrincipalKind.Clerk, "C1")));
    }

    [Fact]
    public void Many_not_found_searches_in_an_hour_score_as_enumeration()
    {
        var detector = new EnumerationDetector(Options);
        var findings = new List<Finding>();
        for (var i = 0; i < 6; i++)
        {
            detector.Observe(i, Entries.Read(Entries.Noon.AddMinutes(i * 5), "C1", AccessTask.Search), findings);
        }

        Assert.Equal([40, 40, 55, 55], findings.Select(f => f.Score));
        Assert.Equal([PrincipalKind.Clerk, PrincipalKind.Terminal, PrincipalKind.Clerk, PrincipalKind.Terminal], findings.Select(f => f.Principal.Kind));
        Assert.Equal(6, findings[^1].Observed);
        Assert.Equal([0L, 1, 2, 3, 4, 5], findings[^1].Evidence);
    }

    [Fact]
    public void Reads_outside_store_hours_score_by_count()
    {
        var detector = new TimingDetector(Options);
        var findings = new List<Finding>();
        var night = new DateTimeOffset(2026, 11, 2, 23, 0, 0, TimeSpan.FromHours(9));
        for (var i = 0; i < 5; i++)
        {
            detector.Observe(i, Entries.Read(night.AddMinutes(i), "C1", AccessTask.View, 100 + i), findings);
        }

        Assert.Equal([45, 75, 100], findings.Where(f => f.Principal.Kind == PrincipalKind.Clerk).Select(f => f.Score));
        Assert.Equal(
            [
                (1, 0, "1 subscriber read outside store hours within an hour"), // not "1 subscribers"; the threshold 0 is "none allowed"
                (3, 0, "3 subscribers read outside store hours within an hour"),
                (5, 0, "5 subscribers read outside store hours within an hour"),
            ],
            findings.Where(f => f.Principal.Kind == PrincipalKind.Clerk).Select(f => (f.Observed, f.Threshold, f.Detail)));
        Assert.Empty(Observe(new TimingDetector(Options), Entries.Read(Entries.Noon, "C1", AccessTask.View, 1)));
    }

    [Fact]
    public void Regular_gaps_between_new_subscribers_score_as_machine_timing()
    {
        var detector = new TimingDetector(Options);
        var findings = new List<Finding>();
        for (var i = 0; i < 11; i++)
        {
            detector.Observe(i, Entries.Read(Entries.Noon.AddSeconds(i * 61), "C1", AccessTask.Search, 500 + i), findings);
        }

        var regular = Assert.Single(findings, f => f.Principal.Kind == PrincipalKind.Clerk && f.Detail.StartsWith("last 10 gaps", StringComparison.Ordinal));
        Assert.Equal(50, regular.Score);
        Assert.Equal(0, regular.Observed); // coefficient of variation × 100
    }

    [Fact]
    public void A_disabled_accounts_password_at_a_terminal_suspends_the_terminal()
    {
        var finding = Observe(new IdentityDetector(), new AccessEntry
        {
            Time = Entries.Noon, Task = AccessTask.SignIn, Outcome = AccessOutcome.Denied, Account = "C9", Terminal = "T-7", Store = "S001", ErrorCode = "account-disabled",
        });
        Assert.Equal([(PrincipalKind.Terminal, 100), (PrincipalKind.Clerk, 100)], finding.Select(f => (f.Principal.Kind, f.Score)));
    }

    [Fact]
    public void One_account_on_two_terminals_within_two_minutes_scores_and_again_suspends()
    {
        var detector = new IdentityDetector();
        var findings = new List<Finding>();
        detector.Observe(1, Entries.Read(Entries.Noon, "C1", AccessTask.View, 1), findings);
        detector.Observe(2, Entries.Read(Entries.Noon.AddSeconds(30), "C1", AccessTask.View, 2) with { Terminal = "T-other" }, findings);
        detector.Observe(3, Entries.Read(Entries.Noon.AddSeconds(60), "C1", AccessTask.View, 3), findings);
        Assert.Equal([50, 100], findings.Select(f => f.Score));
        Assert.Equal([2L, 3L], findings[^1].Evidence);
    }

    [Fact]
    public void Plain_views_insisted_on_after_step_up_score_100()
    {
        var detector = new IdentityDetector();
        var findings = new List<Finding>();
        for (var i = 0; i < 3; i++)
        {
            detector.Observe(i, Entries.Read(Entries.Noon.AddHours(i * 3), "C1", AccessTask.View, 1) with { Outcome = AccessOutcome.Denied, ErrorCode = MonitoringErrorCodes.StepUpRequired }, findings);
        }

        Assert.Equal([(PrincipalKind.Clerk, 100), (PrincipalKind.Terminal, 100)], findings.Select(f => (f.Principal.Kind, f.Score)));
    }

    [Fact]
    public void Device_refusals_are_kept_across_an_advance_less_than_ten_minutes_after_the_latest_one()
    {
        // Advance forgets a terminal's refusals only when the LATEST is more than 10 minutes old: at 0:11 the first (0:00)
        // is 11 minutes old but the latest (0:06) only 5, so the window survives and 0:12 and 0:13 make three within 10 minutes.
        var detector = new IdentityDetector();
        var findings = new List<Finding>();
        AccessEntry Refused(int minute) => new()
        {
            Time = Entries.Noon.AddMinutes(minute), Task = AccessTask.DeviceRefused, Outcome = AccessOutcome.Denied, Terminal = "T-7", Store = "S001", ErrorCode = "device-certificate-expired",
        };

        detector.Observe(1, Refused(0), findings);
        detector.Observe(2, Refused(6), findings);
        detector.Advance(Entries.Noon.AddMinutes(11).ToUnixTimeMilliseconds(), findings);
        detector.Observe(3, Refused(12), findings); // 0:00 leaves the window: 0:06, 0:12
        Assert.Empty(findings);
        detector.Observe(4, Refused(13), findings);

        var finding = Assert.Single(findings);
        Assert.Equal((PrincipalKind.Terminal, "T-7", 60), (finding.Principal.Kind, finding.Principal.Id, finding.Score));
        Assert.Equal([2L, 3L, 4L], finding.Evidence);
    }

    [Fact]
    public void Watch_listed_subscribers_step_up_then_suspend()
    {
        var detector = new WatchListDetector(Options);
        var findings = new List<Finding>();
        detector.Observe(1, Entries.Read(Entries.Noon, "C1", AccessTask.View, 5), findings);
        detector.Observe(2, Entries.Read(Entries.Noon, "C1", AccessTask.View, 77), findings);
        detector.Observe(3, Entries.Read(Entries.Noon.AddDays(1), "C1", AccessTask.View, 77), findings);
        detector.Observe(4, Entries.Read(Entries.Noon.AddDays(2), "C1", AccessTask.View, 78), findings);
        Assert.Equal([60, 100], findings.Select(f => f.Score));
        Assert.Equal([2L, 4L], findings[^1].Evidence);
    }

    [Fact]
    public void Clerks_of_different_stores_orphaning_the_same_subscribers_are_suspended_as_colluders()
    {
        var detector = new CollusionDetector(Options);
        var findings = new List<Finding>();
        var now = Entries.Noon.ToUnixTimeMilliseconds();
        for (var s = 1; s <= 4; s++)
        {
            detector.OnOrphan(new OrphanLookup("A", "TA", "S001", s, s, now), now, findings);
            detector.OnOrphan(new OrphanLookup("A", "TA", "S001", s, s + 50, now), now, findings); // same subscriber again: counted once
            detector.OnOrphan(new OrphanLookup("B", "TB", "S002", s, 100 + s, now + 1000), now + 1000, findings);
            detector.OnOrphan(new OrphanLookup("C", "TC", "S001", s, 200 + s, now + 2000), now + 2000, findings); // shares with B only: A is in C's own store
            detector.OnOrphan(new OrphanLookup("D", "TD", "S003", 1000 + s, 300 + s, now + 3000), now + 3000, findings); // other subscribers: shares nothing
        }

        Assert.Equal([("B", 30), ("A", 30), ("C", 30), ("B", 30), ("B", 100), ("A", 100), ("C", 100), ("B", 100)], findings.Select(f => (f.Principal.Id, f.Score)));
        Assert.Equal(4, findings[^1].Observed);
    }

    [Fact]
    public void Baseline_flags_a_clerk_far_above_store_and_chain_peers_and_explains_it()
    {
        var detector = new BaselineDetector(Options);
        var findings = new List<Finding>();
        long seq = 0;
        long subject = 1;
        for (var c = 0; c < 8; c++)
        {
            for (var i = 0; i < 20; i++)
            {
                detector.Observe(seq++, Entries.Read(Entries.Noon.AddSeconds(seq), "P" + c, AccessTask.View, subject++), findings);
            }
        }

        Assert.Empty(findings);
        for (var i = 0; i < 80; i++)
        {
            detector.Observe(seq++, Entries.Read(Entries.Noon.AddMinutes(30).AddSeconds(i * 30), "X", AccessTask.View, subject++), findings);
        }

        Assert.Contains(findings, f => f.Principal.Id == "X" && f.Window == TimeSpan.FromHours(1));
        var first = findings.First(f => f.Principal == new Principal(PrincipalKind.Clerk, "X") && f.Window == TimeSpan.FromDays(1));
        Assert.Equal(BaselineDetector.DetectorName, first.Detector);
        Assert.Equal(70, first.Score);
        Assert.Equal(TimeSpan.FromDays(1), first.Window);
        Assert.Equal("distinct-1d 71: own n/a; peers (9) median 20, MAD 0, threshold 70", first.Detail);
        Assert.Contains(findings, f => f.Principal.Id == "X" && f.Detail == "distinct-1h 41: own n/a; peers (9) median 20, MAD 0, threshold 40");
        Assert.DoesNotContain(findings, f => f.Principal.Id.StartsWith('P') || f.Principal.Id.StartsWith("T-P", StringComparison.Ordinal));
    }

    private static List<Finding> Observe(IDetector detector, AccessEntry entry)
    {
        var findings = new List<Finding>();
        detector.Observe(1, entry, findings);
        return findings;
    }

    private sealed class RecordingObserver : IOrphanObserver
    {
        public List<OrphanLookup> Orphans { get; } = [];

        public void OnOrphan(in OrphanLookup orphan, long nowMs, List<Finding> findings) => Orphans.Add(orphan);
    }
}
