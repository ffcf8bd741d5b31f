using System.Net;
using System.Net.Http.Json;
using Custodian.Portal;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;
using Custodian.Web;

namespace Custodian.Tests.Portal;

/// <summary>
/// The portal inbox page renders breach notices (Markdown, kind <c>incident</c>) as HTML, over the real HTTP pipeline, and
/// nothing in a notice becomes active content: raw HTML is escaped, <c>javascript:</c> and other non-web links lose their
/// address, images become their text, the Content-Security-Policy still holds. The JSON API keeps the Markdown as data.
/// </summary>
public sealed class InboxMarkdownTests
{
    private const string SafeBody =
        "# Notice of a personal data breach (I-7)\n\n" +
        "## What happened\n\n" +
        "1. **Items leaked**: name, phone number.\n" +
        "2. **Where to get help**: [KISA](https://privacy.kisa.or.kr/main.do), [us](/portal/history).\n";

    private const string HostileBody =
        "**Bold** <script>alert(1)</script>\n\n" +
        "<img src=x onerror=alert(2)>\n\n" +
        "[x](javascript:alert(1)) [y](JavaScript:alert(3)) [z](data:text/html,hi) [w](//evil.example/) <javascript:alert(4)> ![pic](https://evil.example/t.png)\n";

    [Fact]
    public async Task Incident_notices_render_as_html_and_carry_no_active_content()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20);
        var a = host.Population[5];
        var aId = await GuardedLookupTests.IdOf(host, a.Phone);
        var inbox = host.Get<SubscriberInbox>();
        await inbox.DeliverAsync(aId, NoticeKind.Incident, new NoticeText("유출 통지 I-7", SafeBody, "Breach notice I-7", SafeBody), "incident:I-7", sendSms: false);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await inbox.DeliverAsync(aId, NoticeKind.Incident, new NoticeText("유출 통지 I-8", HostileBody, "Breach notice I-8", HostileBody), "incident:I-8", sendSms: false);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await inbox.DeliverAsync(aId, NoticeKind.FlaggedAccess, new NoticeText("조회 알림", "**plain** <b>text</b>", "Access notice", "**plain** <b>text</b>"), "alert:A-1", sendSms: false);

        using var portal = await PortalTests.SignInAsync(host, a.Phone);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/portal/inbox?lang=en");
        request.Headers.Add("Cookie", $"{Custodian.Pages.Portal.PortalPageModel.CookieName}={portal.DefaultRequestHeaders.Authorization!.Parameter}");
        using var response = await portal.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WebFoundation.ContentSecurityPolicy, Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        var html = await response.Content.ReadAsStringAsync();

        // Headings (two levels down, below the page's h1 and the notice's h2 title), bold, lists and web links are HTML.
        Assert.Contains(
            "<div class=\"notice-body\"><h3>Notice of a personal data breach (I-7)</h3>\n" +
            "<h4>What happened</h4>\n" +
            "<ol>\n" +
            "<li><strong>Items leaked</strong>: name, phone number.</li>\n" +
            "<li><strong>Where to get help</strong>: <a href=\"https://privacy.kisa.or.kr/main.do\">KISA</a>, <a href=\"/portal/history\">us</a>.</li>\n" +
            "</ol>\n</div>",
            html,
            StringComparison.Ordinal);
        Assert.DoesNotContain("## What happened", html, StringComparison.Ordinal);
        Assert.DoesNotContain("**Items leaked**", html, StringComparison.Ordinal);

        // Raw HTML is text; links to anything but the web keep their words and lose their address; images are their words.
        var start = html.IndexOf("<div class=\"notice-body\"><p><strong>Bold", StringComparison.Ordinal);
        Assert.True(start >= 0);
        Assert.Equal(
            "<div class=\"notice-body\"><p><strong>Bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n" +
            "<p>&lt;img src=x onerror=alert(2)&gt;</p>\n" +
            "<p>x y z w javascript:alert(4) pic</p>\n</div>",
            html[start..(html.IndexOf("</div>", start, StringComparison.Ordinal) + "</div>".Length)]);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("href=\"javascript", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("href=\"data", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("evil.example", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);

        // Other notice kinds are plain text, as before: nothing in them is read as Markdown or HTML.
        Assert.Contains("<p>**plain** &lt;b&gt;text&lt;/b&gt;</p>", html, StringComparison.Ordinal);

        // The JSON API returns the notice as stored: Markdown is data there.
        var page = (await portal.GetFromJsonAsync<InboxPage>("/portal/api/v1/inbox"))!;
        Assert.Equal([HostileBody, SafeBody], page.Items.Where(i => i.Kind == "incident").Select(i => i.BodyEn));
    }

    [Theory]
    [InlineData("https://privacy.kisa.or.kr", true)]
    [InlineData("http://example.com/a", true)]
    [InlineData("mailto:privacy@example.com", true)]
    [InlineData("/portal/claims", true)]
    [InlineData("/", true)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("JAVASCRIPT:alert(1)", false)]
    [InlineData("java\tscript:alert(1)", false)]
    [InlineData("vbscript:x", false)]
    [InlineData("data:text/html,x", false)]
    [InlineData("file:///etc/passwd", false)]
    [InlineData("//evil.example/", false)]
    [InlineData("/\\evil.example/", false)]
    [InlineData("portal/claims", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Only_web_mail_and_same_site_addresses_stay_links(string? url, bool safe) =>
        Assert.Equal(safe, NoticeMarkdown.IsSafeUrl(url));
}
