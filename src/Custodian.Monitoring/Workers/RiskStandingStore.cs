using System.Data.Common;
using System.Globalization;
using Custodian.Monitoring.Detection;
using Custodian.Storage;

namespace Custodian.Monitoring.Workers;

/// <summary>
/// The detection engine's risk per principal in the shared storage (table <c>monitor_risk</c>, migration
/// <c>monitoring-003</c>; docs/events.md, "Monitor workers"). With <c>serve --monitor workers</c> the engine runs in the
/// workers' aggregate partition, not on the API nodes: the partition stores each changed principal's
/// <see cref="MonitorEngine.RiskSchedule"/> before committing its progress, and the API nodes' guard and console read the
/// step in force at their own clock (<see cref="GetAsync(Principal, DateTimeOffset, CancellationToken)"/>), which is what <see cref="MonitorEngine.CurrentRisk"/> and
/// <see cref="MonitorEngine.CurrentAction"/> answer in embedded mode.
/// </summary>
/// <remarks>
/// Rows: principal kind and code, the step's end (<c>until_ms</c>, Unix milliseconds of ledger time), risk 1–100, the
/// action's stable name, and when the row was written. Writing a principal replaces all its rows. Portable SQL; thread-safe.
/// </remarks>
/// <param name="db">The shared database; <see cref="MonitoringMigrations"/> must have been applied.</param>
/// <param name="time">Clock for <c>updated_ms</c> and for the default "now" of the reads.</param>
public sealed class RiskStandingStore(CustodianDatabase db, TimeProvider time)
{
    private readonly CustodianDatabase _db = db ?? throw new ArgumentNullException(nameof(db));
    private readonly TimeProvider _time = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>The principal's risk and action at the store's clock's now: the first stored step that ends after now.</summary>
    /// <param name="principal">A clerk or terminal.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The standing; <see cref="RiskStanding.None"/> when no step is in force.</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public Task<RiskStanding> GetAsync(Principal principal, CancellationToken cancellationToken = default) =>
        GetAsync(principal, _time.GetUtcNow(), cancellationToken);

    /// <summary>The principal's risk and action at <paramref name="now"/>: the first stored step that ends after it.</summary>
    /// <param name="principal">A clerk or terminal.</param>
    /// <param name="now">The moment asked about.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The standing; <see cref="RiskStanding.None"/> when no step is in force.</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public async Task<RiskStanding> GetAsync(Principal principal, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var select = connection.Command(
            "SELECT risk, action FROM monitor_risk WHERE principal_kind = @k AND principal_id = @i AND until_ms > @now ORDER BY until_ms LIMIT 1",
            ("@k", principal.Kind.ToName()),
            ("@i", principal.Id),
            ("@now", now.ToUnixTimeMilliseconds()));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return RiskStanding.None;
        }

        return new RiskStanding(Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture), ParseAction(reader.GetString(1)));
    }

    /// <summary>
    /// Replaces the stored steps of each principal in <paramref name="schedules"/> (an empty schedule removes the
    /// principal's rows), inside the caller's transaction — the aggregate partition's progress commit
    /// (<see cref="PartitionProgressStore.CommitAsync(string, long, long, long, Func{DbConnection, DbTransaction, CancellationToken, Task}?, CancellationToken)"/>),
    /// so that a fenced owner stores nothing. Rows whose step ended more than a day before <paramref name="now"/> are
    /// deleted on the way.
    /// </summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="transaction">Its transaction.</param>
    /// <param name="schedules">Per principal, its steps (<see cref="MonitorEngine.RiskSchedule"/>).</param>
    /// <param name="now">Now, for <c>updated_ms</c> and the clean-up.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>Completes when written (not committed).</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public static async Task WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyCollection<KeyValuePair<Principal, IReadOnlyList<RiskStep>>> schedules, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(schedules);
        var nowMs = now.ToUnixTimeMilliseconds();
        foreach (var (principal, steps) in schedules)
        {
            await using (var delete = connection.Command(
                "DELETE FROM monitor_risk WHERE principal_kind = @k AND principal_id = @i",
                ("@k", principal.Kind.ToName()),
                ("@i", principal.Id)))
            {
                delete.Transaction = transaction;
                await delete.ExecuteNonQueryAsync(cancellationToken);
            }

            foreach (var step in steps)
            {
                await using var insert = connection.Command(
                    "INSERT INTO monitor_risk (principal_kind, principal_id, until_ms, risk, action, updated_ms) VALUES (@k, @i, @u, @r, @a, @t)",
                    ("@k", principal.Kind.ToName()),
                    ("@i", principal.Id),
                    ("@u", step.Until.ToUnixTimeMilliseconds()),
                    ("@r", step.Risk),
                    ("@a", step.Action.ToName()),
                    ("@t", nowMs));
                insert.Transaction = transaction;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        if (schedules.Count > 0)
        {
            await using var prune = connection.Command("DELETE FROM monitor_risk WHERE until_ms < @old", ("@old", nowMs - (long)TimeSpan.FromDays(1).TotalMilliseconds));
            prune.Transaction = transaction;
            await prune.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Forgets the principal's stored risk (an officer restored it; the aggregate partition does the same when it processes the <c>restored</c> entry).</summary>
    /// <param name="principal">A clerk or terminal.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Completes when deleted.</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public async Task ClearAsync(Principal principal, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var delete = connection.Command(
            "DELETE FROM monitor_risk WHERE principal_kind = @k AND principal_id = @i",
            ("@k", principal.Kind.ToName()),
            ("@i", principal.Id));
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    private static MonitorAction ParseAction(string name) => name switch
    {
        "alert" => MonitorAction.Alert,
        "step-up" => MonitorAction.StepUp,
        "suspend" => MonitorAction.Suspend,
        _ => MonitorAction.None,
    };
}
