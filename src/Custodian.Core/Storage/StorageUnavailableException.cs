using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Custodian.Storage;

/// <summary>
/// The configured database cannot be used: unreachable, credentials refused, no such database, timed out, or (SQLite) a
/// damaged file or one that is not a database. Its
/// message is one line naming the backend and server (never the password) and the reason; the CLI prints it and exits
/// with code 2. Derives from <see cref="InvalidOperationException"/> so the CLI's one-line error handling applies.
/// </summary>
public sealed class StorageUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line.</param>
    /// <param name="innerException">The driver's exception.</param>
    public StorageUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public StorageUnavailableException()
        : base("The configured database is unavailable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line.</param>
    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>
    /// Classifies a driver exception into a one-line reason. PostgreSQL SQLSTATEs (PostgreSQL documentation, Appendix A):
    /// <c>28P01</c>/<c>28000</c> authentication, <c>3D000</c> no such database, <c>57P03</c> starting up,
    /// <c>53300</c> too many connections.
    /// </summary>
    /// <param name="where">The backend and server, without credentials (<see cref="CustodianDatabase.Path"/>).</param>
    /// <param name="exception">What the driver threw.</param>
    /// <returns>The exception to throw.</returns>
    public static StorageUnavailableException From(string where, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var reason = exception switch
        {
            PostgresException { SqlState: "28P01" or "28000" } => "the server refused the credentials (authentication failed)",
            PostgresException { SqlState: "3D000" } => "the database does not exist",
            PostgresException { SqlState: "57P03" } => "the server is starting up or shutting down",
            PostgresException { SqlState: "53300" } => "the server has too many connections",
            PostgresException pg => $"the server refused the connection (SQLSTATE {pg.SqlState})",
            NpgsqlException { InnerException: SocketException or TimeoutException } or SocketException => "the server is unreachable (connection refused or timed out)",
            TimeoutException or NpgsqlException { InnerException: TimeoutException } => "the server did not answer in time",
            NpgsqlException => "the connection failed",
            SqliteException sqlite when IsDamagedSqlite(sqlite) => DamagedSqliteReason(sqlite),
            DbException => "the database could not be opened",
            _ => "the database could not be opened",
        };
        return new StorageUnavailableException($"storage {where} is unavailable: {reason}.", exception);
    }

    /// <summary>
    /// Whether <paramref name="exception"/>, or one it wraps, is SQLite reporting a damaged database file or a file that
    /// is not a database: result codes <c>SQLITE_CORRUPT</c> (11) and <c>SQLITE_NOTADB</c> (26), SQLite documentation
    /// "Result and Error Codes". Retrying cannot cure either; restoring a backup can.
    /// </summary>
    /// <param name="exception">Any exception.</param>
    /// <returns>True for a damaged or foreign SQLite file.</returns>
    public static bool IsDamagedSqlite(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SqliteException sqlite && (sqlite.SqliteErrorCode & 0xFF) is SqliteCorrupt or SqliteNotADatabase) // extended codes keep the primary code in their low byte
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The one-line reason for a damaged SQLite file (<see cref="IsDamagedSqlite"/>): the result code and what to do, e.g.
    /// <c>the file is damaged (SQLite error 11, database disk image is malformed): restore the data directory from a backup
    /// (docs/storage.md, "Backup and restore (SQLite)")</c>. Never quotes data from the file.
    /// </summary>
    /// <param name="exception">An exception for which <see cref="IsDamagedSqlite"/> is true.</param>
    /// <returns>The reason, without a final full stop.</returns>
    public static string DamagedSqliteReason(Exception exception)
    {
        var sqlite = Unwrap(exception);
        var what = (sqlite?.SqliteErrorCode & 0xFF) == SqliteNotADatabase ? "is not a SQLite database (SQLite error 26, file is not a database)" : "is damaged (SQLite error 11, database disk image is malformed)";
        return $"the database file {what}: restore the data directory from a backup (docs/storage.md, \"Backup and restore (SQLite)\")";

        static SqliteException? Unwrap(Exception? e)
        {
            for (; e is not null; e = e.InnerException)
            {
                if (e is SqliteException found)
                {
                    return found;
                }
            }

            return null;
        }
    }

    private const int SqliteCorrupt = 11; // SQLITE_CORRUPT
    private const int SqliteNotADatabase = 26; // SQLITE_NOTADB
}
