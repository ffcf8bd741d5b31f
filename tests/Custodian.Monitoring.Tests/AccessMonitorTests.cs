using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring.Detection;
using Custodian.Monitoring.Tests.Support;

namespace Custodian.Monitoring.Tests;

public sealed class AccessMonitorTests
{
    private const string Clerk = "C0001";
    private const string Terminal = "S001-T1";

    private static async Task ReadDistinctAsync(MonitorHarness h, int count, long firstSubject, TimeSpan every, string clerk = Clerk, string terminal = Terminal)
    {
        for (var i = 0; i < count; i++)
        {
            await h.ReadAsync(clerk, terminal, firstSubject + i);
            h.Time.Advance(every);
        }
    }

    [Fact]
    public async Task Thirteen_distinct_in_ten_minutes_raises_one_alert_and_suspends_clerk_and_terminal()
    {
        await using var h = await MonitorHarness.StartAsync();
        await ReadDistinctAsync(h, 12, 1000, TimeSpan.FromSeconds(45));
        await h.SettleAsync();
        Assert.Empty(await h.Alerts.ListAsync(null));

        var breaching = await h.ReadAsync(Clerk, Terminal, 2000);
        await h.SettleAsync();

        var alert = Assert.Single(await h.Alerts.ListAsync(null));
        Assert.Equal(new Principal(PrincipalKind.Clerk, Clerk), alert.Principal);
        Assert.Equal((TimeSpan.FromMinutes(10), 13, 12, AlertState.Open, AlertSeverity.High, "S001"), (alert.Window, alert.Observed, alert.Limit, alert.State, alert.Severity, alert.Store));
        Assert.Equal(new AlertEvidence(0, breaching.Sequence, [.. Enumerable.Range(0, 13).Select(i => (long)i)], 13), alert.Evidence);

        Assert.True(h.Suspensions.IsSuspended(PrincipalKind.Clerk, Clerk));
        Assert.True(h.Suspensions.IsSuspended(PrincipalKind.Terminal, Terminal));
        var active = await h.Suspensions.ListActiveAsync();
        Assert.Equal([(PrincipalKind.Clerk, Clerk, alert.Id), (PrincipalKind.Terminal, Terminal, alert.Id)], active.Select(s => (s.Principal.Kind, s.Principal.Id, s.AlertId)).OrderBy(x => x.Kind));

        // The ledger records the alert and both suspensions, by the monitor.
        var raised = Assert.Single(h.EntriesOf(AccessTask.AlertRaised)).Entry;
        Assert.Equal((alert.Id, "monitor", AccessOutcome.Allowed), (raised.Target, raised.Account, raised.Outcome));
        Assert.Equal("distinct-subjects: clerk:C0001 read 13 distinct subscribers within 600 s, over the clerk limit of 12.", raised.Reason);
        Assert.Empty(raised.Subjects);
        var suspended = h.EntriesOf(AccessTask.Suspended).Select(e => e.Entry).ToList();
        Assert.Equal(["clerk:C0001", "terminal:S001-T1"], suspended.Select(e => e.Target));
        Assert.All(suspended, e => Assert.Equal("monitor", e.Account));
        Assert.All(suspended, e => Assert.Equal($"distinct-subjects: clerk:C0001 read 13 distinct subscribers within 600 s, over the clerk limit of 12 (alert {alert.Id}).", e.Reason));
    }

    [Fact]
    public async Task The_same_thirteen_spread_over_eleven_minutes_raise_nothing()
    {
        await using var h = await MonitorHarness.StartAsync();
        await ReadDistinctAsync(h, 13, 1000, TimeSpan.FromSeconds(55));
        await h.SettleAsync();
        Assert.Empty(await h.Alerts.ListAsync(null));
        Assert.False(h.Suspensions.IsSuspended(PrincipalKind.Clerk, Clerk));
        Assert.Equal([10, 13, 13], h.Monitor.GetCounts(PrincipalKind.Clerk, Clerk).Select(c => c.Observed)); // now = 55 s after the 13th read
    }

    [Fact]
    public async Task Repeated_views_of_the_same_subscribers_count_once()
    {
        await using var h = await MonitorHarness.StartAsync();
        for (var round = 0; round < 5; round++)
        {
            foreach (var task in new[] { AccessTask.Search, AccessTask.View, AccessTask.Unmask, AccessTask.Print })
            {
                await h.AppendAsync(Clerk, Terminal, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], task);
                h.Time.Advance(TimeSpan.FromSeconds(5));
            }
        }

