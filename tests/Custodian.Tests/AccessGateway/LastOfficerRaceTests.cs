using Custodian.Access;
using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Problems;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.AccessGateway;

/// <summary>
/// The last-active-security-officer rule under concurrency (docs/access.md §6.1): two "nodes" (two directories on one
/// database) race to disable or demote the last two officers, many times, each pair released by a barrier; exactly one of
/// each pair may succeed. On PostgreSQL the officers' advisory lock makes it so; on SQLite the single writer does.
/// </summary>
public sealed class LastOfficerRaceTests
{
    private const int Iterations = 150;

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")]
    public async Task Two_simultaneous_disables_of_the_last_two_officers_leave_exactly_one(TestBackend backend)
    {
        await RaceAsync(backend, (a, b, x, y) => (() => a.DisableKeepingAnOfficerAsync(x), () => b.DisableKeepingAnOfficerAsync(y)));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")]
    public async Task A_disable_racing_a_move_or_the_dormant_job_leaves_exactly_one_officer(TestBackend backend)
    {
        await RaceAsync(backend, (a, b, x, y) => (() => a.DisableKeepingAnOfficerAsync(x), () => b.ChangeRoleAndStoreAsync(y, StaffRole.Clerk, "S001", keepAnOfficer: true)), iterations: Iterations / 3);
        await RaceAsync(backend, (a, b, x, y) => (() => a.DisableKeepingAnOfficerAsync(y), () => Dormant(b)) /* the job visits x first */, iterations: Iterations / 3, dormant: true);

        static async Task<Result<bool>> Dormant(StaffDirectory directory) => (await directory.DisableDormantAsync(TimeSpan.FromDays(1))).Count > 0;
    }

    private static async Task RaceAsync(
        TestBackend backend,
        Func<StaffDirectory, StaffDirectory, string, string, (Func<Task<Result<bool>>> First, Func<Task<Result<bool>>> Second)> race,
        int iterations = Iterations,
        bool dormant = false)
    {
        var directory = Path.Combine(Path.GetTempPath(), "custodian-officer-race", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var schema = backend == TestBackend.Postgres ? await TestStorage.CreateSchemaAsync() : null;
        var time = new FakeTimeProvider(CustodianTestHost.Start);
        var db = schema is null ? new CustodianDatabase(Path.Combine(directory, "custodian.db")) : CustodianDatabase.ForPostgres(schema.Settings);
        try
        {
            await db.MigrateAsync(new AccessMigrations().Migrations, time);
            var secrets = SecretProtector.LoadOrCreate(Path.Combine(directory, "access-secrets.key"));
            var options = new StaffOptions { PasswordIterations = 1_000 };
            var nodeA = new StaffDirectory(db, secrets, time, options);
            var nodeB = new StaffDirectory(db, secrets, time, options);
            string? survivor = null;
            for (var i = 0; i < iterations; i++)
            {
                var (x, y) = ($"OX{i}", $"OY{i}");
                Assert.True((await nodeA.CreateAsync(x, StaffRole.SecurityOfficer, null)).IsSuccess);
                Assert.True((await nodeA.CreateAsync(y, StaffRole.SecurityOfficer, null)).IsSuccess);
                if (survivor is not null)
                {
                    Assert.True(await nodeA.DisableAsync(survivor)); // not guarded: x and y are now the only active officers
                }

                if (dormant)
                {
                    time.Advance(TimeSpan.FromDays(2)); // x and y are dormant
                }

                using var barrier = new Barrier(2);
                var (first, second) = race(nodeA, nodeB, x, y);
                var one = Task.Run(async () => { barrier.SignalAndWait(); return await first(); });
                var two = Task.Run(async () => { barrier.SignalAndWait(); return await second(); });
                var results = await Task.WhenAll(one, two);

                var succeeded = results.Count(r => r.IsSuccess && r.Value);
                Assert.True(succeeded == 1, $"iteration {i}: {succeeded} of the two changes succeeded");
                var refused = results.Single(r => !(r.IsSuccess && r.Value));
                Assert.True(
                    !refused.IsSuccess ? refused.Error!.Errors!.Values.Single().Single() == StaffAccountRules.LastOfficerRule : dormant,
                    $"iteration {i}: the refused change did not name the rule");
                var active = (await nodeA.ListAsync()).Where(a => a.Role == StaffRole.SecurityOfficer && a.Status == StaffAccountStatus.Active).ToList();
                Assert.Single(active);
                survivor = active[0].Id;
            }
        }
        finally
        {
            await db.DisposeAsync();
            if (schema is not null)
            {
                await schema.DisposeAsync();
            }

            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
