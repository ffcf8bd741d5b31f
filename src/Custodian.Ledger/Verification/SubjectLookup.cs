using System.Data.Common;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Custodian.Ledger;

/// <summary>The verifier's "is there a <c>ledger_subjects</c> row (subscriber, seq)?" lookup, on the verifier's snapshot. Not thread-safe.</summary>
internal interface ISubjectLookup : IDisposable
{
    /// <summary>True when the row exists.</summary>
    /// <exception cref="DbException">When the database cannot be read.</exception>
    bool Exists(long subscriber, long seq);
}

/// <summary>
/// The verifier's "is there a <c>ledger_subjects</c> row (subscriber, seq)?" lookup: one SQLite
/// statement prepared once on the verifier's connection (so it reads the same snapshot) and bound by
/// position through SQLitePCL, the provider under Microsoft.Data.Sqlite. A <see cref="SqliteCommand"/>
/// per lookup cost about ten times more than the index probe itself. Not thread-safe.
/// </summary>
internal sealed class SubjectLookup : ISubjectLookup
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;

    private SubjectLookup(SqliteConnection connection, sqlite3_stmt statement)
    {
        _connection = connection;
        _statement = statement;
    }

    /// <summary>Prepares the lookup on an open connection.</summary>
    /// <exception cref="SqliteException">When the statement cannot be prepared.</exception>
    public static SubjectLookup Prepare(SqliteConnection connection)
    {
        var handle = connection.Handle!;
        var rc = raw.sqlite3_prepare_v2(handle, "SELECT 1 FROM ledger_subjects WHERE subscriber_id = ? AND seq = ?", out var statement);
        if (rc != raw.SQLITE_OK)
        {
            statement?.Dispose();
            throw new SqliteException(raw.sqlite3_errmsg(handle).utf8_to_string(), rc, raw.sqlite3_extended_errcode(handle));
        }

        return new SubjectLookup(connection, statement);
    }

    /// <summary>True when the row exists.</summary>
    /// <exception cref="SqliteException">When the database cannot be read.</exception>
    public bool Exists(long subscriber, long seq)
    {
        raw.sqlite3_bind_int64(_statement, 1, subscriber);
        raw.sqlite3_bind_int64(_statement, 2, seq);
        var rc = raw.sqlite3_step(_statement);
        raw.sqlite3_reset(_statement);
        return rc switch
        {
            raw.SQLITE_ROW => true,
            raw.SQLITE_DONE => false,
            _ => throw new SqliteException(raw.sqlite3_errmsg(_connection.Handle).utf8_to_string(), rc, raw.sqlite3_extended_errcode(_connection.Handle)),
        };
    }

    /// <inheritdoc />
    public void Dispose() => _statement.Dispose();
}

/// <summary>
/// <see cref="ISubjectLookup"/> as one prepared ADO.NET command (the PostgreSQL path: a round trip per
/// probe, which the verifier makes only to name the first bad sequence of a block whose sums differ,
/// see <see cref="SubjectRowsCheck"/>). The connection must not have another reader open while it runs.
/// Not thread-safe.
/// </summary>
internal sealed class CommandSubjectLookup : ISubjectLookup
{
    private readonly DbCommand _command;

    private CommandSubjectLookup(DbCommand command) => _command = command;

    /// <summary>Prepares the lookup on an open connection (inside the verifier's snapshot transaction).</summary>
    /// <exception cref="DbException">When the statement cannot be prepared.</exception>
    public static CommandSubjectLookup Prepare(DbConnection connection)
    {
        var command = connection.Command("SELECT 1 FROM ledger_subjects WHERE subscriber_id = @subscriber AND seq = @seq", ("@subscriber", 0L), ("@seq", 0L));
        return new CommandSubjectLookup(command);
    }

    /// <inheritdoc />
    public bool Exists(long subscriber, long seq)
    {
        _command.Parameters[0].Value = subscriber;
        _command.Parameters[1].Value = seq;
        return _command.ExecuteScalar() is not null and not DBNull;
    }

    /// <inheritdoc />
    public void Dispose() => _command.Dispose();
}
