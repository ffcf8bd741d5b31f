using Custodian.Ledger;
using Custodian.Monitoring.Detection;

namespace Custodian.Monitoring.Tests.Detection;

/// <summary>The detectors that read <see cref="AccessSignals"/>: number blocks (enumeration), targeting and household.</summary>
public sealed class SignalDetectorsTests
{
    private const string BlockA = "00000000000000aa";
    private const string BlockB = "00000000000000bb";
    private static readonly DetectionOptions Options = new();

    private static AccessEntry Search(DateTimeOffset at, string clerk, string block, params long[] subjects) =>
        Entries.Read(at, clerk, AccessTask.Search, subjects) with { Signals = new AccessSignals { NumberBlock = block } };

    private static AccessEntry Flagged(DateTimeOffset at, string clerk, AccessSignals signals, params long[] subjects) =>
        Entries.Read(at, clerk, AccessTask.View, subjects) with { Signals = signals };

    [Fact]
    public void Five_searches_in_one_number_block_within_an_hour_score_40_then_15_more_each_and_never_name_the_block()
    {
        var detector = new EnumerationDetector(Options);
        var findings = new List<Finding>();
        for (var i = 0; i < 4; i++)
        {
            detector.Observe(10 + i, Search(Entries.Noon.AddMinutes(i * 10), "C1", BlockA, 100 + i), findings);
            detector.Observe(20 + i, Search(Entries.Noon.AddMinutes((i * 10) + 1), "C1", BlockB, 200 + i), findings); // another block: counted apart
        }

        Assert.Empty(findings); // 4 in each block
        detector.Observe(30, Search(Entries.Noon.AddMinutes(45), "C1", BlockA, 104), findings);
        Assert.Equal([(PrincipalKind.Clerk, 40), (PrincipalKind.Terminal, 40)], findings.Select(f => (f.Principal.Kind, f.Score)));
        Assert.Equal((5, 5, "5 searches in one 100-number block within an hour"), (findings[0].Observed, findings[0].Threshold, findings[0].Detail));
        Assert.Equal([10L, 11, 12, 13, 30], findings[0].Evidence);
        Assert.Equal(TimeSpan.FromHours(1), findings[0].Memory);

        findings.Clear();
        detector.Observe(31, Search(Entries.Noon.AddMinutes(46), "C1", BlockA), findings); // not found: a block all the same
        Assert.Equal([55, 55], findings.Select(f => f.Score));
        Assert.All(findings, f => Assert.DoesNotContain("aa", f.Detail, StringComparison.Ordinal));
    }

    [Fact]
    public void The_same_customer_searched_again_and_again_counts_once_in_its_block()
    {
        // A clerk serving the same three customers over and over (found by the cluster test's normal clerks): their
        // blocks never reach the threshold however often they are searched.
        var detector = new EnumerationDetector(Options);
        var findings = new List<Finding>();
        for (var i = 0; i < 30; i++)
        {
            detector.Observe(i, Search(Entries.Noon.AddMinutes(i), "C1", BlockA, 7 + (i % 3)), findings);
        }

        Assert.Empty(findings);

        // Two more customers in the block make five distinct: it alerts, counting each subscriber once.
        detector.Observe(30, Search(Entries.Noon.AddMinutes(30), "C1", BlockA, 20), findings);
        Assert.Empty(findings);
        detector.Observe(31, Search(Entries.Noon.AddMinutes(31), "C1", BlockA, 21), findings);
        Assert.Equal([(5, 40), (5, 40)], findings.Select(f => (f.Observed, f.Score)));
    }

