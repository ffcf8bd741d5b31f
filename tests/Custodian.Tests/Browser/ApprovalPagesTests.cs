using System.Net;
using System.Net.Http.Json;
using Custodian.Access.Approvals;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Custodian.Tests.Browser;

/// <summary>The approvals console in a real browser: officer A requests a restore, A may not approve it, officer B approves it.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ApprovalPagesTests(BrowserFixture browser)
{
    private static async Task<IPage> SignInAsync(BrowserFixture browser, CustodianTestHost host, System.Security.Cryptography.X509Certificates.X509Certificate2 terminal, StaffCredentials officer)
    {
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal);
        await page.GotoAsync("/console/approvals");
        await page.GetByLabel("계정").FillAsync(officer.Account);
        await page.GetByLabel("비밀번호").FillAsync(officer.Password);
        await page.GetByLabel("인증 앱 코드").FillAsync(officer.Code(host.Clock));
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "로그인" }).ClickAsync(), url => url.AbsolutePath == "/console/approvals");
        await page.Locator("#new-request").WaitForAsync(); // the page is there; the load event can lag far behind on a loaded machine
        return page;
    }

    [Fact]
    public async Task Officer_A_requests_a_restore_in_the_console_and_officer_B_approves_it_and_the_clerk_is_served_again()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var (clerk, _, _) = await host.ClerkAsync("C0007");
        Assert.True(await host.Get<SuspensionRegistry>().SuspendAsync(PrincipalKind.Clerk, "C0007", null, "test suspension"));
        var deskA = await host.EnrollAsync("HQ", "desk-a");
        var deskB = await host.EnrollAsync("HQ", "desk-b");
        var officerA = await host.CreateStaffAsync("O9101", StaffRole.SecurityOfficer, null, deskA);
        var officerB = await host.CreateStaffAsync("O9102", StaffRole.PrivacyOfficer, null, deskB);

        // Officer A files the request.
        var a = await SignInAsync(browser, host, deskA, officerA);
        Assert.Equal("승인", await a.Locator("main h1").InnerTextAsync());
        Assert.Equal("요청이 없습니다.", await a.Locator("#requests-empty").InnerTextAsync());
        await a.GetByLabel("작업").SelectOptionAsync("restore-clerk");
        await a.GetByLabel("대상(계정, 단말기, 탐지기 또는 구역/이름)").FillAsync("C0007");
        await a.GetByLabel("사유(개인정보 제외)").FillAsync("clerk retrained");
        await BrowserFixture.NavigateAsync(a, () => a.GetByRole(AriaRole.Button, new() { Name = "요청", Exact = true }).ClickAsync(), url => url.AbsolutePath.StartsWith("/console/approvals/", StringComparison.Ordinal));
        await a.Locator("#withdraw").WaitForAsync();
        var id = new Uri(a.Url).AbsolutePath["/console/approvals/".Length..];
        Assert.Equal(("restore-clerk", "C0007", "O9101", "대기"), (await a.Locator("#action").InnerTextAsync(), await a.Locator("#target").InnerTextAsync(), await a.Locator("#requested-by").InnerTextAsync(), await a.Locator("#status").InnerTextAsync()));
        Assert.Equal("내가 올린 요청입니다. 다른 담당자가 결정하거나, 내가 철회할 수 있습니다.", await a.Locator("#own-request").InnerTextAsync());
        Assert.Equal(0, await a.Locator("#decide").CountAsync()); // the requester gets no approve or reject buttons, only withdraw
        await BrowserFixture.ScreenshotAsync(a, "console-approval-own-request-ko");

        // Officer B, at another desk, finds it in the pending list and approves it.
        var b = await SignInAsync(browser, host, deskB, officerB);
        var row = b.Locator("#requests tbody tr", new() { HasText = "C0007" });
        Assert.Equal(1, await row.CountAsync());
        Assert.Contains("O9101", await row.InnerTextAsync(), StringComparison.Ordinal);
        await BrowserFixture.NavigateAsync(b, () => row.GetByRole(AriaRole.Link).ClickAsync(), url => url.AbsolutePath == "/console/approvals/" + id);
        await b.Locator("#decide").WaitForAsync();
        Assert.Equal(0, await b.Locator("#own-request").CountAsync());
        await b.GetByLabel("결정 사유(개인정보 제외)").FillAsync("training record checked");
        await b.GetByRole(AriaRole.Button, new() { Name = "승인 및 실행" }).ClickAsync();
        await b.WaitForSelectorAsync("#approval-result");
        Assert.Equal("승인하고 실행했습니다: Restored clerk C0007.", await b.Locator("#approval-result").InnerTextAsync());
        Assert.Equal(("승인됨", "O9102"), (await b.Locator("#status").InnerTextAsync(), await b.Locator("#decided-by").InnerTextAsync()));
        Assert.Equal(0, await b.Locator("#decide").CountAsync());
        await BrowserFixture.ScreenshotAsync(b, "console-approval-approved-ko");

        // The clerk's very next request is served.
        using (clerk)
        using (var served = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[0].Phone }))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        await b.GotoAsync("/console/approvals?status=approved&lang=en");
        Assert.Equal("Approvals", await b.Locator("main h1").InnerTextAsync());
        Assert.Contains("approved", await b.Locator("#requests tbody tr", new() { HasText = "C0007" }).InnerTextAsync(), StringComparison.Ordinal);

        var steps = (await host.LedgerAsync()).Select(e => e.Entry)
            .Where(e => e.Task is AccessTask.PrivilegedActionRequested or AccessTask.PrivilegedActionApproved or AccessTask.Restored)
            .Select(e => (e.Task, e.Account, e.Target, e.Reason))
            .ToList();
        Assert.Equal(
            [
                (AccessTask.PrivilegedActionRequested, "O9101", $"request:{id};action:restore-clerk;target:C0007", "clerk retrained"),
                (AccessTask.PrivilegedActionApproved, "O9102", $"request:{id};action:restore-clerk;target:C0007", "training record checked"),
                (AccessTask.Restored, "O9102", "clerk:C0007", "four eyes: requested by O9101, approved by O9102: clerk retrained"),
            ],
            steps);
        Assert.Equal(PrivilegedRequestStatus.Approved, (await host.Get<PrivilegedActionRequests>().GetAsync(id))!.Status);
    }

    [Fact]
    public async Task The_requesting_officer_withdraws_a_request_in_the_console_and_it_leaves_the_pending_list()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        Assert.True(await host.Get<SuspensionRegistry>().SuspendAsync(PrincipalKind.Clerk, "C0008", null, "test suspension"));
        var deskA = await host.EnrollAsync("HQ", "desk-a");
        var officerA = await host.CreateStaffAsync("O9103", StaffRole.SecurityOfficer, null, deskA);
        var a = await SignInAsync(browser, host, deskA, officerA);
        await a.GetByLabel("작업").SelectOptionAsync("restore-clerk");
        await a.GetByLabel("대상(계정, 단말기, 탐지기 또는 구역/이름)").FillAsync("C0008");
        await a.GetByLabel("사유(개인정보 제외)").FillAsync("wrong clerk");
        await BrowserFixture.NavigateAsync(a, () => a.GetByRole(AriaRole.Button, new() { Name = "요청", Exact = true }).ClickAsync(), url => url.AbsolutePath.StartsWith("/console/approvals/", StringComparison.Ordinal));
        await a.Locator("#withdraw").WaitForAsync();
        var id = new Uri(a.Url).AbsolutePath["/console/approvals/".Length..];

        await a.GetByLabel("철회 사유(개인정보 제외)").FillAsync("filed for the wrong clerk");
        await a.GetByRole(AriaRole.Button, new() { Name = "요청 철회" }).ClickAsync();
        await a.WaitForSelectorAsync("#approval-result");
        Assert.Equal("철회했습니다.", await a.Locator("#approval-result").InnerTextAsync());
        Assert.Equal(("철회됨", "O9103"), (await a.Locator("#status").InnerTextAsync(), await a.Locator("#decided-by").InnerTextAsync()));
        Assert.Equal(0, await a.Locator("#withdraw").CountAsync());
        await BrowserFixture.ScreenshotAsync(a, "console-approval-withdrawn-ko");

        Assert.True(await host.Get<SuspensionRegistry>().IsSuspendedAsync(PrincipalKind.Clerk, "C0008"));
        Assert.Empty(await host.Get<PrivilegedActionRequests>().ListAsync(PrivilegedRequestStatus.Pending));
        var entry = (await host.LedgerAsync()).Last().Entry;
        Assert.Equal(
            (AccessTask.PrivilegedActionWithdrawn, AccessOutcome.Allowed, "O9103", $"request:{id};action:restore-clerk;target:C0008", "filed for the wrong clerk"),
            (entry.Task, entry.Outcome, entry.Account, entry.Target, entry.Reason));
    }
}
