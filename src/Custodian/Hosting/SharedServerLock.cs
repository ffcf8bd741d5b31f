using System.Data.Common;
using Custodian.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Custodian.Hosting;

/// <summary>The result of one <see cref="SharedServerLock.CheckAsync"/>.</summary>
public enum ServerLockCheck
{
    /// <summary>The held session is alive and still holds the shared lock: nothing was done.</summary>
    Held,

    /// <summary>The session was gone; the shared lock was taken again, without waiting, on a new session (event 5700).</summary>
    Retaken,

    /// <summary>
    /// The session was gone and the shared lock could not be taken again: a verb (<c>masking adopt</c>) holds it exclusively
    /// and believes that no server runs. The server must stop (event 5701); the handle holds nothing from now on.
    /// </summary>
    TakenByVerb,

    /// <summary>The session was gone and the database cannot be reached to take the lock again (event 5702); the next check retries.</summary>
    Unreachable,
}

/// <summary>
/// The PostgreSQL server lock a running <c>serve</c> holds (<see cref="DatabaseServerLock.HoldSharedAsync"/>): a session-level
/// shared advisory lock on a connection of its own. The lock ends with its session, so a network failure,
/// <c>pg_terminate_backend</c> or a PostgreSQL restart silently releases it. <see cref="Watch"/> checks the session every
/// interval (<see cref="CustodianOptions.ServerLockCheckSeconds"/>, 5 s by default) and, when it is gone, takes the shared lock
/// again on a new session without waiting (<c>pg_try_advisory_lock_shared</c>): taken, the server goes on (logged, 5700); held
/// exclusively by a verb, the server fails closed and stops the host (logged Critical, 5701), so that it never serves beside
/// that verb; database unreachable, it is logged (5702) and retried at the next check (docs/storage.md, "A server runs on the
/// database"). Checks run one at a time; disposing stops the watch, then releases the lock and closes its connection.
/// </summary>
public sealed class SharedServerLock : IAsyncDisposable
{
    private readonly CustodianDatabase _db;
    private readonly CancellationTokenSource _stopping = new();
    private DbConnection? _connection;
    private Task _watch = Task.CompletedTask;
    private bool _watching;
    private bool _disposed;

    internal SharedServerLock(CustodianDatabase db, DbConnection connection)
    {
        _db = db;
        _connection = connection;
    }

    /// <summary>True once a check found the lock held exclusively by a verb (<see cref="ServerLockCheck.TakenByVerb"/>): the server must not serve.</summary>
    public bool LostToVerb { get; private set; }

    /// <summary>
    /// Checks the held session once: alive and holding the shared lock (a query of <c>pg_locks</c> on that session), or
    /// else takes the lock again on a new connection without waiting. Not thread-safe: <see cref="Watch"/> calls it one
    /// check at a time; call it directly only when not watching.
    /// </summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>What the check found and did.</returns>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled.</exception>
    public async Task<ServerLockCheck> CheckAsync(CancellationToken cancellationToken)
    {
        if (LostToVerb)
        {
            return ServerLockCheck.TakenByVerb;
        }

        if (_connection is { } held)
        {
            try
            {
                await using var command = held.Command(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                    + FormattableString.Invariant($"AND classid = {DatabaseServerLock.KeyClass} AND objid = hashtext(current_schema())::oid AND objsubid = 2 ")
                    + "AND mode = 'ShareLock' AND granted)");
                if (await command.ExecuteScalarAsync(cancellationToken) is true)
                {
                    return ServerLockCheck.Held;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The session is gone (terminated, network failure, server restart): so is its lock.
            }

            _connection = null;
            await CloseQuietlyAsync(held);
        }

        DbConnection? fresh = null;
        try
        {
            fresh = await _db.OpenAsync(cancellationToken);
            await using var command = fresh.Command($"SELECT pg_try_advisory_lock_shared({DatabaseServerLock.Key})");
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                _connection = fresh;
                return ServerLockCheck.Retaken;
            }

            LostToVerb = true;
            await CloseQuietlyAsync(fresh);
            return ServerLockCheck.TakenByVerb;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (fresh is not null)
            {
                await CloseQuietlyAsync(fresh);
            }

            return ServerLockCheck.Unreachable;
        }
    }

    /// <summary>
    /// Starts checking the lock every <paramref name="interval"/> on <paramref name="time"/>'s timer until disposed
    /// (<see cref="CheckAsync"/>). When a verb holds the lock exclusively the watch logs Critical (5701), calls
    /// <see cref="IHostApplicationLifetime.StopApplication"/> once and ends. Call once.
    /// </summary>
    /// <param name="time">The clock driving the timer (<see cref="TimeProvider.System"/> in production).</param>
    /// <param name="interval">Time between checks; positive.</param>
    /// <param name="lifetime">The host, stopped when the lock is lost to a verb.</param>
    /// <param name="logger">Logger for events 5700–5702 (no personal data: outcomes, the interval and exception types only).</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="interval"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">When already watching.</exception>
    /// <exception cref="ObjectDisposedException">When disposed.</exception>
    public void Watch(TimeProvider time, TimeSpan interval, IHostApplicationLifetime lifetime, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(lifetime);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_watching)
        {
            throw new InvalidOperationException("The server lock is already watched.");
        }

        _watching = true;
        // Created here, not in the loop: a tick due before the loop first waits is not missed.
        var timer = new PeriodicTimer(interval, time);
        _watch = WatchAsync(timer, interval, lifetime, logger, _stopping.Token);
    }

    /// <summary>Stops the watch, releases the lock if held and closes its connection. Errors of a gone session are ignored; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stopping.CancelAsync();
        await _watch; // ends on cancellation, never faults
        _stopping.Dispose();
        if (_connection is { } held)
        {
            _connection = null;
            try
            {
                await using var command = held.Command($"SELECT pg_advisory_unlock_shared({DatabaseServerLock.Key})");
                await command.ExecuteNonQueryAsync();
            }
            catch (DbException)
            {
                // The session is gone (the database restarted): so is its lock.
            }
            finally
            {
                await CloseQuietlyAsync(held);
            }
        }
    }

    private async Task WatchAsync(PeriodicTimer timer, TimeSpan interval, IHostApplicationLifetime lifetime, ILogger logger, CancellationToken stoppingToken)
    {
        using var owned = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                switch (await CheckAsync(stoppingToken))
                {
                    case ServerLockCheck.Retaken:
                        ServerLockLog.Retaken(logger);
                        break;
                    case ServerLockCheck.TakenByVerb:
                        ServerLockLog.TakenByVerb(logger);
                        lifetime.StopApplication();
                        return;
                    case ServerLockCheck.Unreachable:
                        ServerLockLog.Unreachable(logger, (long)interval.TotalSeconds);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Disposed: the server is stopping.
        }
    }

    private static async ValueTask CloseQuietlyAsync(DbConnection connection)
    {
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception ex) when (ex is DbException or IOException or InvalidOperationException)
        {
            // A broken connection may fail to close; it is discarded either way.
        }
    }
}