    [Fact]
    public void A_subscriber_found_twice_still_counts_once_after_its_first_search_leaves_the_hour()
    {
        // The block's count is kept up to date as searches enter and leave the window: subscriber 1's first search
        // leaving does not drop subscriber 1 while its second search is still inside, and subscriber 2's does.
        var detector = new EnumerationDetector(Options);
        var findings = new List<Finding>();
        detector.Observe(1, Search(Entries.Noon, "C1", BlockA, 1), findings);
        detector.Observe(2, Search(Entries.Noon.AddMinutes(10), "C1", BlockA, 2), findings);
        detector.Observe(3, Search(Entries.Noon.AddMinutes(20), "C1", BlockA, 3), findings);
        detector.Observe(4, Search(Entries.Noon.AddMinutes(50), "C1", BlockA, 1), findings); // {1, 2, 3}
        detector.Observe(5, Search(Entries.Noon.AddMinutes(61), "C1", BlockA, 4), findings); // search 1 left: {2, 3, 1, 4}
        Assert.Empty(findings);

        detector.Observe(6, Search(Entries.Noon.AddMinutes(62), "C1", BlockA), findings); // {2, 3, 1, 4, not found}
        Assert.Equal([(5, 40), (5, 40)], findings.Select(f => (f.Observed, f.Score)));
        Assert.Equal([2L, 3, 4, 5, 6], findings[0].Evidence);

        findings.Clear();
        detector.Observe(7, Search(Entries.Noon.AddMinutes(71), "C1", BlockA, 5), findings); // search 2 left: {3, 1, 4, nf, 5}
        Assert.Empty(findings);
        detector.Observe(8, Search(Entries.Noon.AddMinutes(72), "C1", BlockA), findings); // {3, 1, 4, nf, 5, nf}
        Assert.Equal([(6, 55), (6, 55)], findings.Select(f => (f.Observed, f.Score)));
    }

    [Fact]
    public void A_search_an_hour_after_the_first_in_its_block_no_longer_counts_it()
    {
        var detector = new EnumerationDetector(Options);
        var findings = new List<Finding>();
        detector.Observe(1, Search(Entries.Noon, "C1", BlockA, 1), findings);
        for (var i = 1; i <= 3; i++)
        {
            detector.Observe(1 + i, Search(Entries.Noon.AddMinutes(i * 10), "C1", BlockA, 1 + i), findings);
        }

        detector.Observe(5, Search(Entries.Noon.AddHours(1), "C1", BlockA, 5), findings); // exactly 1 h after the first: it left the window
        Assert.Empty(findings);

        var edge = new EnumerationDetector(Options);
        edge.Observe(1, Search(Entries.Noon, "C1", BlockA, 1), findings);
        for (var i = 1; i <= 3; i++)
        {
            edge.Observe(1 + i, Search(Entries.Noon.AddMinutes(i * 10), "C1", BlockA, 1 + i), findings);
        }

        edge.Observe(5, Search(Entries.Noon.AddHours(1).AddMilliseconds(-1), "C1", BlockA, 5), findings); // 1 ms inside
        Assert.Equal([40, 40], findings.Select(f => f.Score));
    }

    [Fact]
    public void A_family_searched_with_a_mistyped_digit_does_not_reach_the_block_threshold_and_refused_searches_do_not_count()
    {
        var detector = new EnumerationDetector(Options);
        var findings = new List<Finding>();
        // A mistype (nobody found), then three family members: 4 searches in one block.
        detector.Observe(1, Search(Entries.Noon, "C1", BlockA), findings);
        detector.Observe(2, Search(Entries.Noon.AddSeconds(20), "C1", BlockA, 1), findings);
        detector.Observe(3, Search(Entries.Noon.AddSeconds(40), "C1", BlockA, 2), findings);
        detector.Observe(4, Search(Entries.Noon.AddSeconds(60), "C1", BlockA, 3), findings);
        detector.Observe(5, Search(Entries.Noon.AddSeconds(80), "C1", BlockA) with { Outcome = AccessOutcome.Denied, ErrorCode = "clerk-suspended" }, findings);
        Assert.Empty(findings);
    }

