using System.Net;
using System.Text.Json;
using Custodian.Ledger;
using Custodian.Ledger.Retention;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;
using Custodian.Transparency;

namespace Custodian.Tests.Review;

/// <summary>Retention inside the running server: the subscriber's portal history still works and ends at the retention period.</summary>
public sealed class RetentionPortalTests
{
    [Fact]
    public async Task Portal_history_after_retention_shows_only_entries_within_the_period_and_the_ledger_verifies()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[4];
        var handle = await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
        using (await clerk.GetAsync($"/api/v1/subscribers/{handle}?purpose=device-repair"))
        {
        }

        var id = await GuardedLookupTests.IdOf(host, subscriber.Phone);
        await host.Get<IAccessLedger>().AppendAsync(new AccessEntry
        {
            Time = host.Time.GetUtcNow().AddYears(-2).AddDays(-1),
            Task = AccessTask.View,
            Outcome = AccessOutcome.Allowed,
            Account = "C0099",
            Role = Identity.StaffRole.Clerk,
            Store = "S009",
            Purpose = "in-store-service",
            Subjects = [id],
            Fields = ["name"],
        });

        var result = await host.Get<LedgerRetention>().RunAsync();

        Assert.Equal(1, result.Entries);
        using var portal = await PortalTests.SignInAsync(host, subscriber.Phone);
        using var response = await portal.GetAsync("/portal/api/v1/history");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = JsonSerializer.Deserialize<HistoryPage>(await response.Content.ReadAsStringAsync(), JsonSerializerOptions.Web)!;
        Assert.Equal(["view", "search"], page.Items.Select(i => i.Task));
        Assert.DoesNotContain(page.Items, i => i.Store == "S009");
        Assert.True((await new LedgerVerifier(host.Get<Storage.CustodianDatabase>()).VerifyAsync()).IsValid);
    }
}
