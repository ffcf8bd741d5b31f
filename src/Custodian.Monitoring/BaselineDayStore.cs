using System.Data.Common;
using System.Globalization;
using Custodian.Identity;
using Custodian.Monitoring.Detection;
using Custodian.Storage;

namespace Custodian.Monitoring;

/// <summary>
/// The baseline detector's days in the database (table <c>monitor_baseline_days</c>, migration
/// <c>monitoring-004</c>; docs/monitoring.md, "Restart"): per principal and local day, the distinct subscribers read,
/// the orphan lookups found and the busiest hour's distinct subscribers — counts only, never a subscriber. The live
/// monitor writes each day as it closes, and each principal's open day's counts so far as they change (at most once per
/// <see cref="DetectionOptions.BaselineOpenDayInterval"/>, and at a graceful stop), each write of a day replacing the
/// last; on start it restores the <see cref="KeptDays"/> days before the replay with
/// <see cref="BaselineDetector.Seed"/>, so the 30-day sums and the own history (up to 30 past active days) are those of
/// a monitor that never stopped. Portable SQL; thread-safe.
/// </summary>
/// <param name="db">The database; <see cref="MonitoringMigrations"/> must have been applied.</param>
public sealed class BaselineDayStore(CustodianDatabase db)
{
    /// <summary>
    /// Days restored before the first replayed day, and kept: 60. The own history holds the end-of-day 30-day sums of up
    /// to 30 past days, each summing 30 days, so 59 days give every one of them; rows older than this are deleted as new
    /// days are written.
    /// </summary>
    public const int KeptDays = 60;

    private readonly CustodianDatabase _db = db ?? throw new ArgumentNullException(nameof(db));

    /// <summary>The store in the database <paramref name="alerts"/> keeps the alerts in (the monitor's tables live together).</summary>
    /// <exception cref="ArgumentNullException">When <paramref name="alerts"/> is null.</exception>
    public static BaselineDayStore Beside(AlertStore alerts) => new((alerts ?? throw new ArgumentNullException(nameof(alerts))).Database);

    /// <summary>Writes (or rewrites, by principal and day) <paramref name="days"/> in one transaction, and deletes rows more than <see cref="KeptDays"/> days older than the newest.</summary>
    /// <param name="days">Closed days (<see cref="BaselineDetector.DrainClosedDays"/>) or open days' counts so far
    /// (<see cref="BaselineDetector.DrainChangedOpenDays"/>), written in this order (a later one of the same principal and
    /// day replaces an earlier one); nothing is written when empty.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Completes when committed.</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public async Task WriteAsync(IReadOnlyCollection<BaselineDay> days, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(days);
        if (days.Count == 0)
        {
            return;
        }

        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await WriteAsync(connection, transaction, days, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// As <see cref="WriteAsync(IReadOnlyCollection{BaselineDay}, CancellationToken)"/>, inside the caller's transaction
    /// (the monitor workers' aggregate partition: its progress commit, so that a fenced owner stores nothing).
    /// </summary>
    /// <param name="connection">An open connection to the database.</param>
    /// <param name="transaction">Its transaction; not committed here.</param>
    /// <param name="days">Closed days; nothing is written when empty.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>Completes when written.</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public static async Task WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyCollection<BaselineDay> days, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(days);
        if (days.Count == 0)
        {
            return;
        }

        foreach (var day in days)
        {
            await using var upsert = connection.Command(
                """
                INSERT INTO monitor_baseline_days (principal_kind, principal_id, local_day, store, role, distinct_subjects, orphans, max_hour)
                VALUES (@k, @i, @d, @s, @r, @n, @o, @h)
                ON CONFLICT (principal_kind, principal_id, local_day) DO UPDATE SET
                    store = excluded.store, role = excluded.role, distinct_subjects = excluded.distinct_subjects,
                    orphans = excluded.orphans, max_hour = excluded.max_hour
                """,
                ("@k", day.Principal.Kind.ToName()),
                ("@i", day.Principal.Id),
                ("@d", day.Day),
                ("@s", day.Store),
                ("@r", day.Role?.ToName()),
                ("@n", day.Distinct),
                ("@o", day.Orphans),
                ("@h", day.MaxHour));
            upsert.Transaction = transaction;
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var prune = connection.Command("DELETE FROM monitor_baseline_days WHERE local_day < @old", ("@old", days.Max(d => d.Day) - KeptDays)))
        {
            prune.Transaction = transaction;
            await prune.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The stored days from <paramref name="firstReplayedDay"/> − <see cref="KeptDays"/> up to (not including)
    /// <paramref name="firstReplayedDay"/>, ordered by principal and then day (the order <see cref="BaselineDetector.Seed"/> needs).
    /// Rows with an unknown principal kind or role are skipped (the table's checks make them impossible).
    /// </summary>
    /// <param name="firstReplayedDay">The first local day the replay rebuilds (<see cref="BaselineDetector.FirstReplayedDay"/>).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The days.</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public async Task<IReadOnlyList<BaselineDay>> ReadBeforeAsync(long firstReplayedDay, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var select = connection.Command(
            """
            SELECT principal_kind, principal_id, local_day, store, role, distinct_subjects, orphans, max_hour
            FROM monitor_baseline_days WHERE local_day >= @from AND local_day < @to
            ORDER BY principal_kind, principal_id, local_day
            """,
            ("@from", firstReplayedDay - KeptDays),
            ("@to", firstReplayedDay));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var days = new List<BaselineDay>();
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!PrincipalKinds.TryParse(reader.GetString(0), out var kind))
            {
                continue;
            }

            StaffRole? role = null;
            if (!reader.IsDBNull(4))
            {
                if (!StaffRoles.TryParse(reader.GetString(4), out var parsed))
                {
                    continue;
                }

                role = parsed;
            }

            days.Add(new BaselineDay(
                new Principal(kind, reader.GetString(1)),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                role,
                Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture),
                Convert.ToInt32(reader.GetValue(5), CultureInfo.InvariantCulture),
                Convert.ToInt32(reader.GetValue(6), CultureInfo.InvariantCulture),
                Convert.ToInt32(reader.GetValue(7), CultureInfo.InvariantCulture)));
        }

        return days;
    }
}
