using System.Net.Http.Json;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Portal;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;
using Microsoft.Playwright;

namespace Custodian.Tests.Browser;

/// <summary>
/// The subscriber portal's pages in headless Chromium at phone width: sign-in with the SMS code, the access
/// history with masked and unmasked items, a disclosure request, the receipt's plain-words verification and its
/// download, the inbox; keyboard only where a subscriber would type; Korean and English; screenshots of each page.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PortalPagesTests(BrowserFixture browser)
{
    private const int PhoneWidth = 375;

    [Fact]
    public async Task Sign_in_page_speaks_both_languages_and_a_wrong_code_is_explained()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var phone = host.Population[1].Phone;
        var page = await browser.NewPageAsync(host.PortalUrl, width: PhoneWidth);

        await page.GotoAsync("/portal/history");
        Assert.Equal("/portal/sign-in", new Uri(page.Url).AbsolutePath);
        Assert.Equal("내 정보 이용내역 보기 로그인", await page.Locator("main h1").InnerTextAsync());
        await AssertFitsPhoneAsync(page);
        await BrowserFixture.ScreenshotAsync(page, "portal-sign-in-ko");

        await Assertions.Expect(page.Locator("#phone")).ToBeFocusedAsync(); // the phone field has focus on arrival
        await page.Keyboard.TypeAsync(phone);
        await page.Keyboard.PressAsync("Enter");
        await page.GetByLabel("문자로 받은 인증번호").WaitForAsync();
        await Assertions.Expect(page.Locator("#code")).ToBeFocusedAsync(); // autofocus lands after load: type only once it has
        Assert.Equal("가입자의 번호라면 인증번호를 보냈습니다. 5분 동안 유효합니다.", await page.Locator("p[role=status]").InnerTextAsync());
        var code = await PortalTests.PortalCodeAsync(host, phone);
        await page.Keyboard.TypeAsync(code == "000000" ? "111111" : "000000");
        await page.Keyboard.PressAsync("Enter");
        await page.Locator("#sign-in-error").WaitForAsync();
        Assert.Equal("인증번호가 틀렸거나 만료되었습니다. 필요하면 새 인증번호를 받으세요.", await page.Locator("#sign-in-error").InnerTextAsync());
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "__Host-custodian-portal");

        await page.GotoAsync("/portal/sign-in?lang=en");
        Assert.Equal("Sign in to see how your data was used", await page.Locator("main h1").InnerTextAsync());
        Assert.Equal("Mobile number", await page.Locator("label[for=phone]").InnerTextAsync());
        await BrowserFixture.ScreenshotAsync(page, "portal-sign-in-en");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Subscriber_signs_in_reads_history_asks_who_checks_a_receipt_and_reads_notices_in_korean_and_english()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[2];
        var subject = await GuardedLookupTests.IdOf(host, subscriber.Phone);
        var handle = await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
        using (await clerk.GetAsync($"/api/v1/subscribers/{handle}?purpose=device-repair"))
        {
        }

        using (await clerk.PostAsJsonAsync($"/api/v1/subscribers/{handle}/consent", new { purpose = "identity-verification" }))
        {
        }

        using (var unmask = await clerk.PostAsJsonAsync($"/api/v1/subscribers/{handle}/unmask", new { purpose = "identity-verification", consentCode = await GuardedLookupTests.ConsentCodeAsync(host, subscriber.Phone) }))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, unmask.StatusCode);
        }

        var unmaskSeq = (await host.LedgerAsync()).Single(e => e.Entry.Task == AccessTask.Unmask).Sequence;
        await host.Get<LedgerCheckpoints>().SignLatestAsync();
        await host.Get<SubscriberInbox>().DeliverAsync(subject, NoticeKind.Incident, new NoticeText("개인정보 유출 안내", "S001 매장에서 회원님의 이름이 유출되었습니다.", "Notice of a data breach", "Your name was exposed at store S001."), "incident:I-1");

        var page = await browser.NewPageAsync(host.PortalUrl, width: PhoneWidth);
        await page.GotoAsync("/portal/sign-in");
        await Assertions.Expect(page.Locator("#phone")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync(subscriber.Phone);
        await page.Keyboard.PressAsync("Enter");
        await page.GetByLabel("문자로 받은 인증번호").WaitForAsync();
        await Assertions.Expect(page.Locator("#code")).ToBeFocusedAsync(); // autofocus lands after load: type only once it has
        await page.Keyboard.TypeAsync(await PortalTests.PortalCodeAsync(host, subscriber.Phone));
        await BrowserFixture.NavigateAsync(page, () => page.Keyboard.PressAsync("Enter"), url => url.AbsolutePath == "/portal/history");

        var session = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "__Host-custodian-portal");
        Assert.True(session.HttpOnly);
        Assert.True(session.Secure);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);

        // History, newest first: the unmask shows the RRN in full; the clerk is never named.
        Assert.Equal("내 이용내역", await page.Locator("main h1").InnerTextAsync());
        var rows = page.Locator("table.history tbody tr");
        Assert.Equal(4, await rows.CountAsync());
        var first = rows.Nth(0);
        Assert.Contains("전체 보기", await first.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("대면 본인 확인", await first.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("매장 직원", await first.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("주민등록번호 전체", (await first.Locator("li.unmasked").InnerTextAsync()).Trim());
        Assert.Contains("주소 가림", await rows.Nth(2).InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("C0001", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        await AssertFitsPhoneAsync(page);
        await BrowserFixture.ScreenshotAsync(page, "portal-history-ko");

        // Keyboard: tab from the top of the page to the first receipt link and open it with Enter.
        await page.Locator("body").FocusAsync();
        for (var i = 0; i < 40 && await page.EvaluateAsync<string>("document.activeElement?.textContent?.trim() ?? ''") != "영수증"; i++)
        {
            await page.Keyboard.PressAsync("Tab");
        }

        await BrowserFixture.NavigateAsync(page, () => page.Keyboard.PressAsync("Enter"), url => url.AbsolutePath == $"/portal/receipt/{unmaskSeq}");
        Assert.StartsWith($"확인됨: 이 기록은 원장의 {unmaskSeq}번 항목이며", await page.Locator("#verdict").InnerTextAsync(), StringComparison.Ordinal);
        await AssertFitsPhoneAsync(page);
        await BrowserFixture.ScreenshotAsync(page, "portal-receipt-ko");
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#download").ClickAsync());
        Assert.Equal($"custodian-receipt-{unmaskSeq}.json", download.SuggestedFilename);
        var receipt = LedgerReceipt.Parse(await File.ReadAllTextAsync((await download.PathAsync())!));
        Assert.True(receipt.IsSuccess);
        Assert.True(receipt.Value.Verify(host.Get<LedgerCheckpoints>().LogKey, [], 0).IsSuccess);

        // Ask who made the unmask.
        await page.GotoAsync("/portal/history");
        await BrowserFixture.NavigateAsync(page, () => rows.Nth(0).GetByRole(AriaRole.Button, new() { Name = "처리자 공개 요청" }).ClickAsync(), url => url.PathAndQuery == $"/portal/history?requested={unmaskSeq}");
        Assert.Equal("요청을 개인정보보호책임자에게 보냈습니다. 답변은 알림함으로 옵니다.", await page.Locator("#status").InnerTextAsync());
        Assert.Contains("요청함: 개인정보보호책임자의 답변 대기 중", await page.Locator("table.history tbody tr").Nth(0).InnerTextAsync(), StringComparison.Ordinal);
        var request = Assert.Single(await host.Get<DisclosureRequests>().ListAsync(DisclosureState.Open));
        Assert.Equal(unmaskSeq, request.EntrySequence);
        Assert.Equal(subject, request.Subject);

        // Notices.
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Link, new() { Name = "알림함" }).ClickAsync(), url => url.AbsolutePath == "/portal/inbox");
        Assert.Contains("개인정보 유출 안내", await page.Locator("article.notice h2").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("새 알림", await page.Locator("article.notice h2").InnerTextAsync(), StringComparison.Ordinal);
        await AssertFitsPhoneAsync(page);
        await BrowserFixture.ScreenshotAsync(page, "portal-inbox-ko");
        await page.GetByRole(AriaRole.Button, new() { Name = "읽음으로 표시" }).ClickAsync();
        await page.Locator("article.notice.read").WaitForAsync();
        Assert.Equal(0, await host.Get<SubscriberInbox>().CountUnreadAsync(subject));

        // English.
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Link, new() { Name = "English" }).ClickAsync(), url => url.PathAndQuery == "/portal/inbox?lang=en");
        Assert.Equal("Notices", await page.Locator("main h1").InnerTextAsync());
        Assert.Contains("Notice of a data breach", await page.Locator("article.notice h2").InnerTextAsync(), StringComparison.Ordinal);
        await BrowserFixture.ScreenshotAsync(page, "portal-inbox-en");
        await page.GotoAsync("/portal/history");
        Assert.Equal("My access history", await page.Locator("main h1").InnerTextAsync());
        Assert.Contains("Viewed in full", await rows.Nth(0).InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Asked: waiting for the privacy office", await rows.Nth(0).InnerTextAsync(), StringComparison.Ordinal);
        await BrowserFixture.ScreenshotAsync(page, "portal-history-en");
        await page.GotoAsync($"/portal/receipt/{unmaskSeq}");
        Assert.StartsWith($"Verified: this record is entry {unmaskSeq} of the ledger", await page.Locator("#verdict").InnerTextAsync(), StringComparison.Ordinal);
        await BrowserFixture.ScreenshotAsync(page, "portal-receipt-en");

        // Sign out: the cookie's session is gone; the history page sends the browser back to sign-in.
        await BrowserFixture.NavigateAsync(page, () => page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync(), url => url.AbsolutePath == "/portal/sign-in");
        Assert.False(host.Get<Custodian.Transparency.PortalSignIn>().Validate(session.Value).IsSuccess);
        await page.GotoAsync("/portal/history");
        Assert.Equal("/portal/sign-in", new Uri(page.Url).AbsolutePath);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_planted_session_cookie_is_never_upgraded_to_the_victims_session()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var attacker = host.Population[5];
        var victim = host.Population[6];
        var victimId = await GuardedLookupTests.IdOf(host, victim.Phone);
        using var attackerApi = await PortalTests.SignInAsync(host, attacker.Phone);
        var planted = attackerApi.DefaultRequestHeaders.Authorization!.Parameter!;

        var page = await browser.NewPageAsync(host.PortalUrl, width: PhoneWidth);
        await page.Context.AddCookiesAsync([new Cookie { Name = "__Host-custodian-portal", Value = planted, Url = host.PortalUrl.ToString(), Secure = true, HttpOnly = true, SameSite = SameSiteAttribute.Strict }]);
        await page.GotoAsync("/portal/sign-in");
        await Assertions.Expect(page.Locator("#phone")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync(victim.Phone);
        await page.Keyboard.PressAsync("Enter");
        await page.GetByLabel("문자로 받은 인증번호").WaitForAsync();
        await Assertions.Expect(page.Locator("#code")).ToBeFocusedAsync(); // autofocus lands after load: type only once it has
        await page.Keyboard.TypeAsync(await PortalTests.PortalCodeAsync(host, victim.Phone));
        await BrowserFixture.NavigateAsync(page, () => page.Keyboard.PressAsync("Enter"), url => url.AbsolutePath == "/portal/history");

        var cookie = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "__Host-custodian-portal");
        Assert.NotEqual(planted, cookie.Value);
        var signIn = host.Get<Custodian.Transparency.PortalSignIn>();
        Assert.Equal(victimId, signIn.Validate(cookie.Value).Value.Subject);
        Assert.NotEqual(victimId, signIn.Validate(planted).Value.Subject); // the planted token stays the attacker's own
        await page.Context.CloseAsync();
    }

    private static async Task AssertFitsPhoneAsync(IPage page) =>
        Assert.True(await page.EvaluateAsync<int>("document.documentElement.scrollWidth") <= PhoneWidth, "the page scrolls sideways at 375 px");
}
