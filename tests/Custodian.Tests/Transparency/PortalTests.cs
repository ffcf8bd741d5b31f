using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Messaging;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Transparency;

namespace Custodian.Tests.Transparency;

public sealed class PortalTests
{
    [Fact]
    public async Task Subscriber_sees_store_role_purpose_and_fields_but_not_the_clerk()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[4];
        var handle = await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
        using (await clerk.GetAsync($"/api/v1/subscribers/{handle}?purpose=device-repair"))
        {
        }

        using var portal = await SignInAsync(host, subscriber.Phone);
        using var response = await portal.GetAsync("/portal/api/v1/history");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var raw = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("C0001", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("t-C0001", raw, StringComparison.Ordinal);
        var page = JsonSerializer.Deserialize<HistoryPage>(raw, JsonSerializerOptions.Web)!;
        Assert.Equal(["view", "search"], page.Items.Select(i => i.Task));
        var view = page.Items[0];
        Assert.Equal("S001", view.Store);
        Assert.Equal("clerk", view.Role);
        Assert.Equal("device-repair", view.Purpose);
        Assert.Equal("Device repair or replacement", view.PurposeDescription);
        Assert.Equal(["name", "rrn", "phone", "address", "rate-plan", "contract-dates"], view.Fields);
        Assert.Empty(view.UnmaskedFields);
        Assert.Equal("allowed", view.Outcome);
        Assert.Null(page.NextBefore);
    }

    [Fact]
    public async Task Subscriber_A_can_never_read_B_history()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var a = host.Population[10];
        var b = host.Population[11];
        await GuardedLookupTests.SearchAsync(clerk, b.Phone);
        var bId = await GuardedLookupTests.IdOf(host, b.Phone);
        using var portal = await SignInAsync(host, a.Phone);

        using var own = await portal.GetAsync("/portal/api/v1/history");
        using var query = await portal.GetAsync($"/portal/api/v1/history?subscriberId={bId}");
        using var query2 = await portal.GetAsync($"/portal/api/v1/history?phone={Uri.EscapeDataString(b.Phone)}");
        using var path = await portal.GetAsync($"/portal/api/v1/history/{bId}");
        using var body = await portal.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/portal/api/v1/history") { Content = JsonContent.Create(new { subscriberId = bId.Value }) });
        using var badLimit = await portal.GetAsync("/portal/api/v1/history?limit=abc");
        using var anonymous = host.PortalClient();
        using var noSession = await anonymous.GetAsync("/portal/api/v1/history");

        Assert.Empty((await own.Content.ReadFromJsonAsync<HistoryPage>())!.Items);
        await ProblemAssert.IsProblemAsync(query, HttpStatusCode.BadRequest, ErrorCodes.NotYourData);
        await ProblemAssert.IsProblemAsync(query2, HttpStatusCode.BadRequest, ErrorCodes.NotYourData);
        await ProblemAssert.IsProblemAsync(path, HttpStatusCode.NotFound, ErrorCodes.NotFound);
        await ProblemAssert.IsProblemAsync(body, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed); // any body on a bodyless route, before it is read
        await ProblemAssert.IsProblemAsync(noSession, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        var badLimitBody = await ProblemAssert.IsProblemAsync(badLimit, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        Assert.Contains("'limit'", badLimitBody.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Code_request_answers_the_same_for_subscribers_and_strangers_and_is_rate_limited()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20);
        using var portal = host.PortalClient();

        using var member = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = host.Population[0].Phone });
        using var stranger = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = "010-0000-0002" });
        using var invalid = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = "02-123" });

        Assert.Equal(HttpStatusCode.Accepted, member.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, stranger.StatusCode);
        Assert.Equal(await member.Content.ReadAsStringAsync(), await stranger.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblemAsync(invalid, HttpStatusCode.BadRequest, ErrorCodes.PhoneInvalid);

        for (var i = 1; i < PortalSignIn.CodesPerNumberAndAddressPerHour; i++)
        {
            using var again = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = "010-0000-0002" });
            Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        }

        using var limited = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = "010-0000-0002" });
        await ProblemAssert.IsProblemAsync(limited, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
        Assert.Equal(TimeSpan.FromHours(1), limited.Headers.RetryAfter?.Delta);
        host.Time.Advance(TimeSpan.FromHours(1));
        using var later = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = "010-0000-0002" });
        Assert.Equal(HttpStatusCode.Accepted, later.StatusCode);
    }

    [Fact]
    public async Task Wrong_or_expired_code_does_not_sign_in()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20);
        using var portal = host.PortalClient();
        var phone = host.Population[1].Phone;
        using (await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var code = await PortalCodeAsync(host, phone);
        using var wrong = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = code == "123456" ? "654321" : "123456" });
        host.Time.Advance(TimeSpan.FromMinutes(6));
        using var expired = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code });

        await ProblemAssert.IsProblemAsync(wrong, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        await ProblemAssert.IsProblemAsync(expired, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
    }

    internal static async Task<HttpClient> SignInAsync(CustodianTestHost host, string phone, int codesBefore = 0)
    {
        var portal = host.PortalClient();
        if (host.Clock is Microsoft.Extensions.Time.Testing.FakeTimeProvider fake)
        {
            fake.Advance(TimeSpan.FromSeconds(1)); // the outbox orders by time: keep this code the newest
        }

        using var request = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone });
        Assert.Equal(HttpStatusCode.Accepted, request.StatusCode);
        using var verify = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = await PortalCodeAsync(host, phone, codesBefore + 1) });
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        var token = (await verify.Content.ReadFromJsonAsync<PortalToken>())!.Token;
        portal.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return portal;
    }

    /// <summary>
    /// The newest portal code sent to <paramref name="phone"/>, waiting (real time, at most 10 s) until at least
    /// <paramref name="count"/> codes were sent: the SMS is written off the request path by the code dispatcher.
    /// </summary>
    internal static async Task<string> PortalCodeAsync(CustodianTestHost host, string phone, int count = 1)
    {
        var id = await GuardedLookupTests.IdOf(host, phone);
        var outbox = (OutboxSmsSender)host.Get<ISmsSender>();
        for (var i = 0; ; i++)
        {
            var messages = await outbox.ReadAsync(id, SmsKind.PortalCode, 100);
            if (messages.Count >= count)
            {
                return System.Text.RegularExpressions.Regex.Match(messages[0].Body, @"\b(\d{6})\b").Groups[1].Value;
            }

            Assert.True(i < 200, "the portal code SMS was not sent within 10 s");
            await Task.Delay(50);
        }
    }
}
