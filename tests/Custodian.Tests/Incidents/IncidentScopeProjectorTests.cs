using System.Data.Common;
using Custodian.Identity;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Storage;
using Custodian.Tests.Backends;
using Custodian.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Tests.Incidents;

/// <summary>
/// The incident-scoping projection (docs/incidents.md, "Scoping projection") on a real SQLite file and a real PostgreSQL
/// schema: order and contents, the migration's backfill, restart from the persisted position, batches, and exact scoping
/// while entries are appended and while the projection is behind.
/// </summary>
[Trait("Backend", "Both")] // every test runs on both backends, each row naming its own whatever CUSTODIAN_TEST_BACKEND says, in the first pass: the PostgreSQL pass skips it (scripts/test.sh)
public sealed class IncidentScopeProjectorTests
{
    public static TheoryData<TestBackend> Backends => TestStorage.Backends;

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Catch_up_copies_every_committed_entry_in_sequence_order_with_its_principals_and_time(TestBackend backend)
    {
        await using var f = await CreateAsync(backend);
        for (var i = 0; i < 12; i++)
        {
            await f.Ledger.AppendAsync(Entry(i, $"C{i % 3}", $"T{i % 4}", $"S{i % 2}"));
        }

        var projector = Projector(f.Db);
        Assert.Equal(0, await projector.GetPositionAsync());
        Assert.Equal(12, await projector.CatchUpAsync());
        Assert.Equal(12, await projector.GetPositionAsync());

        var rows = await RowsAsync(f.Db);
        Assert.Equal(12, rows.Count);
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal((i, LedgerOnBackend.Start.AddSeconds(i).ToUnixTimeMilliseconds(), $"C{i % 3}", $"T{i % 4}", $"S{i % 2}"), rows[i]);
        }

