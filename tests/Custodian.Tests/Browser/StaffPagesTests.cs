using System.Net;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Tests.Infrastructure;
using Custodian.Web;
using Microsoft.Playwright;

namespace Custodian.Tests.Browser;

/// <summary>
/// The web foundation in a real browser: staff sign-in at an enrolled device (mutual TLS from Chromium),
/// the console's role gate, the language switch, security headers, and static assets.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class StaffPagesTests(BrowserFixture browser)
{
    [Fact]
    public async Task Officer_signs_in_at_an_enrolled_terminal_reaches_the_console_switches_language_and_signs_out()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var terminal = await host.EnrollAsync("S001", "console-1");
        var officer = await host.CreateStaffAsync("O9001", StaffRole.SecurityOfficer, null, terminal);
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal);

        // Not signed in: the console sends the browser to the sign-in page with a return URL.
        await page.GotoAsync("/console");
        Assert.Equal("/staff/sign-in?returnUrl=%2Fconsole", new Uri(page.Url).PathAndQuery);
        Assert.Equal("직원 로그인", await page.Locator("h1").InnerTextAsync());
        Assert.Contains("매장 S001의 단말기", await page.Locator("p.hint").InnerTextAsync(), StringComparison.Ordinal);

        await page.GetByLabel("계정").FillAsync("O9001");
        await page.GetByLabel("비밀번호").FillAsync(officer.Password);
        await page.GetByLabel("인증 앱 코드").FillAsync(officer.Code(host.Clock));
        IResponse? signedIn = null;
        await BrowserFixture.NavigateAsync(
            page,
            async () => signedIn = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "로그인" }).ClickAsync(), r => new Uri(r.Url).AbsolutePath == "/console"),
            url => url.AbsolutePath == "/console");
        Assert.NotNull(signedIn);
        Assert.Equal("/console", new Uri(page.Url).PathAndQuery);
        Assert.Equal("보안 콘솔", await page.Locator("main h1").InnerTextAsync());
        Assert.Contains("O9001(security-officer) 계정으로", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(WebFoundation.ContentSecurityPolicy, await signedIn.HeaderValueAsync("content-security-policy"));
        Assert.Equal("no-store", await signedIn.HeaderValueAsync("cache-control"));
        Assert.Equal("DENY", await signedIn.HeaderValueAsync("x-frame-options"));
        await BrowserFixture.ScreenshotAsync(page, "console-home-ko");

        var cookies = await page.Context.CookiesAsync();
        var session = Assert.Single(cookies, c => c.Name == "__Host-custodian-staff");
        Assert.True(session.HttpOnly);
        Assert.True(session.Secure);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);

        // The sign-in is in the ledger, made at this terminal.
        var entry = Assert.Single(await host.LedgerAsync(), e => e.Entry.Task == AccessTask.SignIn && e.Entry.Account == "O9001");
        Assert.Equal(AccessOutcome.Allowed, entry.Entry.Outcome);
        Assert.Equal(terminal.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false), entry.Entry.Terminal);

        // English, kept for the next page by a cookie.
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Link, new() { Name = "English" }).ClickAsync(), url => url.PathAndQuery == "/console?lang=en");
        Assert.Equal("Security console", await page.Locator("main h1").InnerTextAsync());
        await page.GotoAsync("/console");
        Assert.Equal("Security console", await page.Locator("main h1").InnerTextAsync());
        Assert.Equal("en", await page.Locator("html").GetAttributeAsync("lang"));
        await BrowserFixture.ScreenshotAsync(page, "console-home-en");

        // Sign out: the session is revoked, and the console asks for a sign-in again.
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync(), url => url.AbsolutePath == "/staff/sign-in");
        await page.GotoAsync("/console");
        Assert.StartsWith("/staff/sign-in", new Uri(page.Url).PathAndQuery, StringComparison.Ordinal);
        Assert.Equal(0, host.Get<Access.Sessions.SessionStore>().Count);
    }

    [Fact]
    public async Task Wrong_code_is_refused_and_recorded_and_a_clerk_is_kept_out_of_the_console()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        var clerk = await host.CreateStaffAsync("C9001", StaffRole.Clerk, "S001", terminal);
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal, "en-US");

        await page.GotoAsync("/staff/sign-in");
        Assert.Equal("Staff sign-in", await page.Locator("h1").InnerTextAsync());
        await page.GetByLabel("Account").FillAsync("C9001");
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(clerk.Password);
        await page.GetByLabel("Authenticator code").FillAsync(WrongCode(clerk.Code(host.Clock)));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        Assert.Equal("The account, password or authenticator code is wrong.", await page.Locator("#sign-in-error").InnerTextAsync());
        Assert.Equal("C9001", await page.GetByLabel("Account").InputValueAsync());
        Assert.Equal(string.Empty, await page.GetByLabel("Password", new() { Exact = true }).InputValueAsync());
        var refused = Assert.Single(await host.LedgerAsync(), e => e.Entry.Task == AccessTask.SignIn);
        Assert.Equal(AccessOutcome.Denied, refused.Entry.Outcome);

        // The clerk signs in properly, then tries the console: a 403 page, and a recorded refusal.
        // A return URL off this site is ignored.
        await page.GotoAsync("/staff/sign-in?returnUrl=%2F%2Fevil.example%2Fx");
        await page.GetByLabel("Account").FillAsync("C9001");
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(clerk.Password);
        await page.GetByLabel("Authenticator code").FillAsync(clerk.Code(host.Clock));
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync(), url => url.AbsolutePath != "/staff/sign-in");
        Assert.Equal(host.TerminalUrl.GetLeftPart(UriPartial.Authority) + "/workstation", page.Url);

        var console = await page.GotoAsync("/console");
        Assert.Equal(403, console!.Status);
        Assert.Equal("Not allowed", await page.Locator("main h1").InnerTextAsync());
        var denied = (await host.LastRequestEntryAsync());
        Assert.Equal(AccessTask.Refused, denied.Entry.Task);
        Assert.Equal("C9001", denied.Entry.Account);
        Assert.Equal(Problems.ErrorCodes.RoleNotPermitted, denied.Entry.ErrorCode);
    }

    [Fact]
    public async Task Without_a_device_certificate_staff_pages_are_refused_and_static_assets_are_served_on_both_listeners()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var page = await browser.NewPageAsync(host.TerminalUrl);
        var response = await page.GotoAsync("/staff/sign-in");
        Assert.Equal(403, response!.Status);
        Assert.Contains("urn:custodian:error:device-certificate-required", await response.TextAsync(), StringComparison.Ordinal);

        foreach (var origin in new[] { host.TerminalUrl, host.PortalUrl })
        {
            using var client = Client.TerminalHttp.Create(origin, host.Ca, null);
            using var css = await client.GetAsync("/static/css/custodian.css");
            Assert.Equal(HttpStatusCode.OK, css.StatusCode);
            Assert.Equal("text/css", css.Content.Headers.ContentType!.MediaType);
            Assert.Contains("--accent", await css.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal("nosniff", css.Headers.GetValues("X-Content-Type-Options").Single());
        }

        // Staff pages exist only on the terminal listener.
        using var portal = Client.TerminalHttp.Create(host.PortalUrl, host.Ca, null);
        using var signIn = await portal.GetAsync("/staff/sign-in");
        Assert.Equal(HttpStatusCode.NotFound, signIn.StatusCode);
    }

    private static string WrongCode(string code) => ((int.Parse(code, System.Globalization.CultureInfo.InvariantCulture) + 1) % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
}
