using System.Globalization;

namespace Custodian.Storage;

/// <summary>
/// When this deployment started: the time of its first access-ledger entry (<c>MIN(time_ms)</c> of
/// <c>ledger_entries</c>; the first entry is written as soon as the data directory is used, e.g. by the first sign-in,
/// enrollment or lookup). Periods that ended by then had nothing recorded, so nothing can be reported or attested for
/// them: the ledger review refuses their sign-off (<c>review-period-before-deployment</c>, docs/review.md) and the
/// usage-history notice refuses to notify them (<c>notice-period-before-deployment</c>, docs/portal.md §8).
/// </summary>
public static class DeploymentStart
{
    /// <summary>The time of the first ledger entry, or null while the ledger is empty.</summary>
    /// <param name="db">The database holding <c>ledger_entries</c>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public static async Task<DateTimeOffset?> FirstEntryTimeAsync(CustodianDatabase db, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var first = connection.Command("SELECT MIN(time_ms) FROM ledger_entries");
        return await first.ExecuteScalarAsync(cancellationToken) is { } ms and not DBNull
            ? DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(ms, CultureInfo.InvariantCulture))
            : null;
    }
}
