using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Custodian.Storage;

/// <summary>
/// The storage seam: hands out open ADO.NET connections to Custodian's relational store and applies
/// schema migrations. The embedded default is one SQLite file in WAL mode with
/// <c>synchronous=FULL</c> (a committed transaction survives power loss). SQL written against it
/// sticks to the portable subset (standard types, <c>INSERT … ON CONFLICT</c>, <c>@name</c> parameters)
/// so a PostgreSQL backend can run the same statements. Thread-safe; connections are pooled.
/// </summary>
public sealed class CustodianDatabase
{
    private readonly string _connectionString;

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
    }

    /// <summary>Full path of the database file. Its WAL lives beside it as <c>&lt;path&gt;-wal</c>.</summary>
    public string Path { get; }

    /// <summary>Opens a connection with Custodian's pragmas applied (WAL, synchronous=FULL, foreign keys, 5 s busy timeout).</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

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
                apply.CommandText = migration.Sql;
                await apply.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var record = connection.CreateCommand())
            {
                record.Transaction = tx;
                record.CommandText = "INSERT INTO schema_migrations (id, applied_at) VALUES (@id, @at)";
                record.Parameters.Add(new SqliteParameter("@id", migration.Id));
                record.Parameters.Add(new SqliteParameter("@at", timeProvider.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
        }
    }
}

/// <summary>One schema change. IDs are prefixed by the owning capability, e.g. <c>ledger-001</c>, and never reused.</summary>
/// <param name="Id">Unique, stable identifier.</param>
/// <param name="Sql">One or more portable SQL statements separated by semicolons.</param>
public sealed record Migration(string Id, string Sql);

/// <summary>Implemented by each capability to contribute its tables.</summary>
public interface IMigrationSource
{
    /// <summary>The capability's migrations, oldest first.</summary>
    IEnumerable<Migration> Migrations { get; }
}
