using System.Net;
using Custodian.Portal;
using Custodian.Tests.Gateway;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;

namespace Custodian.Tests.Portal;

/// <summary>
/// The inbox page's two forms over the real HTTP pipeline (TLS, antiforgery, SQLite), found by an evaluation: a
/// preference that is not a boolean was saved as "off" without a word, and marking a notice that is not the subscriber's
/// read redirected as if it had worked. Both are now refused on the page (400 / 404) and change nothing.
/// </summary>
public sealed class InboxPageTests
{
    private const string PreferenceRefused = "<p class=\"error\" role=\"alert\" id=\"error\">The setting was not saved: the SMS choice must be on or off. Use the form below.</p>";
    private const string NoticeNotFound = "<p class=\"error\" role=\"alert\" id=\"error\">That notice is not in your inbox.</p>";

    [Fact]
    public async Task A_preference_that_is_not_a_boolean_is_refused_with_400_and_the_stored_preference_is_unchanged()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var a = host.Population[3];
        var aId = await GuardedLookupTests.IdOf(host, a.Phone);
        var preferences = host.Get<NoticePreferences>();
        using var portal = await PageClientAsync(host, a.Phone);
        var token = await ConsoleFormRefusalTests.TokenAsync(portal, "/portal/inbox?lang=en");
        Assert.True(await preferences.UsageNoticeSmsAsync(aId)); // on unless turned off

        (string, string)[][] refusedForms =
        [
            [("usageNoticeSms", "maybe")],
            [("usageNoticeSms", "")],
            [("usageNoticeSms", "1")],
            [],
            [("usageNoticeSms", "maybe"), ("usageNoticeSms", "false")],
            [("usageNoticeSms", "false"), ("usageNoticeSms", "maybe")], // the binder reads only the first value
        ];
        foreach (var fields in refusedForms)
        {
            using var refused = await portal.PostAsync("/portal/inbox?handler=Preferences&lang=en", ConsoleFormRefusalTests.Form(token, fields));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("/portal/inbox", refused.RequestMessage!.RequestUri!.AbsolutePath); // answered, not redirected
            Assert.Contains(PreferenceRefused, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.True(await preferences.UsageNoticeSmsAsync(aId));
        }

        // The page's own form: the hidden "false" alone turns the SMS copy off; the checkbox's "true" before it turns it on.
        using (var off = await portal.PostAsync("/portal/inbox?handler=Preferences&lang=en", ConsoleFormRefusalTests.Form(token, ("usageNoticeSms", "false"))))
        {
            Assert.Equal((HttpStatusCode.OK, "/portal/inbox"), (off.StatusCode, off.RequestMessage!.RequestUri!.AbsolutePath));
            Assert.DoesNotContain("id=\"error\"", await off.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.False(await preferences.UsageNoticeSmsAsync(aId));
        using (var on = await portal.PostAsync("/portal/inbox?handler=Preferences&lang=en", ConsoleFormRefusalTests.Form(token, ("usageNoticeSms", "true"), ("usageNoticeSms", "false"))))
        {
            Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        }

        Assert.True(await preferences.UsageNoticeSmsAsync(aId));
    }

    [Fact]
    public async Task Marking_another_subscribers_or_an_unknown_notice_read_is_404_and_changes_nothing()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var a = host.Population[3];
        var b = host.Population[4];
        var aId = await GuardedLookupTests.IdOf(host, a.Phone);
        var bId = await GuardedLookupTests.IdOf(host, b.Phone);
        var inbox = host.Get<SubscriberInbox>();
        var text = new NoticeText("제목", "본문", "Title", "Body");
        var aNotice = await inbox.DeliverAsync(aId, NoticeKind.Incident, text, "incident:I-3", sendSms: false);
        var bNotice = await inbox.DeliverAsync(bId, NoticeKind.Incident, text, "incident:I-3", sendSms: false);
        using var portal = await PageClientAsync(host, a.Phone);
        var token = await ConsoleFormRefusalTests.TokenAsync(portal, "/portal/inbox?lang=en");

        foreach (var fields in new (string, string)[][] { [("id", bNotice.Id)], [("id", "N-" + new string('0', 32))], [("id", "")], [] })
        {
            using var refused = await portal.PostAsync("/portal/inbox?handler=Read&lang=en", ConsoleFormRefusalTests.Form(token, fields));
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.Equal("/portal/inbox", refused.RequestMessage!.RequestUri!.AbsolutePath);
            Assert.Contains(NoticeNotFound, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal((1, 1), (await inbox.CountUnreadAsync(aId), await inbox.CountUnreadAsync(bId))); // B's notice is still unread

        // A's own notice: marked read, then the inbox again (post/redirect/get).
        using (var read = await portal.PostAsync("/portal/inbox?handler=Read&lang=en", ConsoleFormRefusalTests.Form(token, ("id", aNotice.Id))))
        {
            Assert.Equal((HttpStatusCode.OK, "/portal/inbox"), (read.StatusCode, read.RequestMessage!.RequestUri!.AbsolutePath));
            Assert.DoesNotContain("id=\"error\"", await read.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal((0, 1), (await inbox.CountUnreadAsync(aId), await inbox.CountUnreadAsync(bId)));
    }

    /// <summary>A subscriber signed in through the portal API, carrying the pages' session cookie (the same token).</summary>
    private static async Task<HttpClient> PageClientAsync(CustodianTestHost host, string phone)
    {
        var portal = await PortalTests.SignInAsync(host, phone);
        portal.DefaultRequestHeaders.Add("Cookie", $"{Custodian.Pages.Portal.PortalPageModel.CookieName}={portal.DefaultRequestHeaders.Authorization!.Parameter}");
        return portal;
    }
}
