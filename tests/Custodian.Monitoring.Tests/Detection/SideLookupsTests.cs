using Custodian.Ledger;
using Custodian.Monitoring.Detection;

namespace Custodian.Monitoring.Tests.Detection;

public sealed class SideLookupsTests
{
    private static readonly DetectionOptions Options = new();

    [Fact]
    public void A_lookup_begun_during_another_customers_service_is_a_side_lookup_and_a_walk_away_is_not()
    {
        var observer = new RecordingObserver();
        var detector = new OpenLookupsDetector(Options, [observer]);
        var findings = new List<Finding>();
        var t = Entries.Noon;
        detector.Observe(1, Entries.Read(t, "C1", AccessTask.Search, 1), findings);                          // customer A
        detector.Observe(2, Entries.Read(t.AddSeconds(20), "C1", AccessTask.View, 1), findings);
        detector.Observe(3, Entries.Read(t.AddMinutes(2), "C1", AccessTask.Search, 9), findings);            // on the side, A still being served
        detector.Observe(4, Entries.Read(t.AddMinutes(2).AddSeconds(10), "C1", AccessTask.View, 9), findings);
        detector.Observe(5, Entries.Served(t.AddMinutes(8), "C1", 1), findings);                             // A served
        detector.Observe(6, Entries.Read(t.AddMinutes(10), "C1", AccessTask.Search, 20, 21), findings);      // B, a family, walks away
        detector.Observe(7, Entries.Read(t.AddMinutes(11), "C1", AccessTask.Search, 30), findings);          // C
        detector.Observe(8, Entries.Read(t.AddMinutes(12), "C1", AccessTask.Search, 31), findings);          // on the side of C
        detector.Observe(9, Entries.Served(t.AddMinutes(15), "C1", 30), findings);
        detector.Advance(t.AddHours(2).ToUnixTimeMilliseconds(), findings);

        Assert.Equal(
            [(9L, 3L, true), (20L, 6L, false), (21L, 6L, false), (31L, 8L, true)],
            observer.Orphans.Select(o => (o.Subject, o.Episode, o.DuringOtherService)).OrderBy(x => x.Item1));
        Assert.Empty(findings);
    }

    [Fact]
    public void Beyond_the_allowance_side_lookups_step_up_then_suspend_and_each_lookup_counts_once()
    {
        var detector = new SideLookupsDetector(Options);
        var findings = new List<Finding>();
        var start = Entries.Noon.ToUnixTimeMilliseconds();
        const long Day = 86_400_000;
        detector.OnOrphan(new OrphanLookup("C1", "T-C1", "S001", 500, 10, start, 10, DuringOtherService: false), start, findings);
        for (var i = 0; i < 6; i++)
        {
            var at = start + (i * Day / 2);
            detector.OnOrphan(new OrphanLookup("C1", "T-C1", "S001", 100 + i, 20 + i, at, 20 + i, DuringOtherService: true), at, findings);
            detector.OnOrphan(new OrphanLookup("C1", "T-C1", "S001", 200 + i, 20 + i, at, 20 + i, DuringOtherService: true), at, findings); // same lookup
        }

        Assert.Equal([70, 85, 100], findings.Select(f => f.Score));
        Assert.All(findings, f => Assert.Equal(new Principal(PrincipalKind.Clerk, "C1"), f.Principal));
        Assert.Equal([4, 5, 6], findings.Select(f => f.Observed));
        Assert.Equal([20L, 21, 22, 23, 24, 25], findings[^1].Evidence);
        Assert.Equal(TimeSpan.FromDays(7), findings[^1].Memory);
        Assert.Equal(6, detector.Count("C1"));

        // A week after the last one they have all left the window; counting starts afresh.
        findings.Clear();
        detector.Advance(start + (3 * Day) + (7 * Day), findings);
        Assert.Equal(0, detector.Count("C1"));
        var later = start + (11 * Day);
        for (var i = 0; i < 4; i++)
        {
            detector.OnOrphan(new OrphanLookup("C1", "T-C1", "S001", 300 + i, 40 + i, later + i, 40 + i, DuringOtherService: true), later + i, findings);
        }

        Assert.Equal(70, Assert.Single(findings).Score);
    }

    [Fact]
    public void A_scraper_reading_beside_a_clerks_customers_is_stepped_up_and_then_suspended()
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        var decisions = new List<MonitorDecision>();
        long sequence = 0;
        long subject = 1_000;
        for (var day = 0; day < 3; day++)
        {
            for (var c = 0; c < 20; c++)
            {
                // A customer every 20 minutes from 10:00; on every other one a script reads a stranger mid-service.
                var t = Entries.Noon.AddHours(-2).AddDays(day).AddMinutes(20 * c);
                var customer = ++subject;
                Feed(Entries.Read(t, "C1", AccessTask.Search, customer));
                Feed(Entries.Read(t.AddSeconds(20), "C1", AccessTask.View, customer));
                if (c % 2 == 1)
                {
                    var stranger = ++subject;
                    var s = Entries.Read(t.AddMinutes(3), "C1", AccessTask.Search, stranger);
                    if (Custodian.Monitoring.Evaluation.Evaluator.Guard(engine, s).Outcome == AccessOutcome.Allowed)
                    {
                        Feed(s);
                    }
                }

                Feed(Entries.Served(t.AddMinutes(10), "C1", customer));
            }
        }

        var side = decisions.Where(d => d.Finding.Detector == SideLookupsDetector.DetectorName).ToList();
        Assert.Equal([MonitorAction.StepUp, MonitorAction.Suspend], side.Select(d => d.Action)); // 85 at the 5th changes no action
        Assert.Equal([4, 6], side.Select(d => d.Finding.Observed));
        Assert.True(engine.IsSuspended(new Principal(PrincipalKind.Clerk, "C1")));

        void Feed(AccessEntry e) => decisions.AddRange(engine.Process(sequence++, e));
    }

    [Fact]
    public void The_median_by_selection_equals_the_median_of_the_sorted_values()
    {
        var random = new Random(20261130);
        for (var round = 0; round < 2_000; round++)
        {
            var n = 1 + random.Next(300);
            var values = new double[n];
            for (var i = 0; i < n; i++)
            {
                values[i] = round % 3 == 0 ? random.Next(5) : round % 3 == 1 ? random.Next(1_000) / 7.0 : random.NextDouble() * 1e6;
            }

            var sorted = values.Order().ToArray();
            var expected = n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2.0;
            Assert.Equal(expected, RobustStatistics.Median(values.ToArray()));
            var deviations = sorted.Select(v => Math.Abs(v - expected)).Order().ToArray();
            var mad = n % 2 == 1 ? deviations[n / 2] : (deviations[(n / 2) - 1] + deviations[n / 2]) / 2.0;
            Assert.Equal(mad, RobustStatistics.Mad(values.ToArray(), expected));
        }
    }

    private sealed class RecordingObserver : IOrphanObserver
    {
        public List<OrphanLookup> Orphans { get; } = [];

        public void OnOrphan(in OrphanLookup orphan, long nowMs, List<Finding> findings) => Orphans.Add(orphan);
    }
}
