using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Postgres;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.Backends;

/// <summary>
/// The ledger tables with their writer on one backend: a SQLite file in a fresh temporary directory or a fresh
/// PostgreSQL schema, both deleted on dispose. For the tests that run the ledger's read side (verification, retention)
/// on both backends and compare.
/// </summary>
internal sealed class LedgerOnBackend : IAsyncDisposable
{
    private readonly DirectoryInfo? _directory;
    private readonly PostgresSchema? _schema;

    private LedgerOnBackend(TestBackend backend, CustodianDatabase db, DirectoryInfo? directory, PostgresSchema? schema, FakeTimeProvider time)
    {
        Backend = backend;
        Db = db;
        _directory = directory;
        _schema = schema;
        Time = time;
        Ledger = db.IsSqlite
            ? new SqliteAccessLedger(db, new InProcessAccessEventStream(), time, NullLogger<SqliteAccessLedger>.Instance)
            : new PostgresAccessLedger(db, new InProcessAccessEventStream(), time, NullLogger<PostgresAccessLedger>.Instance);
    }

    public static DateTimeOffset Start { get; } = new(2025, 1, 6, 0, 30, 0, TimeSpan.Zero);

    public TestBackend Backend { get; }

    public CustodianDatabase Db { get; }

    public FakeTimeProvider Time { get; }

    /// <summary>The backend's writer: <see cref="SqliteAccessLedger"/> or <see cref="PostgresAccessLedger"/>.</summary>
    public IAccessLedger Ledger { get; }

    public static async Task<LedgerOnBackend> CreateAsync(TestBackend backend)
    {
        var time = new FakeTimeProvider(Start);
        if (backend == TestBackend.Sqlite)
        {
            var directory = Directory.CreateTempSubdirectory("custodian-ledger-backend-");
            var sqlite = new CustodianDatabase(Path.Combine(directory.FullName, "custodian.db"));
            await sqlite.MigrateAsync(new LedgerMigrations().Migrations, time);
            return new LedgerOnBackend(backend, sqlite, directory, null, time);
        }

        var schema = await TestStorage.CreateSchemaAsync();
        var postgres = CustodianDatabase.ForPostgres(schema.Settings);
        await postgres.MigrateAsync(new LedgerMigrations().Migrations, time);
        return new LedgerOnBackend(backend, postgres, null, schema, time);
    }

    /// <summary>An entry at <see cref="Start"/> + <paramref name="i"/> seconds by clerk <c>C{i:0000}</c>, reading <paramref name="subjects"/> (a sign-in when none).</summary>
    public static AccessEntry Entry(int i, params long[] subjects) => new()
    {
        Time = Start.AddSeconds(i),
        Task = subjects.Length > 0 ? AccessTask.View : AccessTask.SignIn,
        Outcome = AccessOutcome.Allowed,
        Account = $"C{i:0000}",
        Role = StaffRole.Clerk,
        Terminal = "T-1",
        Store = "S001",
        SourceIp = "10.0.0.1",
        Purpose = subjects.Length > 0 ? "in-store-service" : null,
        Subjects = subjects.Select(s => new SubscriberId(s)).ToArray(),
        Fields = subjects.Length > 0 ? ["name", "phone"] : [],
    };

    /// <summary>Runs the subject projection (<see cref="LedgerSubjectProjector"/>) until everything committed has its subject rows; returns the watermark.</summary>
    public Task<long> ProjectSubjectsAsync() => new LedgerSubjectProjector(Db, NullLogger<LedgerSubjectProjector>.Instance).CatchUpAsync();

    public async Task ExecuteAsync(string sql, params (string, object?)[] parameters)
    {
        await using var connection = await Db.OpenAsync();
        await using var command = connection.Command(sql, parameters);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<long> ScalarAsync(string sql, params (string, object?)[] parameters)
    {
        await using var connection = await Db.OpenAsync();
        await using var command = connection.Command(sql, parameters);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<byte[]> BlobAsync(string sql, params (string, object?)[] parameters)
    {
        await using var connection = await Db.OpenAsync();
        await using var command = connection.Command(sql, parameters);
        return (byte[])(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        await ((IAsyncDisposable)Ledger).DisposeAsync();
        await Db.DisposeAsync();
        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }

        if (_directory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _directory.Delete(recursive: true);
        }
    }
}
