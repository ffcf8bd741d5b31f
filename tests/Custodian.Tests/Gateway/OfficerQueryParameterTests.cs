using System.Net;
using System.Net.Http.Json;
using Custodian.Identity;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

/// <summary>
/// The officer routes refuse a query parameter they do not declare, like the signed-in terminal routes
/// (<c>StaffApi.RefuseUndeclaredQuery</c>, docs/access.md §4): a misspelt filter no longer lists everything. Found by a
/// README-only evaluation.
/// </summary>
public sealed class OfficerQueryParameterTests
{
    [Fact]
    public async Task Officer_routes_refuse_undeclared_query_parameters_by_name_and_take_their_declared_filters()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var terminal = await host.EnrollAsync("S001", "back-office");
        using var security = await host.SignInAsync(await host.CreateStaffAsync("sec1", StaffRole.SecurityOfficer, null, terminal), terminal);
        using var privacy = await host.SignInAsync(await host.CreateStaffAsync("priv1", StaffRole.PrivacyOfficer, null, terminal), terminal);
        var before = (await host.LedgerAsync()).Count;

        async Task RefusedAsync(Task<HttpResponseMessage> request, string named)
        {
            using var response = await request;
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal($"The query parameter '{named}' is not accepted on this route; personal data goes in the request body, never the URL.", problem.GetProperty("detail").GetString());
        }

        await RefusedAsync(security.GetAsync("/api/v1/incidents?stat=open"), "stat");
        await RefusedAsync(security.GetAsync("/api/v1/incidents/INC-20261201-AAAAAA?state=open"), "state"); // declared on the list only
        await RefusedAsync(security.GetAsync("/api/v1/incidents/INC-20261201-AAAAAA/report?format=pdf"), "format");
        await RefusedAsync(security.GetAsync("/api/v1/claims?status=submitted"), "status");
        await RefusedAsync(security.GetAsync("/api/v1/alerts?state=open&limt=5"), "limt");
        await RefusedAsync(security.GetAsync("/api/v1/alerts/standing/clerk/C0001?detail=full"), "detail");
        await RefusedAsync(security.PostAsJsonAsync("/api/v1/review/entries?account=C0001", new { }), "account");
        await RefusedAsync(security.GetAsync("/api/v1/approvals?state=pending"), "state");
        await RefusedAsync(privacy.GetAsync("/api/v1/privacy/disclosure-requests?status=open"), "status");
        await RefusedAsync(security.GetAsync("/api/v1/incidents?01012345678"), "query"); // a name shaped like a phone number is not repeated
        Assert.Equal(before, (await host.LedgerAsync()).Count); // refused before the session and role filters: nothing read or written

        foreach (var (client, url) in new[]
        {
            (security, "/api/v1/incidents?STATE=closed"), (security, "/api/v1/incidents"), (security, "/api/v1/claims?state=submitted"),
            (security, "/api/v1/alerts?state=open&limit=5"), (security, "/api/v1/approvals?status=pending"),
            (privacy, "/api/v1/privacy/disclosure-requests?state=open"),
        })
        {
            using var response = await client.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }
}
