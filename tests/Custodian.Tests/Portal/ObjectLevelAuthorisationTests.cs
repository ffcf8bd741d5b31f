using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Portal;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;
using Custodian.Transparency;

namespace Custodian.Tests.Portal;

/// <summary>
/// The 2014 contract-number hole, closed: a signed-in subscriber A names subscriber B's entries, notices and
/// identifiers in the path, the query, the body and cookies, replays ended sessions and used codes; every attempt
/// is refused and nothing of B's changes.
/// </summary>
public sealed class ObjectLevelAuthorisationTests
{
    [Fact]
    public async Task Naming_another_subscriber_anywhere_in_a_request_is_refused()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var a = host.Population[1];
        var b = host.Population[2];
        var aId = await GuardedLookupTests.IdOf(host, a.Phone);
        var bId = await GuardedLookupTests.IdOf(host, b.Phone);
        await GuardedLookupTests.SearchAsync(clerk, a.Phone);
        await GuardedLookupTests.SearchAsync(clerk, b.Phone);
        var ledger = await host.LedgerAsync();
        var aSeq = ledger.First(e => e.Entry.Task == AccessTask.Search && e.Entry.Subjects.Contains(aId)).Sequence;
        var bSeq = ledger.First(e => e.Entry.Task == AccessTask.Search && e.Entry.Subjects.Contains(bId)).Sequence;
        await host.Get<LedgerCheckpoints>().SignLatestAsync();
        var text = new NoticeText("제목", "본문", "Title", "Body");
        var bNotice = await host.Get<SubscriberInbox>().DeliverAsync(bId, NoticeKind.Incident, text, "incident:I-9", sendSms: false);

