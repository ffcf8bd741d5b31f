using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Protection.Keys;
using Custodian.Review;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;

namespace Custodian.Tests.Review;

/// <summary>The officers' review endpoints through the real pipeline (mTLS terminal, staff session, SQLite, fake time).</summary>
public sealed class ReviewApiTests
{
    [Fact]
    public async Task Only_officers_query_and_export_and_an_export_needs_a_reason_and_is_recorded()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        await GuardedLookupTests.SearchAsync(clerk, host.Population[2].Phone);
        var terminal = await host.EnrollAsync("S001", "back-office");
        var officer = await host.SignInAsync(await host.CreateStaffAsync("sec1", StaffRole.SecurityOfficer, null, terminal), terminal);

        using (var refused = await clerk.PostAsJsonAsync("/api/v1/review/entries", new { clerk = "C0001" }))
        {
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, ErrorCodes.RoleNotPermitted);
        }

        var refusal = (await host.LastRequestEntryAsync());
        Assert.Equal((AccessTask.Refused, "C0001", "access-log-review", ErrorCodes.RoleNotPermitted), (refusal.Entry.Task, refusal.Entry.Account, refusal.Entry.Target, refusal.Entry.ErrorCode));

        var id = await GuardedLookupTests.IdOf(host, host.Population[2].Phone);
        var token = host.Get<Tokenizer>().TokenizeSubscriber(id);
        using (var query = await officer.PostAsJsonAsync("/api/v1/review/entries", new { subscriberToken = token }))
        {
            Assert.Equal(HttpStatusCode.OK, query.StatusCode);
            var raw = await query.Content.ReadAsStringAsync();
            var page = JsonSerializer.Deserialize<ReviewPage>(raw, JsonSerializerOptions.Web)!;
            var row = Assert.Single(page.Rows);
            Assert.Equal(("search", "C0001", token), (row.Task, row.Account, Assert.Single(row.SubjectTokens)));
            Assert.DoesNotContain(host.Population[2].Phone, raw, StringComparison.Ordinal);
        }

        using (var bad = await officer.PostAsJsonAsync("/api/v1/review/entries", new { task = "bogus", limit = 0, subscriberToken = "1", from = "2026-12-01T00:00:00+09:00", to = "2026-11-01T00:00:00+09:00" }))
        {
            var problem = await ProblemAssert.IsProblemAsync(bad, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal(4, problem.GetProperty("errors").EnumerateObject().Count());
            Assert.True(problem.GetProperty("errors").TryGetProperty("to", out _));
        }

        var size = await host.Get<IAccessLedgerReader>().GetSizeAsync();
        using (var noReason = await officer.PostAsJsonAsync("/api/v1/review/exports", new { clerk = "C0001" }))
        {
            await ProblemAssert.IsProblemAsync(noReason, HttpStatusCode.BadRequest, ReviewErrors.ReasonRequired);
        }

        // A reason that names a subscriber by phone number or RRN would sit in the ledger for years and leave in SIEM events.
        foreach (var personal in new[] { "call back " + host.Population[0].Phone, "complaint about " + host.Population[1].Rrn })
        {
            using var refused = await officer.PostAsJsonAsync("/api/v1/review/exports", new { clerk = "C0001", reason = personal });
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, ErrorCodes.PersonalDataInText);
            Assert.Equal(["reason"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name));
            Assert.DoesNotContain(personal, problem.GetRawText(), StringComparison.Ordinal);
        }

        // So would a criterion shaped like a phone number or RRN: an export's entry names its criteria (README-only
        // evaluation: `review query --clerk 010-…` put the number in the entry's target). No code can have that shape.
        using (var refused = await officer.PostAsJsonAsync("/api/v1/review/exports", new { clerk = "010-9406-2730", store = host.Population[1].Rrn.Replace("-", string.Empty, StringComparison.Ordinal), terminal = "T1", reason = "audit" }))
        {
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal(
                [("clerk", "must not be a phone number or resident registration number"), ("store", "must not be a phone number or resident registration number")],
                problem.GetProperty("errors").EnumerateObject().Select(p => (p.Name, Assert.Single(p.Value.EnumerateArray()).GetString()!)).OrderBy(p => p.Name, StringComparer.Ordinal));
        }

        Assert.Equal(size, await host.Get<IAccessLedgerReader>().GetSizeAsync());
        using var export = await officer.PostAsJsonAsync("/api/v1/review/exports", new { clerk = "C0001", task = "search", reason = "monthly review follow-up" });
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal("text/csv", export.Content.Headers.ContentType!.MediaType);
        var lines = (await export.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        var recorded = (await host.LastRequestEntryAsync()).Entry;
        Assert.Equal((AccessTask.Export, "sec1", "S001-back-office", "monthly review follow-up"), (recorded.Task, recorded.Account, recorded.Terminal, recorded.Reason));
        Assert.Equal("access-log rows=1 clerk=C0001 task=search", recorded.Target);
    }

    [Fact]
    public async Task A_negative_before_is_refused_with_400_and_before_0_is_an_empty_page()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        await GuardedLookupTests.SearchAsync(clerk, host.Population[2].Phone);
        var terminal = await host.EnrollAsync("S001", "back-office");
        var officer = await host.SignInAsync(await host.CreateStaffAsync("sec1", StaffRole.SecurityOfficer, null, terminal), terminal);
        var size = await host.Get<IAccessLedgerReader>().GetSizeAsync();

        foreach (var before in new[] { -1L, long.MinValue })
        {
            using var bad = await officer.PostAsJsonAsync("/api/v1/review/entries", new { clerk = "C0001", before });
            var problem = await ProblemAssert.IsProblemAsync(bad, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            var errors = problem.GetProperty("errors");
            Assert.Equal(["before"], errors.EnumerateObject().Select(p => p.Name));
            Assert.Equal("must be a sequence number of 0 or more (nextBefore of the previous page)", Assert.Single(errors.GetProperty("before").EnumerateArray()).GetString());
        }

        // Bad criteria are not recorded (as for the other criteria); only the role refusal is.
        Assert.Equal(size, await host.Get<IAccessLedgerReader>().GetSizeAsync());

        using (var empty = await officer.PostAsJsonAsync("/api/v1/review/entries", new { before = 0 }))
        {
            Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
            var page = JsonSerializer.Deserialize<ReviewPage>(await empty.Content.ReadAsStringAsync(), JsonSerializerOptions.Web)!;
            Assert.Empty(page.Rows);
            Assert.Null(page.NextBefore);
        }

        using var one = await officer.PostAsJsonAsync("/api/v1/review/entries", new { clerk = "C0001", task = "search", before = size });
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal("search", Assert.Single(JsonSerializer.Deserialize<ReviewPage>(await one.Content.ReadAsStringAsync(), JsonSerializerOptions.Web)!.Rows).Task);
    }
}
