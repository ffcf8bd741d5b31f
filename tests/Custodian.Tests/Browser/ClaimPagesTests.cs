using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Custodian.Identity;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;
using Microsoft.Playwright;

namespace Custodian.Tests.Browser;

/// <summary>
/// The claim console pages in a real browser at an enrolled terminal: claims filed through the portal API are listed,
/// filtered, shown with their evidence, and decided (information request, approval, payout, rejection) in Korean and
/// English, with validation errors in the page's language; and the HTML not-found page for unknown IDs and paths.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ClaimPagesTests(BrowserFixture browser)
{
    [Fact]
    public async Task An_officer_decides_claims_filed_from_the_portal_in_the_console()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var start = host.Time.GetUtcNow();
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var (victim, second) = (host.Population[0], host.Population[1]);
        foreach (var subscriber in new[] { victim, second })
        {
            await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
        }

        host.Time.Advance(TimeSpan.FromMinutes(1)); // the window [start, now) must hold the searches
        var incidents = host.Get<IncidentService>();
        var actor = new IncidentActor("P9000", StaffRole.PrivacyOfficer);
        var declared = await incidents.DeclareAsync(new DeclareIncident("C0001", [], new IncidentScope(["C0001"], [], [], start, host.Time.GetUtcNow(), [])), actor);
        Assert.True((await incidents.ScopeAsync(declared.Value.Id, null, actor)).IsSuccess);
        await host.Get<LedgerCheckpoints>().SignLatestAsync();
        using var portal = await PortalTests.SignInAsync(host, victim.Phone);
        using var portal2 = await PortalTests.SignInAsync(host, second.Phone);
        var claimId = await FileAsync(portal, declared.Value.Id, 350_000);
        var claim2 = await FileAsync(portal2, declared.Value.Id, 100_000);

        var terminal = await host.EnrollAsync("S001", "console-1");
        var officer = await host.CreateStaffAsync("O9001", StaffRole.PrivacyOfficer, null, terminal);
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal);
        await page.GotoAsync("/console/claims");
        await page.GetByLabel("계정").FillAsync("O9001");
        await page.GetByLabel("비밀번호").FillAsync(officer.Password);
        await page.GetByLabel("인증 앱 코드").FillAsync(officer.Code(host.Clock));
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "로그인" }).ClickAsync(), url => url.AbsolutePath == "/console/claims");

        Assert.Equal("보상 청구", await page.Locator("main h1").InnerTextAsync());
        Assert.Equal(2, await page.Locator("#claims tbody tr").CountAsync());
        Assert.Equal(["접수", "2", "450,000", "0", "0"], await Cells(page, "#report tr[data-state='submitted']"));
        await page.GetByLabel("상태").SelectOptionAsync("approved");
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "보기" }).ClickAsync(), url => url.Query == "?state=approved");
        Assert.Equal("청구가 없습니다.", await page.Locator("#no-claims").InnerTextAsync());

        // The claim: claimant by token, the evidence (the clerk's search) with its receipt, never the clerk's account or the phone.
        await page.GotoAsync($"/console/claims/{claimId}");
        Assert.Equal("접수", await page.Locator("#state").InnerTextAsync());
        Assert.Matches("^[0-9]{19}$", await page.Locator("#claimant").InnerTextAsync());
        var evidence = page.Locator("#evidence tbody tr");
        Assert.Equal(1, await evidence.CountAsync());
        Assert.Contains("search", await evidence.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("custodian-receipt/v1", await evidence.Locator("pre.receipt").TextContentAsync(), StringComparison.Ordinal);
        var html = await page.ContentAsync();
        Assert.DoesNotContain("C0001", html, StringComparison.Ordinal);
        Assert.DoesNotContain(victim.Phone, html, StringComparison.Ordinal);
        await BrowserFixture.ScreenshotAsync(page, "console-claim-ko");

        // A question naming a subscriber is refused (and recorded without it).
        await page.GetByLabel("청구인에게 묻는 내용").FillAsync(second.Phone + "로 연락 주세요");
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "추가 정보 요청" }).ClickAsync(), _ => true);
        await page.WaitForSelectorAsync("#claim-error");
        Assert.Equal("접수", await page.Locator("#state").InnerTextAsync());

        await page.GetByLabel("청구인에게 묻는 내용").FillAsync("결제 내역 사본을 올려 주세요");
        await page.GetByRole(AriaRole.Button, new() { Name = "추가 정보 요청" }).ClickAsync();
        await page.WaitForSelectorAsync("#state:text('추가 정보 요청')");
        Assert.Equal("청구인 답변 대기 중", await page.Locator("#answer").InnerTextAsync());
        using (var answered = await portal.PostAsJsonAsync($"/portal/api/v1/claims/{claimId}/answer", new { answer = "카드사 확인서 번호 2026-1130" }))
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }

        // A validation error in Korean: more than the amount claimed; nothing changes.
        await page.ReloadAsync();
        await page.GetByLabel("승인 금액(원, 최대 350,000)").FillAsync("999,999");
        await page.GetByRole(AriaRole.Button, new() { Name = "승인", Exact = true }).ClickAsync();
        await page.WaitForSelectorAsync("#claim-error");
        Assert.Equal("승인 금액: 필수, 1원부터 청구액까지", await page.Locator("#claim-error").InnerTextAsync());
        Assert.Equal("접수", await page.Locator("#state").InnerTextAsync());

        await page.GetByLabel("승인 금액(원, 최대 350,000)").FillAsync("300,000");
        await page.GetByLabel("결정 메모(선택)").FillAsync("확인된 피해액");
        await page.GetByRole(AriaRole.Button, new() { Name = "승인", Exact = true }).ClickAsync();
        await page.WaitForSelectorAsync("#state:text('승인')");
        Assert.Equal("300,000", await page.Locator("#approved").InnerTextAsync());

        await page.GetByLabel("송금 참조 번호").FillAsync("TX 1/2");
        await page.GetByRole(AriaRole.Button, new() { Name = "지급 기록" }).ClickAsync();
        await page.WaitForSelectorAsync("#claim-error");
        Assert.Equal("송금 참조 번호: 필수, 1–64자의 영문자(A-Z, a-z), 숫자, '-', '_', '.'; 영문자나 숫자로 시작", await page.Locator("#claim-error").InnerTextAsync());
        await page.GetByLabel("송금 참조 번호").FillAsync("TX-20261130-01");
        await page.GetByRole(AriaRole.Button, new() { Name = "지급 기록" }).ClickAsync();
        await page.WaitForSelectorAsync("#state:text('지급 완료')");
        Assert.StartsWith("20", await page.Locator("#paid").InnerTextAsync(), StringComparison.Ordinal);

        // English: the second claim, a validation error in English, then rejected with a reason.
        await page.GotoAsync($"/console/claims/{claim2}?lang=en");
        Assert.Equal("submitted", await page.Locator("#state").InnerTextAsync());
        await page.GetByLabel("Amount to approve (KRW, at most 100,000)").FillAsync("100001");
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve", Exact = true }).ClickAsync();
        await page.WaitForSelectorAsync("#claim-error");
        Assert.Equal("amount: required, 1 to the amount claimed (KRW)", await page.Locator("#claim-error").InnerTextAsync());
        await page.GetByLabel("Reason for rejection").FillAsync("damage predates the incident");
        await page.GetByRole(AriaRole.Button, new() { Name = "Reject" }).ClickAsync();
        await page.WaitForSelectorAsync("#state:text('rejected')");
        Assert.Equal("damage predates the incident", await page.Locator("#decision").InnerTextAsync());

        await page.GotoAsync("/console/claims");
        Assert.Equal(["paid", "1", "350,000", "300,000", "300,000"], await Cells(page, "#report tr[data-state='paid']"));
        Assert.Equal(["rejected", "1", "100,000", "0", "0"], await Cells(page, "#report tr[data-state='rejected']"));
        Assert.Equal(["total", "2", "450,000", "300,000", "300,000"], await Cells(page, "#report tr[data-state='total']"));
        await BrowserFixture.ScreenshotAsync(page, "console-claims-en");

        var console = terminal.GetNameInfo(X509NameType.SimpleName, false);
        var entries = (await host.LedgerAsync()).Where(e => e.Entry.Target?.StartsWith("claim:" + claimId, StringComparison.Ordinal) == true).ToList();
        var steps = entries.Where(e => e.Entry.Task != AccessTask.ClaimView && e.Entry.Outcome == AccessOutcome.Allowed).Select(e => (e.Entry.Task, e.Entry.Account!, e.Entry.Terminal)).ToList();
        Assert.Equal(
            [(AccessTask.ClaimFiled, "subscriber", null), (AccessTask.ClaimInformationRequested, "O9001", console), (AccessTask.ClaimAnswered, "subscriber", null), (AccessTask.ClaimDecided, "O9001", console), (AccessTask.ClaimPaid, "O9001", console)],
            steps);

        // Each refused step is one denied entry of its own task with the error code (and the decision asked for): the
        // claim, never the text typed.
        Assert.Equal(
            [
                (AccessTask.ClaimInformationRequested, (string?)ErrorCodes.PersonalDataInText, "claim:" + claimId, (string?)null),
                (AccessTask.ClaimDecided, ErrorCodes.ValidationFailed, "claim:" + claimId, "approved"),
                (AccessTask.ClaimPaid, ErrorCodes.ValidationFailed, "claim:" + claimId, null),
                (AccessTask.ClaimDecided, ErrorCodes.ValidationFailed, "claim:" + claim2, "approved"),
            ],
            (await host.LedgerAsync()).Where(e => e.Entry.Outcome == AccessOutcome.Denied && e.Entry.Account == "O9001").Select(e => (e.Entry.Task, e.Entry.ErrorCode, e.Entry.Target, e.Entry.Reason)));
        Assert.All(entries.Where(e => e.Entry.Outcome == AccessOutcome.Denied), e => Assert.Equal((console, 0), (e.Entry.Terminal, e.Entry.Subjects.Count)));

        // Every rendering of the claim page was recorded, with the claimant as subject: the first visit, the page after
        // each of the three decisions, the reload, and the three re-renderings with a refusal.
        var views = entries.Where(e => e.Entry.Task == AccessTask.ClaimView).ToList();
        Assert.Equal(8, views.Count);
        var claimant = Assert.Single(entries, e => e.Entry.Task == AccessTask.ClaimFiled).Entry.Subjects;
        Assert.All(views, v => Assert.Equal(("O9001", console, "claim:" + claimId), (v.Entry.Account, v.Entry.Terminal, v.Entry.Target)));
        Assert.All(views, v => Assert.Equal(claimant, v.Entry.Subjects));
    }

    [Fact]
    public async Task Unknown_cases_claims_and_pages_get_a_not_found_page_in_the_users_language_while_apis_keep_problems()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 2);
        var terminal = await host.EnrollAsync("S001", "console-1");
        var officer = await host.CreateStaffAsync("O9001", StaffRole.SecurityOfficer, null, terminal);
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal);
        await page.GotoAsync("/console");
        await page.GetByLabel("계정").FillAsync("O9001");
        await page.GetByLabel("비밀번호").FillAsync(officer.Password);
        await page.GetByLabel("인증 앱 코드").FillAsync(officer.Code(host.Clock));
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "로그인" }).ClickAsync(), url => url.AbsolutePath == "/console");

        foreach (var (path, heading) in new[] { ("/console/incidents/99999", "페이지를 찾을 수 없습니다"), ("/console/claims/CLM-0000000000", "페이지를 찾을 수 없습니다"), ("/console/nothing-here?lang=en", "Page not found"), ("/console/incidents/INC-20000101-AAAAAA", "Page not found") })
        {
            var response = await page.GotoAsync(path);
            Assert.Equal((404, "text/html"), (response!.Status, response.Headers["content-type"].Split(';')[0]));
            Assert.Equal(heading, await page.Locator("main h1").InnerTextAsync());
            Assert.Contains("frame-ancestors 'none'", response.Headers["content-security-policy"], StringComparison.Ordinal);
        }

        var subscriber = await browser.NewPageAsync(host.PortalUrl);
        var notices = await subscriber.GotoAsync("/portal/notices");
        Assert.Equal(404, notices!.Status);
        Assert.Equal("페이지를 찾을 수 없습니다", await subscriber.Locator("main h1").InnerTextAsync());
        Assert.Equal("/portal", await subscriber.GetByRole(AriaRole.Link, new() { Name = "첫 화면으로" }).GetAttributeAsync("href"));
        await subscriber.GotoAsync("/portal/notices?lang=en");
        Assert.Equal("Page not found", await subscriber.Locator("main h1").InnerTextAsync());

        using var api = host.PortalClient();
        using (var response = await api.GetAsync("/portal/api/v1/nothing-here"))
        {
            Assert.Equal((HttpStatusCode.NotFound, "application/problem+json"), (response.StatusCode, response.Content.Headers.ContentType?.MediaType));
        }

        host.Time.Advance(TimeSpan.FromSeconds(30)); // a fresh one-time code for the API sign-in (a used code is refused)
        using var officerApi = await host.SignInAsync(officer, terminal);
        using var claim = await officerApi.GetAsync("/api/v1/claims/CLM-0000000000");
        await ProblemAssert.IsProblemAsync(claim, HttpStatusCode.NotFound, Custodian.Incidents.Claims.ClaimErrors.NotFound);
    }

    private static async Task<string> FileAsync(HttpClient portal, string incident, long amount)
    {
        using var filed = await portal.PostAsJsonAsync("/portal/api/v1/claims", new { incidentId = incident, kind = "phishing", description = "스미싱 문자로 결제 피해", amount });
        Assert.Equal(HttpStatusCode.Created, filed.StatusCode);
        using var body = JsonDocument.Parse(await filed.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("claim").GetProperty("id").GetString()!;
    }

    private static async Task<string[]> Cells(IPage page, string row) =>
        [.. (await page.Locator(row).Locator("th, td").AllInnerTextsAsync()).Select(t => t.Trim())];
}