    [Fact]
    public void A_household_lookup_not_served_within_an_hour_scores_50_then_55_then_70_within_7_days_and_a_served_one_nothing()
    {
        var detector = new HouseholdDetector(Options);
        var findings = new List<Finding>();
        var household = new AccessSignals { SameHousehold = true };

        // Served: a relative at the counter.
        detector.Observe(1, Flagged(Entries.Noon, "C1", household, 7), findings);
        detector.Observe(2, Entries.Served(Entries.Noon.AddMinutes(20), "C1", 7), findings);
        detector.Advance(Entries.Noon.AddHours(2).ToUnixTimeMilliseconds(), findings);
        Assert.Empty(findings);

        // Not served: settles exactly 60 minutes after its first read; a view 2 minutes later is the same lookup.
        var first = Entries.Noon.AddHours(3);
        detector.Observe(3, Search(first, "C1", BlockA, 8) with { Signals = household }, findings);
        detector.Observe(4, Flagged(first.AddMinutes(2), "C1", household, 8), findings);
        detector.Observe(5, Entries.Served(first.AddMinutes(5), "C2", 8), findings); // another clerk's service does not count
        detector.Advance(first.AddHours(1).AddMilliseconds(-1).ToUnixTimeMilliseconds(), findings);
        Assert.Empty(findings);
        detector.Advance(first.AddHours(1).ToUnixTimeMilliseconds(), findings);
        var f = Assert.Single(findings);
        Assert.Equal((PrincipalKind.Clerk, "C1", 50, 1, 1, "1 household lookup not served within 7 days"), (f.Principal.Kind, f.Principal.Id, f.Score, f.Observed, f.Threshold, f.Detail));
        Assert.Equal([3L, 4], f.Evidence);
        Assert.Equal((TimeSpan.FromDays(7), TimeSpan.FromDays(7)), (f.Window, f.Memory));

        detector.Observe(6, Flagged(first.AddDays(1), "C1", household, 9), findings);
        detector.Advance(first.AddDays(1).AddHours(1).ToUnixTimeMilliseconds(), findings);
        detector.Observe(7, Flagged(first.AddDays(6), "C1", household, 10), findings);
        detector.Advance(first.AddDays(6).AddHours(1).ToUnixTimeMilliseconds(), findings); // the first (settled at day 0 + 1 h) is 6 days old: still counted
        Assert.Equal([50, 55, 70], findings.Select(x => x.Score));
        Assert.Equal([3L, 4, 6, 7], findings[^1].Evidence);

        detector.Observe(8, Flagged(first.AddDays(7), "C1", household, 11), findings);
        detector.Advance(first.AddDays(7).AddHours(1).ToUnixTimeMilliseconds(), findings); // settled exactly 7 days after the first: the first left the window
        Assert.Equal((70, 3), (findings[^1].Score, findings[^1].Observed));
        Assert.Equal([6L, 7, 8], findings[^1].Evidence);
    }

    [Fact]
    public void Restoring_a_clerk_forgets_its_household_lookups()
    {
        var detector = new HouseholdDetector(Options);
        var findings = new List<Finding>();
        var household = new AccessSignals { SameHousehold = true };
        detector.Observe(1, Flagged(Entries.Noon, "C1", household, 7), findings);
        detector.Advance(Entries.Noon.AddHours(1).ToUnixTimeMilliseconds(), findings);
        detector.Reset(new Principal(PrincipalKind.Clerk, "C1"));
        detector.Observe(2, Flagged(Entries.Noon.AddDays(1), "C1", household, 8), findings);
        detector.Advance(Entries.Noon.AddDays(1).AddHours(1).ToUnixTimeMilliseconds(), findings);
        Assert.Equal([(50, 1), (50, 1)], findings.Select(x => (x.Score, x.Observed)));
    }

