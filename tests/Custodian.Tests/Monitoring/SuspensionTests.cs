using System.Net;
using System.Net.Http.Json;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Simulation;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Monitoring;

public sealed class SuspensionTests
{
    [Fact]
    public async Task Clerk_pulling_too_many_distinct_subscribers_is_suspended_before_the_next_request_and_restored_by_an_officer()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var limit = host.Get<MonitorOptions>().Windows.OrderBy(w => w.Window).First();
        var (client, _, _) = await host.ClerkAsync("C0001");

        var served = 0;
        HttpResponseMessage? refused = null;
        for (var i = 0; i < limit.ClerkLimit + 5; i++)
        {
            var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[i].Phone });
            if (response.StatusCode != HttpStatusCode.OK)
            {
                refused = response;
                break;
            }

            served++;
            response.Dispose();
            host.Time.Advance(TimeSpan.FromSeconds(20));
        }

        Assert.Equal(limit.ClerkLimit + 1, served);
        await ProblemAssert.IsProblemAsync(refused!, HttpStatusCode.Forbidden, ErrorCodes.ClerkSuspended);
        var alert = Assert.Single(await host.Get<AlertStore>().ListAsync(null));
        Assert.Equal("C0001", alert.Principal.Id);
        Assert.Equal(limit.ClerkLimit + 1, alert.Observed);
        Assert.Equal(limit.ClerkLimit, alert.Limit);
        var suspended = await host.Get<SuspensionRegistry>().ListActiveAsync();
        Assert.Contains(suspended, s => s.Principal.Kind == PrincipalKind.Clerk && s.Principal.Id == "C0001");
        Assert.Contains(suspended, s => s.Principal.Kind == PrincipalKind.Terminal && s.Principal.Id == "S001-t-C0001");
        var tasks = (await host.LedgerAsync()).Select(e => e.Entry.Task).ToList();
        Assert.Contains(AccessTask.AlertRaised, tasks);
        Assert.Contains(AccessTask.Suspended, tasks);

        Assert.True(await host.Get<AccessMonitor>().RestoreAsync(PrincipalKind.Clerk, "C0001", "officer", "reviewed: test"));
        Assert.True(await host.Get<AccessMonitor>().RestoreAsync(PrincipalKind.Terminal, "S001-t-C0001", "officer", "reviewed: test"));
        using var after = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[0].Phone });
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    /// <summary>
    /// The scraper runs through a real clerk login and terminal, blended into that clerk's day.
    /// With the default limits (docs/monitoring.md) a scraper at one record per 30 s trips the
    /// 10-minute window (12 distinct per clerk) and one per minute trips the 1-hour window (40).
    /// </summary>
    [Theory]
    [InlineData(30, 13, 10)]
    [InlineData(60, 41, 60)]
    public async Task Simulated_scraper_blended_into_a_clerk_day_is_contained_and_normal_clerks_are_not(int intervalSeconds, int maxRecords, int maxMinutes)
    {
        var report = await SimulateCommand.RunInProcessAsync(
            new SimulationOptions { Minutes = 120, Stores = 2, Clerks = 6, Subscribers = 1_000, Attack = "scraper", ScraperIntervalSeconds = intervalSeconds, ScraperStartMinute = 20, Seed = 3 },
            staff: null,
            progress: null,
            CancellationToken.None);

        Assert.True(report.AttackRan);
        Assert.True(report.AttackerSuspended);
        Assert.Empty(report.FalselySuspendedClerks);
        Assert.Equal(0, report.AttackerRecordsUnmasked);
        Assert.InRange(report.AttackerRecordsMasked, 1, maxRecords);
        Assert.NotNull(report.TimeToSuspension);
        Assert.InRange(report.TimeToSuspension!.Value, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(maxMinutes));
        Assert.Equal(1, report.Alerts);
        Assert.True(report.LookupsServed > 50, $"only {report.LookupsServed} lookups served");
    }

    [Fact]
    public async Task Normal_store_day_raises_no_alert()
    {
        var report = await SimulateCommand.RunInProcessAsync(
            new SimulationOptions { Minutes = 600, Stores = 3, Clerks = 9, Subscribers = 2_000, Seed = 11 },
            staff: null,
            progress: null,
            CancellationToken.None);

        Assert.False(report.AttackRan);
        Assert.Equal(0, report.Alerts);
        Assert.Empty(report.FalselySuspendedClerks);
        Assert.True(report.LookupsServed > 500, $"only {report.LookupsServed} lookups served");
    }
}
