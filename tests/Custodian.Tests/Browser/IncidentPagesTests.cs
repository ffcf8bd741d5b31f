using System.Globalization;
using Custodian.Identity;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Microsoft.Playwright;

namespace Custodian.Tests.Browser;

/// <summary>The incident console pages in a real browser at an enrolled terminal: declare, scope, notify, close; Korean and English; every refused step recorded.</summary>
[Collection(BrowserCollection.Name)]
public sealed class IncidentPagesTests(BrowserFixture browser)
{
    private static readonly TimeSpan Kst = TimeSpan.FromHours(9);

    [Fact]
    public async Task An_officer_declares_scopes_notifies_and_closes_a_case_in_the_console()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var start = host.Time.GetUtcNow().AddMinutes(-5);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        foreach (var subscriber in host.Population.Take(2))
        {
            await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
        }

        var terminal = await host.EnrollAsync("S001", "console-1");
        var officer = await host.CreateStaffAsync("O9001", StaffRole.SecurityOfficer, null, terminal);
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal);

        await page.GotoAsync("/console/incidents");
        Assert.Equal("/staff/sign-in?returnUrl=%2Fconsole%2Fincidents", new Uri(page.Url).PathAndQuery);
        await page.GetByLabel("계정").FillAsync("O9001");
        await page.GetByLabel("비밀번호").FillAsync(officer.Password);
        await page.GetByLabel("인증 앱 코드").FillAsync(officer.Code(host.Clock));
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "로그인" }).ClickAsync(), url => url.AbsolutePath == "/console/incidents");

        Assert.Equal("사고 대응", await page.Locator("main h1").InnerTextAsync());
        Assert.Contains("사고가 없습니다.", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);

        // The window must have ended: move the server's clock on, then declare up to the current minute.
        host.Time.Advance(TimeSpan.FromMinutes(2));

        // A refused declaration says why in Korean, field by field.
        await page.GetByLabel("제목(개인정보 제외)").FillAsync("C0001 오용");
        await page.GetByLabel("직원 계정").FillAsync("C0001/x");
        await page.GetByLabel("시작(현지 시각)").FillAsync(Local(host.Time.GetUtcNow()));
        await page.GetByLabel("종료(현지 시각, 미포함)").FillAsync(Local(start));
        await page.GetByRole(AriaRole.Button, new() { Name = "선언", Exact = true }).ClickAsync();
        await ExpectAsync(page, "#incident-error");
        Assert.Equal(
            "사고 요청 내용이 올바르지 않습니다. 직원 계정: 코드 최대 100개(각 1–64자의 영문자(A-Z, a-z), 숫자, '-', '_', '.'; 영문자나 숫자로 시작); 종료: 시작 시각보다 뒤여야 합니다",
            await page.Locator("#incident-error").InnerTextAsync());

        await page.GetByLabel("제목(개인정보 제외)").FillAsync("C0001 오용");
        await page.GetByLabel("직원 계정").FillAsync("C0001");
        await page.GetByLabel("시작(현지 시각)").FillAsync(Local(start));
        await page.GetByLabel("종료(현지 시각, 미포함)").FillAsync(Local(host.Time.GetUtcNow()));
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "선언", Exact = true }).ClickAsync(), url => url.AbsolutePath.StartsWith("/console/incidents/INC-", StringComparison.Ordinal));
        var id = new Uri(page.Url).AbsolutePath["/console/incidents/".Length..];
        Assert.Equal($"{id}: C0001 오용", await page.Locator("main h1").InnerTextAsync());
        Assert.Equal("열림", await page.Locator("#state").InnerTextAsync());
        Assert.StartsWith("72h 00m 남음", await page.Locator("#clock").InnerTextAsync(), StringComparison.Ordinal);

        // A closing note naming a subscriber is refused (and recorded without it).
        await page.GetByLabel("종결 메모").FillAsync("called " + host.Population[0].Phone);
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "사고 종결" }).ClickAsync(), _ => true);
        await ExpectAsync(page, "#incident-error");
        Assert.Equal("열림", await page.Locator("#state").InnerTextAsync());

        await page.GetByRole(AriaRole.Button, new() { Name = "원장에서 범위 산정" }).ClickAsync();
        await ExpectAsync(page, "#counts");
        Assert.Equal("범위 확정", await page.Locator("#state").InnerTextAsync());
        Assert.Equal("2", await page.Locator("#counts tr", new() { HasText = "가림 처리된 조회만" }).Locator("td").InnerTextAsync());
        Assert.Equal(3, await page.Locator("#fields tbody tr").CountAsync()); // name, phone, rate-plan, masked
        Assert.Equal(1, await page.Locator("figure.chart svg rect").CountAsync());
        await BrowserFixture.ScreenshotAsync(page, "console-incident-ko");

        // A refused step shows why and changes nothing.
        await page.GetByLabel("종결 메모").FillAsync("too early");
        await page.GetByRole(AriaRole.Button, new() { Name = "사고 종결" }).ClickAsync();
        Assert.Equal("영향받은 가입자가 있는 사고는 종결 전에 통지해야 합니다(개인정보 보호법 제34조).", await page.Locator("#incident-error").InnerTextAsync());

        // A blank notice fact is refused.
        await page.GetByLabel("유출 경위").FillAsync("   ");
        await page.GetByLabel("회사의 조치").FillAsync("계정 정지");
        await page.GetByLabel("피해 상담 창구").FillAsync("114");
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "통지 발송" }).ClickAsync(), _ => true);
        await ExpectAsync(page, "#incident-error");
        Assert.Equal("범위 확정", await page.Locator("#state").InnerTextAsync());

        await page.GetByLabel("유출 경위").FillAsync("단말기 오용");
        await page.GetByLabel("회사의 조치").FillAsync("계정 정지");
        await page.GetByLabel("피해 상담 창구").FillAsync("114");
        await page.GetByRole(AriaRole.Button, new() { Name = "통지 발송" }).ClickAsync();
        await ExpectAsync(page, "#state:text('통지 완료')");
        Assert.StartsWith("기한 72h 00m 전에 통지함", await page.Locator("#clock").InnerTextAsync(), StringComparison.Ordinal);

        await page.GotoAsync($"/console/incidents/{id}?lang=en");
        Assert.Equal("Affected subscribers", await page.Locator("main h2").First.InnerTextAsync());
        Assert.Equal("notified", await page.Locator("#state").InnerTextAsync());
        await BrowserFixture.ScreenshotAsync(page, "console-incident-en");
        await page.GetByLabel("Closing note").FillAsync("clerk dismissed");
        await page.GetByRole(AriaRole.Button, new() { Name = "Close the incident" }).ClickAsync();
        await ExpectAsync(page, "#state:text('closed')");

        await page.GotoAsync("/console/incidents");
        var row = page.Locator("#incidents tbody tr");
        Assert.Equal(1, await row.CountAsync());
        Assert.Contains(id, await row.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("notified with 72h 00m to spare", await row.InnerTextAsync(), StringComparison.Ordinal);

        var ledger = await host.LedgerAsync();
        var actions = ledger.Where(e => e.Entry.Outcome == AccessOutcome.Allowed && e.Entry.Target?.StartsWith("incident:" + id, StringComparison.Ordinal) == true).Select(e => (e.Entry.Task, e.Entry.Account, e.Entry.Terminal)).ToList();
        var console = terminal.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false);

        // Each refused step is one denied entry of its own task with the error code: the case once it exists, never the text typed.
        Assert.Equal(
            [
                (AccessTask.IncidentDeclared, (string?)ErrorCodes.ValidationFailed, (string?)null, (string?)null, (string?)"O9001", (string?)console),
                (AccessTask.IncidentClosed, ErrorCodes.PersonalDataInText, "incident:" + id, null, "O9001", console),
                (AccessTask.IncidentClosed, IncidentErrors.StateConflict, "incident:" + id, null, "O9001", console),
                (AccessTask.IncidentNotified, IncidentErrors.ReasonRequired, "incident:" + id, null, "O9001", console),
            ],
            ledger.Where(e => e.Entry.Outcome == AccessOutcome.Denied && e.Entry.Account == "O9001").Select(e => (e.Entry.Task, e.Entry.ErrorCode, e.Entry.Target, e.Entry.Reason, e.Entry.Account, e.Entry.Terminal)));
        Assert.Equal(
            [(AccessTask.IncidentDeclared, "O9001", console), (AccessTask.IncidentScoped, "O9001", console), (AccessTask.IncidentNotified, "O9001", console), (AccessTask.IncidentClosed, "O9001", console)],
            actions.Select(a => (a.Task, a.Account!, a.Terminal!)));
    }

    /// <summary>Waits for <paramref name="selector"/>; on a timeout fails with the page's error line, if any, and URL.</summary>
    [Fact]
    public async Task A_declaration_naming_an_unknown_clerk_is_refused_on_the_page_as_the_api_refuses_it()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var start = host.Time.GetUtcNow().AddMinutes(-5);
        await host.ClerkAsync("C0001");
        var terminal = await host.EnrollAsync("S001", "console-1");
        var officer = await host.CreateStaffAsync("O9001", StaffRole.SecurityOfficer, null, terminal);
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal);
        await page.GotoAsync("/console/incidents");
        await page.GetByLabel("계정").FillAsync("O9001");
        await page.GetByLabel("비밀번호").FillAsync(officer.Password);
        await page.GetByLabel("인증 앱 코드").FillAsync(officer.Code(host.Clock));
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "로그인" }).ClickAsync(), url => url.AbsolutePath == "/console/incidents");
        host.Time.Advance(TimeSpan.FromMinutes(2));
        var before = (await host.LedgerAsync()).Count;

        await page.GetByLabel("제목(개인정보 제외)").FillAsync("C0001 오용");
        await page.GetByLabel("직원 계정").FillAsync("C0001, C0404");
        await page.GetByLabel("시작(현지 시각)").FillAsync(Local(start));
        await page.GetByLabel("종료(현지 시각, 미포함)").FillAsync(Local(host.Time.GetUtcNow()));
        await page.GetByRole(AriaRole.Button, new() { Name = "선언", Exact = true }).ClickAsync();
        await ExpectAsync(page, "#incident-error");

        var shown = await page.Locator("#incident-error").InnerTextAsync();
        Assert.StartsWith("clerks[1]에 해당하는 직원 계정이 없습니다.", shown, StringComparison.Ordinal);
        Assert.Contains("모든 직원은 직원 계정을 가리켜야 합니다", shown, StringComparison.Ordinal); // in the page's language (was English)
        Assert.DoesNotContain("C0404", shown, StringComparison.Ordinal); // named by position, as the API names it
        Assert.Empty(await host.Get<IncidentService>().ListAsync());
        var entry = Assert.Single((await host.LedgerAsync()).Skip(before)).Entry; // the refusal, recorded as the API records it
        Assert.Equal((AccessTask.IncidentDeclared, AccessOutcome.Denied, ErrorCodes.ValidationFailed, "O9001"), (entry.Task, entry.Outcome, entry.ErrorCode, entry.Account));
    }

    private static async Task ExpectAsync(IPage page, string selector)
    {
        try
        {
            await page.WaitForSelectorAsync(selector);
        }
        catch (TimeoutException)
        {
            var error = await page.Locator("#incident-error").CountAsync() > 0 ? await page.Locator("#incident-error").InnerTextAsync() : "(no error shown)";
            Assert.Fail($"{selector} did not appear at {page.Url}: {error}");
        }
    }

    private static string Local(DateTimeOffset time) => time.ToOffset(Kst).ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture);
}
