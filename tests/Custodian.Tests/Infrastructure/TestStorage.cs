using Custodian.Storage;
using Npgsql;

namespace Custodian.Tests.Infrastructure;

/// <summary>The storage backend a test runs on (docs/storage.md, "Running the suite on PostgreSQL").</summary>
public enum TestBackend
{
    /// <summary>The embedded SQLite file in the test's data directory.</summary>
    Sqlite,

    /// <summary>A fresh schema in the PostgreSQL database named by <c>CUSTODIAN_TEST_POSTGRES</c>.</summary>
    Postgres,
}

/// <summary>
/// The PostgreSQL server the tests use: its Npgsql connection string comes from the environment variable
/// <c>CUSTODIAN_TEST_POSTGRES</c>, which <c>scripts/test.sh</c> and <c>.ci/run</c> set from
/// <c>scripts/postgres-test-server.sh</c>. A test that needs PostgreSQL fails (never skips) when it is not set. Each
/// test gets its own schema (dropped afterwards) so tests run in parallel against one database.
/// <c>CUSTODIAN_TEST_BACKEND=postgres</c> runs every <see cref="CustodianTestHost"/> on PostgreSQL (the whole functional
/// suite; not done by default to keep the test run short).
/// </summary>
public static class TestStorage
{
    /// <summary>Environment variable holding the test server's Npgsql connection string.</summary>
    public const string ConnectionVariable = "CUSTODIAN_TEST_POSTGRES";

    /// <summary>Both backends, for <c>[MemberData]</c>.</summary>
    public static TheoryData<TestBackend> Backends => new() { TestBackend.Sqlite, TestBackend.Postgres };

    /// <summary>The backend for hosts that do not name one: <c>CUSTODIAN_TEST_BACKEND</c> (<c>sqlite</c> by default).</summary>
    public static TestBackend Default =>
        string.Equals(Environment.GetEnvironmentVariable("CUSTODIAN_TEST_BACKEND"), "postgres", StringComparison.OrdinalIgnoreCase) ? TestBackend.Postgres : TestBackend.Sqlite;

    /// <summary>The server's connection string; fails the test when the environment does not provide one.</summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(ConnectionVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{ConnectionVariable} is not set: this test needs PostgreSQL. Start one with scripts/postgres-test-server.sh and export its output as {ConnectionVariable} (scripts/test.sh and .ci/run do this).");

    /// <summary>Creates a fresh, empty schema and returns its name and a connection string whose search path is that schema.</summary>
    public static async Task<PostgresSchema> CreateSchemaAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        var server = ServerConnectionString;
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE SCHEMA {name}", connection);
            await create.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(server) { SearchPath = name, MaxPoolSize = 20 };
        return new PostgresSchema(name, server, builder.ConnectionString);
    }
}

/// <summary>A schema created for one test; disposing drops it with everything in it.</summary>
/// <param name="Name">The schema name (<c>t_</c> and 32 hex digits).</param>
/// <param name="ServerConnectionString">The server connection (default search path).</param>
/// <param name="ConnectionString">A connection string whose search path is this schema.</param>
public sealed record PostgresSchema(string Name, string ServerConnectionString, string ConnectionString) : IAsyncDisposable
{
    /// <summary>Settings selecting this schema.</summary>
    public StorageSettings Settings => StorageSettings.Parse(ConnectionString).Value!;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA {Name} CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
