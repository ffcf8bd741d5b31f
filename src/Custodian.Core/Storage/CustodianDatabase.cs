using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Custodian.Storage;

/// <summary>
/// The storage seam: hands out open ADO.NET connections to Custodian's relational store and applies
/// schema migrations. The embedded default is one SQLite file in WAL mode with
/// <c>synchronous=FULL</c> (a committed transaction survives power loss). SQL written against it
/// sticks to the portable subset (standard types, <c>INSERT … ON CONFLICT</c>, <c>@name</c> parameters)
/// so a PostgreSQL backend can run the same statements: <see cref="ForPostgres"/> opens one through Npgsql, and
/// <see cref="Dialect"/> names the few differences (docs/storage.md). Thread-safe; connections are pooled.
/// </summary>
public sealed class CustodianDatabase : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _postgres;
    private readonly SemaphoreSlim _writeTurn = new(1, 1);

    /// <summary>Opens (creating if needed) the SQLite database at <paramref name="path"/>.</summary>
    /// <param name="path">Path of the database file; its directory must exist. <c>:memory:</c> is not supported (each connection would see its own database).</param>
    public CustodianDatabase(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        Dialect = StorageDialect.Sqlite;
        GroupCommit = new SqliteGroupCommit(this);
    }

    private CustodianDatabase(NpgsqlDataSource postgres, string description)
    {
        _postgres = postgres;
        _connectionString = string.Empty;
        Path = description;
        Dialect = StorageDialect.Postgres;
    }

    /// <summary>
    /// Full path of the database file (its WAL lives beside it as <c>&lt;path&gt;-wal</c>); on PostgreSQL, where the
    /// database is not a file, the server and database without credentials (<c>postgres host:port/database as user</c>).
    /// </summary>
    public string Path { get; }

    /// <summary>The backend's SQL dialect: <see cref="StorageDialect.Sqlite"/> or <see cref="StorageDialect.Postgres"/>.</summary>
    public StorageDialect Dialect { get; }

    /// <summary>
    /// SQLite only: the group commit through which short writes of many callers (consent codes and the consent budget)
    /// share one <c>BEGIN IMMEDIATE</c> transaction and one WAL sync (<see cref="SqliteGroupCommit"/>); one per instance.
    /// Null on PostgreSQL, whose server runs concurrent write transactions and groups their WAL flushes itself.
    /// </summary>
    public SqliteGroupCommit? GroupCommit { get; }

    /// <summary>
    /// SQLite only: waits, at most <paramref name="timeout"/>, for this process's turn at the file's one write lock, to be
    /// held from just before <c>BEGIN IMMEDIATE</c> until the transaction has ended. The group-commit writers of one
    /// process (the access ledger's and <see cref="GroupCommit"/>) then hand the lock to each other as soon as one
    /// commits, instead of polling for it in SQLite's busy handler (sleeps of 1, 2, 5, 10, 15, 20, 25 ms, …, which left a
    /// writer asleep after the lock was free). The turn only orders this process's writers: the SQLite lock, with the
    /// connection's <c>busy_timeout</c>, still excludes other processes. When the turn is not granted in time the writer
    /// goes on without it (the SQLite lock still decides). Does nothing on PostgreSQL.
    /// </summary>
    /// <param name="timeout">The longest wait for the turn (e.g. the ledger's lock timeout); zero or more.</param>
    /// <returns>The turn; dispose it (once) when the transaction has ended.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="timeout"/> is negative.</exception>
    public WriteTurn EnterWriteTurn(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        return new WriteTurn(IsSqlite && _writeTurn.Wait(timeout) ? _writeTurn : null);
    }

    /// <summary>
    /// SQLite only: <see cref="EnterWriteTurn"/> for asynchronous writers (the ledger's projectors). Waits, at most
    /// <paramref name="timeout"/>, without blocking a thread. A writer waiting in <see cref="EnterWriteTurn"/> (the ledger's
    /// group commit, on its own thread) is served before one waiting here when the turn is passed on
    /// (<see cref="SemaphoreSlim"/> wakes synchronous waiters first), so a background step delays a commit by at most
    /// its own length. When the turn is not granted in time the writer goes on without it. Does nothing on PostgreSQL.
    /// </summary>
    /// <param name="timeout">The longest wait for the turn; zero or more.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The turn; dispose it (once) when the transaction has ended.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="timeout"/> is negative.</exception>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled while waiting.</exception>
    public async ValueTask<WriteTurn> EnterWriteTurnAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        return new WriteTurn(IsSqlite && await _writeTurn.WaitAsync(timeout, cancellationToken) ? _writeTurn : null);
    }

    /// <summary>True for the embedded SQLite file (whose file-level tools — backup, storage audit, ledger verification — apply).</summary>
    public bool IsSqlite => _postgres is null;

    /// <summary>
    /// A database on a PostgreSQL server. Nothing is opened until the first <see cref="OpenAsync"/>; call
    /// <see cref="CheckAvailableAsync"/> at start-up to fail early. Connections come from one pooled Npgsql data source.
    /// </summary>
    /// <param name="settings">Settings from <see cref="StorageSettings.Parse"/> naming a PostgreSQL backend.</param>
    /// <returns>The database.</returns>
    /// <exception cref="ArgumentException">When <paramref name="settings"/> select SQLite.</exception>
    public static CustodianDatabase ForPostgres(StorageSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.ConnectionString is null)
        {
            throw new ArgumentException("The settings select SQLite, not PostgreSQL.", nameof(settings));
        }

        return new CustodianDatabase(NpgsqlDataSource.Create(settings.ConnectionString), settings.Describe());
    }

    /// <summary>Opens a connection: on SQLite with Custodian's pragmas applied (<see cref="StorageDialect.ConnectionSetup"/>), on PostgreSQL from the pool.</summary>
    /// <exception cref="NpgsqlException">PostgreSQL only: the server is unreachable or refused the credentials.</exception>
    /// <exception cref="StorageUnavailableException">SQLite only: the file is damaged or is not a database (<see cref="StorageUnavailableException.IsDamagedSqlite"/>).</exception>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken);
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = Dialect.ConnectionSetup;
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch (SqliteException ex) when (StorageUnavailableException.IsDamagedSqlite(ex))
        {
            await connection.DisposeAsync();
            throw StorageUnavailableException.From(Path, ex); // one line naming the file and the remedy, not the driver's trace
        }
    }

    /// <summary>
    /// Begins a read-only transaction that sees one snapshot of the database for all its statements: SQLite
    /// <c>BEGIN DEFERRED</c> (the snapshot is taken by the first read, and no write lock is taken); PostgreSQL
    /// <c>REPEATABLE READ READ ONLY</c>.
    /// </summary>
    /// <param name="connection">A connection from <see cref="OpenAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The transaction; dispose it to end it.</returns>
    public async Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection is SqliteConnection sqlite)
        {
            return sqlite.BeginTransaction(deferred: true);
        }

        var tx = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        await using var readOnly = connection.CreateCommand();
        readOnly.Transaction = tx;
        readOnly.CommandText = "SET TRANSACTION READ ONLY";
        await readOnly.ExecuteNonQueryAsync(cancellationToken);
        return tx;
    }

    /// <summary>
    /// Opens and closes one connection to prove the database is reachable and accepts the credentials, so that a server
    /// or CLI verb fails at start-up with one line instead of on the first request.
    /// </summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <exception cref="StorageUnavailableException">With a one-line reason: unreachable, authentication failed, no such database, or timed out.</exception>
    public async Task CheckAvailableAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var probe = connection.CreateCommand();
            probe.CommandText = "SELECT 1";
            await probe.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is DbException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw StorageUnavailableException.From(Path, ex);
        }
    }

    /// <summary>Closes the PostgreSQL connection pool (nothing to do for SQLite, whose pool is process-wide). Safe to call more than once.</summary>
    public ValueTask DisposeAsync() => _postgres?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>Opens a connection synchronously (for the CLI and start-up paths).</summary>
    public DbConnection Open() => OpenAsync().GetAwaiter().GetResult();

    /// <summary>
    /// Applies every migration in <paramref name="migrations"/> not yet recorded in the
    /// <c>schema_migrations</c> table, each in its own transaction, in the order given.
    /// </summary>
    /// <param name="migrations">All known migrations.</param>
    /// <param name="timeProvider">Clock for the applied-at column.</param>
    /// <param name="cancellationToken">Cancels the migration.</param>
    /// <exception cref="InvalidOperationException">When two migrations share an ID.</exception>
    public async Task MigrateAsync(IEnumerable<Migration> migrations, TimeProvider timeProvider, CancellationToken cancellationToken = default)
    {
        var list = migrations.ToList();
        var duplicate = list.GroupBy(m => m.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two migrations share the ID '{duplicate.Key}'.");
        }

        await using var connection = await OpenAsync(cancellationToken);
        if (!IsSqlite)
        {
            // Several API nodes may start at once against one server: one migrates, the others wait (session lock,
            // released when the connection goes back to the pool; Npgsql resets the session).
            await using var lockCommand = connection.Command("SELECT pg_advisory_lock(5900)");
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            await ApplyAsync(connection, list, timeProvider, cancellationToken);
        }
        finally
        {
            if (!IsSqlite)
            {
                await using var unlock = connection.Command("SELECT pg_advisory_unlock(5900)");
                await unlock.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    private async Task ApplyAsync(DbConnection connection, List<Migration> list, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)";
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = new HashSet<string>(StringComparer.Ordinal);
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT id FROM schema_migrations";
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetString(0));
            }
        }

        foreach (var migration in list.Where(m => !applied.Contains(m.Id)))
        {
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            await using (var apply = connection.CreateCommand())
            {
                apply.Transaction = tx;
                apply.CommandText = Dialect.TranslateDdl(migration.Sql);
                await apply.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var record = connection.CreateCommand())
            {
                record.Transaction = tx;
                record.CommandText = "INSERT INTO schema_migrations (id, applied_at) VALUES (@id, @at)";
                record.AddParameter("@id", migration.Id);
                record.AddParameter("@at", timeProvider.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
        }
    }
}

