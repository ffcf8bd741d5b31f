using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Messaging;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Lookup;

/// <summary>The per-(clerk, subscriber) budget of wrong consent codes, which new codes do not reset (docs/web.md, README §7).</summary>
public sealed class ConsentAttemptBudgetTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Ten_wrong_consent_codes_in_24_hours_refuse_further_codes_even_after_new_ones_are_requested_until_the_window_passes(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, backend: backend);
        var (client, terminal, staff) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[7];
        var other = host.Population[8];
        var handle = await GuardedLookupTests.SearchAsync(client, subscriber.Phone);
        var outbox = (OutboxSmsSender)host.Get<ISmsSender>();
        var id = await GuardedLookupTests.IdOf(host, subscriber.Phone);
        var first = host.Time.GetUtcNow();

        // 10 wrong codes over four fresh codes (3 + 3 + 3 + 1): each code's own limit of 3 never trips the budget alone.
        string code = string.Empty;
        for (var i = 0; i < ConsentAttemptBudget.DefaultMaxWrongAttempts; i++)
        {
            if (i % 3 == 0)
            {
                using var consent = await client.PostAsJsonAsync($"/api/v1/subscribers/{handle}/consent", new { purpose = "identity-verification" });
                Assert.Equal(HttpStatusCode.OK, consent.StatusCode);
                code = await GuardedLookupTests.ConsentCodeAsync(host, subscriber.Phone);
            }

            using var wrong = await client.PostAsJsonAsync($"/api/v1/subscribers/{handle}/unmask", new { purpose = "identity-verification", consentCode = WrongCodes.Next(code) });
            await ProblemAssert.IsProblemAsync(wrong, HttpStatusCode.Forbidden, ErrorCodes.ConsentInvalid);
            if (i < ConsentAttemptBudget.DefaultMaxWrongAttempts - 1)
            {
                host.Time.Advance(TimeSpan.FromMinutes(1));
            }
        }

        var sent = (await outbox.ReadAsync(id, SmsKind.ConsentCode, 100)).Count;
        Assert.Equal(4, sent);

        // Exhausted: a new code is not sent, and the last code — still valid and right — is refused without being looked at.
        using var again = await client.PostAsJsonAsync($"/api/v1/subscribers/{handle}/consent", new { purpose = "identity-verification" });
        var body = await ProblemAssert.IsProblemAsync(again, (HttpStatusCode)429, ErrorCodes.ConsentAttemptsExhausted);
        Assert.False(body.GetProperty("transient").GetBoolean());
        var retryAfter = (int)(first + TimeSpan.FromHours(24) - host.Time.GetUtcNow()).TotalSeconds;
        Assert.Equal(85_860, retryAfter); // 24 h less the 9 minutes since the first wrong code
        Assert.Equal(retryAfter.ToString(CultureInfo.InvariantCulture), again.Headers.GetValues("Retry-After").Single());
        using var right = await client.PostAsJsonAsync($"/api/v1/subscribers/{handle}/unmask", new { purpose = "identity-verification", consentCode = code });
        await ProblemAssert.IsProblemAsync(right, (HttpStatusCode)429, ErrorCodes.ConsentAttemptsExhausted);
        Assert.Equal(sent, (await outbox.ReadAsync(id, SmsKind.ConsentCode, 100)).Count);

        var refusals = (await host.LedgerAsync()).Where(e => e.Entry.ErrorCode == ErrorCodes.ConsentAttemptsExhausted).ToList();
        Assert.Equal([AccessTask.ConsentRequest, AccessTask.Unmask], refusals.Select(e => e.Entry.Task));
        Assert.All(refusals, e => Assert.Equal(AccessOutcome.Denied, e.Entry.Outcome));
        Assert.All(refusals, e => Assert.Equal([id], e.Entry.Subjects));
        Assert.All(refusals, e => Assert.Equal("C0001", e.Entry.Account));

        // Another subscriber is not affected.
        var otherHandle = await GuardedLookupTests.SearchAsync(client, other.Phone);
        using var otherConsent = await client.PostAsJsonAsync($"/api/v1/subscribers/{otherHandle}/consent", new { purpose = "identity-verification" });
        Assert.Equal(HttpStatusCode.OK, otherConsent.StatusCode);

        // One second before the first wrong attempt is 24 hours old: still refused; at 24 hours it leaves the window (9 remain).
        host.Time.Advance(TimeSpan.FromSeconds(retryAfter - 31));
        var later = await host.SignInAsync(staff, terminal); // the first session has long been idle; this moves the clock on by 30 s
        handle = await GuardedLookupTests.SearchAsync(later, subscriber.Phone);
        using (var stillRefused = await later.PostAsJsonAsync($"/api/v1/subscribers/{handle}/consent", new { purpose = "identity-verification" }))
        {
            await ProblemAssert.IsProblemAsync(stillRefused, (HttpStatusCode)429, ErrorCodes.ConsentAttemptsExhausted);
            Assert.Equal("1", stillRefused.Headers.GetValues("Retry-After").Single());
        }

        host.Time.Advance(TimeSpan.FromSeconds(1));
        using var allowed = await later.PostAsJsonAsync($"/api/v1/subscribers/{handle}/consent", new { purpose = "identity-verification" });
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        code = await GuardedLookupTests.ConsentCodeAsync(host, subscriber.Phone);
        using var unmasked = await later.PostAsJsonAsync($"/api/v1/subscribers/{handle}/unmask", new { purpose = "identity-verification", consentCode = code });
        Assert.Equal(HttpStatusCode.OK, unmasked.StatusCode);
        var rrn = subscriber.Rrn.Replace("-", string.Empty, StringComparison.Ordinal);
        Assert.Equal($"{rrn[..6]}-{rrn[6..]}", (await unmasked.Content.ReadFromJsonAsync<UnmaskedView>())!.Fields["rrn"]);
    }

}
