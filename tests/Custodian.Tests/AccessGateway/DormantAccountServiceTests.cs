using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.StaffLifecycle;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Custodian.Tests.AccessGateway;

/// <summary>The daily dormant-account run inside serve, on the fake clock.</summary>
public sealed class DormantAccountServiceTests
{
    private static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            await Task.Delay(20, timeout.Token);
        }

        return true;
    }

    // A host with one subscriber, the dormant-account run configured by configure, and clerk C0001 at an enrolled terminal of S001.
    private static async Task<CustodianTestHost> StartWithClerkAsync(Action<DormantAccountOptions> configure)
    {
        var host = await CustodianTestHost.StartAsync(subscribers: 1, services: s => s.Configure(configure));
        try
        {
            var terminal = await host.EnrollAsync("S001", "counter-1");
            await host.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", terminal);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task Serve_disables_accounts_dormant_for_the_configured_days_at_each_interval_and_records_them()
    {
        await using var host = await StartWithClerkAsync(o =>
        {
            o.Days = 2;
            o.Interval = TimeSpan.FromHours(12);
        });
        var staff = host.Get<StaffDirectory>();

        host.Time.Advance(TimeSpan.FromHours(12)); // first run: created 12 h ago, not dormant
        Assert.True(await WaitUntilAsync(() => Task.FromResult(host.Logs.GetSnapshot().Any(r => r.Id.Id == 5400))));
        Assert.Equal(StaffAccountStatus.Active, (await staff.GetAsync("C0001"))!.Status);

        host.Time.Advance(TimeSpan.FromHours(48)); // a later run: no sign-in for 60 h > 2 days
        // The account is disabled first and the entry appended right after: wait for the entry, then check both.
        Assert.True(await WaitUntilAsync(async () => (await host.LedgerAsync()).Any(e => e.Entry.Task == AccessTask.StaffDisabled && e.Entry.Target == "C0001")));
        Assert.Equal(StaffAccountStatus.Disabled, (await staff.GetAsync("C0001"))!.Status);

        var entry = (await host.LedgerAsync()).Select(e => e.Entry).Single(e => e.Task == AccessTask.StaffDisabled && e.Target == "C0001");
        Assert.Equal((DormantAccounts.ServerOperator, "dormant: no sign-in for 2 days"), (entry.Account, entry.Reason));
    }

    [Fact]
    public async Task The_run_keeps_the_last_active_security_officer_and_disables_a_dormant_clerk_in_the_same_run()
    {
        await using var host = await StartWithClerkAsync(o =>
        {
            o.Days = 2;
            o.Interval = TimeSpan.FromHours(12);
        });
        var staff = host.Get<StaffDirectory>();
        Assert.Equal(["officer"], (await staff.ListAsync()).Where(a => a.Role == StaffRole.SecurityOfficer && a.Status == StaffAccountStatus.Active).Select(a => a.Id));

        host.Time.Advance(TimeSpan.FromHours(12));
        Assert.True(await WaitUntilAsync(() => Task.FromResult(host.Logs.GetSnapshot().Any(r => r.Id.Id == 5400))));
        host.Time.Advance(TimeSpan.FromHours(48)); // the clerk and the only officer ('officer', made by the first start) are dormant
        Assert.True(await WaitUntilAsync(async () => (await host.LedgerAsync()).Any(e => e.Entry.Task == AccessTask.StaffDisabled && e.Entry.Target == "C0001")));
        Assert.True(await WaitUntilAsync(() => Task.FromResult(host.Logs.GetSnapshot().Any(r => r.Id.Id == 3312))));

        Assert.Equal(StaffAccountStatus.Disabled, (await staff.GetAsync("C0001"))!.Status);
        Assert.Equal(StaffAccountStatus.Active, (await staff.GetAsync("officer"))!.Status);
        Assert.DoesNotContain(await host.LedgerAsync(), e => e.Entry.Task == AccessTask.StaffDisabled && e.Entry.Target == "officer");

        // Logged once per run, naming the account ID and nothing else.
        var logs = host.Logs.GetSnapshot();
        var kept = logs.Where(r => r.Id.Id == 3312).ToList();
        Assert.True(kept.Count <= logs.Count(r => r.Id.Id == 5400) - 1, "at most once per run after the first");
        Assert.All(kept, r =>
        {
            Assert.Equal("Dormant staff account officer was not disabled: it is the last active security officer", r.Message);
            Assert.Equal(["AccountId"], r.StructuredState!.Select(p => p.Key).Where(k => k != "{OriginalFormat}"));
        });
    }

    [Fact]
    public async Task The_run_can_be_switched_off_and_bad_settings_are_refused()
    {
        await using (var host = await StartWithClerkAsync(o =>
        {
            o.Enabled = false;
            o.Days = 1;
        }))
        {
            host.Time.Advance(TimeSpan.FromDays(3));
            Assert.Equal(StaffAccountStatus.Active, (await host.Get<StaffDirectory>().GetAsync("C0001"))!.Status);
            Assert.Contains(host.Logs.GetSnapshot(), r => r.Id.Id == 5402);
            Assert.DoesNotContain(host.Logs.GetSnapshot(), r => r.Id.Id == 5400);
        }

        var validator = new DormantAccountOptionsValidator();
        Assert.True(validator.Validate(null, new DormantAccountOptions()).Succeeded);
        Assert.Contains("Days", validator.Validate(null, new DormantAccountOptions { Days = 0 }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Interval", validator.Validate(null, new DormantAccountOptions { Interval = TimeSpan.FromSeconds(5) }).FailureMessage, StringComparison.Ordinal);
    }
}
