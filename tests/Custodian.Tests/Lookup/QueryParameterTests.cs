using System.Net;
using System.Net.Http.Json;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Lookup;

/// <summary>Query parameters a signed-in terminal route does not define are refused, not ignored (a phone number in a URL stays in access logs and proxies).</summary>
public sealed class QueryParameterTests
{
    [Fact]
    public async Task An_undefined_query_parameter_on_search_view_or_unmask_is_refused_by_name_without_its_value_and_the_ledger_untouched()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[3];
        var handle = await GuardedLookupTests.SearchAsync(client, subscriber.Phone);
        var digits = new string([.. subscriber.Phone.Where(char.IsAsciiDigit)]);
        var before = (await host.LedgerAsync()).Count;

        async Task RefusedAsync(HttpResponseMessage response, string named)
        {
            using (response)
            {
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
                Assert.Equal($"The query parameter '{named}' is not accepted on this route; personal data goes in the request body, never the URL.", problem.GetProperty("detail").GetString());
                Assert.Equal([(named, "not a parameter of this route")], problem.GetProperty("errors").EnumerateObject().Select(p => (p.Name, p.Value[0].GetString())));
                Assert.DoesNotContain(digits, problem.GetRawText(), StringComparison.Ordinal);
            }
        }

        await RefusedAsync(await client.PostAsJsonAsync($"/api/v1/subscribers/search?phone={digits}", new { phone = subscriber.Phone }), "phone");
        await RefusedAsync(await client.GetAsync($"/api/v1/subscribers/{handle}?purpose=plan-change&Phone={digits}"), "Phone");
        await RefusedAsync(await client.PostAsJsonAsync($"/api/v1/subscribers/{handle}/unmask?rrn={digits}", new { purpose = "plan-change", consentCode = "000000", fields = new[] { "rrn" } }), "rrn");
        await RefusedAsync(await client.PostAsJsonAsync($"/api/v1/subscribers/{handle}/consent?{digits}", new { purpose = "plan-change" }), "query"); // a name shaped like a phone number is not repeated either
        Assert.Equal(before, (await host.LedgerAsync()).Count);

        using var view = await client.GetAsync($"/api/v1/subscribers/{handle}?PURPOSE=plan-change"); // the declared parameter, in any case
        Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        Assert.Equal(before + 1, (await host.LedgerAsync()).Count);
    }
}
