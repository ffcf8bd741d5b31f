using Custodian.Access.Approvals;
using Custodian.Approvals;
using Custodian.Identity;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.AccessGateway;

/// <summary>Raising one clerk's or terminal's distinct-subscriber limits for a few hours needs two officers.</summary>
public sealed class QuotaRaiseTests
{
    [Fact]
    public async Task A_raise_is_refused_for_bad_targets_applies_only_after_a_second_officer_approves_and_ends_on_time()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        clerk.Dispose();
        var requests = host.Get<PrivilegedActionRequests>();
        var monitor = host.Get<AccessMonitor>();

        foreach (var bad in new[] { "clerk:C0001:x11:8h", "clerk:C0001:x2:25h", "clerk:C0001:2:8h", "clerk:C0001:x1:8h", "officer:C0001:x2:8h" })
        {
            Assert.Equal("target: must be <clerk|terminal>:<code>:x<2-10>:<1-24>h, e.g. clerk:C0042:x2:8h", (await requests.RequestAsync("raise-quota", bad, "x", "O0001")).Error!.Message);
        }

        Assert.Equal("target: must name an active clerk or store manager account", (await requests.RequestAsync("raise-quota", "clerk:C0404:x2:8h", "x", "O0001")).Error!.Message);
        Assert.Equal("target: must name an active terminal", (await requests.RequestAsync("raise-quota", "terminal:S001-nope:x2:8h", "x", "O0001")).Error!.Message);

        var request = (await requests.RequestAsync("raise-quota", "clerk:C0001:x3:2h", "number porting day at S001", "O0001")).Value;
        Assert.Equal([12, 40, 150], monitor.GetCounts(PrincipalKind.Clerk, "C0001").Select(c => c.Limit));
        Assert.Equal(ApprovalErrorCodes.SameOfficer, (await requests.ApproveAsync(request.Id, "O0001", "mine")).Error!.Code);
        var message = (await requests.ApproveAsync(request.Id, "O0002", "porting list checked")).Value;
        Assert.Equal($"Limits of clerk:C0001 raised 3x until {host.Time.GetUtcNow().AddHours(2):yyyy-MM-ddTHH:mm:ssZ}.", message);

        Assert.Equal([36, 120, 450], monitor.GetCounts(PrincipalKind.Clerk, "C0001").Select(c => c.Limit));
        Assert.Equal([16, 60, 220], monitor.GetCounts(PrincipalKind.Terminal, "S001-t-C0001").Select(c => c.Limit)); // the terminal keeps its own limits
        Assert.Equal([new QuotaRaise(new Principal(PrincipalKind.Clerk, "C0001"), 3, host.Time.GetUtcNow().AddHours(2))], host.Get<QuotaRaises>().Active);

        host.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal([12, 40, 150], monitor.GetCounts(PrincipalKind.Clerk, "C0001").Select(c => c.Limit));
        Assert.Empty(host.Get<QuotaRaises>().Active);
    }

    [Fact]
    public void The_hard_limit_detector_applies_the_factor_to_every_window()
    {
        var detector = new DistinctSubjectsDetector(new MonitorOptions()) { LimitFactor = (p, _) => p.Id == "C0001" ? 2 : 1 };
        var start = new DateTimeOffset(2026, 11, 30, 1, 0, 0, TimeSpan.Zero);
        var raised = new Principal(PrincipalKind.Clerk, "C0001");
        var plain = new Principal(PrincipalKind.Clerk, "C0002");
        for (var i = 1; i <= 24; i++)
        {
            Assert.False(detector.Observe(raised, start, [SubscriberId.From(i)], i, out _));
        }

        Assert.True(detector.Observe(raised, start, [SubscriberId.From(25)], 25, out var breach));
        Assert.Equal((25, 24), (breach.Observed, breach.Limit));
        for (var i = 1; i <= 12; i++)
        {
            Assert.False(detector.Observe(plain, start, [SubscriberId.From(i)], 100 + i, out _));
        }

        Assert.True(detector.Observe(plain, start, [SubscriberId.From(13)], 113, out var plainBreach));
        Assert.Equal((13, 12), (plainBreach.Observed, plainBreach.Limit));
    }
}