    [Fact]
    public void Targeting_flags_a_clerk_whose_share_of_expiring_contracts_is_far_above_the_store_peers()
    {
        var baseline = new BaselineDetector(Options);
        var targeting = new TargetingDetector(Options, baseline);
        var ignored = new List<Finding>();
        var findings = new List<Finding>();
        var ending = new AccessSignals { ContractEnding = true };
        long seq = 0;
        void Feed(AccessEntry e)
        {
            baseline.Observe(seq, e, ignored);
            targeting.Observe(seq++, e, findings);
        }

        // Four peers: 90 subscribers, then 10 with an expiring contract each: 10 %.
        for (var c = 2; c <= 5; c++)
        {
            Feed(Entries.Read(Entries.Noon, "C" + c, AccessTask.Search, [.. Enumerable.Range(1, 90).Select(i => (c * 10_000L) + i)]));
            Feed(Flagged(Entries.Noon, "C" + c, ending, [.. Enumerable.Range(91, 10).Select(i => (c * 10_000L) + i)]));
        }

        // C1, an hour later: 100 ordinary subscribers, then expiring contracts one by one. Peers: median 10, MAD 0, so the
        // threshold is 10 + 5 × 3 (the minimum spread) = 25 %; over 25 % it scores 50, over 40 % 70.
        Feed(Entries.Read(Entries.Noon.AddHours(1), "C1", AccessTask.Search, [.. Enumerable.Range(1, 100).Select(i => 10_000L + i)]));
        var scoredAt = new List<(int K, int Score)>();
        for (var k = 1; k <= 80; k++)
        {
            var before = findings.Count;
            Feed(Flagged(Entries.Noon.AddHours(1).AddSeconds(k), "C1", ending, 50_000 + k));
            if (findings.Count > before)
            {
                scoredAt.Add((k, findings[^1].Score));
            }
        }

        Assert.Equal([(34, 50), (67, 70)], scoredAt); // 34/134 = 25.4 %, 67/167 = 40.1 %
        var f = findings[0];
        Assert.Equal((TargetingDetector.DetectorName, PrincipalKind.Clerk, "C1", 25, 25), (f.Detector, f.Principal.Kind, f.Principal.Id, f.Observed, f.Threshold));
        Assert.Equal("ending-share-7d 25.4% of 134: own n/a; peers (5) median 10, MAD 0, threshold 25", f.Detail);
        Assert.Equal((TimeSpan.FromDays(7), TimeSpan.FromDays(7)), (f.Window, f.Memory));
        Assert.Equal(TimeSpan.FromDays(7), targeting.History);
        Assert.Equal(100.0 * 80 / 180, targeting.CurrentValue(new Principal(PrincipalKind.Clerk, "C1"), "ending-share-7d", Entries.Noon.AddHours(2)), 9);
    }

    [Fact]
    public void Targeting_judges_a_clerk_without_peers_against_its_own_seven_days_and_never_below_the_minimum_volume()
    {
        var baseline = new BaselineDetector(Options);
        var targeting = new TargetingDetector(Options, baseline);
        var ignored = new List<Finding>();
        var findings = new List<Finding>();
        var away = new AccessSignals { OtherArea = true };
        long seq = 0;
        long subject = 0;
        void Feed(AccessEntry e)
        {
            baseline.Observe(seq, e, ignored);
            targeting.Observe(seq++, e, findings);
        }

        long[] Next(int n) => [.. Enumerable.Range(0, n).Select(_ => ++subject)];

        // A clerk with no store (no peer group) and three reads, all from another area: 100 %, but below 100 subscribers.
        Feed(Flagged(Entries.Noon, "C9", away, Next(3)) with { Store = null });
        Assert.Empty(findings);

        // Days 0-7: 100 ordinary subscribers and 10 from another area a day (10/110 = 9.09 % every day).
        for (var d = 0; d < 8; d++)
        {
            Feed(Entries.Read(Entries.Noon.AddDays(d), "C1", AccessTask.Search, Next(100)) with { Store = null });
            Feed(Flagged(Entries.Noon.AddDays(d).AddMinutes(1), "C1", away, Next(10)) with { Store = null });
        }

        Assert.Empty(findings); // from day 7 judged against 7 days of history, all 9.09 %

        // Day 8: own threshold 9.09 + 5 × 3 = 24.09 %; the window is days 2-8 (760 ordinary subscribers + k).
        Feed(Entries.Read(Entries.Noon.AddDays(8), "C1", AccessTask.Search, Next(100)) with { Store = null });
        var scoredAt = new List<(int K, int Score)>();
        for (var k = 1; k <= 400; k++)
        {
            var before = findings.Count;
            Feed(Flagged(Entries.Noon.AddDays(8).AddSeconds(k), "C1", away, Next(1)) with { Store = null });
            if (findings.Count > before)
            {
                scoredAt.Add((k, findings[^1].Score));
            }
        }

        Assert.Equal([(163, 50), (390, 70)], scoredAt); // (60 + 163)/(760 + 163) = 24.2 %; (60 + 390)/(760 + 390) = 39.1 %
        Assert.Equal("away-share-7d 24.2% of 923: own median 9.1, MAD 0, threshold 24.1; peers n/a", findings[0].Detail);

        // Restored: today's flags are forgotten, the history kept; the next flagged read scores again.
        targeting.Reset(new Principal(PrincipalKind.Clerk, "C1"));
        Feed(Flagged(Entries.Noon.AddDays(8).AddSeconds(500), "C1", away, Next(1)) with { Store = null });
        Assert.Equal(70, findings[^1].Score);
    }

