using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Protection.Masking;
using Custodian.Protection.Validation;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Transparency;
using Microsoft.Playwright;

namespace Custodian.Tests.Browser;

/// <summary>
/// The clerk workstation (<c>/workstation</c>) in headless Chromium with the terminal's device certificate: the
/// whole clerk flow through the lookup guard, and a suspended clerk's refusal.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class WorkstationPagesTests(BrowserFixture browser)
{
    [Fact]
    public async Task Clerk_searches_views_with_a_purpose_unmasks_with_the_consent_code_and_completes_the_service_all_in_the_ledger_in_order()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        var terminalName = terminal.GetNameInfo(X509NameType.SimpleName, false);
        var clerk = await host.CreateStaffAsync("C9001", StaffRole.Clerk, "S001", terminal);
        var subscriber = host.Population[4];
        var masking = host.Get<MaskingPolicy>();
        var e164 = PhoneNumbers.NormalizeKorean(subscriber.Phone).Value;
        var rrn = subscriber.Rrn.Replace("-", string.Empty, StringComparison.Ordinal);
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal);

        await SignInAsync(page, host, clerk);
        Assert.Equal("/workstation", new Uri(page.Url).AbsolutePath);
        Assert.Equal("직원 업무 화면", await page.Locator("main h1").InnerTextAsync());
        Assert.Equal("900", await page.Locator("#workstation").GetAttributeAsync("data-idle-seconds"));

        // Search: a POST form (the number is not in the URL), masked summary.
        await page.GetByLabel("휴대전화 번호").FillAsync(subscriber.Phone);
        var searched = await SubmitAsync(page, "검색", "Search");
        Assert.Equal(200, searched.Status);
        Assert.DoesNotContain(e164[^4..], page.Url, StringComparison.Ordinal);
        Assert.Equal(masking.MaskName(subscriber.Name), await page.Locator("table.results td.name").InnerTextAsync());
        Assert.Equal(masking.MaskPhone(e164), await page.Locator("table.results td.phone").InnerTextAsync());
        var watermark = $"C9001 · {terminalName} · {host.Time.GetUtcNow().ToOffset(AccessHistory.KoreaOffset).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} KST";
        Assert.Equal(watermark, await page.Locator(".personal-data .watermark span").First.InnerTextAsync());

        // View with a purpose from the catalogue: every field masked.
        await page.GetByLabel("목적").SelectOptionAsync("identity-verification");
        await SubmitAsync(page, "조회", "View");
        Assert.Equal(masking.MaskName(subscriber.Name), await page.Locator("#subscriber dd.name").InnerTextAsync());
        Assert.Equal($"{rrn[..6]}-{rrn[6]}******", await page.Locator("#subscriber dd.rrn").InnerTextAsync());
        Assert.Equal(masking.MaskAddress(subscriber.Address), await page.Locator("#subscriber dd.address").InnerTextAsync());
        Assert.Equal("none", await page.Locator("#subscriber").EvaluateAsync<string>("e => getComputedStyle(e.closest('.personal-data')).userSelect"));
        await BrowserFixture.ScreenshotAsync(page, "workstation-view-ko");

        // The subscriber's consent code, from the SMS outbox, shows the RRN and phone in full.
        await SubmitAsync(page, "가입자에게 동의 코드 보내기", "Consent");
        Assert.StartsWith("가입자의 휴대전화로 동의 코드를 보냈습니다.", await page.Locator("#consent-sent").InnerTextAsync(), StringComparison.Ordinal);
        await page.GetByLabel("동의 코드").FillAsync(await GuardedLookupTests.ConsentCodeAsync(host, subscriber.Phone));
        await page.GetByLabel("전화번호").CheckAsync();
        await SubmitAsync(page, "전체 보기", "Unmask");
        Assert.Equal(ResidentRegistrationNumbers.FormatWithHyphen(rrn), await page.Locator("#unmasked dd.rrn").InnerTextAsync());
        Assert.Equal(PhoneNumbers.FormatNational(e164), await page.Locator("#unmasked dd.phone").InnerTextAsync());

        await SubmitAsync(page, "업무 완료", "Complete");
        var ledger = (await host.LedgerAsync()).Where(e => e.Entry.Account == "C9001").ToList();
        Assert.Equal(
            [AccessTask.PasswordChange, AccessTask.SignIn, AccessTask.Search, AccessTask.View, AccessTask.ConsentRequest, AccessTask.Unmask, AccessTask.ServiceComplete],
            ledger.Select(e => e.Entry.Task));
        Assert.All(ledger, e => Assert.Equal(AccessOutcome.Allowed, e.Entry.Outcome));
        Assert.All(ledger, e => Assert.Equal(terminalName, e.Entry.Terminal));
        Assert.Equal(["identity-verification", "identity-verification", "identity-verification", "identity-verification"], ledger.Skip(3).Select(e => e.Entry.Purpose));
        Assert.Equal(["rrn", "phone"], ledger[5].Entry.UnmaskedFields);
        Assert.Equal($"업무 완료가 기록되었습니다(접근 기록 {ledger[6].Sequence}번).", await page.Locator("#workstation-done").InnerTextAsync());
        Assert.Equal(0, await page.Locator(".personal-data").CountAsync());

        // Sign out at the shared counter: the session ends (the form carries its page's token), and the workstation asks
        // for a sign-in again.
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "로그아웃" }).ClickAsync(), url => url.AbsolutePath == "/staff/sign-in");
        await page.GotoAsync("/workstation");
        Assert.Equal("/staff/sign-in?returnUrl=%2Fworkstation", new Uri(page.Url).PathAndQuery);
    }

    [Fact]
    public async Task Suspended_clerk_sees_the_refusal_in_plain_language_and_the_lock_page_ends_the_session()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var terminal = await host.EnrollAsync("S001", "counter-2");
        var clerk = await host.CreateStaffAsync("C9002", StaffRole.Clerk, "S001", terminal);
        var page = await browser.NewPageAsync(host.TerminalUrl, terminal, "en-US", width: 375);
        await SignInAsync(page, host, clerk);
        Assert.True(await host.Get<SuspensionRegistry>().SuspendAsync(PrincipalKind.Clerk, "C9002", null, "test"));

        await page.GetByLabel("Mobile number").FillAsync(host.Population[1].Phone);
        var refused = await SubmitAsync(page, "Search", "Search");
        Assert.Equal(403, refused.Status);
        Assert.Equal("Your account is suspended pending a security review. Contact the security office.", await page.Locator("#workstation-error").InnerTextAsync());
        Assert.Equal(0, await page.Locator(".personal-data").CountAsync());
        var entry = (await host.LedgerAsync()).Last();
        Assert.Equal(AccessTask.Search, entry.Entry.Task);
        Assert.Equal(AccessOutcome.Denied, entry.Entry.Outcome);
        Assert.Equal(Problems.ErrorCodes.ClerkSuspended, entry.Entry.ErrorCode);
        await BrowserFixture.ScreenshotAsync(page, "workstation-suspended-en");

        // Where the idle lock sends the browser: the session is revoked, so the workstation asks for a sign-in again.
        await page.GotoAsync("/workstation/locked");
        Assert.Equal("Workstation locked", await page.Locator("main h1").InnerTextAsync());
        Assert.Equal(0, host.Get<Access.Sessions.SessionStore>().Count);
        await page.GotoAsync("/workstation");
        Assert.Equal("/staff/sign-in?returnUrl=%2Fworkstation", new Uri(page.Url).PathAndQuery);
    }

    private static async Task SignInAsync(IPage page, CustodianTestHost host, StaffCredentials staff)
    {
        var korean = await page.EvaluateAsync<string>("() => navigator.language") == "ko-KR";
        await page.GotoAsync("/workstation");
        await page.GetByLabel(korean ? "계정" : "Account").FillAsync(staff.Account);
        await page.GetByLabel(korean ? "비밀번호" : "Password", new() { Exact = true }).FillAsync(staff.Password);
        await page.GetByLabel(korean ? "인증 앱 코드" : "Authenticator code").FillAsync(staff.Code(host.Clock));
        await BrowserFixture.NavigateAsync(page, () => page.GetByLabel(korean ? "인증 앱 코드" : "Authenticator code").PressAsync("Enter"), url => url.AbsolutePath == "/workstation");
    }

    private static async Task<IResponse> SubmitAsync(IPage page, string button, string handler)
    {
        IResponse? response = null;
        await BrowserFixture.NavigateAsync(
            page,
            async () => response = await page.RunAndWaitForResponseAsync(
                () => page.GetByRole(AriaRole.Button, new() { Name = button, Exact = true }).ClickAsync(),
                r => r.Request.Method == "POST" && new Uri(r.Url).Query == "?handler=" + handler),
            url => url.Query == "?handler=" + handler);
        return response ?? throw new InvalidOperationException("No response to the form post.");
    }
}
