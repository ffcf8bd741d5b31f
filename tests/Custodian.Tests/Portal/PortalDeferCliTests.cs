using System.Globalization;
using Custodian.Ledger;
using Custodian.Portal;
using Custodian.Tests.Cli;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Transparency;

namespace Custodian.Tests.Portal;

/// <summary><c>custodian portal defer</c> says what its <c>--until</c> did: a hold until a later day, or a hold lifted (found by a README-only evaluation).</summary>
[Collection(nameof(CliCollection))]
public sealed class PortalDeferCliTests
{
    [Fact]
    public async Task A_past_until_says_the_hold_is_lifted_and_a_later_one_says_until_when()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[2];
        var subject = await GuardedLookupTests.IdOf(host, subscriber.Phone);
        var handle = await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
        using (await clerk.GetAsync($"/api/v1/subscribers/{handle}?purpose=in-store-service"))
        {
        }

        var view = (await host.LedgerAsync()).Single(e => e.Entry.Task == AccessTask.View).Sequence;
        var token = host.Get<Custodian.Protection.Keys.Tokenizer>().TokenizeSubscriber(subject);
        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().ToOffset(AccessHistory.KoreaOffset).DateTime); // the CLI's clock
        string[] Defer(DateOnly until) =>
            ["portal", "defer", "--sequence", view.ToString(CultureInfo.InvariantCulture), "--subscriber-token", token, "--basis", "law-enforcement",
             "--until", until.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), "--reason", "PCSA Art. 13-3 deferral, case 2026-9", "--data", host.Directory.FullName];

        var held = await CliCapture.RunAsync(Defer(today.AddDays(10)));
        Assert.Equal(0, held.Code);
        Assert.StartsWith($"Entry {view} is held from that subscriber until {today.AddDays(10):yyyy-MM-dd} 00:00 Korea time; ledger entry ", held.Stdout, StringComparison.Ordinal);

        var lifted = await CliCapture.RunAsync(Defer(today.AddDays(-1)));
        Assert.Equal(0, lifted.Code);
        Assert.StartsWith($"Hold lifted: {today.AddDays(-1):yyyy-MM-dd} 00:00 Korea time has passed, so entry {view} is not held from that subscriber any more and shows in their history again; ledger entry ", lifted.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("held from that subscriber until", lifted.Stdout, StringComparison.Ordinal);
        Assert.Empty(await host.Get<HistoryDeferrals>().ActiveAsync(subject, TimeProvider.System.GetUtcNow())); // and it is lifted indeed

        var todayLifts = await CliCapture.RunAsync(Defer(today)); // today 00:00 has begun: lifted too
        Assert.StartsWith($"Hold lifted: {today:yyyy-MM-dd} 00:00 Korea time has passed", todayLifts.Stdout, StringComparison.Ordinal);
    }
}
