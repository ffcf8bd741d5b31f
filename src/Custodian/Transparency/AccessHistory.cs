using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;

namespace Custodian.Transparency;

/// <summary>One use of a subscriber's data as the subscriber sees it: store and role, never the clerk's identity.</summary>
/// <param name="Sequence">Ledger sequence number (for receipts and paging).</param>
/// <param name="Time">When, UTC, to the second.</param>
/// <param name="Store">Store code.</param>
/// <param name="Role">Role of the staff member (e.g. clerk), not who.</param>
/// <param name="Task">What was done (search, view, unmask, consent-request, …).</param>
/// <param name="Purpose">Purpose code stated.</param>
/// <param name="PurposeDescription">Plain-language purpose.</param>
/// <param name="Fields">Fields shown.</param>
/// <param name="UnmaskedFields">Fields shown in full.</param>
/// <param name="Outcome"><c>allowed</c> or <c>denied</c>.</param>
public sealed record HistoryItem(
    long Sequence,
    DateTimeOffset Time,
    string? Store,
    string? Role,
    string Task,
    string? Purpose,
    string? PurposeDescription,
    IReadOnlyList<string> Fields,
    IReadOnlyList<string> UnmaskedFields,
    string Outcome);

/// <summary>A page of history.</summary>
/// <param name="Items">Newest first.</param>
/// <param name="NextBefore">Pass as <c>before</c> to get the next page; null at the end.</param>
public sealed record HistoryPage(IReadOnlyList<HistoryItem> Items, long? NextBefore);

/// <summary>
/// The subscriber's access history: a projection of the ledger by subject. Works on subscriber IDs
/// only; it has no path to plaintext. Viewing the history is itself recorded.
/// </summary>
public sealed class AccessHistory(IAccessLedgerReader reader, IAccessLedger ledger, TimeProvider time)
{
    /// <summary>Entries about <paramref name="subject"/> made by staff, newest first.</summary>
    /// <param name="subject">The signed-in subscriber (from the session).</param>
    /// <param name="before">Paging cursor from a previous page, or null.</param>
    /// <param name="limit">Page size, 1–200.</param>
    /// <param name="sourceIp">The subscriber's address, for the ledger.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<Result<HistoryPage>> GetAsync(SubscriberId subject, long? before, int limit, string? sourceIp, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 200)
        {
            return Hosting.ProblemResults.Validation("limit", "must be between 1 and 200");
        }

        if (before is < 0)
        {
            return Hosting.ProblemResults.Validation("before", "must be a non-negative sequence number");
        }

        try
        {
            await ledger.AppendAsync(
                new AccessEntry
                {
                    Time = time.GetUtcNow(),
                    Task = AccessTask.HistoryView,
                    Outcome = AccessOutcome.Allowed,
                    Account = "subscriber",
                    SourceIp = sourceIp,
                    Subjects = [subject],
                },
                cancellationToken);
        }
        catch (LedgerUnavailableException)
        {
            return new CustodianError(ErrorCodes.LedgerUnavailable, 503, "The access ledger is unavailable; try again shortly.", IsTransient: true);
        }

        var items = new List<HistoryItem>(limit);
        var cursor = before;
        while (items.Count < limit)
        {
            var batch = await reader.ReadBySubjectAsync(subject, cursor, limit, cancellationToken);
            if (batch.Count == 0)
            {
                cursor = null;
                break;
            }

            foreach (var c in batch)
            {
                cursor = c.Sequence;
                if (c.Entry.Task is AccessTask.PortalSignIn or AccessTask.HistoryView)
                {
                    continue;
                }

                items.Add(ToItem(c));
                if (items.Count == limit)
                {
                    break;
                }
            }

            if (batch.Count < limit)
            {
                if (items.Count < limit)
                {
                    cursor = null;
                }

                break;
            }
        }

        return new HistoryPage(items, items.Count == limit ? cursor : null);
    }

    private static HistoryItem ToItem(CommittedEntry c)
    {
        var e = c.Entry;
        PurposeCatalog.TryGet(e.Purpose, out var purpose);
        return new HistoryItem(
            c.Sequence,
            DateTimeOffset.FromUnixTimeSeconds(e.Time.ToUnixTimeSeconds()),
            e.Store,
            e.Role?.ToName(),
            e.Task.ToName(),
            e.Purpose,
            purpose?.Description,
            e.Fields,
            e.UnmaskedFields,
            e.Outcome == AccessOutcome.Allowed ? "allowed" : "denied");
    }
}
