using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Custodian.Monitoring.Tests.Support;

/// <summary>
/// A real database, migrated, deleted on dispose: by default a SQLite file in a fresh temp directory; with
/// <c>postgres</c> a fresh schema on the test server named by <c>CUSTODIAN_TEST_POSTGRES</c> (scripts/postgres-test-server.sh;
/// scripts/test.sh sets it for every test project), dropped on dispose.
/// </summary>
internal sealed class TestDatabase : IDisposable
{
    private const string PostgresVariable = "CUSTODIAN_TEST_POSTGRES";

    private readonly string? _directory;
    private readonly (string Server, string Schema)? _postgres;

    private TestDatabase(string? directory, (string Server, string Schema)? postgres, CustodianDatabase db)
    {
        _directory = directory;
        _postgres = postgres;
        Db = db;
    }

    public CustodianDatabase Db { get; }

    public static async Task<TestDatabase> CreateAsync(bool postgres = false)
    {
        if (postgres)
        {
            var server = Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } value
                ? value
                : throw new InvalidOperationException($"{PostgresVariable} is not set: this test needs PostgreSQL (scripts/postgres-test-server.sh).");
            var schema = "t_" + Guid.NewGuid().ToString("N");
            await using (var connection = new NpgsqlConnection(server))
            {
                await connection.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
                await create.ExecuteNonQueryAsync();
            }

            var settings = StorageSettings.Parse(new NpgsqlConnectionStringBuilder(server) { SearchPath = schema, MaxPoolSize = 20 }.ConnectionString).Value!;
            var pg = CustodianDatabase.ForPostgres(settings);
            await pg.MigrateAsync(new MonitoringMigrations().Migrations, new FakeTimeProvider());
            return new TestDatabase(null, (server, schema), pg);
        }

        var directory = Path.Combine(Path.GetTempPath(), "custodian-monitoring-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var db = new CustodianDatabase(Path.Combine(directory, "custodian.db"));
        await db.MigrateAsync(new MonitoringMigrations().Migrations, new FakeTimeProvider());
        return new TestDatabase(directory, null, db);
    }

    public void Dispose()
    {
        if (_postgres is var (server, schema))
        {
            Db.DisposeAsync().AsTask().GetAwaiter().GetResult();
            using var connection = new NpgsqlConnection(server);
            connection.Open();
            using var drop = new NpgsqlCommand($"DROP SCHEMA {schema} CASCADE", connection);
            drop.ExecuteNonQuery();
            return;
        }

        // A background suspension refresh may still hold a connection for a moment: retry briefly.
        for (var attempt = 1; ; attempt++)
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_directory!, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 50)
            {
                Thread.Sleep(20);
            }
        }
    }
}