        // Nothing new: a second catch-up changes nothing.
        Assert.Equal(12, await projector.CatchUpAsync());
        Assert.Equal(12, (await RowsAsync(f.Db)).Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task The_migration_projects_a_ledger_that_existed_before_it_and_sets_the_position_after_it(TestBackend backend)
    {
        await using var f = await LedgerOnBackend.CreateAsync(backend);
        for (var i = 0; i < 5; i++)
        {
            await f.Ledger.AppendAsync(Entry(i, "C1", "T1", "S1"));
        }

        await f.Db.MigrateAsync(new IncidentMigrations().Migrations, f.Time);

        Assert.Equal(5, await Projector(f.Db).GetPositionAsync());
        Assert.Equal(5, (await RowsAsync(f.Db)).Count);
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM schema_migrations WHERE id = 'incidents-003'"));
        await f.Ledger.AppendAsync(Entry(5, "C2", "T2", "S2"));
        Assert.Equal(6, await Projector(f.Db).CatchUpAsync());
        Assert.Equal((5L, LedgerOnBackend.Start.AddSeconds(5).ToUnixTimeMilliseconds(), "C2", "T2", "S2"), (await RowsAsync(f.Db))[5]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_new_projector_continues_from_the_persisted_position_one_batch_at_a_time(TestBackend backend)
    {
        await using var f = await CreateAsync(backend);
        var entries = Enumerable.Range(0, IncidentScopeProjector.BatchSize + 10).Select(i => Entry(i, $"C{i % 7}", "T1", "S1")).ToArray();
        await AppendManyAsync(f, entries);

        // Stops after the first batch: the target is reached.
        Assert.Equal(IncidentScopeProjector.BatchSize, await Projector(f.Db).CatchUpAsync(target: 100));

        // "Restart": another instance reads the position from the table and copies only the rest.
        var restarted = Projector(f.Db);
        Assert.Equal(IncidentScopeProjector.BatchSize, await restarted.GetPositionAsync());
        Assert.Equal(IncidentScopeProjector.BatchSize + 10, await restarted.CatchUpAsync());
        Assert.Equal(IncidentScopeProjector.BatchSize + 10, await f.ScalarAsync("SELECT COUNT(*) FROM incident_scope_entries"));
        Assert.Equal(IncidentScopeProjector.BatchSize + 9, await f.ScalarAsync("SELECT MAX(seq) FROM incident_scope_entries"));
        Assert.Equal(
            entries.Count(e => e.Account == "C3"),
            await f.ScalarAsync("SELECT COUNT(*) FROM incident_scope_entries WHERE account = @a", ("@a", "C3")));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Several_projectors_at_once_copy_each_entry_once(TestBackend backend)
    {
        await using var f = await CreateAsync(backend);
        await AppendManyAsync(f, Enumerable.Range(0, 3_000).Select(i => Entry(i, $"C{i % 5}", "T1", "S1")).ToArray());

        var positions = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Projector(f.Db).CatchUpAsync())));

        Assert.All(positions, p => Assert.Equal(3_000, p));
        Assert.Equal(3_000, await f.ScalarAsync("SELECT COUNT(*) FROM incident_scope_entries"));
        Assert.Equal(3_000, await Projector(f.Db).GetPositionAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Scoping_is_exact_while_entries_are_appended_and_a_projector_runs(TestBackend backend)
    {
        await using var f = await CreateAsync(backend);
        var background = Projector(f.Db);
        var scoper = new IncidentScoper(f.Db, Projector(f.Db), NullLogger<IncidentScoper>.Instance);

        // Entries alternate between the scoped clerk C1 and C2; entry i reads subscriber i + 1.
        var appended = 0;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 400; i++)
            {
                await f.Ledger.AppendAsync(Entry(i, i % 2 == 1 ? "C1" : "C2", "T1", "S1", subject: i + 1));
                Interlocked.Increment(ref appended);
            }
        });
        var projecting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await background.CatchUpAsync();
                await Task.Delay(2);
            }
        });

        var scans = 0;
        while (!writer.IsCompleted || scans < 3)
        {
            var size = await SizeAsync(f);
            var result = await scoper.ScanAsync([("clerk", "C1")], LedgerOnBackend.Start, LedgerOnBackend.Start.AddDays(1), size, TimeSpan.Zero);

            // Exactly the C1 entries below the size: sequences 1, 3, 5, … < size, each naming subscriber sequence + 1.
            var expected = Enumerable.Range(0, (int)size).Where(i => i % 2 == 1).Select(i => i + 1L).ToArray();
            Assert.Equal(expected.Length, result.EntriesMatched);
            Assert.Equal(expected, result.Subjects.Select(s => s.Subscriber.Value));
            Assert.All(result.Subjects, s => Assert.Equal(ExposureGrade.Masked, s.Grade));
            scans++;
        }

        await writer;
        await stop.CancelAsync();
        await projecting;
        Assert.Equal(400, appended);
        Assert.Equal(400, await background.CatchUpAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Scoping_reads_the_unprojected_tail_from_the_ledger_when_the_projection_cannot_catch_up(TestBackend backend)
    {
        await using var f = await CreateAsync(backend);
        for (var i = 0; i < 6; i++)
        {
            await f.Ledger.AppendAsync(Entry(i, "C1", "T1", "S1", subject: 100 + i));
        }

        Assert.Equal(6, await Projector(f.Db).CatchUpAsync());
        for (var i = 6; i < 10; i++)
        {
            await f.Ledger.AppendAsync(Entry(i, i == 8 ? "C2" : "C1", "T1", "S1", subject: 100 + i));
        }

        // Another projector holds the projection's write exclusion: this scoper's catch-up times out (5 s) and fails.
        await using var blocker = await f.Db.OpenAsync();
        await using var held = await HoldProjectionAsync(blocker);
        var scoper = new IncidentScoper(f.Db, Projector(f.Db), NullLogger<IncidentScoper>.Instance);
        var result = await scoper.ScanAsync([("clerk", "C1"), ("terminal", "T1")], LedgerOnBackend.Start, LedgerOnBackend.Start.AddDays(1), 10, TimeSpan.Zero);
        await held.RollbackAsync();

        Assert.Equal(6, await Projector(f.Db).GetPositionAsync()); // the projection did not move …
        Assert.Equal(10, result.EntriesMatched);                    // … and the tail 6–9 was read from the ledger, once each
        Assert.Equal(Enumerable.Range(100, 10).Select(i => (long)i), result.Subjects.Select(s => s.Subscriber.Value));

        // Only the clerk: entry 8 is C2's.
        var clerk = await scoper.ScanAsync([("clerk", "C1")], LedgerOnBackend.Start, LedgerOnBackend.Start.AddDays(1), 10, TimeSpan.Zero);
        Assert.Equal(9, clerk.EntriesMatched);
        Assert.DoesNotContain(108L, clerk.Subjects.Select(s => s.Subscriber.Value));
        Assert.Equal(10, await Projector(f.Db).GetPositionAsync()); // that scan caught the projection up
    }

    /// <summary>SQLite: one transaction (<see cref="SqliteAccessLedger.AppendRangeAsync"/>); PostgreSQL: 32 concurrent callers, group-committed.</summary>
    private static async Task AppendManyAsync(LedgerOnBackend f, AccessEntry[] entries)
    {
        if (f.Ledger is SqliteAccessLedger sqlite)
        {
            await sqlite.AppendRangeAsync(entries);
            return;
        }

        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < entries.Length)
            {
                await f.Ledger.AppendAsync(entries[i]);
            }
        })));
    }

    private static async Task<long> SizeAsync(LedgerOnBackend f) => await ((IAccessLedgerReader)f.Ledger).GetSizeAsync();

    private static async Task<DbTransaction> HoldProjectionAsync(DbConnection connection)
    {
        if (connection is SqliteConnection sqlite)
        {
            var immediate = sqlite.BeginTransaction(deferred: false);
            await using var touch = connection.Command("UPDATE incident_scope_position SET next_seq = next_seq WHERE id = 1");
            touch.Transaction = immediate;
            await touch.ExecuteNonQueryAsync();
            return immediate;
        }

        var tx = await connection.BeginTransactionAsync();
        await using var lockRow = connection.Command("SELECT next_seq FROM incident_scope_position WHERE id = 1 FOR UPDATE");
        lockRow.Transaction = tx;
        await lockRow.ExecuteScalarAsync();
        return tx;
    }

    private static async Task<LedgerOnBackend> CreateAsync(TestBackend backend)
    {
        var f = await LedgerOnBackend.CreateAsync(backend);
        await f.Db.MigrateAsync(new IncidentMigrations().Migrations, f.Time);
        return f;
    }

    private static IncidentScopeProjector Projector(CustodianDatabase db) => new(db, NullLogger<IncidentScopeProjector>.Instance);

    private static async Task<List<(long Seq, long TimeMs, string Account, string Terminal, string Store)>> RowsAsync(CustodianDatabase db)
    {
        var rows = new List<(long, long, string, string, string)>();
        await using var connection = await db.OpenAsync();
        await using var command = connection.Command("SELECT seq, time_ms, account, terminal, store FROM incident_scope_entries ORDER BY seq");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
        }

        return rows;
    }

    private static AccessEntry Entry(int i, string account, string terminal, string store, long subject = 1) => new()
    {
        Time = LedgerOnBackend.Start.AddSeconds(i),
        Task = AccessTask.View,
        Outcome = AccessOutcome.Allowed,
        Account = account,
        Role = StaffRole.Clerk,
        Terminal = terminal,
        Store = store,
        SourceIp = "10.0.0.1",
        Purpose = "in-store-service",
        Subjects = [new SubscriberId(subject)],
        Fields = ["name", "phone"],
    };
}
