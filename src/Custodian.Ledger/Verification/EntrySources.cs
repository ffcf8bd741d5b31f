using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Custodian.Ledger;

/// <summary>Where the verifier's pipeline reads the rows of <see cref="EntryChunk.Query"/> from, in sequence order. Not thread-safe.</summary>
internal interface IEntrySource
{
    /// <summary>Fills <paramref name="chunk"/> with the next rows; false when none are left (and then on every later call).</summary>
    /// <exception cref="DbException">When the database cannot be read.</exception>
    bool Fill(EntryChunk chunk);
}

/// <summary>The SQLite entry source: one statement stepped through SQLitePCL on the verifier's connection (inside its read transaction).</summary>
internal sealed class SqliteEntrySource : IEntrySource, IDisposable
{
    private readonly sqlite3 _handle;
    private readonly sqlite3_stmt _statement;
    private readonly SqliteColumnReader? _direct;
    private bool _exhausted;

    private SqliteEntrySource(sqlite3 handle, sqlite3_stmt statement)
    {
        _handle = handle;
        _statement = statement;
        _direct = SqliteColumnReader.For(handle, statement);
    }

    /// <summary>True when rows are read through direct calls into <c>e_sqlite3</c> (<see cref="SqliteColumnReader"/>).</summary>
    public bool IsDirect => _direct is not null;

    /// <summary>Prepares <see cref="EntryChunk.Query"/> on an open connection.</summary>
    /// <exception cref="SqliteException">When the statement cannot be prepared.</exception>
    public static SqliteEntrySource Prepare(SqliteConnection connection)
    {
        var handle = connection.Handle!;
        var rc = raw.sqlite3_prepare_v2(handle, EntryChunk.Query, out var statement);
        if (rc != raw.SQLITE_OK)
        {
            statement?.Dispose();
            throw new SqliteException(raw.sqlite3_errmsg(handle).utf8_to_string(), rc, raw.sqlite3_extended_errcode(handle));
        }

        return new SqliteEntrySource(handle, statement);
    }

    /// <inheritdoc />
    public bool Fill(EntryChunk chunk) => chunk.Fill(_handle, _statement, _direct, ref _exhausted);

    /// <summary>Finalizes the statement.</summary>
    public void Dispose() => _statement.Dispose();
}

/// <summary>The entry source over an ADO.NET reader of <see cref="EntryChunk.Query"/> (PostgreSQL). The reader is owned by the caller.</summary>
/// <param name="reader">An open reader of <see cref="EntryChunk.Query"/>.</param>
internal sealed class ReaderEntrySource(DbDataReader reader) : IEntrySource
{
    /// <inheritdoc />
    public bool Fill(EntryChunk chunk) => chunk.Fill(reader);
}

/// <summary>A connection and its open snapshot transaction (the PostgreSQL verifier's helper connections); disposing ends both.</summary>
/// <param name="Connection">The open connection.</param>
/// <param name="Transaction">Its read-only snapshot transaction.</param>
internal sealed record SnapshotConnection(DbConnection Connection, DbTransaction Transaction) : IAsyncDisposable
{
    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        await Connection.DisposeAsync();
    }
}
