using System.Diagnostics;
using Custodian.Monitoring.Tests.Support;
using Custodian.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Custodian.Monitoring.Tests.Suspensions;

public sealed class SuspensionRegistryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 3, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync();

    public Task DisposeAsync()
    {
        _db.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Suspend_is_visible_at_once_and_lift_removes_it()
    {
        var registry = new SuspensionRegistry(_db.Db, _time);
        Assert.False(registry.IsSuspended(PrincipalKind.Clerk, "C0001"));

        Assert.True(await registry.SuspendAsync(PrincipalKind.Clerk, "C0001", "A-1", "Too many subscribers."));
        Assert.True(registry.IsSuspended(PrincipalKind.Clerk, "C0001"));
        Assert.False(registry.IsSuspended(PrincipalKind.Terminal, "C0001"));   // kinds are separate
        Assert.False(registry.IsSuspended(PrincipalKind.Clerk, "c0001"));      // codes are case-sensitive

        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(await registry.LiftAsync(PrincipalKind.Clerk, "C0001", "SO01", "Reviewed."));
        Assert.False(registry.IsSuspended(PrincipalKind.Clerk, "C0001"));
        Assert.False(await registry.LiftAsync(PrincipalKind.Clerk, "C0001", "SO01", "Again."));

        var history = await registry.ListHistoryAsync(new Principal(PrincipalKind.Clerk, "C0001"));
        Assert.Equal(
            [new Suspension(new Principal(PrincipalKind.Clerk, "C0001"), T0, "A-1", "Too many subscribers.", T0.AddMinutes(5), "SO01")],
            history);
    }

    [Fact]
    public async Task Suspending_twice_keeps_one_active_suspension()
    {
        var registry = new SuspensionRegistry(_db.Db, _time);
        Assert.True(await registry.SuspendAsync(PrincipalKind.Terminal, "S001-T1", "A-1", "First."));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await registry.SuspendAsync(PrincipalKind.Terminal, "S001-T1", "A-2", "Second."));
        var active = await registry.ListActiveAsync();
        Assert.Equal([new Suspension(new Principal(PrincipalKind.Terminal, "S001-T1"), T0, "A-1", "First.", null, null)], active);

        // After a lift a new suspension is a new row.
        await registry.LiftAsync(PrincipalKind.Terminal, "S001-T1", "SO01", "Ok.");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await registry.SuspendAsync(PrincipalKind.Terminal, "S001-T1", null, "Manual."));
        Assert.Equal(2, (await registry.ListHistoryAsync(new Principal(PrincipalKind.Terminal, "S001-T1"))).Count);
        Assert.Equal(T0.AddSeconds(2), (await registry.GetActiveAsync(new Principal(PrincipalKind.Terminal, "S001-T1")))!.Since);
    }

    [Fact]
    public async Task A_suspension_made_by_another_instance_is_visible_within_one_second_of_fake_time()
    {
        var api = new SuspensionRegistry(_db.Db, _time);
        var cli = new SuspensionRegistry(_db.Db, _time);
        await api.RefreshAsync();
        Assert.False(await api.IsSuspendedAsync(PrincipalKind.Clerk, "C0009"));

        await cli.SuspendAsync(PrincipalKind.Clerk, "C0009", null, "Manual suspension by an officer.");
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(await api.IsSuspendedAsync(PrincipalKind.Clerk, "C0009")); // set is 999 ms old: not refreshed yet
        Assert.False(api.IsSuspended(PrincipalKind.Clerk, "C0009"));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await api.IsSuspendedAsync(PrincipalKind.Clerk, "C0009"));  // 1 s: refreshed before answering
        Assert.True(api.IsSuspended(PrincipalKind.Clerk, "C0009"));

        // And a lift by the CLI likewise.
        await cli.LiftAsync(PrincipalKind.Clerk, "C0009", "SO01", "Reviewed.");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await api.IsSuspendedAsync(PrincipalKind.Clerk, "C0009"));
    }

    [Fact]
    public async Task The_synchronous_check_refreshes_in_the_background_once_the_set_is_a_second_old()
    {
        var api = new SuspensionRegistry(_db.Db, _time);
        var cli = new SuspensionRegistry(_db.Db, _time);
        Assert.False(api.IsSuspended(PrincipalKind.Clerk, "C0009")); // first use loads synchronously
        await cli.SuspendAsync(PrincipalKind.Clerk, "C0009", null, "Manual.");
        _time.Advance(TimeSpan.FromSeconds(1));

        _ = api.IsSuspended(PrincipalKind.Clerk, "C0009");             // stale: starts a refresh, answers from memory
        await api.RefreshAsync().WaitAsync(MonitorHarness.HangGuard); // joins (or repeats) that refresh
        Assert.True(api.IsSuspended(PrincipalKind.Clerk, "C0009"));
    }

    [Fact]
    public async Task The_first_check_loads_suspensions_made_before_the_process_started()
    {
        await new SuspensionRegistry(_db.Db, _time).SuspendAsync(PrincipalKind.Terminal, "S009-T2", null, "Stolen PC.");
        var fresh = new SuspensionRegistry(_db.Db, _time);
        Assert.True(fresh.IsSuspended(PrincipalKind.Terminal, "S009-T2"));
    }

    [Fact]
    public async Task A_failed_write_still_suspends_in_memory_until_lifted_here()
    {
        var registry = new SuspensionRegistry(_db.Db, _time);
        await registry.RefreshAsync();
        await using (var connection = await _db.Db.OpenAsync())
        await using (var drop = connection.Command("DROP TABLE suspensions"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => registry.SuspendAsync(PrincipalKind.Clerk, "C0001", null, "Burst."));
        Assert.True(registry.IsSuspended(PrincipalKind.Clerk, "C0001"));
        _time.Advance(TimeSpan.FromSeconds(5));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => registry.RefreshAsync()); // refresh fails: set kept
        Assert.True(registry.IsSuspended(PrincipalKind.Clerk, "C0001"));
    }

    [Theory]
    [InlineData("", "reason")]
    [InlineData("bad id", "reason")]
    public async Task Malformed_codes_and_reasons_are_rejected(string id, string reason)
    {
        var registry = new SuspensionRegistry(_db.Db, _time);
        await Assert.ThrowsAsync<ArgumentException>(() => registry.SuspendAsync(PrincipalKind.Clerk, id, null, reason));
        await Assert.ThrowsAsync<ArgumentException>(() => registry.SuspendAsync(PrincipalKind.Clerk, "C0001", null, new string('x', 501)));
        await Assert.ThrowsAsync<ArgumentException>(() => registry.LiftAsync(PrincipalKind.Clerk, "C0001", "bad officer", "ok"));
    }

    [Fact]
    public async Task The_in_memory_check_allocates_nothing_and_is_fast()
    {
        var fake = new SuspensionRegistry(_db.Db, _time);
        var real = new SuspensionRegistry(_db.Db, TimeProvider.System);
        for (var i = 0; i < 100; i++)
        {
            await fake.SuspendAsync(PrincipalKind.Clerk, "C" + i, null, "Load.");
        }

        await real.RefreshAsync();
        var ids = Enumerable.Range(0, 200).Select(i => "C" + i).ToArray();
        int Run(SuspensionRegistry registry, int n)
        {
            var hits = 0;
            for (var i = 0; i < n; i++)
            {
                hits += registry.IsSuspended(PrincipalKind.Clerk, ids[i % ids.Length]) ? 1 : 0;
            }

            return hits;
        }

        // Fake time does not move, so no refresh starts: the check itself must not allocate.
        Run(fake, 100_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var hits = Run(fake, 1_000_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(500_000, hits);

        // With the system clock (a background refresh may start once a second).
        Assert.Equal(50_000, Run(real, 100_000));
        var stopwatch = Stopwatch.StartNew();
        Assert.Equal(500_000, Run(real, 1_000_000));
        stopwatch.Stop();
        output.WriteLine($"IsSuspended: {stopwatch.Elapsed.TotalNanoseconds / 1_000_000:N1} ns per check.");
    }
}
