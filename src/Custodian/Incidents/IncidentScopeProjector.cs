using System.Data;
using System.Data.Common;
using System.Globalization;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Custodian.Incidents;

/// <summary>
/// The incident-scoping projection (docs/incidents.md, "Scoping projection"): copies each ledger entry's sequence, time,
/// account, terminal and store from <c>ledger_entries</c> into <c>incident_scope_entries</c> (indexed by principal and time)
/// after the entry is committed, in sequence order, and records the next sequence to copy in
/// <c>incident_scope_position</c> in the same transaction, so a restart continues exactly where the last committed batch
/// ended. The ledger's commit path never touches these tables.
/// </summary>
/// <remarks>
/// <para>
/// One <see cref="CatchUpAsync"/> step runs in one transaction holding the projection's write exclusion (SQLite
/// <c>BEGIN IMMEDIATE</c>, busy timeout 5 s; PostgreSQL <c>SELECT … FOR UPDATE</c> on the position row, lock timeout 5 s), so several projectors (API nodes,
/// the server and a CLI verb) may run at once: each step starts from the position the previous one committed, and the
/// insert ignores rows already present. A step copies only a contiguous run of sequences starting at the position
/// (the ledger is gap-free; a run that is not contiguous is cut at its first gap and retried later).
/// </para>
/// <para>Portable SQL on both backends; never reads a payload and never decrypts. Thread-safe.</para>
/// </remarks>
/// <param name="db">The database holding the ledger and the incident tables (<see cref="IncidentMigrations"/> applied).</param>
/// <param name="logger">Logger (sequence numbers and counts only).</param>
public sealed class IncidentScopeProjector(CustodianDatabase db, ILogger<IncidentScopeProjector> logger)
{
    /// <summary>
    /// Most entries copied in one transaction (1,024). Small on purpose: on SQLite a step holds the database's write lock,
    /// which the ledger's group commit also needs, so a long step shows up as read latency (8,192-entry steps gave
    /// 89–129 ms gaps between ledger commits in the 2026-12-01 bench, against 34–38 ms without the projector).
    /// </summary>
    public const int BatchSize = 1_024;

    /// <summary>How long a step waits for another projector's (or, on SQLite, the ledger writer's) lock: 5 seconds.</summary>
    private const int LockTimeoutSeconds = 5;

