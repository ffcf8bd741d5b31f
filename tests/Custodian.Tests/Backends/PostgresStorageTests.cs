using System.Data.Common;
using Custodian.Events;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Postgres;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Custodian.Tests.Backends;

/// <summary>Storage-level conformance: the same migrations, schema and ledger roots on SQLite and PostgreSQL.</summary>
public sealed class PostgresStorageTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 1, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Every_migration_applies_on_both_backends_once_and_gives_the_same_tables_and_columns()
    {
        var directory = Directory.CreateTempSubdirectory("custodian-storage-");
        await using var schema = await TestStorage.CreateSchemaAsync();
        try
        {
            var migrations = AllMigrations(directory.FullName);
            var time = new FakeTimeProvider(Start);
            var sqlite = new CustodianDatabase(Path.Combine(directory.FullName, "custodian.db"));
            await using var postgres = CustodianDatabase.ForPostgres(schema.Settings);
            foreach (var db in new[] { sqlite, postgres })
            {
                await db.MigrateAsync(migrations, time);
                await db.MigrateAsync(migrations, time); // a second start applies nothing
                await using var connection = await db.OpenAsync();
                await using var count = connection.Command("SELECT COUNT(*) FROM schema_migrations");
                Assert.Equal((long)migrations.Count, Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
            }

            var sqliteColumns = await ColumnsAsync(sqlite, "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1, 2");
            var postgresColumns = await ColumnsAsync(postgres, $"SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = '{schema.Name}' ORDER BY 1, 2");
            Assert.True(sqliteColumns.Count > 100, $"only {sqliteColumns.Count} columns");
            Assert.Equal(sqliteColumns, postgresColumns);

            // Times are Unix milliseconds: PostgreSQL columns must be 64-bit.
            var narrow = await ColumnsAsync(postgres, $"SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = '{schema.Name}' AND data_type IN ('integer', 'smallint') ORDER BY 1, 2");
            Assert.Empty(narrow);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_same_entries_give_the_same_roots_and_proofs_on_sqlite_and_postgres()
    {
        var directory = Directory.CreateTempSubdirectory("custodian-storage-");
        await using var schema = await TestStorage.CreateSchemaAsync();
        try
        {
            var time = new FakeTimeProvider(Start);
            var sqliteDb = new CustodianDatabase(Path.Combine(directory.FullName, "custodian.db"));
            await using var postgresDb = CustodianDatabase.ForPostgres(schema.Settings);
            await sqliteDb.MigrateAsync(new LedgerMigrations().Migrations, time);
            await postgresDb.MigrateAsync(new LedgerMigrations().Migrations, time);
            var sqlite = new SqliteAccessLedger(sqliteDb, new InProcessAccessEventStream(), time, NullLogger<SqliteAccessLedger>.Instance);
            var published = new InProcessAccessEventStream();
            using var subscription = published.Subscribe("test");
            var postgres = new PostgresAccessLedger(postgresDb, published, time, NullLogger<PostgresAccessLedger>.Instance, new LedgerOptions { MaxBatchSize = 16 });
            await using (sqlite)
            await using (postgres)
            {
                // 70 entries: complete subtrees at level 4 (16 leaves) are stored, level 8 is not yet reached.
                const int count = 70;
                var sqliteCommitted = new List<CommittedEntry>();
                for (var i = 0; i < count; i++)
                {
                    sqliteCommitted.Add(await sqlite.AppendAsync(Entry(i)));
                }

                // Concurrent appends on PostgreSQL: group commit may batch them, sequence numbers stay gap-free in call order per caller.
                var postgresCommitted = new List<CommittedEntry>();
                for (var i = 0; i < count; i += 10)
                {
                    var batch = await Task.WhenAll(Enumerable.Range(i, 10).Select(j => postgres.AppendAsync(Entry(j)).AsTask()));
                    postgresCommitted.AddRange(batch);
                }

                Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), postgresCommitted.Select(c => c.Sequence).Order());
                var pgProofs = new LedgerProofs(postgresDb, postgres);
                var sqliteProofs = new LedgerProofs(sqliteDb, sqlite);

                // The leaves are the same multiset; the order may differ under concurrency, so compare the
                // PostgreSQL tree with the root computed from its own leaf order, and the SQLite tree likewise,
                // then append a second, sequential run to both and compare them byte for byte.
                var pgLeaves = postgresCommitted.OrderBy(c => c.Sequence).Select(c => c.LeafHash.ToArray()).ToList();
                Assert.Equal(MerkleTree.ComputeRoot(pgLeaves), (await pgProofs.GetTreeHeadAsync()).Root);
                Assert.Equal(MerkleTree.ComputeRoot(sqliteCommitted.Select(c => c.LeafHash.ToArray())), (await sqliteProofs.GetTreeHeadAsync()).Root);
                Assert.Equal(sqliteCommitted.Select(c => Convert.ToHexString(c.LeafHash.Span)).Order(), pgLeaves.Select(Convert.ToHexString).Order());

                var events = new List<long>();
                await foreach (var entry in subscription.Reader.ReadAllAsync())
                {
                    events.Add(entry.Sequence);
                    if (events.Count == count)
                    {
                        break;
                    }
                }

                Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), events); // published in sequence order

                await using var sqlite2Dir = new TempSqlite();
                var sqlite2Db = new CustodianDatabase(sqlite2Dir.Path);
                await sqlite2Db.MigrateAsync(new LedgerMigrations().Migrations, time);
                await using var schema2 = await TestStorage.CreateSchemaAsync();
                await using var postgres2Db = CustodianDatabase.ForPostgres(schema2.Settings);
                await postgres2Db.MigrateAsync(new LedgerMigrations().Migrations, time);
                await using var sqlite2 = new SqliteAccessLedger(sqlite2Db, new InProcessAccessEventStream(), time, NullLogger<SqliteAccessLedger>.Instance);
                await using var postgres2 = new PostgresAccessLedger(postgres2Db, new InProcessAccessEventStream(), time, NullLogger<PostgresAccessLedger>.Instance);
                for (var i = 0; i < count; i++)
                {
                    var a = await sqlite2.AppendAsync(Entry(i));
                    var b = await postgres2.AppendAsync(Entry(i));
                    Assert.Equal(a.Sequence, b.Sequence);
                    Assert.Equal(a.LeafHash.ToArray(), b.LeafHash.ToArray());
                }

                var s2 = new LedgerProofs(sqlite2Db, sqlite2);
                var p2 = new LedgerProofs(postgres2Db, postgres2);
                Assert.Equal((await s2.GetTreeHeadAsync()).Root, (await p2.GetTreeHeadAsync()).Root);
                foreach (var size in new long[] { 1, 15, 16, 17, 33, 64, 69, 70 })
                {
                    Assert.Equal(await s2.GetRootAsync(size), await p2.GetRootAsync(size));
                    Assert.Equal(await s2.GetInclusionProofAsync(size - 1, size), await p2.GetInclusionProofAsync(size - 1, size));
                    Assert.Equal(await s2.GetConsistencyProofAsync(1, size), await p2.GetConsistencyProofAsync(1, size));
                }

                var head = await p2.GetTreeHeadAsync();
                var proof = await p2.GetInclusionProofAsync(37, head.Size);
                var leaf37 = (await ReadAllAsync(postgres2))[37].LeafHash.ToArray();
                var root20 = await p2.GetRootAsync(20);
                var consistency = await p2.GetConsistencyProofAsync(20, head.Size);
                Assert.True(MerkleTree.VerifyInclusion(37, head.Size, leaf37, proof, head.Root.Span));
                Assert.True(MerkleTree.VerifyConsistency(20, head.Size, root20, head.Root.Span, consistency));

                // The readers agree too.
                Assert.Equal(
                    (await sqlite2.ReadBySubjectAsync(new SubscriberId(1_000_003), null, 100)).Select(e => e.Sequence),
                    (await postgres2.ReadBySubjectAsync(new SubscriberId(1_000_003), null, 100)).Select(e => e.Sequence));
                Assert.Equal([3L, 10, 17, 24, 31, 38, 45, 52, 59, 66], (await postgres2.ReadBySubjectAsync(new SubscriberId(1_000_003), null, 100)).Select(e => e.Sequence).Order());
                var since = new List<long>();
                await foreach (var e in postgres2.ReadSinceAsync(Start.AddSeconds(60)))
                {
                    since.Add(e.Sequence);
                }

                Assert.Equal(Enumerable.Range(60, 10).Select(i => (long)i), since);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_unreachable_server_wrong_credentials_or_a_missing_database_fail_with_one_line_naming_the_reason_not_the_password()
    {
        var server = new NpgsqlConnectionStringBuilder(TestStorage.ServerConnectionString);
        async Task<string> FailureAsync(Action<NpgsqlConnectionStringBuilder> change)
        {
            var b = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Timeout = 5 };
            change(b);
            await using var db = CustodianDatabase.ForPostgres(StorageSettings.Parse(b.ConnectionString).Value!);
            var ex = await Assert.ThrowsAsync<StorageUnavailableException>(() => db.CheckAvailableAsync());
            Assert.DoesNotContain("wrong-password-42", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', ex.Message);
            return ex.Message;
        }

        var where = $"{server.Host}:{server.Port}";
        Assert.Equal(
            $"storage postgres {where}/{server.Database} as {server.Username} is unavailable: the server refused the credentials (authentication failed).",
            await FailureAsync(b => b.Password = "wrong-password-42"));
        Assert.Equal(
            $"storage postgres {where}/no_such_db as {server.Username} is unavailable: the database does not exist.",
            await FailureAsync(b => b.Database = "no_such_db"));
        Assert.Equal(
            $"storage postgres 127.0.0.1:1/{server.Database} as {server.Username} is unavailable: the server is unreachable (connection refused or timed out).",
            await FailureAsync(b => (b.Host, b.Port, b.Password) = ("127.0.0.1", 1, "wrong-password-42")));
    }

    [Fact]
    public async Task Serve_stops_with_exit_code_2_before_creating_anything_when_the_configured_postgres_refuses_it()
    {
        var directory = Path.Combine(Path.GetTempPath(), "custodian-serve-" + Guid.NewGuid().ToString("N"));
        var b = new NpgsqlConnectionStringBuilder(TestStorage.ServerConnectionString) { Password = "wrong-password-42" };
        var code = await Custodian.Cli.CustodianCli.RunAsync(["serve", "--data", directory, "--terminal-port", "0", "--portal-port", "0", "--storage", b.ConnectionString]);
        Assert.Equal(2, code);
        Assert.False(Directory.Exists(directory)); // refused before the data directory, keys or CA were created
        Assert.Equal(2, await Custodian.Cli.CustodianCli.RunAsync(["serve", "--data", directory, "--terminal-port", "0", "--portal-port", "0", "--storage", "mysql://x"]));
        Assert.False(Directory.Exists(directory));
    }

    private static List<Migration> AllMigrations(string dataDirectory)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddCustodianCore(new CustodianOptions { DataDirectory = dataDirectory }, new FakeTimeProvider(Start));
        using var provider = services.BuildServiceProvider();
        return provider.GetServices<IMigrationSource>().SelectMany(s => s.Migrations).ToList();
    }

    private static async Task<List<(string Table, string Column)>> ColumnsAsync(CustodianDatabase db, string sql)
    {
        var list = new List<(string, string)>();
        await using var connection = await db.OpenAsync();
        await using var command = connection.Command(sql);
        await using DbDataReader reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            list.Add((reader.GetString(0), reader.GetString(1)));
        }

        return list;
    }

    private static async Task<List<CommittedEntry>> ReadAllAsync(IAccessLedgerReader reader)
    {
        var list = new List<CommittedEntry>();
        await foreach (var e in reader.ReadAsync(0))
        {
            list.Add(e);
        }

        return list;
    }

    private static AccessEntry Entry(int i) => new()
    {
        Time = Start.AddSeconds(i),
        Task = i % 7 == 3 ? AccessTask.View : AccessTask.SignIn,
        Outcome = i % 5 == 4 ? AccessOutcome.Denied : AccessOutcome.Allowed,
        Account = $"C{i % 4:0000}",
        Role = StaffRole.Clerk,
        Terminal = "T-1",
        Store = "S001",
        SourceIp = "10.0.0.1",
        Purpose = i % 7 == 3 ? "in-store-service" : null,
        Subjects = i % 7 == 3 ? [new SubscriberId(1_000_003)] : [],
        Fields = i % 7 == 3 ? ["name", "phone"] : [],
    };

    private sealed class TempSqlite : IAsyncDisposable
    {
        private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("custodian-storage-");

        public string Path => System.IO.Path.Combine(_directory.FullName, "custodian.db");

        public ValueTask DisposeAsync()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _directory.Delete(recursive: true);
            return ValueTask.CompletedTask;
        }
    }
}