        using var portalA = await PortalTests.SignInAsync(host, a.Phone);
        var b64 = bId.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // Path: B's entry and B's notice through A's session look exactly like missing ones.
        foreach (var path in new[] { $"/portal/api/v1/history/{bSeq}/receipt", $"/portal/api/v1/history/{bSeq}/receipt/verification", $"/portal/api/v1/history/{b64}" })
        {
            using var response = await portalA.GetAsync(path);
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, ErrorCodes.NotFound);
        }

        using (var disclose = await portalA.PostAsync($"/portal/api/v1/history/{bSeq}/disclosure-request", null))
        {
            await ProblemAssert.IsProblemAsync(disclose, HttpStatusCode.NotFound, ErrorCodes.NotFound);
        }

        using (var read = await portalA.PostAsync($"/portal/api/v1/inbox/{bNotice.Id}/read", null))
        {
            await ProblemAssert.IsProblemAsync(read, HttpStatusCode.NotFound, ErrorCodes.NotFound);
        }

        // Query: any parameter naming someone (or anything undeclared) is refused, on every endpoint.
        foreach (var path in new[]
        {
            $"/portal/api/v1/history?subscriberId={b64}", $"/portal/api/v1/history?subject={b64}", $"/portal/api/v1/history?contract={b64}",
            $"/portal/api/v1/history?phone={Uri.EscapeDataString(b.Phone)}", $"/portal/api/v1/inbox?subscriberId={b64}",
            $"/portal/api/v1/history/{aSeq}/receipt?subscriberId={b64}", $"/portal/api/v1/preferences?subscriberId={b64}",
        })
        {
            using var response = await portalA.GetAsync(path);
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.NotYourData);
        }

        // Body: a smuggled member is refused, and a body where none is taken is refused.
        using (var prefs = await portalA.PutAsJsonAsync("/portal/api/v1/preferences", new { usageNoticeSms = false, subscriberId = bId.Value }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, prefs.StatusCode);
        }

        using (var disclose = await portalA.PostAsJsonAsync($"/portal/api/v1/history/{aSeq}/disclosure-request", new { subscriberId = bId.Value, sequence = bSeq }))
        {
            var problem = await ProblemAssert.IsProblemAsync(disclose, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal("This portal request takes no body.", problem.GetProperty("detail").GetString());
        }

        using (var empty = await portalA.PostAsync($"/portal/api/v1/history/{aSeq}/disclosure-request", new StringContent("{}", System.Text.Encoding.UTF8, "application/json")))
        {
            var problem = await ProblemAssert.IsProblemAsync(empty, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal("This portal request takes no body.", problem.GetProperty("detail").GetString());
        }

        using (var history = await portalA.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/portal/api/v1/history") { Content = JsonContent.Create(new { subscriberId = bId.Value }) }))
        {
            await ProblemAssert.IsProblemAsync(history, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        }

        using (var verify = await host.PortalClient().PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone = a.Phone, code = "123456", subscriberId = bId.Value }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, verify.StatusCode);
        }

        // Cookies: an identifier-like cookie is refused on the API.
        foreach (var cookie in new[] { $"subscriberId={b64}", $"contract_no={b64}", $"customer={b64}", $"userId={b64}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/portal/api/v1/history");
            request.Headers.Add("Cookie", cookie);
            using var response = await portalA.SendAsync(request);
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.NotYourData);
        }

        // The portal pages refuse the same way, with the same stable code.
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/portal/history?subscriberId={b64}"))
        {
            request.Headers.Add("Cookie", $"{Custodian.Pages.Portal.PortalPageModel.CookieName}={portalA.DefaultRequestHeaders.Authorization!.Parameter}");
            using var response = await portalA.SendAsync(request);
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.NotYourData);
        }

        // A form posted without its anti-forgery token: a stable code, not internal-error.
        using (var forged = await portalA.PostAsync("/portal/sign-in?handler=Send", new FormUrlEncodedContent([new("phone", b.Phone)])))
        {
            await ProblemAssert.IsProblemAsync(forged, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        }

        // Nothing of B's changed; B's own session still sees B's data.
        Assert.True(await host.Get<NoticePreferences>().UsageNoticeSmsAsync(bId));
        Assert.Equal(1, await host.Get<SubscriberInbox>().CountUnreadAsync(bId));
        Assert.Empty(await host.Get<DisclosureRequests>().ListAsync(null));
        using var portalB = await PortalTests.SignInAsync(host, b.Phone);
        var bHistory = (await portalB.GetFromJsonAsync<HistoryPage>("/portal/api/v1/history"))!;
        Assert.Equal([bSeq], bHistory.Items.Select(i => i.Sequence));
        var aHistory = (await portalA.GetFromJsonAsync<HistoryPage>("/portal/api/v1/history"))!;
        Assert.Equal([aSeq], aHistory.Items.Select(i => i.Sequence));
    }

    [Fact]
    public async Task Ended_sessions_used_codes_and_other_numbers_codes_are_refused()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20);
        var a = host.Population[3];
        var b = host.Population[4];
        using var portal = await PortalTests.SignInAsync(host, a.Phone);
        var token = portal.DefaultRequestHeaders.Authorization!.Parameter!;

        // Sign-out ends the token everywhere.
        using (var signOut = await portal.DeleteAsync("/portal/api/v1/session"))
        {
            Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
        }

        using (var replay = await portal.GetAsync("/portal/api/v1/history"))
        {
            await ProblemAssert.IsProblemAsync(replay, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        }

        // A forged token, and a token in the wrong place (a query parameter), are refused.
        using var forged = host.PortalClient();
        forged.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Convert.ToBase64String(Encoding.ASCII.GetBytes("forged-token-0000000000000000000")));
        using (var response = await forged.GetAsync("/portal/api/v1/inbox"))
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        }

        using (var response = await host.PortalClient().GetAsync($"/portal/api/v1/history?token={token}"))
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        }

        // Idle and absolute lifetimes.
        using var idle = await PortalTests.SignInAsync(host, a.Phone, codesBefore: 1);
        host.Time.Advance(TimeSpan.FromMinutes(16));
        using (var response = await idle.GetAsync("/portal/api/v1/history"))
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        }

        using var busy = await PortalTests.SignInAsync(host, a.Phone, codesBefore: 2);
        for (var i = 0; i < 4; i++)
        {
            host.Time.Advance(TimeSpan.FromMinutes(14));
            using var keepAlive = await busy.GetAsync("/portal/api/v1/inbox");
            Assert.Equal(HttpStatusCode.OK, keepAlive.StatusCode);
        }

        host.Time.Advance(TimeSpan.FromMinutes(5)); // 61 minutes after sign-in, never idle for 15

        using (var response = await busy.GetAsync("/portal/api/v1/inbox"))
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        }

        // A's code does not open B's account, and a used code does not work twice.
        using var client = host.PortalClient();
        host.Time.Advance(TimeSpan.FromSeconds(1));
        using (await client.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = a.Phone }))
        {
        }

        var aCode = await PortalTests.PortalCodeAsync(host, a.Phone, 4);
        using (var cross = await client.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone = b.Phone, code = aCode }))
        {
            await ProblemAssert.IsProblemAsync(cross, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        }

        using (var ok = await client.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone = a.Phone, code = aCode }))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var again = await client.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone = a.Phone, code = aCode }))
        {
            await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        }

        // A portal token opens nothing on the terminal listener.
        using var terminalClient = host.TerminalClient(null);
        terminalClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var response = await terminalClient.GetAsync("/api/v1/privacy/disclosure-requests"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
    }
}
