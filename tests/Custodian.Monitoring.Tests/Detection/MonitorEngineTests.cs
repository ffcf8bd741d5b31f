using Custodian.Ledger;
using Custodian.Monitoring.Detection;

namespace Custodian.Monitoring.Tests.Detection;

public sealed class MonitorEngineTests
{
    private static readonly Principal Clerk = new(PrincipalKind.Clerk, "C1");
    private static readonly Principal Terminal = new(PrincipalKind.Terminal, "T-C1");

    [Fact]
    public void Unserved_lookups_alert_then_step_up_then_suspend_clerk_and_terminal()
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        var decisions = new List<MonitorDecision>();
        for (var i = 0; i < 10; i++)
        {
            decisions.AddRange(engine.Process(i, Entries.Read(Entries.Noon.AddMinutes(i), "C1", AccessTask.Search, 1000 + i)));
        }

        var clerk = decisions.Where(d => d.Finding.Principal == Clerk).ToList();
        Assert.Equal([MonitorAction.Alert, MonitorAction.StepUp, MonitorAction.Suspend], clerk.Select(d => d.Action));
        Assert.Equal([50, 75, 100], clerk.Select(d => d.Risk));
        Assert.Equal([7L, 8L, 9L], clerk.Select(d => d.Sequence));
        Assert.All(clerk, d => Assert.Equal(OpenLookupsDetector.DetectorName, d.Finding.Detector));
        Assert.Equal([Clerk, Terminal], clerk[^1].Targets);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), clerk[^1].Finding.Evidence);
        Assert.True(engine.IsSuspended(Clerk));
        Assert.True(engine.IsSuspended(Terminal));
        Assert.Equal(MonitorAction.Suspend, engine.CurrentAction(Clerk, Entries.Noon.AddMinutes(10)));

        // Suspended: nothing more is raised; restored: a clean slate.
        Assert.Empty(engine.Process(10, Entries.Read(Entries.Noon.AddMinutes(11), "C1", AccessTask.Search, 2000)));
        engine.Restore(Clerk);
        engine.Restore(Terminal);
        Assert.Equal(MonitorAction.None, engine.CurrentAction(Clerk, Entries.Noon.AddMinutes(12)));
        Assert.Equal(0, engine.CurrentRisk(Clerk, Entries.Noon.AddMinutes(12)));
    }

    [Fact]
    public void Served_customers_and_families_do_not_pile_up()
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        long seq = 0;
        for (var i = 0; i < 40; i++)
        {
            var at = Entries.Noon.AddMinutes(i * 6);
            long[] family = [(i * 10) + 1, (i * 10) + 2, (i * 10) + 3];
            Assert.Empty(engine.Process(seq++, Entries.Read(at, "C1", AccessTask.Search, family)));
            foreach (var member in family)
            {
                Assert.Empty(engine.Process(seq++, Entries.Read(at.AddSeconds(20), "C1", AccessTask.View, member)));
            }

            Assert.Empty(engine.Process(seq++, Entries.Served(at.AddMinutes(5), "C1", family)));
        }

        Assert.Equal(0, engine.CurrentRisk(Clerk, Entries.Noon.AddHours(5)));
    }

    [Fact]
    public void Step_up_decays_when_its_findings_leave_memory()
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        for (var i = 0; i < 9; i++)
        {
            engine.Process(i, Entries.Read(Entries.Noon.AddMinutes(i), "C1", AccessTask.Search, 1000 + i));
        }

        Assert.Equal(MonitorAction.StepUp, engine.CurrentAction(Clerk, Entries.Noon.AddMinutes(9)));
        Assert.Equal(MonitorAction.StepUp, engine.CurrentAction(Clerk, Entries.Noon.AddMinutes(67)));
        Assert.Equal(MonitorAction.None, engine.CurrentAction(Clerk, Entries.Noon.AddMinutes(69)));
    }

    [Fact]
    public void The_risk_schedule_answers_current_risk_and_action_at_any_later_time_and_changes_are_tracked()
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        engine.TracksRiskChanges = true;
        for (var i = 0; i < 9; i++)
        {
            engine.Process(i, Entries.Read(Entries.Noon.AddMinutes(i), "C1", AccessTask.Search, 1000 + i));
        }

        var changed = new List<Principal>();
        Assert.Equal(2, engine.DrainRiskChanges(changed));
        Assert.Equal(new HashSet<Principal> { Clerk, Terminal }, changed.ToHashSet());
        Assert.Equal(0, engine.DrainRiskChanges(changed));

        // One detector (open-lookups, memory 1 hour from the 9th search at 12:08): 75 until 13:08, then nothing.
        var schedule = engine.RiskSchedule(Clerk);
        Assert.Equal([new RiskStep(75, MonitorAction.StepUp, Entries.Noon.AddMinutes(68))], schedule);
        foreach (var minutes in new[] { 9, 67, 68, 69 })
        {
            var at = Entries.Noon.AddMinutes(minutes);
            var step = schedule.FirstOrDefault(s => s.Until > at);
            Assert.Equal((engine.CurrentRisk(Clerk, at), engine.CurrentAction(Clerk, at)), (step.Risk, step.Action));
        }

        engine.Restore(Clerk);
        changed.Clear();
        Assert.Equal(1, engine.DrainRiskChanges(changed));
        Assert.Equal([Clerk], changed);
        Assert.Empty(engine.RiskSchedule(Clerk));
        Assert.Empty(MonitorEngine.CreateDefault(new DetectionOptions()).RiskSchedule(Clerk));
    }

    /// <summary>
    /// The monitor's own entries, and suspended / restored entries, are stamped by whichever process wrote them — with
    /// monitor workers a worker's clock, not the API node's (docs/events.md, "Monitor workers"). They do not move the
    /// engine's ledger time: with each decision's alert-raised entry stamped two hours after the reads (a worker's clock
    /// ahead by more than OrphanAfter, as in a long test run whose API node runs on a fake clock), the scraper is still
    /// alerted, stepped up and suspended at exactly the 8th, 9th and 10th unserved search. Before, the first alert-raised
    /// entry moved the engine's time two hours on and aged every open lookup out at once.
    /// </summary>
    [Fact]
    public void Entries_written_after_the_fact_on_another_clock_do_not_move_the_engines_ledger_time()
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        var later = Entries.Noon.AddHours(2);
        var decisions = new List<(int Search, MonitorAction Action, int Risk)>();
        long sequence = 0;
        engine.Process(sequence++, new AccessEntry { Time = later, Task = AccessTask.Suspended, Outcome = AccessOutcome.Allowed, Account = "O1", Target = "clerk:C9" });
        engine.Process(sequence++, new AccessEntry { Time = later, Task = AccessTask.Restored, Outcome = AccessOutcome.Allowed, Account = "O1", Target = "clerk:C9" });
        for (var i = 0; i < 10; i++)
        {
            var found = engine.Process(sequence++, Entries.Read(Entries.Noon.AddMinutes(i), "C1", AccessTask.Search, 1000 + i)).Where(d => d.Finding.Principal == Clerk).ToList();
            foreach (var d in found)
            {
                decisions.Add((i + 1, d.Action, d.Risk));
                engine.Process(sequence++, new AccessEntry { Time = later, Task = AccessTask.AlertRaised, Outcome = AccessOutcome.Allowed, Account = AccessMonitor.MonitorAccount, Target = "A-1" });
            }
        }

        Assert.Equal([(8, MonitorAction.Alert, 50), (9, MonitorAction.StepUp, 75), (10, MonitorAction.Suspend, 100)], decisions);
        Assert.True(engine.IsSuspended(Clerk));
    }

    [Fact]
    public void Suspended_and_restored_ledger_entries_are_honoured()
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        Assert.Empty(engine.Process(0, new AccessEntry { Time = Entries.Noon, Task = AccessTask.Suspended, Outcome = AccessOutcome.Allowed, Account = "O1", Target = "clerk:C1" }));
        Assert.True(engine.IsSuspended(Clerk));
        engine.Process(1, new AccessEntry { Time = Entries.Noon, Task = AccessTask.Restored, Outcome = AccessOutcome.Allowed, Account = "O1", Target = "clerk:C1" });
        Assert.False(engine.IsSuspended(Clerk));
    }

    [Fact]
    public void A_kt2012_scraper_blended_into_a_clerk_day_is_suspended_within_ten_minutes_by_the_hard_limits_and_detectors()
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions(), new MonitorOptions());
        var random = new Random(2012);
        var start = Entries.Noon;
        DateTimeOffset? suspendedAt = null;
        long seq = 0;
        for (var t = start; t < start.AddHours(1) && suspendedAt is null; t = t.AddSeconds(60 * (0.7 + (0.6 * random.NextDouble()))))
        {
            var subject = random.NextInt64(1, 2_000_000);
            foreach (var e in new[] { Entries.Read(t, "C1", AccessTask.Search, subject), Entries.Read(t.AddSeconds(2), "C1", AccessTask.View, subject) })
            {
                if (engine.Process(seq++, e).Any(d => d.Action == MonitorAction.Suspend))
                {
                    suspendedAt = e.Time;
                }
            }
        }

        Assert.NotNull(suspendedAt);
        Assert.InRange(suspendedAt!.Value - start, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10));
    }

    /// <summary>
    /// Collusion's scores and what the default policy does with them (docs/monitoring.md, "Detectors"): two clerks of
    /// different stores each look up the same <paramref name="shared"/> subscribers at noon and serve none; an entry at
    /// 13:02 advances the engine past <c>OrphanAfter</c>. 2 shared: no finding; 3: 30, risk only (below the alert
    /// threshold of 40: no alert); <c>SharedOrphansSuspend</c> (4): 100, both clerks suspended.
    /// </summary>
    [Theory]
    [InlineData(2, 0, MonitorAction.None)]
    [InlineData(3, 30, MonitorAction.None)]
    [InlineData(4, 100, MonitorAction.Suspend)]
    public void Collusion_scores_nothing_for_two_shared_orphans_30_risk_only_for_three_and_suspends_both_clerks_at_four(int shared, int score, MonitorAction action)
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        long seq = 0;
        for (var s = 1; s <= shared; s++)
        {
            Assert.Empty(engine.Process(seq++, Entries.Read(Entries.Noon.AddSeconds(s), "A", AccessTask.View, s)));
            Assert.Empty(engine.Process(seq++, Entries.Read(Entries.Noon.AddSeconds(30 + s), "B", AccessTask.View, s) with { Store = "S002" }));
        }

        var decisions = engine.Process(seq, Entries.Read(Entries.Noon.AddMinutes(62), "Z", AccessTask.View, 999) with { Store = "S003" }).ToList();

        var at = Entries.Noon.AddMinutes(62);
        var a = new Principal(PrincipalKind.Clerk, "A");
        var b = new Principal(PrincipalKind.Clerk, "B");
        Assert.Equal((score, score), (engine.CurrentRisk(a, at), engine.CurrentRisk(b, at)));
        Assert.Equal((action, action), (engine.CurrentAction(a, at), engine.CurrentAction(b, at)));
        if (action == MonitorAction.None)
        {
            Assert.Empty(decisions);
            return;
        }

        Assert.Equal([(b, 100, MonitorAction.Suspend), (a, 100, MonitorAction.Suspend)], decisions.Select(d => (d.Finding.Principal, d.Risk, d.Action)));
        Assert.All(decisions, d => Assert.Equal((CollusionDetector.DetectorName, 100, 4), (d.Finding.Detector, d.Finding.Score, d.Finding.Observed)));
    }
}
