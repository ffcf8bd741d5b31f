using System.Net.Http.Json;
using Custodian.Access.Approvals;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Custodian.Tests.Browser;

/// <summary>The alert console in a real browser: a scraper's alert arrives live (server-sent events), the officer reviews it and requests a restore that a second officer approves.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AlertPagesTests(BrowserFixture browser)
{
    [Fact]
    public async Task A_scrapers_alert_appears_live_and_the_officers_review_and_restore_request_are_in_the_ledger()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20);
        var terminal = await host.EnrollAsync("HQ", "security-desk");
        var officer = await host.CreateStaffAsync("O9002", StaffRole.SecurityOfficer, null, terminal);
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal);

        await page.GotoAsync("/console/alerts");
        await page.GetByLabel("계정").FillAsync("O9002");
        await page.GetByLabel("비밀번호").FillAsync(officer.Password);
        await page.GetByLabel("인증 앱 코드").FillAsync(officer.Code(host.Clock));
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "로그인" }).ClickAsync(), url => url.AbsolutePath == "/console/alerts");
        Assert.Equal("경보", await page.Locator("main h1").InnerTextAsync());
        Assert.Equal("경보가 없습니다.", await page.Locator("#alerts-empty").InnerTextAsync());
        await page.WaitForSelectorAsync("#alerts-live:text('실시간 연결됨')"); // the event stream is open

        // A scraper on a real clerk login: one new subscriber every 20 s through the terminal API, no service completed.
        var (clerk, _, _) = await host.ClerkAsync("C0005");
        for (var i = 0; i < 12; i++)
        {
            using var response = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[i].Phone });
            host.Time.Advance(TimeSpan.FromSeconds(20));
        }

        // No reload: the rows come over the stream.
        var critical = page.Locator("#alerts tbody tr", new() { HasText = "긴급" });
        await critical.WaitForAsync();
        Assert.Equal(1, await critical.CountAsync());
        var text = await critical.InnerTextAsync();
        Assert.Contains("clerk:C0005", text, StringComparison.Ordinal);
        Assert.Contains("open-lookups", text, StringComparison.Ordinal);
        Assert.Contains("열림", text, StringComparison.Ordinal);
        Assert.Contains("risk 100", text, StringComparison.Ordinal);
        var id = await critical.GetAttributeAsync("data-id");
        Assert.NotNull(id);
        await BrowserFixture.ScreenshotAsync(page, "console-alerts-ko");

        await BrowserFixture.NavigateAsync(page, () => critical.GetByRole(AriaRole.Link).ClickAsync(), url => url.AbsolutePath == "/console/alerts/" + id);
        Assert.Equal($"경보 {id}", await page.Locator("main h1").InnerTextAsync());
        Assert.Equal("열림", await page.Locator("#state").InnerTextAsync());
        Assert.Equal(1, await page.Locator("#activity-chart polyline.activity").CountAsync());
        Assert.Equal(1, await page.Locator("#activity-chart line.limit").CountAsync());
        var standing = page.Locator("#standing tbody tr", new() { HasText = "clerk:C0005" });
        Assert.Contains("정지", await standing.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await page.Locator("#standing tbody tr", new() { HasText = "terminal:" }).CountAsync());
        await BrowserFixture.ScreenshotAsync(page, "console-alert-detail-ko");

        // A note with a phone number is refused, changes nothing, and the refusal is recorded without the note.
        await page.GetByLabel("메모(개인정보 제외)").FillAsync("called 010-9406-2730");
        await page.GetByRole(AriaRole.Button, new() { Name = "확인", Exact = true }).ClickAsync();
        await page.Locator("#alert-error").WaitForAsync();
        Assert.Equal("열림", await page.Locator("#state").InnerTextAsync());

        await page.GetByRole(AriaRole.Button, new() { Name = "확인", Exact = true }).ClickAsync();
        await page.WaitForSelectorAsync("#state:text('확인함')");
        await page.GetByLabel("메모(개인정보 제외)").FillAsync("script found on the PC");
        await page.GetByRole(AriaRole.Button, new() { Name = "위반 확정" }).ClickAsync();
        await page.WaitForSelectorAsync("#state:text('확정')");
        Assert.Equal(0, await page.Locator("#review").CountAsync());

        await page.GotoAsync($"/console/alerts/{id}?lang=en");
        Assert.Equal("Activity against baseline", await page.Locator("main h2").First.InnerTextAsync());
        await page.GetByLabel("Reason for restoring C0005").FillAsync("script removed, clerk retrained");
        await page.GetByRole(AriaRole.Button, new() { Name = "Request restore of C0005" }).ClickAsync();
        await page.WaitForSelectorAsync("#restore-requested");
        var request = Assert.Single(await host.Get<PrivilegedActionRequests>().ListAsync(PrivilegedRequestStatus.Pending));
        Assert.Equal(("restore-clerk", "C0005", "O9002"), (request.Action, request.Target, request.RequestedBy));
        Assert.Equal($"Restore of C0005 requested: request {request.Id}. Another officer must approve it. Open the request", await page.Locator("#restore-requested").InnerTextAsync());
        Assert.Contains("yes", await page.Locator("#standing tbody tr", new() { HasText = "clerk:C0005" }).InnerTextAsync(), StringComparison.Ordinal); // still suspended

        Assert.True((await host.Get<PrivilegedActionRequests>().ApproveAsync(request.Id, "O9003", "agreed")).IsSuccess); // a second officer (ApprovalPagesTests does it in the browser)
        await page.GotoAsync($"/console/alerts/{id}?lang=en");
        await page.WaitForSelectorAsync("#standing tbody tr:has-text('clerk:C0005') >> text=no");
        Assert.Equal("confirmed", await page.Locator("#state").InnerTextAsync());

        var ledger = await host.LedgerAsync();
        Assert.Equal(
            [("acknowledged", id!), ("confirmed: script found on the PC", id!)],
            ledger.Where(e => e.Entry.Task == AccessTask.AlertReviewed && e.Entry.Account == "O9002" && e.Entry.Outcome == AccessOutcome.Allowed).Select(e => (e.Entry.Reason!, e.Entry.Target!)));
        var refusedReview = Assert.Single(ledger, e => e.Entry.Task == AccessTask.AlertReviewed && e.Entry.Outcome == AccessOutcome.Denied);
        Assert.Equal(("O9002", ErrorCodes.PersonalDataInText, "acknowledged", id), (refusedReview.Entry.Account, refusedReview.Entry.ErrorCode, refusedReview.Entry.Reason, refusedReview.Entry.Target));
        Assert.DoesNotContain(ledger, e => e.Entry.Reason is { } reason && reason.Contains("9406", StringComparison.Ordinal));
        Assert.Contains(ledger, e => e.Entry.Task == AccessTask.PrivilegedActionRequested && e.Entry.Account == "O9002" && e.Entry.Target == $"request:{request.Id};action:restore-clerk;target:C0005" && e.Entry.Reason == "script removed, clerk retrained");
        Assert.Contains(ledger, e => e.Entry.Task == AccessTask.Restored && e.Entry.Account == "O9003" && e.Entry.Target == "clerk:C0005");
        Assert.DoesNotContain(ledger, e => e.Entry.Task == AccessTask.Refused && e.Entry.Account == "O9002");
    }
}
