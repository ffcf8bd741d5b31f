using System.Data.Common;
using Custodian.Storage;

namespace Custodian.Hosting;

/// <summary>
/// "A server runs on this database", visible to every data directory of a PostgreSQL deployment (docs/storage.md, "A
/// server runs on the database"): each <c>serve</c> holds a session-level <b>shared</b> advisory lock for its whole life on
/// a dedicated connection, and a verb that must not run beside any server (<c>masking adopt</c>) takes the same lock
/// <b>exclusively</b> without waiting, and is refused when it cannot. The key is the two-part advisory-lock key
/// (<see cref="KeyClass"/>, <c>hashtext(current_schema())</c>): fixed per schema, so that deployments in different
/// schemas of one database do not see each other; it cannot collide with the migration lock (a one-part key; PostgreSQL
/// keeps the two key forms apart). The lock ends with the session, so a killed server never leaves it behind; a lost
/// session of a running server is noticed and the lock taken again, or the server stopped (<see cref="SharedServerLock"/>). SQLite has
/// nothing to share (the data directory's <c>server.lock</c> is the rule there): every method is then a no-op.
/// </summary>
public static class DatabaseServerLock
{
    /// <summary>The first part of the advisory-lock key: 0x43555354, "CUST" in ASCII.</summary>
    public const int KeyClass = 0x43555354;

    internal static readonly string Key = FormattableString.Invariant($"{KeyClass}, hashtext(current_schema())");

    /// <summary>
    /// For <c>serve</c>: takes the shared lock on a connection kept open until the returned handle is disposed; waits while
    /// a verb holds it exclusively (the command timeout applies). Call <see cref="SharedServerLock.Watch"/> once the server
    /// runs, so that a lost session is noticed and the lock re-taken (or the server stopped).
    /// </summary>
    /// <param name="db">The deployment's database.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The handle (dispose it when the server stops); null on SQLite.</returns>
    /// <exception cref="DbException">When the database fails or the wait times out.</exception>
    public static async Task<SharedServerLock?> HoldSharedAsync(CustodianDatabase db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.IsSqlite)
        {
            return null;
        }

        var connection = await db.OpenAsync(cancellationToken);
        try
        {
            await using var command = connection.Command($"SELECT pg_advisory_lock_shared({Key})");
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new SharedServerLock(db, connection);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>For a verb refused while any server runs on the database: takes the lock exclusively without waiting.</summary>
    /// <param name="db">The deployment's database.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>
    /// (true, handle) when taken (dispose the handle when done; null on SQLite, where nothing is taken); (false, null) when a
    /// server (or another such verb) holds it.
    /// </returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public static async Task<(bool Taken, IAsyncDisposable? Handle)> TryHoldExclusiveAsync(CustodianDatabase db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.IsSqlite)
        {
            return (true, null);
        }

        var connection = await db.OpenAsync(cancellationToken);
        try
        {
            await using var command = connection.Command($"SELECT pg_try_advisory_lock({Key})");
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                return (true, new Held(connection, $"SELECT pg_advisory_unlock({Key})"));
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return (false, null);
    }

    private sealed class Held(DbConnection connection, string unlock) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = connection.Command(unlock);
                await command.ExecuteNonQueryAsync();
            }
            catch (DbException)
            {
                // The session is gone (the database restarted): so is its lock.
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }
}
