using System.Data.Common;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Protection.Households;
using Microsoft.Extensions.Logging;

namespace Custodian.Lookup;

/// <summary>
/// Sets <see cref="AccessSignals.SameHousehold"/> on a guarded read's entry before it is appended (issue 5, snooping): true
/// when a subject is the reading account's own subscription or shares its household index (surname and address) or
/// family-plan index (<see cref="StaffHouseholds.SharesHouseholdAsync"/>; one indexed query, no decryption, and none at all
/// for an account without a link, <see cref="StaffHouseholds.IsLinkedAsync"/>: a link made by another process counts from
/// at most 1 s after it was committed). Other signals
/// the entry already has are kept. Called by <see cref="LookupGuard"/> for every allowed entry that names subjects;
/// refusals are recorded without the check (docs/ledger-format.md §1.1).
/// </summary>
public sealed partial class HouseholdSignal(StaffHouseholds households, AccessRecorder recorder, ILogger<HouseholdSignal> logger)
{
    /// <summary>
    /// Returns <paramref name="entry"/>, with <c>Signals.SameHousehold = true</c> merged in when the check holds. When the
    /// database cannot answer, the read is refused (fail closed: the entry would otherwise go out without a signal the
    /// monitor relies on): the refusal is recorded and the error is 503 <see cref="ErrorCodes.StorageUnavailable"/>, transient.
    /// </summary>
    /// <param name="entry">The allowed entry about to be appended; entries with no subjects or no account pass unchanged.</param>
    /// <returns>The entry to append, or the refusal.</returns>
    public async Task<Result<AccessEntry>> ApplyAsync(AccessEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Subjects.Count == 0 || entry.Account is null)
        {
            return entry;
        }

        bool shares;
        try
        {
            // Not cancelled by the client going away, like the append that follows. An account without a link (most of
            // them) costs no query: StaffHouseholds.IsLinkedAsync answers from memory, at most 1 s stale (docs/households.md).
            shares = await households.IsLinkedAsync(entry.Account, CancellationToken.None)
                && await households.SharesHouseholdAsync(entry.Account, entry.Subjects, CancellationToken.None);
        }
        catch (DbException ex)
        {
            Log.CheckFailed(logger, ex.GetType().Name);
            return await recorder.RefuseAsync(
                entry,
                new CustodianError(ErrorCodes.StorageUnavailable, 503, "The read could not be checked against the clerk's household; try again shortly.", IsTransient: true));
        }

        return shares
            ? entry with { Signals = entry.Signals is { } s ? s with { SameHousehold = true } : new AccessSignals { SameHousehold = true } }
            : entry;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6700, Level = LogLevel.Warning, Message = "The household check of a guarded read failed ({Exception}); the read was refused.")]
        public static partial void CheckFailed(ILogger logger, string exception);
    }
}
