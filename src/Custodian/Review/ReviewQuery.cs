using Custodian.Identity;
using Custodian.Ledger;

namespace Custodian.Review;

/// <summary>
/// Which ledger entries a review query selects. Every criterion given must match (AND); null criteria
/// are not applied. Entries erased by retention are never returned.
/// </summary>
public sealed record ReviewFilter
{
    /// <summary>The staff account (clerk, manager, officer) recorded on the entry.</summary>
    public string? Clerk { get; init; }

    /// <summary>The terminal ID recorded on the entry.</summary>
    public string? Terminal { get; init; }

    /// <summary>The store code recorded on the entry.</summary>
    public string? Store { get; init; }

    /// <summary>A data subject of the entry (resolve a reviewer's token with <see cref="LedgerReview.ResolveToken"/>).</summary>
    public SubscriberId? Subject { get; init; }

    /// <summary>The entry's task.</summary>
    public AccessTask? Task { get; init; }

    /// <summary>Entries at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Entries before this time (exclusive).</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Paging: only entries with a sequence number below this (the previous page's <see cref="ReviewPage.NextBefore"/>).</summary>
    public long? Before { get; init; }

    /// <summary>Most entries per page.</summary>
    /// <value>1–1,000. The default is 100.</value>
    public int Limit { get; init; } = 100;

    /// <summary>A one-line description for the ledger entry of an export: the criteria given, without the subscriber (recorded as the entry's subject).</summary>
    internal string Describe()
    {
        var parts = new List<string>();
        Add("clerk", Clerk);
        Add("terminal", Terminal);
        Add("store", Store);
        Add("task", Task?.ToName());
        Add("from", From?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        Add("to", To?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        if (Subject is not null)
        {
            parts.Add("subscriber=(subject)");
        }

        return parts.Count == 0 ? "all" : string.Join(' ', parts);

        void Add(string name, string? value)
        {
            if (value is not null)
            {
                parts.Add(name + "=" + value);
            }
        }
    }
}

/// <summary>
/// One ledger entry as a reviewer sees it. Subjects are FF1 subscriber tokens
/// (<c>Tokenizer.TokenizeSubscriber</c>, 19 digits), never internal subscriber IDs; the entry holds no
/// personal values (fields are named, not valued).
/// </summary>
/// <param name="Sequence">The entry's sequence number (leaf index).</param>
/// <param name="Time">When, UTC, millisecond precision.</param>
/// <param name="Task">Kebab-case task name.</param>
/// <param name="Outcome"><c>allowed</c> or <c>denied</c>.</param>
/// <param name="Account">Staff account, or null.</param>
/// <param name="Role">Role name, or null.</param>
/// <param name="Terminal">Terminal ID, or null.</param>
/// <param name="Store">Store code, or null.</param>
/// <param name="SourceIp">Source IP, or null.</param>
/// <param name="Purpose">Purpose code, or null.</param>
/// <param name="SubjectTokens">Subscriber tokens of the subjects, in entry order.</param>
/// <param name="Fields">Field names returned.</param>
/// <param name="UnmaskedFields">Field names returned in full.</param>
/// <param name="ErrorCode">Refusal code, or null.</param>
/// <param name="Target">Non-subscriber target, or null.</param>
/// <param name="Reason">Stated reason, or null.</param>
public sealed record ReviewRow(
    long Sequence,
    DateTimeOffset Time,
    string Task,
    string Outcome,
    string? Account,
    string? Role,
    string? Terminal,
    string? Store,
    string? SourceIp,
    string? Purpose,
    [property: Classification.Pseudonymous] IReadOnlyList<string> SubjectTokens,
    IReadOnlyList<string> Fields,
    IReadOnlyList<string> UnmaskedFields,
    string? ErrorCode,
    string? Target,
    string? Reason);

/// <summary>One page of a review query, newest first.</summary>
/// <param name="Rows">At most the filter's limit.</param>
/// <param name="NextBefore">Pass as <see cref="ReviewFilter.Before"/> for the next (older) page; null when this is the last page.</param>
public sealed record ReviewPage(IReadOnlyList<ReviewRow> Rows, long? NextBefore);

/// <summary>The result of an export.</summary>
/// <param name="Rows">Rows written.</param>
/// <param name="Entry">The <see cref="AccessTask.Export"/> ledger entry recording it (appended before the file was written).</param>
public sealed record ReviewExport(int Rows, CommittedEntry Entry);
