using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Portal;
using Custodian.Problems;

namespace Custodian.Transparency;

/// <summary>One use of a subscriber's data as the subscriber sees it: store and role, never the clerk's identity.</summary>
/// <param name="Sequence">Ledger sequence number (for receipts, disclosure requests and paging).</param>
/// <param name="Time">When, UTC, to the second.</param>
/// <param name="Store">Store code.</param>
/// <param name="Role">Role of the staff member (e.g. clerk), not who.</param>
/// <param name="Task">What was done (search, view, unmask, consent-request, …).</param>
/// <param name="Purpose">Purpose code stated.</param>
/// <param name="PurposeDescription">Plain-language purpose.</param>
/// <param name="Fields">Fields shown.</param>
/// <param name="UnmaskedFields">Fields shown in full.</param>
/// <param name="Outcome"><c>allowed</c> or <c>denied</c>.</param>
/// <param name="Disclosure">State of the subscriber's request to disclose who made the entry: null (none), <c>open</c>, <c>disclosed</c> or <c>refused</c>.</param>
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
    string Outcome,
    string? Disclosure = null);

/// <summary>A page of history.</summary>
/// <param name="Items">Newest first.</param>
/// <param name="NextBefore">Pass as <c>before</c> to get the next page; null at the end.</param>
public sealed record HistoryPage(IReadOnlyList<HistoryItem> Items, long? NextBefore);

/// <summary>What part of the history to return.</summary>
/// <param name="Before">Paging cursor: only entries with a lower sequence; null for the newest.</param>
/// <param name="Limit">Page size, 1–200.</param>
/// <param name="From">First day of the period (Korea Standard Time, UTC+9), inclusive; null for no lower bound.</param>
/// <param name="To">Last day of the period (Korea Standard Time), inclusive; null for no upper bound.</param>
public sealed record HistoryQuery(long? Before = null, int Limit = 50, DateOnly? From = null, DateOnly? To = null);

/// <summary>
/// The subscriber's access history: a projection of the ledger by subject (docs/portal.md, "History"). Works on
/// subscriber IDs only; it has no path to plaintext. Shows staff actions about the subscriber, never the clerk,
/// terminal or address; leaves out portal events and entries held back by a third-party deferral
/// (<see cref="HistoryDeferrals"/>) without a trace. Viewing the history is itself recorded.
/// </summary>
public sealed class AccessHistory(IAccessLedgerReader reader, IAccessLedger ledger, HistoryDeferrals deferrals, Storage.CustodianDatabase db, TimeProvider time)
{
    /// <summary>Offset of the days a period names: Korea Standard Time (UTC+9, no daylight saving).</summary>
    public static readonly TimeSpan KoreaOffset = TimeSpan.FromHours(9);

    /// <summary>
    /// How far past the start of a period the by-subject scan (newest first, in sequence order) goes on looking: entry
    /// times follow sequence order only to within the ledger's batching, a few milliseconds.
    /// </summary>
    public static readonly TimeSpan PeriodSlack = TimeSpan.FromSeconds(5);

    /// <summary>Whether entries of <paramref name="task"/> appear in subscribers' histories: everything staff did, not the portal's own events.</summary>
    public static bool IsShownTask(AccessTask task) =>
        task is not (AccessTask.PortalSignIn or AccessTask.HistoryView or AccessTask.HistoryDeferral or AccessTask.DisclosureRequest
            or AccessTask.DisclosureAnswer or AccessTask.UsageNoticeRun);

    /// <summary>Entries about <paramref name="subject"/> made by staff, newest first.</summary>
    /// <param name="subject">The signed-in subscriber (from the session).</param>
    /// <param name="query">Paging and period.</param>
    /// <param name="sourceIp">The subscriber's address, for the ledger.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<Result<HistoryPage>> GetAsync(SubscriberId subject, HistoryQuery query, string? sourceIp, CancellationToken cancellationToken)
    {
        if (query.Limit is < 1 or > 200)
        {
            return Hosting.ProblemResults.Validation("limit", "must be between 1 and 200");
        }

        if (query.Before is < 0)
        {
            return Hosting.ProblemResults.Validation("before", "must be a non-negative sequence number");
        }

        if (query is { From: { } f, To: { } t } && f > t)
        {
            return Hosting.ProblemResults.Validation("to", "must not be before 'from'");
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

        var (fromMs, toMs) = Bounds(query.From, query.To);
        var held = await deferrals.ActiveAsync(subject, time.GetUtcNow(), cancellationToken);
        var requests = await DisclosureRequests.StatesAsync(db, subject, cancellationToken);
        var items = new List<HistoryItem>(query.Limit);
        var cursor = query.Before;
        var exhausted = false;
        const int Batch = 200;
        while (items.Count < query.Limit && !exhausted)
        {
            var batch = await reader.ReadBySubjectAsync(subject, cursor, Batch, cancellationToken);
            exhausted = batch.Count < Batch;
            foreach (var c in batch)
            {
                cursor = c.Sequence;
                var ms = c.Entry.Time.ToUnixTimeMilliseconds();
                if (ms < fromMs - (long)PeriodSlack.TotalMilliseconds)
                {
                    exhausted = true;
                    break;
                }

                if (ms >= toMs || ms < fromMs || !IsShownTask(c.Entry.Task) || held.ContainsKey(c.Sequence))
                {
                    continue;
                }

                items.Add(ToItem(c, requests.GetValueOrDefault(c.Sequence)));
                if (items.Count == query.Limit)
                {
                    break;
                }
            }
        }

        return new HistoryPage(items, items.Count == query.Limit ? items[^1].Sequence : null);
    }

    /// <summary>
    /// The entry at <paramref name="sequence"/> when it is in <paramref name="subject"/>'s history now (names them, a staff action,
    /// not held back, not erased); null otherwise — callers answer 404 either way, so nothing tells a held entry from a missing one.
    /// </summary>
    public async Task<CommittedEntry?> FindVisibleAsync(SubscriberId subject, long sequence, CancellationToken cancellationToken)
    {
        var entry = await HistoryDeferrals.ReadEntryAsync(reader, sequence, cancellationToken);
        if (entry is null || !entry.Entry.Subjects.Contains(subject) || !IsShownTask(entry.Entry.Task))
        {
            return null;
        }

        var held = await deferrals.ActiveAsync(subject, time.GetUtcNow(), cancellationToken);
        return held.ContainsKey(sequence) ? null : entry;
    }

    /// <summary>Unix-millisecond bounds [from, to) of a period of Korean calendar days.</summary>
    internal static (long From, long To) Bounds(DateOnly? from, DateOnly? to) => (
        from is { } f ? new DateTimeOffset(f.ToDateTime(TimeOnly.MinValue), KoreaOffset).ToUnixTimeMilliseconds() : long.MinValue / 2,
        to is { } t ? new DateTimeOffset(t.AddDays(1).ToDateTime(TimeOnly.MinValue), KoreaOffset).ToUnixTimeMilliseconds() : long.MaxValue);

    private static HistoryItem ToItem(CommittedEntry c, string? disclosure)
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
            e.Outcome == AccessOutcome.Allowed ? "allowed" : "denied",
            disclosure);
    }
}
