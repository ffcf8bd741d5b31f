using Custodian.Ledger;
using Custodian.Monitoring.Tests.Support;
using Xunit.Abstractions;

namespace Custodian.Monitoring.Tests;

/// <summary>
/// A realistic store day through the guard pattern the host uses (wait for the monitor, check suspensions, then serve
/// or refuse), with the default limits. The numbers asserted here are quoted in docs/monitoring.md.
/// </summary>
public sealed class StoreDayScenarioTests(ITestOutputHelper output)
{
    private const string Clerk = "C0001";
    private const string Terminal = "S001-T1";

    /// <summary>
    /// One clerk's day, 09:00–19:00: a customer every 5–15 minutes (uniform), each with 1–3 subscribers (a family
    /// plan), served in up to 5 minutes: a search, a view of each subscriber, sometimes an unmask (30%) and a print (20%),
    /// then a completed service (not a read).
    /// </summary>
    private static List<Event> NormalDay(int seed, out int customers)
    {
        var random = new Random(seed);
        var events = new List<Event>();
        var t = MonitorHarness.Start.AddSeconds(random.Next(0, 300));
        var end = MonitorHarness.Start.AddHours(10);
        long next = 10_000_000;
        customers = 0;
        while (t < end)
        {
            customers++;
            var family = Enumerable.Range(0, random.Next(1, 4)).Select(_ => next++).ToArray();
            events.Add(new Event(t, AccessTask.Search, [family[0]], Scraper: false));
            for (var j = 0; j < family.Length; j++)
            {
                events.Add(new Event(t.AddSeconds(60 + (30 * j)), AccessTask.View, [family[j]], false));
            }

            if (random.NextDouble() < 0.3)
            {
                events.Add(new Event(t.AddMinutes(3), AccessTask.Unmask, [family[0]], false));
            }

            if (random.NextDouble() < 0.2)
            {
                events.Add(new Event(t.AddMinutes(4), AccessTask.Print, [family[0]], false));
            }

            events.Add(new Event(t.AddMinutes(5), AccessTask.ServiceComplete, [family[0]], false));
            t = t.AddSeconds(random.Next(5 * 60, (15 * 60) + 1));
        }

        return events;
    }

    /// <summary>A scraper on the same login and PC: one new subscriber per <paramref name="every"/>, from <paramref name="from"/> to 19:00.</summary>
    private static IEnumerable<Event> Scraper(TimeSpan from, TimeSpan every)
    {
        long next = 90_000_000;
        for (var t = MonitorHarness.Start + from; t < MonitorHarness.Start.AddHours(10); t += every)
        {
            yield return new Event(t, AccessTask.View, [next++], Scraper: true);
        }
    }

    private async Task<DayResult> RunAsync(IEnumerable<Event> events)
    {
        await using var h = await MonitorHarness.StartAsync();
        var ordered = events.OrderBy(e => e.Time).ThenBy(e => e.Scraper).ToList();
        long previous = -1;
        var servedScraper = 0;
        var refusedScraper = 0;
        var servedCustomerReads = 0;
        var refusedCustomerReads = 0;
        var peaks = new int[3];
        DateTimeOffset? suspendedAt = null;
        foreach (var e in ordered)
        {
            h.Time.SetUtcNow(e.Time);

            // The host's guard: wait until the monitor has processed this principal's previous entry, then check.
            Assert.True(await h.Monitor.WaitForProcessedAsync(previous, TimeSpan.FromSeconds(2)).AsTask().WaitAsync(MonitorHarness.HangGuard));
            var suspended = h.Suspensions.IsSuspended(PrincipalKind.Clerk, Clerk) || h.Suspensions.IsSuspended(PrincipalKind.Terminal, Terminal);
            if (suspended && e.Task.ReadsPersonalData())
            {
                suspendedAt ??= e.Time;
                previous = (await h.AppendAsync(Clerk, Terminal, [], e.Task, AccessOutcome.Denied)).Sequence;
                _ = e.Scraper ? refusedScraper++ : refusedCustomerReads++;
                continue;
            }

            previous = (await h.AppendAsync(Clerk, Terminal, e.Subjects, e.Task)).Sequence;
            if (e.Task.ReadsPersonalData())
            {
                _ = e.Scraper ? servedScraper++ : servedCustomerReads++;
            }

            await h.SettleAsync();
            var counts = h.Monitor.GetCounts(PrincipalKind.Clerk, Clerk);
            for (var w = 0; w < 3; w++)
            {
                peaks[w] = Math.Max(peaks[w], counts[w].Observed);
            }
        }

        await h.SettleAsync();
        var alerts = await h.Alerts.ListAsync(null);
        var result = new DayResult(servedScraper, refusedScraper, servedCustomerReads, refusedCustomerReads, peaks, alerts, suspendedAt);
        output.WriteLine(
            $"scraper served {servedScraper}, refused {refusedScraper}; customer reads served {servedCustomerReads}, refused {refusedCustomerReads}; " +
            $"peak clerk counts 10 min/1 h/24 h = {string.Join("/", peaks)}; alerts: " +
            string.Join("; ", alerts.Select(a => $"{a.Principal} {a.Window.TotalMinutes} min {a.Observed}>{a.Limit} at {a.RaisedAt:HH:mm:ss}Z")));
        return result;
    }