    /// <summary>The next ledger sequence the projection has not copied yet (every entry below it is in <c>incident_scope_entries</c>).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The position, 0 for an empty projection.</returns>
    /// <exception cref="DbException">When the database cannot be read.</exception>
    public async Task<long> GetPositionAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        return await ReadPositionAsync(connection, null, cancellationToken);
    }

    /// <summary>
    /// Copies committed ledger entries into the projection, one transaction per at most <see cref="BatchSize"/> entries,
    /// until the projection's position reaches <paramref name="target"/> or no further contiguous entry is committed.
    /// </summary>
    /// <param name="target">Stop once the position is at least this sequence; null to copy everything committed now.</param>
    /// <param name="cancellationToken">Cancels between and within steps (a step not committed leaves nothing behind).</param>
    /// <returns>The position reached: every entry below it is projected.</returns>
    /// <exception cref="DbException">When the database fails (unreachable, write lock not granted in time, disk full); batches committed before stay.</exception>
    public async Task<long> CatchUpAsync(long? target = null, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var (position, copied) = await StepAsync(cancellationToken);
            if (copied == 0 || (target is { } t && position >= t) || copied < BatchSize)
            {
                return position;
            }

            await Task.Yield(); // lets a writer woken by the step's turn take it before the next step asks again
        }
    }

    /// <summary>Reads the position inside <paramref name="tx"/> (the scoper's snapshot, or a projector step).</summary>
    internal static async Task<long> ReadPositionAsync(DbConnection connection, DbTransaction? tx, CancellationToken cancellationToken, bool forUpdate = false)
    {
        await using var command = connection.Command("SELECT next_seq FROM incident_scope_position WHERE id = 1" + (forUpdate ? " FOR UPDATE" : string.Empty));
        command.Transaction = tx;
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? 0 : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    private async Task<(long Position, long Copied)> StepAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        if (connection is SqliteConnection file)
        {
            file.DefaultTimeout = LockTimeoutSeconds; // bounds Microsoft.Data.Sqlite's own retry on SQLITE_BUSY (busy_timeout is 5 s too)
        }

        // SQLite: this process's turn at the write lock first, so the ledger's group commit waiting for it is woken when this
        // step commits instead of sleeping in SQLite's busy handler (bench/README.md, 2026-12-03 evening).
        using var turn = await db.EnterWriteTurnAsync(TimeSpan.FromSeconds(LockTimeoutSeconds), cancellationToken);
        await using var tx = connection is SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: false) // BEGIN IMMEDIATE: one projector step at a time per file
            : await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        if (!db.IsSqlite)
        {
            // Another projector holding the position row makes this step wait at most as long as SQLite's busy timeout.
            await using var timeout = connection.Command("SET LOCAL lock_timeout = " + (LockTimeoutSeconds * 1000).ToString(CultureInfo.InvariantCulture));
            timeout.Transaction = tx;
            await timeout.ExecuteNonQueryAsync(cancellationToken);
        }

        var position = await ReadPositionAsync(connection, tx, cancellationToken, forUpdate: !db.IsSqlite);

        // The committed run starting at the position. The ledger commits in sequence order under its writer exclusion, so
        // what is visible is a prefix; the bound taken here is reused below, so a later snapshot cannot add rows.
        long count, max;
        await using (var probe = connection.Command(
            "SELECT COUNT(*), COALESCE(MAX(seq), -1) FROM ledger_entries WHERE seq >= @from AND seq < @to",
            ("@from", position), ("@to", position + BatchSize)))
        {
            probe.Transaction = tx;
            await using var reader = await probe.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            count = reader.GetInt64(0);
            max = reader.GetInt64(1);
        }

        if (count == 0)
        {
            await tx.RollbackAsync(cancellationToken);
            return (position, 0);
        }

        var end = max + 1;
        if (count != end - position)
        {
            end = await FirstGapAsync(connection, tx, position, end, cancellationToken);
            Log.ProjectionGap(logger, end);
            if (end == position)
            {
                await tx.RollbackAsync(cancellationToken);
                return (position, 0);
            }
        }

        await using (var insert = connection.Command(
            "INSERT INTO incident_scope_entries (seq, time_ms, account, terminal, store) " +
            "SELECT seq, time_ms, account, terminal, store FROM ledger_entries WHERE seq >= @from AND seq < @to ON CONFLICT DO NOTHING",
            ("@from", position), ("@to", end)))
        {
            insert.Transaction = tx;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var advance = connection.Command("UPDATE incident_scope_position SET next_seq = @to WHERE id = 1", ("@to", end)))
        {
            advance.Transaction = tx;
            await advance.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        Log.Projected(logger, end - position, position, end);
        return (end, end - position);
    }

    private static async Task<long> FirstGapAsync(DbConnection connection, DbTransaction tx, long from, long to, CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT seq FROM ledger_entries WHERE seq >= @from AND seq < @to ORDER BY seq", ("@from", from), ("@to", to));
        command.Transaction = tx;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var expected = from;
        while (await reader.ReadAsync(cancellationToken) && reader.GetInt64(0) == expected)
        {
            expected++;
        }

        return expected;
    }
}

/// <summary>
/// Runs <see cref="IncidentScopeProjector.CatchUpAsync"/> in the background: at start, then every
/// <see cref="Interval"/>. A failed step is logged and retried at the next tick; scoping stays exact meanwhile because
/// <see cref="IncidentScoper"/> catches up itself and reads any unprojected tail from the ledger.
/// </summary>
/// <param name="projector">The projector.</param>
/// <param name="time">Clock for the ticks.</param>
/// <param name="logger">Logger.</param>
public sealed class IncidentScopeProjectorService(IncidentScopeProjector projector, TimeProvider time, ILogger<IncidentScopeProjectorService> logger) : BackgroundService
{
    /// <summary>Time between catch-ups: one second. Each tick copies what the ledger committed since, in batches of <see cref="IncidentScopeProjector.BatchSize"/>.</summary>
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Hosting.PeriodicCatchUp.RunAsync(
        token => projector.CatchUpAsync(null, token),
        Interval,
        time,
        ex => ex is DbException or InvalidOperationException or TimeoutException,
        ex => Log.ProjectionFailed(logger, ex.GetType().Name, ex),
        stoppingToken);
}
