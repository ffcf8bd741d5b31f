using Custodian.Events;
using Custodian.Identity;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Ledger.Tests;

/// <summary>A real SQLite file in a fresh temporary directory with the ledger tables; deleted on dispose.</summary>
internal sealed class LedgerFixture : IAsyncDisposable
{
    private readonly List<SqliteAccessLedger> _ledgers = [];

    private LedgerFixture(string directory)
    {
        Directory = directory;
        Db = new CustodianDatabase(Path.Combine(directory, "custodian.db"));
    }

    public static DateTimeOffset Start { get; } = new(2025, 1, 6, 0, 30, 0, TimeSpan.Zero);

    public string Directory { get; }

    public CustodianDatabase Db { get; }

    public InProcessAccessEventStream Events { get; } = new();

    public FakeTimeProvider Time { get; } = new(Start);

    public static async Task<LedgerFixture> CreateAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "custodian-ledger-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var fixture = new LedgerFixture(directory);
        await fixture.Db.MigrateAsync(new LedgerMigrations().Migrations, fixture.Time);
        return fixture;
    }

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

    public SqliteAccessLedger NewLedger(LedgerOptions? options = null, ILogger<SqliteAccessLedger>? logger = null)
    {
        var ledger = new SqliteAccessLedger(Db, Events, Time, logger ?? NullLogger<SqliteAccessLedger>.Instance, options);
        _ledgers.Add(ledger);
        return ledger;
    }

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

    /// <summary>Takes the database write lock on another connection (as another process would) until disposed.</summary>
    public async Task<IAsyncDisposable> HoldWriteLockAsync()
    {
        var connection = (SqliteConnection)await Db.OpenAsync();
        var tx = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
        return new Lock(connection, tx);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var ledger in _ledgers)
        {
            await ledger.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A pooled connection of a parallel test may still hold the file for a moment; the OS temp cleaner gets it.
        }
    }

    private sealed class Lock(SqliteConnection connection, SqliteTransaction tx) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await tx.RollbackAsync();
            await tx.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