    [Fact]
    public async Task A_busy_normal_clerk_day_triggers_nothing()
    {
        var events = NormalDay(seed: 2012, out var customers);
        var result = await RunAsync(events);
        output.WriteLine($"{customers} customers.");

        Assert.Equal(62, customers);
        Assert.Empty(result.Alerts);
        Assert.Equal((216, 0), (result.ServedCustomerReads, result.RefusedCustomerReads));
        Assert.Equal([6, 19, 125], result.Peaks); // against limits 12 / 40 / 150
    }

    [Theory]
    [InlineData(2014, 65, 6, 19, 134)]
    [InlineData(7, 59, 6, 18, 121)]
    [InlineData(42, 63, 6, 20, 126)]
    public async Task Other_normal_days_trigger_nothing_either(int seed, int expectedCustomers, int peak10Minutes, int peak1Hour, int peak24Hours)
    {
        var result = await RunAsync(NormalDay(seed, out var customers));
        Assert.Equal(expectedCustomers, customers);
        Assert.Empty(result.Alerts);
        Assert.Equal([peak10Minutes, peak1Hour, peak24Hours], result.Peaks);
    }

    [Fact]
    public async Task A_scraper_taking_one_subscriber_every_30_seconds_is_stopped_within_thirteen()
    {
        var events = NormalDay(seed: 2012, out _).Concat(Scraper(from: TimeSpan.FromHours(4), every: TimeSpan.FromSeconds(30)));
        var result = await RunAsync(events);

        var alert = Assert.Single(result.Alerts);
        Assert.Equal((new Principal(PrincipalKind.Clerk, Clerk), TimeSpan.FromMinutes(10), 13, 12), (alert.Principal, alert.Window, alert.Observed, alert.Limit));
        Assert.Equal(12, result.ServedScraper);   // the 13th distinct subscriber in the window was a real customer's
        Assert.True(result.ServedScraper <= 13);
        Assert.Equal(Scraper(TimeSpan.FromHours(4), TimeSpan.FromSeconds(30)).Count() - 12, result.RefusedScraper); // every later attempt refused
        Assert.Equal(MonitorHarness.Start.AddHours(4).AddSeconds(12 * 30), result.SuspendedAt); // the very next request
    }

    [Theory]
    [InlineData(180, 92)] // one every 3 minutes from opening: under the 10-minute and 1-hour limits, stopped at 13:34
    [InlineData(600, 49)] // one every 10 minutes: stopped at 17:06
    public async Task Slower_scrapers_are_bounded_by_the_day_window(int everySeconds, int served)
    {
        var events = NormalDay(seed: 2012, out _).Concat(Scraper(from: TimeSpan.Zero, every: TimeSpan.FromSeconds(everySeconds)));
        var result = await RunAsync(events);

        var alert = Assert.Single(result.Alerts);
        Assert.Equal((TimeSpan.FromHours(24), 151, 150), (alert.Window, alert.Observed, alert.Limit));
        Assert.Equal(served, result.ServedScraper);
    }

    private sealed record Event(DateTimeOffset Time, AccessTask Task, long[] Subjects, bool Scraper);

    private sealed record DayResult(
        int ServedScraper, int RefusedScraper, int ServedCustomerReads, int RefusedCustomerReads, int[] Peaks, IReadOnlyList<Alert> Alerts, DateTimeOffset? SuspendedAt);
}
