using System.Net.Http.Json;
using Custodian.Access.Approvals;
using Custodian.Approvals;
using Custodian.Identity;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.AccessGateway;

/// <summary>Switching a monitor detector off or on needs two officers, persists, and the live monitor honours it.</summary>
[Collection(nameof(Cli.CliCollection))]
public sealed class DetectorSwitchTests
{
    /// <summary>
    /// The open-lookups scraper of AlertsApiTests: 12 new subscribers (the 10-minute hard limit allows 12), one every 20 s,
    /// no service completed; then the first one again, a request that waits until the monitor has processed the others.
    /// </summary>
    private static async Task ScrapeAsync(CustodianTestHost host, HttpClient clerk, int first)
    {
        for (var i = first; i <= first + 12; i++)
        {
            using var response = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[i < first + 12 ? i : first].Phone });
            host.Time.Advance(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task Disabling_a_detector_needs_a_second_officer_persists_and_silences_it_until_it_is_enabled_again()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 40);
        var requests = host.Get<PrivilegedActionRequests>();
        var switches = host.Get<DetectorSwitches>();

        var hard = (await requests.RequestAsync("disable-detector", "distinct-subjects", "too many alerts", "O0001")).Error!;
        Assert.Equal((ErrorCodes.ValidationFailed, "target: the hard distinct-subscriber limits cannot be switched off"), (hard.Code, hard.Message));
        var unknown = (await requests.RequestAsync("disable-detector", "no-such-detector", "x", "O0001")).Error!;
        Assert.Equal("target: must be one of baseline, collusion, enumeration, household, identity, machine-timing, open-lookups, side-lookups, targeting, watch-list", unknown.Message);
        Assert.Equal("target: is not switched off", (await requests.RequestAsync("enable-detector", "open-lookups", "x", "O0001")).Error!.Message);

        var disable = (await requests.RequestAsync("disable-detector", "open-lookups", "false positives during the handset sale", "O0001")).Value;
        Assert.False(switches.IsDisabled("open-lookups"));
        Assert.Equal(ApprovalErrorCodes.SameOfficer, (await requests.ApproveAsync(disable.Id, "O0001", "mine")).Error!.Code);
        Assert.Equal("Detector open-lookups switched off: it raises no alert until it is switched on again.", (await requests.ApproveAsync(disable.Id, "O0002", "agreed for the sale week")).Value);
        Assert.True(switches.IsDisabled("open-lookups"));

        // The test host's clock is the real hour, which may be outside store hours: switch the timing detector off too, so
        // that the scraper below meets no other detector whatever the time of day.
        var timing = (await requests.RequestAsync("disable-detector", "machine-timing", "late shift this week", "O0001")).Value;
        Assert.True((await requests.ApproveAsync(timing.Id, "O0002", "agreed")).IsSuccess);
        Assert.Equal(["machine-timing", "open-lookups"], new DetectorSwitches(host.Get<CustodianDatabase>(), host.Time).Disabled); // what a restarted server reads
        Assert.Equal("target: is already switched off", (await requests.RequestAsync("disable-detector", "open-lookups", "again", "O0001")).Error!.Message);

        var output = new StringWriter();
        var original = Console.Out;
        Console.SetOut(output);
        try
        {
            Assert.Equal(0, await Custodian.Cli.CustodianCli.RunAsync(["approvals", "in-force", "--data", host.Directory.FullName]));
        }
        finally
        {
            Console.SetOut(original);
        }

        Assert.Equal(["Detectors switched off: machine-timing, open-lookups", "No quota raises."], output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));

        var (scraper, _, _) = await host.ClerkAsync("C0003");
        using (scraper)
        {
            await ScrapeAsync(host, scraper, 0);
        }

        Assert.DoesNotContain(await host.Get<AlertStore>().ListAsync(null, 100), a => a.Detector == "open-lookups");
        Assert.False(await host.Get<SuspensionRegistry>().IsSuspendedAsync(PrincipalKind.Clerk, "C0003"));

        var enable = (await requests.RequestAsync("enable-detector", "open-lookups", "sale over", "O0002")).Value;
        Assert.Equal("Detector open-lookups switched on.", (await requests.ApproveAsync(enable.Id, "O0001", "agreed")).Value);
        Assert.Equal(["machine-timing"], switches.Disabled);

        var (second, _, _) = await host.ClerkAsync("C0004");
        using (second)
        {
            await ScrapeAsync(host, second, 13);
        }

        Assert.Contains(await host.Get<AlertStore>().ListAsync(null, 100), a => a.Detector == "open-lookups" && a.Principal.Id == "C0004");
        Assert.True(await host.Get<SuspensionRegistry>().IsSuspendedAsync(PrincipalKind.Clerk, "C0004"));
    }
}
