using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Terminals;
using Custodian.Gateway;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Custodian.Tests.AccessGateway.DeviceCertificateTestKit;

namespace Custodian.Tests.AccessGateway;

/// <summary>Network zones, the VDI zone, trusted proxies, opening hours and trust classes, over the real pipeline.</summary>
public sealed class NetworkPolicyTests
{
    private static Action<IServiceCollection> Gateway(Action<GatewayOptions> configure) => s => s.Configure(configure);

    private static StoreZoneOptions Zone(string cidr, string? hours = null, OutsideHoursMode mode = OutsideHoursMode.Refuse)
    {
        var zone = new StoreZoneOptions { Hours = hours, OutsideHours = mode };
        zone.Networks.Add(cidr);
        return zone;
    }

    private static async Task<HttpResponseMessage> SignInProbeAsync(CustodianTestHost host, X509Certificate2 terminal, string? forwardedFor = null)
    {
        using var client = host.TerminalClient(terminal);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/sessions") { Content = JsonContent.Create(new { account = "nobody", password = "wrong password 123", otp = "000000" }) };
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return await client.SendAsync(request);
    }

    private static async Task<X509Certificate2> EnrollVdiAsync(CustodianTestHost host, string store, string name)
    {
        var code = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync(store, name, null, TrustClass.VdiHost);
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr(name);
        using var client = host.TerminalClient(null);
        using var response = await client.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(code.Code, csrPem));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return WithKey((await response.Content.ReadFromJsonAsync<EnrollResponse>())!.Certificate, keyPem);
    }

    [Fact]
    public async Task A_terminal_outside_its_store_zone_or_with_no_zone_is_refused_and_recorded()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1, services: Gateway(o =>
        {
            o.Zones["S001"] = Zone("127.0.0.0/8");
            o.Zones["S002"] = Zone("10.2.0.0/16");
        }));
        using var inside = await host.EnrollAsync("S001", "counter-1");
        using var outside = await host.EnrollAsync("S002", "counter-1");
        using var zoneless = await host.EnrollAsync("S003", "counter-1");

        using (var ok = await SignInProbeAsync(host, inside))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, ok.StatusCode);
        }

        foreach (var (terminal, id) in new[] { (outside, "S002-counter-1"), (zoneless, "S003-counter-1") })
        {
            using var refused = await SignInProbeAsync(host, terminal);
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, GatewayErrorCodes.NetworkZoneRefused);
            var last = (await host.LastRequestEntryAsync()).Entry;
            Assert.Equal((AccessTask.DeviceRefused, AccessOutcome.Denied, GatewayErrorCodes.NetworkZoneRefused, id, "127.0.0.1"), (last.Task, last.Outcome, last.ErrorCode, last.Terminal, last.SourceIp));
        }
    }

    [Fact]
    public async Task VDI_hosts_connect_only_from_the_VDI_zone_and_store_terminals_never_from_it()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1, services: Gateway(o =>
        {
            o.Zones["S001"] = Zone("127.0.0.0/8");
            o.VdiNetworks.Add("127.0.0.1/32");
        }));
        using var vdi = await EnrollVdiAsync(host, "VDI", "vdi-1");
        using var counter = await host.EnrollAsync("S001", "counter-1");

        using (var ok = await SignInProbeAsync(host, vdi))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, ok.StatusCode);
        }

        using var refused = await SignInProbeAsync(host, counter);
        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, GatewayErrorCodes.NetworkZoneRefused);
        Assert.Contains("VDI zone", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_VDI_host_outside_the_VDI_zone_is_refused()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1, services: Gateway(o => o.VdiNetworks.Add("10.50.0.0/16")));
        using var vdi = await EnrollVdiAsync(host, "VDI", "vdi-1");

        using var refused = await SignInProbeAsync(host, vdi);

        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, GatewayErrorCodes.NetworkZoneRefused);
    }

    [Fact]
    public async Task X_Forwarded_For_is_ignored_unless_the_peer_is_a_configured_trusted_proxy()
    {
        // Not trusted: the header is anyone's to set, so the zone decision and the ledger use the TCP peer.
        await using (var host = await CustodianTestHost.StartAsync(subscribers: 1, services: Gateway(o => o.Zones["S002"] = Zone("10.2.0.0/16"))))
        {
            using var terminal = await host.EnrollAsync("S002", "counter-1");
            using var refused = await SignInProbeAsync(host, terminal, forwardedFor: "10.2.0.5");
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, GatewayErrorCodes.NetworkZoneRefused);
            Assert.Equal("127.0.0.1", (await host.LastRequestEntryAsync()).Entry.SourceIp);
        }

        // A proxy is trusted, but not this peer.
        await using (var host = await CustodianTestHost.StartAsync(subscribers: 1, services: Gateway(o =>
        {
            o.Zones["S002"] = Zone("10.2.0.0/16");
            o.TrustedProxies.Add("10.9.9.9");
        })))
        {
            using var terminal = await host.EnrollAsync("S002", "counter-1");
            using var refused = await SignInProbeAsync(host, terminal, forwardedFor: "10.2.0.5");
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, GatewayErrorCodes.NetworkZoneRefused);
        }

        // The peer is a trusted proxy: the forwarded client address decides and is what the ledger records.
        await using (var host = await CustodianTestHost.StartAsync(subscribers: 1, services: Gateway(o =>
        {
            o.Zones["S002"] = Zone("10.2.0.0/16");
            o.TrustedProxyNetworks.Add("127.0.0.0/8");
        })))
        {
            using var terminal = await host.EnrollAsync("S002", "counter-1");
            using (var allowed = await SignInProbeAsync(host, terminal, forwardedFor: "10.2.0.5"))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, allowed.StatusCode);
            }

            var signIn = (await host.LastRequestEntryAsync()).Entry;
            Assert.Equal((AccessTask.SignIn, "10.2.0.5"), (signIn.Task, signIn.SourceIp));
            using var spoofed = await SignInProbeAsync(host, terminal, forwardedFor: "10.3.0.1");
            await ProblemAssert.IsProblemAsync(spoofed, HttpStatusCode.Forbidden, GatewayErrorCodes.NetworkZoneRefused);
            Assert.Equal("10.3.0.1", (await host.LastRequestEntryAsync()).Entry.SourceIp);
        }
    }

    /// <summary>Opening hours that start <paramref name="opensIn"/> after the test host's start, in Korean local time, and last two hours.</summary>
    private static string HoursFromStart(TimeSpan opensIn)
    {
        var local = CustodianTestHost.Start.ToOffset(TimeSpan.FromHours(9)) + opensIn;
        return string.Create(CultureInfo.InvariantCulture, $"{local:HH:mm}-{local.AddHours(2):HH:mm}");
    }

    [Fact]
    public async Task Outside_opening_hours_a_store_that_refuses_access_refuses_it_but_its_terminals_can_still_renew()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1, services: Gateway(o => o.Zones["S001"] = Zone("127.0.0.0/8", HoursFromStart(TimeSpan.FromHours(2)))));
        using var terminal = await host.EnrollAsync("S001", "counter-1");

        using (var closed = await SignInProbeAsync(host, terminal))
        {
            await ProblemAssert.IsProblemAsync(closed, HttpStatusCode.Forbidden, GatewayErrorCodes.OutsideOpeningHours);
        }

        var last = (await host.LastRequestEntryAsync()).Entry;
        Assert.Equal((AccessTask.Refused, GatewayErrorCodes.OutsideOpeningHours, "S001-counter-1"), (last.Task, last.ErrorCode, last.Terminal));
        var (renewal, renewed, _) = await RenewAsync(host, terminal);
        Assert.Equal(HttpStatusCode.OK, renewal.StatusCode);

        using var current = renewed!;
        host.Time.Advance(TimeSpan.FromHours(2));
        using (var open = await SignInProbeAsync(host, current))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, open.StatusCode); // reaches the sign-in handler
        }

        host.Time.Advance(TimeSpan.FromHours(2));
        using var closedAgain = await SignInProbeAsync(host, current);
        await ProblemAssert.IsProblemAsync(closedAgain, HttpStatusCode.Forbidden, GatewayErrorCodes.OutsideOpeningHours);
    }

    [Fact]
    public async Task Outside_opening_hours_a_step_up_store_requires_a_fresh_sign_in()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3, services: Gateway(o => o.Zones["S001"] = Zone("127.0.0.0/8", HoursFromStart(TimeSpan.FromHours(3)), OutsideHoursMode.StepUp)));
        var (client, terminal, staff) = await host.ClerkAsync("C0001");
        using (client)
        using (terminal)
        {
            var phone = new { phone = host.Population[0].Phone };
            using (var fresh = await client.PostAsJsonAsync("/api/v1/subscribers/search", phone))
            {
                Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
            }

            host.Time.Advance(TimeSpan.FromMinutes(11));
            using (var stale = await client.PostAsJsonAsync("/api/v1/subscribers/search", phone))
            {
                await ProblemAssert.IsProblemAsync(stale, HttpStatusCode.Unauthorized, GatewayErrorCodes.StepUpRequired);
            }

            Assert.Equal(GatewayErrorCodes.StepUpRequired, (await host.LastRequestEntryAsync()).Entry.ErrorCode);
            using var again = await host.SignInAsync(staff, terminal);
            using var stepped = await again.PostAsJsonAsync("/api/v1/subscribers/search", phone);
            Assert.Equal(HttpStatusCode.OK, stepped.StatusCode);
        }
    }

    [Fact]
    public async Task A_task_that_requires_a_VDI_host_is_refused_on_a_store_terminal_and_allowed_on_a_VDI_host()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3, services: Gateway(o => o.TaskClasses["search"] = ["vdi-host"]));
        var (client, terminal, staff) = await host.ClerkAsync("C0001");
        using (client)
        using (terminal)
        {
            using var refused = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[0].Phone });
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, GatewayErrorCodes.TrustClassRequired);
            Assert.Contains("vdi-host", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            var last = (await host.LastRequestEntryAsync()).Entry;
            Assert.Equal((AccessTask.Refused, GatewayErrorCodes.TrustClassRequired, "S001-t-C0001"), (last.Task, last.ErrorCode, last.Terminal));
        }

        using var vdi = await EnrollVdiAsync(host, "S001", "vdi-1");
        using var onVdi = await host.SignInAsync(staff, vdi);
        using var allowed = await onVdi.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[0].Phone });
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task A_task_that_requires_a_VDI_host_is_refused_on_a_store_terminal_through_the_workstation_page_too()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3, services: Gateway(o => o.TaskClasses["search"] = ["vdi-host"]));
        using var terminal = await host.EnrollAsync("S001", "counter-1");
        var staff = await host.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", terminal);
        using var browser = host.TerminalClient(terminal); // keeps cookies, follows redirects
        var signIn = await browser.GetStringAsync("/staff/sign-in");
        using var signedIn = await browser.PostAsync("/staff/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__csrf"] = Csrf(signIn),
            ["Account"] = staff.Account,
            ["password"] = staff.Password,
            ["otp"] = staff.Code(host.Time),
        }));
        Assert.Equal("/workstation", signedIn.RequestMessage!.RequestUri!.AbsolutePath);
        var workstation = await signedIn.Content.ReadAsStringAsync();

        using var search = await browser.PostAsync("/workstation?handler=Search", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__csrf"] = Csrf(workstation),
            ["phone"] = host.Population[0].Phone,
        }));

        Assert.Equal(HttpStatusCode.Forbidden, search.StatusCode); // the page handler is held to TaskClasses like the API endpoint
        var last = (await host.LastRequestEntryAsync()).Entry;
        Assert.Equal((AccessTask.Search, AccessOutcome.Denied, GatewayErrorCodes.TrustClassRequired), (last.Task, last.Outcome, last.ErrorCode));
        Assert.Empty(last.Subjects);
        Assert.DoesNotContain(host.Get<Custodian.Protection.Masking.MaskingPolicy>().MaskName(host.Population[0].Name), WebUtility.HtmlDecode(await search.Content.ReadAsStringAsync()), StringComparison.Ordinal);

        static string Csrf(string html) =>
            WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Match(html, "name=\"__csrf\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value);
    }

    [Fact]
    public async Task An_export_that_requires_a_VDI_host_covers_the_incident_export_too()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3, services: Gateway(o => o.TaskClasses["export"] = ["vdi-host"]));
        using var terminal = await host.EnrollAsync("S001", "back-office");
        using var officer = await host.SignInAsync(await host.CreateStaffAsync("sec1", StaffRole.SecurityOfficer, null, terminal), terminal);

        using var review = await officer.PostAsJsonAsync("/api/v1/review/exports", new { reason = "monthly review" });
        using var incident = await officer.PostAsJsonAsync("/api/v1/incidents/INC-20261201-AAAAAA/exports", new { approval = "x", reason = "regulator" });

        await ProblemAssert.IsProblemAsync(review, HttpStatusCode.Forbidden, GatewayErrorCodes.TrustClassRequired);
        await ProblemAssert.IsProblemAsync(incident, HttpStatusCode.Forbidden, GatewayErrorCodes.TrustClassRequired); // was refused only later, for want of an approval
    }

    [Fact]
    public void Invalid_network_settings_stop_the_server_naming_each_setting()
    {
        var options = new GatewayOptions();
        options.TrustedProxies.Add("not-an-ip");
        options.VdiNetworks.Add("10.0.0.1/8");
        options.Zones["S001"] = new StoreZoneOptions { Hours = "9-21" };
        options.TaskClasses["unmask"] = ["laptop"];

        var result = new GatewayNetworkValidator().Validate(null, options);

        Assert.Equal(
            [
                "Gateway:TrustedProxies:0: not an IP address.",
                "Gateway:VdiNetworks:0: not a CIDR network such as 10.1.0.0/24 (host bits must be zero).",
                "Gateway:Zones:S001:Networks: at least one network (CIDR) is required.",
                "Gateway:Zones:S001:Hours: not opening hours such as 09:00-21:00.",
                "Gateway:TaskClasses:unmask: list one or more of store-terminal, vdi-host.",
            ],
            result.Failures);
    }

    [Theory]
    [InlineData("09:00-21:00", 8, 59, false)]
    [InlineData("09:00-21:00", 9, 0, true)]
    [InlineData("09:00-21:00", 20, 59, true)]
    [InlineData("09:00-21:00", 21, 0, false)]
    [InlineData("22:00-02:00", 23, 30, true)]
    [InlineData("22:00-02:00", 1, 59, true)]
    [InlineData("22:00-02:00", 2, 0, false)]
    public void Opening_hours_are_local_half_open_intervals_that_may_span_midnight(string hours, int hour, int minute, bool open)
    {
        var options = new GatewayOptions();
        options.Zones["S001"] = Zone("10.0.0.0/8", hours);
        var policy = new NetworkPolicy(options);
        var device = new Access.Certificates.DeviceIdentity("S001", "S001-c1", "00", "00");
        var now = new DateTimeOffset(2026, 6, 1, hour, minute, 0, TimeSpan.FromHours(9));

        Assert.Equal(open, policy.CheckHours(device, now, null) is null);
    }
}
