using System.Globalization;
using Custodian.Ledger;
using Custodian.Portal;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Custodian.Transparency;

namespace Custodian.Tests.Portal;

/// <summary>
/// The usage-history notice never covers a period that ended before the deployment's start (its first ledger entry): the
/// ledger holds nothing of it (found by a README-only evaluation: <c>notices run --cycle monthly</c> noticed the month
/// before Custodian was installed). On the test host's fake clock.
/// </summary>
public sealed class UsageNoticeDeploymentTests
{
    [Fact]
    public async Task A_period_that_ended_before_the_first_ledger_entry_is_refused_and_nothing_is_delivered_or_recorded()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3);
        _ = await host.ClerkAsync("C0001"); // the deployment is in use: sign-ins and enrollment are in the ledger
        var deployedAt = (await DeploymentStart.FirstEntryTimeAsync(host.Get<CustodianDatabase>()))!.Value;
        Assert.Equal(deployedAt.ToUnixTimeMilliseconds(), (await host.LedgerAsync()).Min(e => e.Entry.Time.ToUnixTimeMilliseconds()));
        var today = DateOnly.FromDateTime(host.Time.GetUtcNow().ToOffset(AccessHistory.KoreaOffset).DateTime);
        var notices = host.Get<UsageNotices>();
        var lastMonth = NoticePeriod.Previous(NoticeCycle.Monthly, today); // ended at 00:00 on the 1st, before the host started
        var ledgerBefore = (await host.LedgerAsync()).Count;

        var refused = await notices.RunAsync(lastMonth, "officer", sendSms: true, progress: null);

        Assert.Equal(PortalErrors.NoticePeriodBeforeDeployment, refused.Error!.Code);
        Assert.Equal(409, refused.Error.Status);
        Assert.Equal(
            string.Create(CultureInfo.InvariantCulture, $"Usage notice {lastMonth.Id} ({lastMonth.From:yyyy-MM-dd} to {lastMonth.To:yyyy-MM-dd}) covers a period that ended before Custodian's first ledger entry ({deployedAt.ToOffset(AccessHistory.KoreaOffset):yyyy-MM-dd HH:mm} Korea time): the ledger holds nothing of it, so nothing was sent."),
            refused.Error.Message);
        Assert.Equal(ledgerBefore, (await host.LedgerAsync()).Count); // no usage-notice-run entry
        var inbox = host.Get<SubscriberInbox>();
        foreach (var subscriber in host.Population)
        {
            var subject = await Lookup.GuardedLookupTests.IdOf(host, subscriber.Phone);
            Assert.DoesNotContain(await inbox.ListAsync(subject), n => n.Reference?.StartsWith("usage-history:", StringComparison.Ordinal) == true);
        }

        // The year before is refused as well; the month the deployment started in is noticed (as on the 1st of next month).
        Assert.Equal(PortalErrors.NoticePeriodBeforeDeployment, (await notices.RunAsync(NoticePeriod.Previous(NoticeCycle.Yearly, today), "officer", true, null)).Error!.Code);
        var thisMonth = NoticePeriod.Previous(NoticeCycle.Monthly, new DateOnly(today.Year, today.Month, 1).AddMonths(1));
        Assert.Null(await notices.CheckDeployedAsync(thisMonth));
        Assert.Equal(3, (await notices.RunAsync(thisMonth, "officer", sendSms: false, progress: null)).Value.Delivered);
    }
}
