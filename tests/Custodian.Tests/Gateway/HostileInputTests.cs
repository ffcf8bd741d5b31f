using System.Net;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;

namespace Custodian.Tests.Gateway;

/// <summary>
/// Requests a hostile insider or outsider can send that once ended in a 500 instead of a stable problem (or a page):
/// each is answered with the documented refusal, and a refused read is still recorded.
/// </summary>
public sealed class HostileInputTests
{
    [Fact]
    public async Task A_null_in_the_unmask_field_list_is_a_recorded_validation_refusal_not_a_500()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[4];
        var id = await GuardedLookupTests.IdOf(host, subscriber.Phone);
        var handle = await GuardedLookupTests.SearchAsync(client, subscriber.Phone);

        using var content = new StringContent("""{"purpose":"identity-verification","consentCode":"123456","fields":["rrn",null]}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await client.PostAsync($"/api/v1/subscribers/{handle}/unmask", content);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        var entry = (await host.LedgerAsync()).Last(e => e.Entry.Task == AccessTask.Unmask);
        Assert.Equal(AccessOutcome.Denied, entry.Entry.Outcome);
        Assert.Equal(ErrorCodes.ValidationFailed, entry.Entry.ErrorCode);
        Assert.Equal([id], entry.Entry.Subjects);
    }
}