        await h.SettleAsync();
        Assert.Empty(await h.Alerts.ListAsync(null));
        Assert.Equal([12, 12, 12], h.Monitor.GetCounts(PrincipalKind.Clerk, Clerk).Select(c => c.Observed));
    }

    [Fact]
    public async Task Denied_entries_and_tasks_that_do_not_read_are_ignored()
    {
        await using var h = await MonitorHarness.StartAsync();
        for (var i = 0; i < 30; i++)
        {
            await h.AppendAsync(Clerk, Terminal, [1000 + i], AccessTask.View, AccessOutcome.Denied);
            await h.AppendAsync(Clerk, Terminal, [2000 + i], AccessTask.Change);
            await h.AppendAsync(Clerk, Terminal, [3000 + i], AccessTask.ServiceComplete);
            await h.AppendAsync(Clerk, Terminal, [4000 + i], AccessTask.ConsentRequest);
            h.Time.Advance(TimeSpan.FromSeconds(1));
        }

        await h.SettleAsync();
        Assert.Empty(await h.Alerts.ListAsync(null));
        Assert.Equal([0, 0, 0], h.Monitor.GetCounts(PrincipalKind.Clerk, Clerk).Select(c => c.Observed));
        Assert.Equal(119, h.Monitor.ProcessedSequence);
    }

    [Fact]
    public async Task Downloads_count_like_views()
    {
        await using var h = await MonitorHarness.StartAsync();
        await h.AppendAsync(Clerk, Terminal, [.. Enumerable.Range(1, 13).Select(i => (long)i)], AccessTask.Download);
        await h.SettleAsync();
        var alert = Assert.Single(await h.Alerts.ListAsync(null));
        Assert.Equal(13, alert.Observed);
    }

    [Fact]
    public async Task A_bulk_read_of_twice_the_limit_is_critical()
    {
        await using var h = await MonitorHarness.StartAsync();
        await h.AppendAsync(Clerk, Terminal, [.. Enumerable.Range(1, 24).Select(i => (long)i)], AccessTask.Search);
        await h.SettleAsync();
        var alert = Assert.Single(await h.Alerts.ListAsync(null));
        Assert.Equal((24, 12, AlertSeverity.Critical), (alert.Observed, alert.Limit, alert.Severity));
    }

    [Fact]
    public async Task A_principal_already_suspended_is_not_suspended_or_recorded_twice()
    {
        await using var h = await MonitorHarness.StartAsync();
        await h.Suspensions.SuspendAsync(PrincipalKind.Terminal, Terminal, null, "Manual: reported stolen.");
        await ReadDistinctAsync(h, 13, 1000, TimeSpan.FromSeconds(10));
        await h.SettleAsync();

        var alert = Assert.Single(await h.Alerts.ListAsync(null));
        Assert.Equal(new Principal(PrincipalKind.Clerk, Clerk), alert.Principal);
        Assert.Equal(["clerk:C0001"], h.EntriesOf(AccessTask.Suspended).Select(e => e.Entry.Target));
        var terminal = await h.Suspensions.GetActiveAsync(new Principal(PrincipalKind.Terminal, Terminal));
        Assert.Equal((null, "Manual: reported stolen."), (terminal!.AlertId, terminal.Reason));
    }

    [Fact]
    public async Task Reads_after_the_breach_raise_no_further_alert()
    {
        await using var h = await MonitorHarness.StartAsync();

        // In-flight reads that were already past the guard when the suspension landed, and the terminal's own breach.
        await ReadDistinctAsync(h, 40, 1000, TimeSpan.FromSeconds(1));
        await h.SettleAsync();
        Assert.Single(await h.Alerts.ListAsync(null));
        Assert.Single(h.EntriesOf(AccessTask.AlertRaised));
        Assert.Equal(2, h.EntriesOf(AccessTask.Suspended).Count);
    }

    [Fact]
    public async Task A_terminal_shared_by_two_clerks_breaches_its_own_limit_and_suspends_the_last_clerk_too()
    {
        await using var h = await MonitorHarness.StartAsync();
        for (var i = 0; i < 17; i++)
        {
            await h.ReadAsync(i % 2 == 0 ? "C0001" : "C0002", Terminal, 500 + i);
            h.Time.Advance(TimeSpan.FromSeconds(20));
        }

        await h.SettleAsync();
        var alert = Assert.Single(await h.Alerts.ListAsync(null));
        Assert.Equal((new Principal(PrincipalKind.Terminal, Terminal), 17, 16), (alert.Principal, alert.Observed, alert.Limit));
        Assert.True(h.Suspensions.IsSuspended(PrincipalKind.Terminal, Terminal));
        Assert.True(h.Suspensions.IsSuspended(PrincipalKind.Clerk, "C0001"));   // made the breaching read
        Assert.False(h.Suspensions.IsSuspended(PrincipalKind.Clerk, "C0002"));
    }

    [Fact]
    public async Task Wait_for_processed_returns_at_once_when_processed_and_waits_otherwise()
    {
        await using var h = await MonitorHarness.CreateAsync();

        // Not started: nothing processed; a wait times out on fake time.
        Assert.Equal(-1, h.Monitor.ProcessedSequence);
        var negative = h.Monitor.WaitForProcessedAsync(-1, TimeSpan.FromSeconds(1));
        Assert.True(negative.IsCompletedSuccessfully);
        Assert.True(await negative);
        Assert.False(await h.Monitor.WaitForProcessedAsync(0, TimeSpan.Zero));
        var timingOut = h.Monitor.WaitForProcessedAsync(0, TimeSpan.FromSeconds(2)).AsTask();
        Assert.False(timingOut.IsCompleted);
        h.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(await timingOut.WaitAsync(MonitorHarness.HangGuard));

        // A wait parked before the entry exists completes once the monitor has processed it.
        var parked = h.Monitor.WaitForProcessedAsync(1, Timeout.InfiniteTimeSpan).AsTask();
        await h.StartMonitorAsync();
        Assert.False(parked.IsCompleted);
        await h.ReadAsync(Clerk, Terminal, 1);
        await h.ReadAsync(Clerk, Terminal, 2);
        Assert.True(await parked.WaitAsync(MonitorHarness.HangGuard));
        Assert.Equal(1, h.Monitor.ProcessedSequence);

        var done = h.Monitor.WaitForProcessedAsync(1, TimeSpan.FromSeconds(1));
        Assert.True(done.IsCompletedSuccessfully);
        Assert.True(await done);

        // Cancellation throws.
        using var cts = new CancellationTokenSource();
        var cancelled = h.Monitor.WaitForProcessedAsync(99, Timeout.InfiniteTimeSpan, cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(MonitorHarness.HangGuard));

        // A stopped monitor answers false at once, and releases parked waits with false.
        var orphan = h.Monitor.WaitForProcessedAsync(50, Timeout.InfiniteTimeSpan).AsTask();
        await h.StopAsync();
        Assert.False(await orphan.WaitAsync(MonitorHarness.HangGuard));
        Assert.False(await h.Monitor.WaitForProcessedAsync(51, Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public async Task The_guard_pattern_refuses_the_read_after_the_breach()
    {
        await using var h = await MonitorHarness.StartAsync();
        var served = 0;
        long previous = -1;
        for (var i = 0; i < 20; i++)
        {
            // What the host's guard does before serving a read.
            Assert.True(await h.Monitor.WaitForProcessedAsync(previous, TimeSpan.FromSeconds(2)).AsTask().WaitAsync(MonitorHarness.HangGuard));
            if (h.Suspensions.IsSuspended(PrincipalKind.Clerk, Clerk) || h.Suspensions.IsSuspended(PrincipalKind.Terminal, Terminal))
            {
                previous = (await h.AppendAsync(Clerk, Terminal, [], AccessTask.View, AccessOutcome.Denied)).Sequence;
                continue;
            }

            previous = (await h.ReadAsync(Clerk, Terminal, 7000 + i)).Sequence;
            served++;
            h.Time.Advance(TimeSpan.FromSeconds(3));
        }

        Assert.Equal(13, served);
    }

    [Fact]
    public async Task Restore_lifts_both_marks_alerts_restored_clears_state_and_is_recorded()
    {
        await using var h = await MonitorHarness.StartAsync();
        await ReadDistinctAsync(h, 13, 1000, TimeSpan.FromSeconds(10));
        await h.SettleAsync();
        var alert = Assert.Single(await h.Alerts.ListAsync(null));

        h.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(await h.Monitor.RestoreAsync(PrincipalKind.Clerk, Clerk, "SO01", "Family-plan migration day, confirmed with the manager."));
        Assert.True(await h.Monitor.RestoreAsync(PrincipalKind.Terminal, Terminal, "SO01", "Same review."));
        Assert.False(await h.Monitor.RestoreAsync(PrincipalKind.Terminal, Terminal, "SO01", "Twice."));
        await h.SettleAsync();

        Assert.False(h.Suspensions.IsSuspended(PrincipalKind.Clerk, Clerk));
        Assert.False(h.Suspensions.IsSuspended(PrincipalKind.Terminal, Terminal));
        Assert.Empty(await h.Suspensions.ListActiveAsync());
        var restored = (await h.Alerts.GetAsync(alert.Id))!;
        Assert.Equal((AlertState.Restored, "SO01", "Family-plan migration day, confirmed with the manager."), (restored.State, restored.UpdatedBy, restored.Note));
        Assert.Equal([0, 0, 0], h.Monitor.GetCounts(PrincipalKind.Clerk, Clerk).Select(c => c.Observed));
        Assert.Equal([0, 0, 0], h.Monitor.GetCounts(PrincipalKind.Terminal, Terminal).Select(c => c.Observed));

        var entries = h.EntriesOf(AccessTask.Restored).Select(e => e.Entry).ToList();
        Assert.Equal(["clerk:C0001", "terminal:S001-T1"], entries.Select(e => e.Target));
        Assert.All(entries, e => Assert.Equal(("SO01", AccessOutcome.Allowed), (e.Account, e.Outcome)));

        // Counting starts afresh: 12 more distinct are fine, the 13th breaches again with a new alert.
        await ReadDistinctAsync(h, 12, 5000, TimeSpan.FromSeconds(10));
        await h.SettleAsync();
        Assert.Single(await h.Alerts.ListAsync(null));
        await h.ReadAsync(Clerk, Terminal, 6000);
        await h.SettleAsync();
        Assert.Equal(2, (await h.Alerts.ListAsync(null)).Count);
    }

    [Fact]
    public async Task Restore_is_refused_when_the_ledger_cannot_record_it()
    {
        await using var h = await MonitorHarness.StartAsync();
        await ReadDistinctAsync(h, 13, 1000, TimeSpan.FromSeconds(10));
        await h.SettleAsync();
        h.Ledger.Unavailable = true;
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => h.Monitor.RestoreAsync(PrincipalKind.Clerk, Clerk, "SO01", "Reviewed."));
        Assert.True(h.Suspensions.IsSuspended(PrincipalKind.Clerk, Clerk));
        Assert.Equal(AlertState.Open, (await h.Alerts.ListAsync(null))[0].State);
    }

    [Fact]
    public async Task A_suspension_lifted_by_another_process_resets_the_state_at_the_next_entry()
    {
        await using var h = await MonitorHarness.StartAsync();
        await ReadDistinctAsync(h, 13, 1000, TimeSpan.FromSeconds(10));
        await h.SettleAsync();

        // The CLI lifts both through its own registry (another process); no restored entry reaches this stream.
        var cli = new SuspensionRegistry(h.Database.Db, h.Time);
        await cli.LiftAsync(PrincipalKind.Clerk, Clerk, "SO01", "Reviewed.");
        await cli.LiftAsync(PrincipalKind.Terminal, Terminal, "SO01", "Reviewed.");
        h.Time.Advance(SuspensionRegistry.RefreshInterval);
        Assert.False(await h.Suspensions.IsSuspendedAsync(PrincipalKind.Clerk, Clerk));

        await ReadDistinctAsync(h, 12, 5000, TimeSpan.FromSeconds(1));
        await h.SettleAsync();
        Assert.Equal([12, 12, 12], h.Monitor.GetCounts(PrincipalKind.Clerk, Clerk).Select(c => c.Observed));
        await h.ReadAsync(Clerk, Terminal, 6000);
        await h.SettleAsync();
        Assert.Equal(2, (await h.Alerts.ListAsync(null)).Count);
    }

    [Fact]
    public async Task A_restart_rebuilds_the_windows_from_the_ledger_without_duplicating_alerts()
    {
        await using var first = await MonitorHarness.StartAsync();
        await ReadDistinctAsync(first, 13, 1000, TimeSpan.FromSeconds(10));                 // C0001 breaches
        await ReadDistinctAsync(first, 10, 5000, TimeSpan.FromSeconds(10), "C0002", "S001-T2"); // C0002 at 10
        await first.SettleAsync();
        Assert.Single(await first.Alerts.ListAsync(null));
        await first.StopAsync();

        await using var second = await MonitorHarness.StartAsync(previous: first);
        Assert.Equal(first.Ledger.LastSequence, second.Monitor.ProcessedSequence);
        Assert.Single(await second.Alerts.ListAsync(null));
        Assert.Equal([10, 10, 10], second.Monitor.GetCounts(PrincipalKind.Clerk, "C0002").Select(c => c.Observed));
        Assert.True(second.Detector.IsLatched(new Principal(PrincipalKind.Clerk, Clerk)));

        // The suspended clerk's in-flight reads raise nothing new; C0002's 13th distinct does.
        await ReadDistinctAsync(second, 5, 9000, TimeSpan.FromSeconds(1));
        await ReadDistinctAsync(second, 3, 5100, TimeSpan.FromSeconds(1), "C0002", "S001-T2");
        await second.SettleAsync();
        var alerts = await second.Alerts.ListAsync(null);
        Assert.Equal(2, alerts.Count);
        Assert.Equal((new Principal(PrincipalKind.Clerk, "C0002"), 13), (alerts[0].Principal, alerts[0].Observed));
    }

    [Fact]
    public async Task A_breach_committed_while_no_monitor_ran_is_acted_on_once_at_start()
    {
        await using var first = await MonitorHarness.StartAsync();
        await first.StopAsync();

        // The API node kept serving (e.g. the monitor crashed): 13 distinct reads, nobody watching.
        await ReadDistinctAsync(first, 13, 1000, TimeSpan.FromSeconds(10));
        await using var second = await MonitorHarness.StartAsync(previous: first);
        await second.SettleAsync();
        var alert = Assert.Single(await second.Alerts.ListAsync(null));
        Assert.Equal((13, 12), (alert.Observed, alert.Limit));
        Assert.True(second.Suspensions.IsSuspended(PrincipalKind.Clerk, Clerk));
        Assert.True(second.Suspensions.IsSuspended(PrincipalKind.Terminal, Terminal));
        await second.StopAsync();

        // A third start sees the suspended entries in the replay: still one alert.
        await using var third = await MonitorHarness.StartAsync(previous: first);
        await third.SettleAsync();
        Assert.Single(await third.Alerts.ListAsync(null));
    }

    [Fact]
    public async Task A_restore_in_the_replayed_ledger_clears_the_state_before_the_restart()
    {
        await using var first = await MonitorHarness.StartAsync();
        await ReadDistinctAsync(first, 13, 1000, TimeSpan.FromSeconds(10));
        await first.SettleAsync();
        await first.Monitor.RestoreAsync(PrincipalKind.Clerk, Clerk, "SO01", "Reviewed.");
        await first.Monitor.RestoreAsync(PrincipalKind.Terminal, Terminal, "SO01", "Reviewed.");
        await ReadDistinctAsync(first, 5, 2000, TimeSpan.FromSeconds(10));
        await first.SettleAsync();
        await first.StopAsync();

        await using var second = await MonitorHarness.StartAsync(previous: first);
        Assert.False(second.Detector.IsLatched(new Principal(PrincipalKind.Clerk, Clerk)));
        Assert.Equal([5, 5, 5], second.Monitor.GetCounts(PrincipalKind.Clerk, Clerk).Select(c => c.Observed));
        Assert.Single(await second.Alerts.ListAsync(null));
    }

    [Fact]
    public async Task Entries_older_than_the_largest_window_are_not_replayed()
    {
        await using var first = await MonitorHarness.StartAsync();
        await ReadDistinctAsync(first, 10, 1000, TimeSpan.FromSeconds(10));
        await first.SettleAsync();
        await first.StopAsync();
        first.Time.Advance(TimeSpan.FromHours(24));

        await using var second = await MonitorHarness.StartAsync(previous: first);
        Assert.Equal([0, 0, 0], second.Monitor.GetCounts(PrincipalKind.Clerk, Clerk).Select(c => c.Observed));
        Assert.Equal(9, second.Monitor.ProcessedSequence); // everything before is taken as processed
    }

    // One customer served while something on the clerk's PC reads a stranger mid-service (a side lookup once it is
    // orphaned, 60 min later); returns the stranger's read's sequence. Takes 28 minutes and 20 seconds of ledger time.
    private static async Task<long> ServeWithSideLookupAsync(MonitorHarness h, long customer, long stranger)
    {
        await h.ReadAsync(Clerk, Terminal, customer, AccessTask.Search);
        h.Time.Advance(TimeSpan.FromSeconds(20));
        await h.ReadAsync(Clerk, Terminal, customer);
        h.Time.Advance(TimeSpan.FromMinutes(2));
        var side = await h.ReadAsync(Clerk, Terminal, stranger, AccessTask.Search);
        h.Time.Advance(TimeSpan.FromMinutes(6));
        await h.AppendAsync(Clerk, Terminal, [customer], AccessTask.ServiceComplete);
        h.Time.Advance(TimeSpan.FromMinutes(20));
        return side.Sequence;
    }

    // A customer served with nothing on the side, two hours on: its entries move the engine's time past the orphan delay.
    private static async Task ServeAsync(MonitorHarness h, long customer)
    {
        h.Time.Advance(TimeSpan.FromHours(2));
        await h.ReadAsync(Clerk, Terminal, customer, AccessTask.Search);
        h.Time.Advance(TimeSpan.FromMinutes(5));
        await h.AppendAsync(Clerk, Terminal, [customer], AccessTask.ServiceComplete);
    }

    [Fact]
    public async Task Lookups_left_open_are_judged_after_OrphanAfter_when_nobody_reads_after_them()
    {
        // Two clerks of different stores read the same four subscribers at 10:00 in Seoul and serve none of them (the
        // collusion pattern), and then nobody reads anything. The lookups turn into orphans at 11:00; the monitor must
        // judge them then by itself (a quiet store has no next entry to advance its detectors), not at the next read.
        await using var h = await MonitorHarness.StartAsync(engine: MonitorEngine.CreateDefault(new DetectionOptions()));
        h.Time.Advance(TimeSpan.FromHours(1));
        for (var subject = 1; subject <= 4; subject++)
        {
            await h.AppendAsync("C0001", "S001-T1", [subject], store: "S001");
            await h.AppendAsync("C0002", "S002-T1", [subject], store: "S002");
        }

        await h.SettleAsync();
        Assert.Empty(await h.Alerts.ListAsync(null));
        var lastRead = h.Ledger.LastSequence;

        h.Time.Advance(new DetectionOptions().OrphanAfter - TimeSpan.FromMinutes(1)); // 10:59: nothing is due yet
        await h.SettleAsync();
        Assert.Empty(await h.Alerts.ListAsync(null));

        h.Time.Advance(TimeSpan.FromMinutes(2)); // 11:01: the quiet-period tick advances the detectors
        // The tick acts beside the test: wait for its last write, the second suspended entry. Not for the in-memory mark of
        // C0002, which is set before that entry is appended: a settle right after the mark could see the ledger without it.
        var deadline = DateTime.UtcNow + MonitorHarness.HangGuard; // wall clock only to bound the wait, never asserted on
        while (h.EntriesOf(AccessTask.Suspended).Count < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await h.SettleAsync();
        var alerts = (await h.Alerts.ListAsync(null)).OrderBy(a => a.Principal.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [(CollusionDetector.DetectorName, "C0001", 4), (CollusionDetector.DetectorName, "C0002", 4)],
            alerts.Select(a => (a.Detector, a.Principal.Id, a.Observed)));
        Assert.True(h.Suspensions.IsSuspended(PrincipalKind.Clerk, "C0001"));
        Assert.True(h.Suspensions.IsSuspended(PrincipalKind.Clerk, "C0002"));
        Assert.Equal(lastRead, h.Ledger.Snapshot().Last(e => e.Entry.Account != AccessMonitor.MonitorAccount).Sequence); // no read came after
        Assert.Equal(2, h.EntriesOf(AccessTask.AlertRaised).Count);
        Assert.Equal(["clerk:C0001", "clerk:C0002"], h.EntriesOf(AccessTask.Suspended).Select(e => e.Entry.Target).Order(StringComparer.Ordinal));
    }

    // The collusion pattern: at 10:00 in Seoul clerks C0001 (S001) and C0002 (S002) read the same subscribers 1..count and
    // serve none; at 11:02 C0003 (S003) reads subscriber 99, and the lookups are orphans.
    private static async Task ShareOrphansAsync(MonitorHarness harness, int count)
    {
        harness.Time.Advance(TimeSpan.FromHours(1));
        for (var subject = 1; subject <= count; subject++)
        {
            await harness.AppendAsync("C0001", "S001-T1", [subject], store: "S001");
            await harness.AppendAsync("C0002", "S002-T1", [subject], store: "S002");
        }

        harness.Time.Advance(TimeSpan.FromMinutes(62));
        await harness.AppendAsync("C0003", "S003-T1", [99], store: "S003");
    }

    [Fact]
    public async Task A_decision_first_made_by_the_replay_is_acted_on_once_after_it()
    {
        // First run: hard limits only (the detection engine off). At 10:00 in Seoul two clerks of different stores read the
        // same four subscribers and serve none (the collusion pattern); at 11:02 a third clerk reads someone else.
        await using var first = await MonitorHarness.StartAsync();
        await ShareOrphansAsync(first, 4);
        await first.SettleAsync();
        await first.StopAsync();
        Assert.Empty(await first.Alerts.ListAsync(null));

        // Restarted with the engine on: its replay finds the collusion at 11:02 and suspends both clerks in its own standing.
        // Nothing in the ledger or the alert store answers that, so it is acted on after the replay: alerts, suspensions,
        // ledger entries, as live.
        await using var second = await MonitorHarness.StartAsync(previous: first, engine: MonitorEngine.CreateDefault(new DetectionOptions()));
        await second.SettleAsync();
        var alerts = (await second.Alerts.ListAsync(null)).OrderBy(a => a.Principal.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [(CollusionDetector.DetectorName, "C0001", 4), (CollusionDetector.DetectorName, "C0002", 4)],
            alerts.Select(a => (a.Detector, a.Principal.Id, a.Observed)));
        Assert.True(second.Suspensions.IsSuspended(PrincipalKind.Clerk, "C0001"));
        Assert.True(second.Suspensions.IsSuspended(PrincipalKind.Clerk, "C0002"));
        Assert.Equal(["clerk:C0001", "clerk:C0002"], second.EntriesOf(AccessTask.Suspended).Select(e => e.Entry.Target).Order(StringComparer.Ordinal));
        Assert.Equal(2, second.EntriesOf(AccessTask.AlertRaised).Count);
        Assert.Contains(second.Logs.GetSnapshot(), r => r.Id.Id == 4001 && r.Message.EndsWith("0 missed breaches and 2 missed detection decisions acted on.", StringComparison.Ordinal));

        // A third start replays the same decisions and the entries that answered them: nothing is acted on twice.
        await second.StopAsync();
        await using var third = await MonitorHarness.StartAsync(previous: second, engine: MonitorEngine.CreateDefault(new DetectionOptions()));
        await third.SettleAsync();
        Assert.Equal(2, (await third.Alerts.ListAsync(null)).Count);
        Assert.Equal(2, third.EntriesOf(AccessTask.AlertRaised).Count);
        Assert.Contains(third.Logs.GetSnapshot(), r => r.Id.Id == 4001 && r.Message.EndsWith("0 missed breaches and 0 missed detection decisions acted on.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_decision_the_replay_remakes_at_a_higher_action_is_recorded_as_a_rise_once()
    {
        // First run, alert risk 25: at 10:00 in Seoul two clerks of different stores read the same three subscribers and
        // serve none; at 11:02 a third clerk reads someone else, the lookups are orphans and collusion scores 30 for each
        // clerk: an alert each (risk 30, action alert), no step-up.
        static MonitorEngine Engine(int stepUpRisk) => MonitorEngine.CreateDefault(new DetectionOptions { AlertRisk = 25, StepUpRisk = stepUpRisk });
        await using var first = await MonitorHarness.StartAsync(engine: Engine(60));
        await ShareOrphansAsync(first, 3);
        await first.SettleAsync();
        await first.StopAsync();
        Assert.Equal([MonitorAction.Alert, MonitorAction.Alert], (await first.Alerts.ListAsync(null)).Select(a => a.Evidence.Action));
        Assert.Equal(2, first.EntriesOf(AccessTask.AlertRaised).Count);
        Assert.Empty(first.EntriesOf(AccessTask.SteppedUp));

        // Restarted with the step-up threshold lowered to 30: the replay re-makes both decisions with the same evidence at
        // step-up, and the engine steps both clerks up. The alerts raised at 'alert' do not answer a step-up: the rise is
        // acted on as any rise, with an alert at 'step-up' and a stepped-up entry for each clerk.
        await using var second = await MonitorHarness.StartAsync(previous: first, engine: Engine(30));
        await second.SettleAsync();
        var alerts = await second.Alerts.ListAsync(null);
        Assert.Equal(
            [("C0001", MonitorAction.Alert), ("C0001", MonitorAction.StepUp), ("C0002", MonitorAction.Alert), ("C0002", MonitorAction.StepUp)],
            alerts.Select(a => (a.Principal.Id, a.Evidence.Action!.Value)).Order());
        Assert.All(alerts, a => Assert.Equal((CollusionDetector.DetectorName, 3), (a.Detector, a.Observed)));
        Assert.Equal(["clerk:C0001", "clerk:C0002"], second.EntriesOf(AccessTask.SteppedUp).Select(e => e.Entry.Target).Order(StringComparer.Ordinal));
        Assert.Equal(4, second.EntriesOf(AccessTask.AlertRaised).Count);
        Assert.Empty(second.EntriesOf(AccessTask.Suspended));
        Assert.Contains(second.Logs.GetSnapshot(), r => r.Id.Id == 4001 && r.Message.EndsWith("0 missed breaches and 2 missed detection decisions acted on.", StringComparison.Ordinal));

        // A third start with the same settings: the step-up alerts and entries answer the re-made decisions; nothing twice.
        await second.StopAsync();
        await using var third = await MonitorHarness.StartAsync(previous: second, engine: Engine(30));
        await third.SettleAsync();
        Assert.Equal(4, (await third.Alerts.ListAsync(null)).Count);
        Assert.Equal(2, third.EntriesOf(AccessTask.SteppedUp).Count);
        Assert.Equal(4, third.EntriesOf(AccessTask.AlertRaised).Count);
        Assert.Contains(third.Logs.GetSnapshot(), r => r.Id.Id == 4001 && r.Message.EndsWith("0 missed breaches and 0 missed detection decisions acted on.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_alerts_severity_follows_the_configured_thresholds()
    {
        // Collusion scores 30 for each clerk (ShareOrphansAsync). With the alert threshold lowered to 25 that is an alert:
        // severity medium, not low as the fixed cut-offs (medium from 40) filed it; with step-up lowered to 30 too, high.
        foreach (var (stepUpRisk, action, severity) in new[] { (60, MonitorAction.Alert, AlertSeverity.Medium), (30, MonitorAction.StepUp, AlertSeverity.High) })
        {
            await using var h = await MonitorHarness.StartAsync(engine: MonitorEngine.CreateDefault(new DetectionOptions { AlertRisk = 25, StepUpRisk = stepUpRisk }));
            await ShareOrphansAsync(h, 3);
            await h.SettleAsync();
            var alerts = await h.Alerts.ListAsync(null);
            Assert.Equal(
                [("C0001", action, severity), ("C0002", action, severity)],
                alerts.Select(a => (a.Principal.Id, a.Evidence.Action!.Value, a.Severity)).Order());
            Assert.All(alerts, a => Assert.EndsWith("; risk 30, action " + action.ToName(), a.Evidence.Detail, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_quiet_tick_never_runs_ahead_of_entries_waiting_for_the_loop()
    {
        // A store open around the clock. At 23:30 in Seoul C0001 reads a subscriber and does not serve them (yet).
        var engine = MonitorEngine.CreateDefault(new DetectionOptions { StoreOpens = TimeSpan.Zero, StoreCloses = TimeSpan.FromDays(1) });
        await using var h = await MonitorHarness.StartAsync(engine: engine);
        h.Time.Advance(new TimeSpan(14, 30, 0));
        await h.ReadAsync(Clerk, Terminal, 9);
        await h.SettleAsync();

        // 23:40. C0009 reads 13 distinct subscribers 10 s apart and serves none: the detectors act on C0009, and the loop
        // waits while the ledger holds the monitor's first alert-raised entry (a slow ledger: the loop lags).
        h.Time.Advance(TimeSpan.FromMinutes(10));
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Ledger.HoldMonitorEntries = hold;
        await ReadDistinctAsync(h, 13, 1000, TimeSpan.FromSeconds(10), clerk: "C0009", terminal: "S009-T1");
        var deadline = DateTime.UtcNow + MonitorHarness.HangGuard; // wall clock only to bound the wait, never asserted on
        while (h.Ledger.HeldAppends == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, h.Ledger.HeldAppends);

        // Meanwhile, from 23:42, C0001 serves four customers, each read and served a minute later, all before midnight; all
        // of it waits behind the held entry. Then two hours pass with the loop held.
        for (var subject = 1; subject <= 4; subject++)
        {
            await h.ReadAsync(Clerk, Terminal, subject);
            h.Time.Advance(TimeSpan.FromMinutes(1));
            await h.AppendAsync(Clerk, Terminal, [subject], AccessTask.ServiceComplete);
            h.Time.Advance(TimeSpan.FromMinutes(1));
        }

        h.Time.Advance(TimeSpan.FromHours(2));

        // Released, the loop takes them in ledger order: C0001's day is the day before, with 5 subscribers, all in hour 23.
        // Had a quiet tick advanced the detectors to 01:50 meanwhile, the 23:30 read would have become an orphan at 00:30,
        // moving C0001's day on, and the four customers read at 23:42-23:48 would have counted on the new day.
        hold.SetResult();
        await h.SettleAsync();
        Assert.Equal(["C0009", "S009-T1"], (await h.Alerts.ListAsync(null)).Select(a => a.Principal.Id).Distinct().Order(StringComparer.Ordinal));

        // The graceful stop stores the clerk's open day: day 0, 5 subscribers, no orphan (not judged yet), 5 in hour 23.
        await h.StopAsync();
        var day0 = (MonitorHarness.Start.ToUnixTimeMilliseconds() + (9 * 3_600_000)) / 86_400_000;
        var clerk = new Principal(PrincipalKind.Clerk, Clerk);
        Assert.Equal(
            [(0, 5, 0, 5)],
            (await new BaselineDayStore(h.Database.Db).ReadBeforeAsync(day0 + 2)).Where(d => d.Principal == clerk).Select(d => ((int)(d.Day - day0), d.Distinct, d.Orphans, d.MaxHour)));
    }

    [Fact]
    public async Task A_restart_replays_the_engines_seven_days_so_side_lookups_and_a_step_up_outlive_it()
    {
        // Day 1 (Monday 10:00 in Seoul): two side lookups, under the allowance of 3 in 7 days.
        await using var first = await MonitorHarness.StartAsync(engine: MonitorEngine.CreateDefault(new DetectionOptions()));
        first.Time.Advance(TimeSpan.FromHours(1));
        List<long> side = [await ServeWithSideLookupAsync(first, 1, 901), await ServeWithSideLookupAsync(first, 2, 902)];
        await ServeAsync(first, 3);
        await first.SettleAsync();
        Assert.Empty(await first.Alerts.ListAsync(null));
        await first.StopAsync();

        // Day 3, 10:00: restarted (48 hours on, beyond the hard limits' 24-hour window). Two more: the 4th within 7 days steps up.
        first.Time.Advance(TimeSpan.FromHours(48) - (first.Time.GetUtcNow() - MonitorHarness.Start - TimeSpan.FromHours(1)));
        await using var second = await MonitorHarness.StartAsync(previous: first, engine: MonitorEngine.CreateDefault(new DetectionOptions()));
        Assert.Equal(MonitorAction.None, second.Monitor.CurrentAction(PrincipalKind.Clerk, Clerk));
        side.Add(await ServeWithSideLookupAsync(second, 11, 911));
        side.Add(await ServeWithSideLookupAsync(second, 12, 912));
        await ServeAsync(second, 13);
        await second.SettleAsync();
        var alert = Assert.Single(await second.Alerts.ListAsync(null));
        Assert.Equal((SideLookupsDetector.DetectorName, new Principal(PrincipalKind.Clerk, Clerk), 4, 3), (alert.Detector, alert.Principal, alert.Observed, alert.Limit));
        Assert.Equal(side, alert.Evidence.Sequences);
        Assert.Equal(MonitorAction.StepUp, second.Monitor.CurrentAction(PrincipalKind.Clerk, Clerk));
        Assert.Contains(second.Logs.GetSnapshot(), r => r.Id.Id == 4001 && r.Message.Contains("of the last 169 hours", StringComparison.Ordinal));
        await second.StopAsync();

        // Day 4: restarted again. The finding still counts (7 days), and it is not raised twice.
        second.Time.Advance(TimeSpan.FromDays(1));
        await using var third = await MonitorHarness.StartAsync(previous: first, engine: MonitorEngine.CreateDefault(new DetectionOptions()));
        Assert.Equal(MonitorAction.StepUp, third.Monitor.CurrentAction(PrincipalKind.Clerk, Clerk));
        await third.SettleAsync();
        Assert.Single(await third.Alerts.ListAsync(null));
        await third.StopAsync();

        // Eight days after the step-up: beyond every detector's History, nothing of it is replayed.
        third.Time.Advance(TimeSpan.FromDays(7));
        await using var fourth = await MonitorHarness.StartAsync(previous: first, engine: MonitorEngine.CreateDefault(new DetectionOptions()));
        Assert.Equal(MonitorAction.None, fourth.Monitor.CurrentAction(PrincipalKind.Clerk, Clerk));
    }

    [Fact]
    public async Task The_baselines_closed_days_are_stored_and_a_restart_restores_those_before_the_replay_without_counting_any_twice()
    {
        // Days 0-10 (Monday 3 March 2025 on, 15:00 in Seoul): 5 customers a day, each served; day 11: one more.
        var clerk = new Principal(PrincipalKind.Clerk, Clerk);
        await using var first = await MonitorHarness.StartAsync(engine: MonitorEngine.CreateDefault(new DetectionOptions()));
        for (var day = 0; day <= 11; day++)
        {
            first.Time.Advance(MonitorHarness.Start.AddDays(day).AddHours(6) - first.Time.GetUtcNow());
            for (var i = 0; i < (day == 11 ? 1 : 5); i++)
            {
                await first.ReadAsync(Clerk, Terminal, (day * 100) + i + 1);
                first.Time.Advance(TimeSpan.FromMinutes(3));
                await first.AppendAsync(Clerk, Terminal, [(day * 100) + i + 1], AccessTask.ServiceComplete);
                first.Time.Advance(TimeSpan.FromMinutes(3));
            }
        }

        await first.SettleAsync();
        await first.StopAsync();

        // Each day closed at the first read of the next; day 11 is still open, stored with its counts so far (the open
        // days' writes, the last at the stop): clerk and terminal, counts only.
        var day0 = (MonitorHarness.Start.ToUnixTimeMilliseconds() + (9 * 3_600_000)) / 86_400_000;
        var stored = await new BaselineDayStore(first.Database.Db).ReadBeforeAsync(day0 + 12);
        Assert.Equal(
            [
                .. Enumerable.Range(0, 11).Select(d => (PrincipalKind.Clerk, d, 5, 0, 5)), (PrincipalKind.Clerk, 11, 1, 0, 1),
                .. Enumerable.Range(0, 11).Select(d => (PrincipalKind.Terminal, d, 5, 0, 5)), (PrincipalKind.Terminal, 11, 1, 0, 1),
            ],
            stored.Select(d => (d.Principal.Kind, (int)(d.Day - day0), d.Distinct, d.Orphans, d.MaxHour)));
        Assert.All(stored, d => Assert.Equal(("S001", d.Principal.Kind == PrincipalKind.Clerk ? StaffRole.Clerk : (StaffRole?)null), (d.Store, d.Role)));

        // Restart on day 11 at 15:30: the replay starts on day 4 at 14:30 — before that day's reads, which it replays but
        // the baseline does not count — so day 5 is the first it rebuilds, and days 0-4 come from the table (10 rows:
        // clerk and terminal). 30-day value: 11 days × 5 + 1 today (the replay alone gives 31; day 4 counted twice, 61).
        first.Time.Advance(MonitorHarness.Start.AddDays(11).AddHours(6.5) - first.Time.GetUtcNow());
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        await using var second = await MonitorHarness.StartAsync(previous: first, engine: engine);
        Assert.Equal(day0 + 5, engine.Baseline!.FirstReplayedDay(first.Time.GetUtcNow() - engine.History));
        Assert.Contains(second.Logs.GetSnapshot(), r => r.Id.Id == 4001 && r.Message.Contains("after restoring 10 stored baseline days", StringComparison.Ordinal));
        Assert.Equal((56, 31, 1), (engine.Baseline.CurrentValue(clerk, "distinct-30d"), engine.Baseline.CurrentValue(clerk, "distinct-7d"), engine.Baseline.CurrentValue(clerk, "distinct-1d")));

        // The replay closed days 4-10 again and stored the same counts (and rebuilt the open day 11, not restored: it is replayed).
        Assert.Equal(
            stored.Select(d => (d.Principal, d.Day, d.Distinct, d.Orphans, d.MaxHour)),
            (await new BaselineDayStore(first.Database.Db).ReadBeforeAsync(day0 + 12)).Select(d => (d.Principal, d.Day, d.Distinct, d.Orphans, d.MaxHour)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // PostgreSQL (CUSTODIAN_TEST_POSTGRES)
    public async Task A_principals_last_active_day_is_stored_while_open_so_a_restart_after_six_days_away_restores_it_up_to_the_last_write(bool postgres)
    {
        // Days 0-6 (Monday 3 March 2025 on, 15:00 in Seoul): 5 customers a day, each served, on terminal T1. k = 1, so that
        // 7 active days of 5 give an own 1-day threshold of 5 + 1 × 10 = 15 (the clerk has no peers: the own history alone judges).
        var clerk = new Principal(PrincipalKind.Clerk, Clerk);
        var options = new DetectionOptions { BaselineK = 1 };
        await using var first = await MonitorHarness.StartAsync(engine: MonitorEngine.CreateDefault(options), postgres: postgres);
        async Task ServeAsync(MonitorHarness h, string terminal, long customer, TimeSpan after)
        {
            await h.ReadAsync(Clerk, terminal, customer);
            h.Time.Advance(TimeSpan.FromMinutes(3));
            await h.AppendAsync(Clerk, terminal, [customer], AccessTask.ServiceComplete);
            h.Time.Advance(after);
        }

        for (var day = 0; day <= 6; day++)
        {
            first.Time.Advance(MonitorHarness.Start.AddDays(day).AddHours(6) - first.Time.GetUtcNow());
            for (var i = 1; i <= 5; i++)
            {
                await ServeAsync(first, Terminal, (day * 100) + i, TimeSpan.FromMinutes(3));
            }
        }

        // Day 6 is the clerk's last active day: it never closes in this monitor, yet the next write of the open days (every
        // minute, once everything is processed) stores it beside the closed days 0-5 (clerk and terminal, counts only).
        await first.SettleAsync();
        var day0 = (MonitorHarness.Start.ToUnixTimeMilliseconds() + (9 * 3_600_000)) / 86_400_000;
        var store = new BaselineDayStore(first.Database.Db);
        first.Time.Advance(TimeSpan.FromMinutes(1));
        await WaitUntilStoredAsync(store, clerk, day0 + 6, 5);
        Assert.Equal(
            [.. Enumerable.Range(0, 7).Select(d => (PrincipalKind.Clerk, d, 5, 0, 5)), .. Enumerable.Range(0, 7).Select(d => (PrincipalKind.Terminal, d, 5, 0, 5))],
            (await store.ReadBeforeAsync(day0 + 7)).Select(d => (d.Principal.Kind, (int)(d.Day - day0), d.Distinct, d.Orphans, d.MaxHour)));

        // A 6th customer less than a minute before the monitor crashes (it is never stopped): that change is not stored.
        // Served at once (the clock stands still), so that no write of the open days falls between its read and the crash
        // (ServeAsync's 3 minutes did: whether that write stored 5 or 6 depended on whether the monitor had taken the read
        // before the clock moved).
        await first.ReadAsync(Clerk, Terminal, 606);
        await first.AppendAsync(Clerk, Terminal, [606], AccessTask.ServiceComplete);
        await first.SettleAsync();

        // Restart seven days later, day 13 at 15:30 (the clerk was away for 6 days and 23 hours): the replay starts on
        // day 6 at 14:30, so day 7 is the first it rebuilds and day 6 comes from the table, with the counts of its last
        // write (5 customers, not 6): 14 rows, clerk and terminal.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(MonitorHarness.Start.AddDays(13).AddHours(6.5));
        var engine = MonitorEngine.CreateDefault(options);
        await using var second = await MonitorHarness.CreateAsync(previous: first, time: time, engine: engine);
        await second.StartMonitorAsync();
        Assert.Equal(day0 + 7, engine.Baseline!.FirstReplayedDay(time.GetUtcNow() - engine.History));
        Assert.Contains(second.Logs.GetSnapshot(), r => r.Id.Id == 4001 && r.Message.Contains("after restoring 14 stored baseline days", StringComparison.Ordinal));

        // Day 13: 15 customers, one every 15 minutes, on another terminal (no history of its own), stored by the next
        // write of the open days; then a 16th, over the clerk's own threshold of 15 built from 7 days, day 6 among them
        // (without it: 6 days, no own threshold, no finding). 30-day value: 7 days × 5 + 16 = 51 (without day 6: 46; had
        // the 6th customer of day 6 been stored: 52).
        for (var i = 1; i <= 15; i++)
        {
            await ServeAsync(second, "S001-T2", 1300 + i, TimeSpan.FromMinutes(12));
        }

        await second.SettleAsync();
        time.Advance(TimeSpan.FromMinutes(1));
        await WaitUntilStoredAsync(store, clerk, day0 + 13, 15);
        await second.ReadAsync(Clerk, "S001-T2", 1316);
        await second.SettleAsync();
        var alert = Assert.Single(await second.Alerts.ListAsync(null));
        Assert.Equal((BaselineDetector.DetectorName, clerk, TimeSpan.FromDays(1), 16, 15), (alert.Detector, alert.Principal, alert.Window, alert.Observed, alert.Limit));
        Assert.Equal("distinct-1d 16: own median 5, MAD 0, threshold 15; peers n/a; risk 70, action step-up", alert.Evidence.Detail);
        Assert.Equal((51, 16, 16), (engine.Baseline.CurrentValue(clerk, "distinct-30d"), engine.Baseline.CurrentValue(clerk, "distinct-7d"), engine.Baseline.CurrentValue(clerk, "distinct-1d")));

        // A graceful stop stores the open day 13 with its 16th customer (no write of the open days since the 15th).
        await second.StopAsync();
        Assert.Equal(
            [(PrincipalKind.Clerk, 13, 16, 0, 4), (PrincipalKind.Terminal, 13, 16, 0, 4)],
            (await store.ReadBeforeAsync(day0 + 14)).Where(d => d.Day == day0 + 13).Select(d => (d.Principal.Kind, (int)(d.Day - day0), d.Distinct, d.Orphans, d.MaxHour)));
    }

    // Waits until the principal's stored day has `distinct` subscribers: the open days are written beside the monitor.
    private static async Task WaitUntilStoredAsync(BaselineDayStore store, Principal principal, long day, int distinct)
    {
        var deadline = DateTime.UtcNow + MonitorHarness.HangGuard;
        while (!(await store.ReadBeforeAsync(day + 1)).Any(d => d.Principal == principal && d.Day == day && d.Distinct == distinct))
        {
            Assert.True(DateTime.UtcNow < deadline, $"day {day} of {principal} was never stored with {distinct} subscribers");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task The_monitor_keeps_suspending_when_the_ledger_is_down()
    {
        await using var h = await MonitorHarness.StartAsync();
        await ReadDistinctAsync(h, 12, 1000, TimeSpan.FromSeconds(10));
        await h.SettleAsync();
        h.Ledger.RefuseAccount = AccessMonitor.MonitorAccount; // the monitor's own entries cannot be recorded
        await h.ReadAsync(Clerk, Terminal, 2000);
        await h.SettleAsync();

        Assert.True(h.Suspensions.IsSuspended(PrincipalKind.Clerk, Clerk));
        Assert.True(h.Suspensions.IsSuspended(PrincipalKind.Terminal, Terminal));
        Assert.Single(await h.Alerts.ListAsync(null));
        Assert.Empty(h.EntriesOf(AccessTask.AlertRaised));
        Assert.Equal(3, h.Logs.GetSnapshot().Count(r => r.Id.Id == 4007)); // alert-raised and two suspended entries
    }

    [Fact]
    public async Task Logs_name_principals_and_counts_but_never_subscribers()
    {
        await using var h = await MonitorHarness.StartAsync();
        var subjects = Enumerable.Range(0, 40).Select(i => 7_123_456_789_000 + i).ToArray();
        foreach (var s in subjects)
        {
            await h.ReadAsync(Clerk, Terminal, s);
            h.Time.Advance(TimeSpan.FromSeconds(2));
        }

        await h.SettleAsync();
        await h.Monitor.RestoreAsync(PrincipalKind.Clerk, Clerk, "SO01", "Reviewed.");
        var text = string.Join("\n", h.LogText());
        Assert.Contains("C0001", text, StringComparison.Ordinal);
        Assert.Contains(h.Logs.GetSnapshot(), r => r.Id.Id == 4002);
        Assert.Contains(h.Logs.GetSnapshot(), r => r.Id.Id == 4003);
        Assert.Contains(h.Logs.GetSnapshot(), r => r.Id.Id == 4005);
        Assert.All(subjects, s => Assert.DoesNotContain(s.ToString(System.Globalization.CultureInfo.InvariantCulture), text, StringComparison.Ordinal));
    }
}
