using System.Net;
using System.Net.Http.Json;
using Custodian.Messaging;
using Custodian.Portal;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;

namespace Custodian.Tests.Portal;

public sealed class SubscriberInboxTests
{
    private static readonly NoticeText Text = new("개인정보 유출 안내", "S001 매장에서 2026-11-30에 이름, 전화번호가 조회되었습니다.", "Notice of a data breach", "Your name and phone number were read at store S001 on 2026-11-30.");

    [Fact]
    public async Task Delivery_is_idempotent_per_reference_sends_one_sms_and_is_listed_to_the_subscriber_only()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20);
        var a = host.Population[2];
        var b = host.Population[3];
        var aId = await GuardedLookupTests.IdOf(host, a.Phone);
        var bId = await GuardedLookupTests.IdOf(host, b.Phone);
        var inbox = host.Get<SubscriberInbox>();

        var first = await inbox.DeliverAsync(aId, NoticeKind.Incident, Text, "incident:I-42");
        host.Time.Advance(TimeSpan.FromSeconds(5));
        var repeat = await inbox.DeliverAsync(aId, NoticeKind.Incident, Text, "incident:I-42");
        var other = await inbox.DeliverAsync(bId, NoticeKind.Incident, Text, "incident:I-42", sendSms: false);

        Assert.True(first.Created);
        Assert.Matches("^N-[0-9a-f]{32}$", first.Id);
        Assert.Equal(new InboxDelivery(first.Id, false), repeat);
        Assert.True(other.Created);
        var sms = Assert.Single(await ((OutboxSmsSender)host.Get<ISmsSender>()).ReadAsync(aId, SmsKind.Notice, 10));
        Assert.Equal("[Custodian] 새 알림: 개인정보 유출 안내 — 개인정보 이용내역 포털의 알림함에서 확인하세요.", sms.Body);
        Assert.Empty(await ((OutboxSmsSender)host.Get<ISmsSender>()).ReadAsync(bId, SmsKind.Notice, 10));

        using var portal = await PortalTests.SignInAsync(host, a.Phone);
        var page = (await portal.GetFromJsonAsync<InboxPage>("/portal/api/v1/inbox"))!;
        Assert.Equal(1, page.Unread);
        var item = Assert.Single(page.Items);
        Assert.Equal(new InboxItem(first.Id, "incident", Text.TitleKo, Text.BodyKo, Text.TitleEn, Text.BodyEn, CustodianTestHost.Start, false), item);

        using var otherRead = await portal.PostAsync($"/portal/api/v1/inbox/{other.Id}/read", null);
        using var read = await portal.PostAsync($"/portal/api/v1/inbox/{first.Id}/read", null);
        await ProblemAssert.IsProblemAsync(otherRead, HttpStatusCode.NotFound, ErrorCodes.NotFound);
        Assert.Equal(HttpStatusCode.NoContent, read.StatusCode);
        Assert.Equal(0, (await portal.GetFromJsonAsync<InboxPage>("/portal/api/v1/inbox"))!.Unread);
        Assert.Equal(1, await inbox.CountUnreadAsync(bId));
    }

    [Theory]
    [InlineData("", "body", "title", "body", "TitleKo")]
    [InlineData("title\n", "body", "title", "body", "TitleKo")]
    [InlineData("title", "body\u0007", "title", "body", "BodyKo")]
    [InlineData("title", "body", "title", " ", "BodyEn")]
    public async Task Invalid_text_is_refused_naming_the_member(string titleKo, string bodyKo, string titleEn, string bodyEn, string member)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var id = await GuardedLookupTests.IdOf(host, host.Population[0].Phone);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => host.Get<SubscriberInbox>().DeliverAsync(id, NoticeKind.Incident, new NoticeText(titleKo, bodyKo, titleEn, bodyEn), null));
        Assert.Equal(member, ex.ParamName);
        await Assert.ThrowsAsync<ArgumentException>(() => host.Get<SubscriberInbox>().DeliverAsync(id, NoticeKind.Incident, Text, "has space"));
        Assert.Equal(0, await host.Get<SubscriberInbox>().CountUnreadAsync(id));
    }
}
