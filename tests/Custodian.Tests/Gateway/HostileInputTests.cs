using System.Net;
using System.Text.RegularExpressions;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;

namespace Custodian.Tests.Gateway;

/// <summary>
/// Requests a hostile insider or outsider can send that once ended in a 500 instead of a stable problem (or a page):
/// each is answered with the documented refusal, and a refused read is still recorded.
/// </summary>
public sealed partial class HostileInputTests
{
    [Fact]
    public async Task A_null_in_the_unmask_field_list_is_a_recorded_validation_refusal_not_a_500()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[4];
        var id = await GuardedLookupTests.IdOf(host, subscriber.Phone);
        var handle = await GuardedLookupTests.SearchAsync(client, subscriber.Phone);

        using var content = new StringContent("""{"purpose":"identity-verification","consentCode":"123456","fields":["rrn",null]}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await client.PostAsync($"/api/v1/subscribers/{handle}/unmask", content);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        var entry = (await host.LedgerAsync()).Last(e => e.Entry.Task == AccessTask.Unmask);
        Assert.Equal(AccessOutcome.Denied, entry.Entry.Outcome);
        Assert.Equal(ErrorCodes.ValidationFailed, entry.Entry.ErrorCode);
        Assert.Equal([id], entry.Entry.Subjects);
    }

    [Fact]
    public async Task A_suspended_clerk_cannot_record_service_completions_with_handles_from_before()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var handle = await GuardedLookupTests.SearchAsync(client, host.Population[1].Phone);
        Assert.True(await host.Get<Custodian.Monitoring.SuspensionRegistry>().SuspendAsync(Custodian.Monitoring.PrincipalKind.Clerk, "C0001", null, "test suspension"));

        using var content = new StringContent("""{"purpose":"in-store-service"}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await client.PostAsync($"/api/v1/subscribers/{handle}/service-completions", content);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, ErrorCodes.ClerkSuspended);
        Assert.DoesNotContain((await host.LedgerAsync()).Select(e => e.Entry), e => e.Task == AccessTask.ServiceComplete && e.Outcome == AccessOutcome.Allowed);
    }

    [Fact]
    public async Task A_null_in_an_incident_declarations_alert_list_is_an_unknown_alert_not_a_500()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3);
        var terminal = await host.EnrollAsync("S001", "back-office");
        using var officer = await host.SignInAsync(await host.CreateStaffAsync("sec1", StaffRole.SecurityOfficer, null, terminal), terminal);

        using var content = new StringContent("""{"title":"scraping at S001","alerts":[null]}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await officer.PostAsync("/api/v1/incidents", content);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, Custodian.Incidents.IncidentErrors.AlertUnknown);
    }

    [Theory]
    [InlineData("/console%01x")]
    [InlineData("/workstation%0D%0Ax")]
    [InlineData("/console%7F")]
    public async Task A_return_url_with_a_control_character_is_ignored_after_sign_in_not_a_500(string returnUrl)
    {
        await using var host = await CustodianTestHost.StartAsync();
        var terminal = await host.EnrollAsync("S001", "counter-9");
        var staff = await host.CreateStaffAsync("C0009", StaffRole.Clerk, "S001", terminal);
        using var browser = host.TerminalClient(terminal); // keeps the antiforgery cookie and follows redirects
        var form = await browser.GetStringAsync("/staff/sign-in");
        var token = CsrfField().Match(form).Groups[1].Value;
        Assert.NotEmpty(token);

        using var response = await browser.PostAsync(
            "/staff/sign-in?returnUrl=" + returnUrl,
            new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__csrf"] = WebUtility.HtmlDecode(token),
                ["Account"] = staff.Account,
                ["password"] = staff.Password,
                ["otp"] = staff.Code(host.Time),
            }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/workstation", response.RequestMessage!.RequestUri!.AbsolutePath); // the clerk's home, not the return URL
    }

    [Fact]
    public async Task Api_answers_with_personal_data_are_never_stored_by_a_browser_or_proxy()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[2];

        using var search = await client.PostAsync("/api/v1/subscribers/search", new StringContent($$"""{"phone":"{{subscriber.Phone}}"}""", System.Text.Encoding.UTF8, "application/json"));
        using var portal = await Custodian.Tests.Transparency.PortalTests.SignInAsync(host, subscriber.Phone);
        using var history = await portal.GetAsync("/portal/api/v1/history");
        using var css = await portal.GetAsync("/static/css/custodian.css");

        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        Assert.Equal(HttpStatusCode.OK, history.StatusCode);
        Assert.True(search.Headers.CacheControl?.NoStore, "search: " + search.Headers.CacheControl);
        Assert.True(history.Headers.CacheControl?.NoStore, "history: " + history.Headers.CacheControl);
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.True(css.Headers.CacheControl?.NoCache, "static: " + css.Headers.CacheControl); // static assets keep their own
    }

    [GeneratedRegex("name=\"__csrf\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