    [Fact]
    public void A_day_off_adds_nothing_to_the_targeting_history_so_six_active_days_are_not_yet_an_own_baseline()
    {
        var baseline = new BaselineDetector(Options);
        var targeting = new TargetingDetector(Options, baseline);
        var ignored = new List<Finding>();
        var findings = new List<Finding>();
        var away = new AccessSignals { OtherArea = true };
        long seq = 0;
        long subject = 0;
        void Feed(AccessEntry e)
        {
            baseline.Observe(seq, e, ignored);
            targeting.Observe(seq++, e, findings);
        }

        long[] Next(int n) => [.. Enumerable.Range(0, n).Select(_ => ++subject)];
        foreach (var d in new[] { 0, 1, 2, 3, 4, 5, 7 }) // day 6 off
        {
            Feed(Entries.Read(Entries.Noon.AddDays(d), "C1", AccessTask.Search, Next(100)) with { Store = null });
            Feed(Flagged(Entries.Noon.AddDays(d).AddMinutes(1), "C1", away, Next(d == 7 ? 300 : 10)) with { Store = null });
        }

        Assert.Empty(findings); // 6 active days of history (< BaselineMinDays 7) and no peers: not judged

        Feed(Flagged(Entries.Noon.AddDays(8), "C1", away, Next(300)) with { Store = null });
        // Day 7 closed: 7 active days (9.09 % six times, then 350/950 = 36.8 %): median 9.09, MAD 0, threshold 24.09. Days 2-8:
        // (40 + 300 + 300) / (440 + 400 + 300) = 56.1 %, beyond 24.09 + 15: 70.
        var f = Assert.Single(findings);
        Assert.Equal((70, 56, 25), (f.Score, f.Observed, f.Threshold));
        Assert.Equal("away-share-7d 56.1% of 1140: own median 9.1, MAD 0, threshold 24.1; peers n/a", f.Detail);
    }

    [Fact]
    public void Entries_without_signals_leave_the_signal_detectors_without_state_and_allocate_nothing()
    {
        var baseline = new BaselineDetector(Options);
        IDetector[] detectors = [new EnumerationDetector(Options), new HouseholdDetector(Options), new TargetingDetector(Options, baseline)];
        var findings = new List<Finding>();
        var entries = new[]
        {
            Entries.Read(Entries.Noon, "C1", AccessTask.Search, 1),
            Entries.Read(Entries.Noon, "C1", AccessTask.View, 1),
            Entries.Served(Entries.Noon, "C1", 1),
        };
        foreach (var d in detectors)
        {
            foreach (var e in entries)
            {
                d.Observe(0, e, findings); // JIT and first use outside the measurement
            }
        }

        foreach (var d in detectors)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                foreach (var e in entries)
                {
                    d.Observe(i, e, findings);
                }

                d.Advance(Entries.Noon.ToUnixTimeMilliseconds(), findings);
            }

            Assert.Equal((d.Id, 0L), (d.Id, GC.GetAllocatedBytesForCurrentThread() - before));
        }

        Assert.Empty(findings);
    }

    [Fact]
    public void The_default_engine_runs_the_signal_detectors_after_the_baseline()
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        var ids = engine.Detectors.Select(d => d.Id).ToList();
        Assert.Equal(
            ["open-lookups", "baseline", "machine-timing", "enumeration", "identity", "watch-list", "collusion", "side-lookups", "targeting", "household"],
            ids);
        Assert.Equal(TimeSpan.FromDays(7) + TimeSpan.FromHours(1), engine.History); // the restart's replay is unchanged
    }

    [Theory]
    [InlineData(nameof(DetectionOptions.BlockSearchesAlert), 1)]
    [InlineData(nameof(DetectionOptions.BlockSearchesAlert), 10_001)]
    [InlineData(nameof(DetectionOptions.TargetingMinSubjects), 9)]
    [InlineData(nameof(DetectionOptions.TargetingMinSubjects), 100_001)]
    public void Signal_settings_out_of_range_are_refused_by_name(string name, int value)
    {
        var options = new DetectionOptions();
        typeof(DetectionOptions).GetProperty(name)!.SetValue(options, value);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(name, ex.ParamName);
    }
}