/// <summary>A turn at the SQLite write lock from <see cref="CustodianDatabase.EnterWriteTurn"/>; disposing it passes the turn on.</summary>
public readonly struct WriteTurn : IDisposable
{
    private readonly SemaphoreSlim? _held;

    internal WriteTurn(SemaphoreSlim? held)
    {
        _held = held;
    }

    /// <summary>True when the turn was granted (false on PostgreSQL and after a timed-out wait).</summary>
    public bool Granted => _held is not null;

    /// <summary>Passes the turn on; call once.</summary>
    public void Dispose() => _held?.Release();
}

/// <summary>One schema change. IDs are prefixed by the owning capability, e.g. <c>ledger-001</c>, and never reused.</summary>
/// <param name="Id">Unique, stable identifier.</param>
/// <param name="Sql">One or more portable SQL statements separated by semicolons, in SQLite's spelling of the portable types (<c>INTEGER</c>, <c>BLOB</c>); <see cref="StorageDialect.TranslateDdl"/> adapts them per backend.</param>
public sealed record Migration(string Id, string Sql);

/// <summary>Implemented by each capability to contribute its tables.</summary>
public interface IMigrationSource
{
    /// <summary>The capability's migrations, oldest first.</summary>
    IEnumerable<Migration> Migrations { get; }
}
