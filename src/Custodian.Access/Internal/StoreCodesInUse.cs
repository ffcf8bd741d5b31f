using System.Data.Common;
using Custodian.Storage;

namespace Custodian.Access.Internal;

/// <summary>
/// The store codes in use: those of the host's store list (<see cref="IListedStoreCodes"/>, when there is one), of enrolled
/// (or pending) terminals and of staff accounts. Store codes are compared
/// exactly (case-sensitive, <see cref="StringComparison.Ordinal"/>) wherever a clerk's store meets a terminal's, so a code
/// that differs from one in use only in letter case names a store nobody can work at (docs/access.md §6.3).
/// </summary>
internal static class StoreCodesInUse
{
    /// <summary>
    /// A store code in use that equals <paramref name="store"/> ignoring ASCII case but is spelt differently, or null. A listed
    /// store (<paramref name="listed"/>) spelt otherwise is the answer first; then terminals decide (they are where staff sign in): a terminal enrolled under exactly <paramref name="store"/> makes it
    /// acceptable, one enrolled under another spelling is the answer; only when no terminal has the store in any spelling
    /// are the staff accounts' codes compared.
    /// </summary>
    /// <param name="connection">An open connection to the access database.</param>
    /// <param name="store">A well-formed store code.</param>
    /// <param name="exceptAccount">An account whose own store is not counted (the account being moved), or null.</param>
    /// <param name="listed">The host's store list, or null when there is none (a test of this assembly alone).</param>
    public static async Task<string?> FindCaseVariantAsync(DbConnection connection, string store, string? exceptAccount = null, IListedStoreCodes? listed = null)
    {
        if (listed is not null && await listed.FindCaseVariantAsync(store) is { } listedSpelling)
        {
            return listedSpelling;
        }

        await using (var terminals = connection.Command(
            "SELECT store FROM terminals WHERE lower(store) = lower(@store) ORDER BY CASE WHEN store = @store THEN 0 ELSE 1 END LIMIT 1",
            ("@store", store)))
        {
            if (await terminals.ExecuteScalarAsync() is string terminalStore)
            {
                return string.Equals(terminalStore, store, StringComparison.Ordinal) ? null : terminalStore;
            }
        }

        await using var accounts = connection.Command(
            """
            SELECT store FROM staff_accounts
            WHERE store IS NOT NULL AND lower(store) = lower(@store) AND id <> @except
            ORDER BY CASE WHEN store = @store THEN 0 ELSE 1 END LIMIT 1
            """,
            ("@store", store),
            ("@except", exceptAccount ?? string.Empty));
        return await accounts.ExecuteScalarAsync() is string accountStore && !string.Equals(accountStore, store, StringComparison.Ordinal)
            ? accountStore
            : null;
    }
}
