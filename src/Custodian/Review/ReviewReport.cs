using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Custodian.Review;

/// <summary>
/// The periodic access-log review report (PIPA safety standard, 개인정보의 안전성 확보조치 기준, Art. 8(2)):
/// what happened in one period, from the access ledger. Holds no personal values and no internal subscriber
/// IDs (only counts). Deterministic for a given ledger state: the JSON form (<see cref="ToJson"/>) is what a
/// sign-off commits to by SHA-256 (<see cref="Sha256Hex"/>). Layout: docs/review.md.
/// </summary>
/// <param name="Period">Period name, e.g. <c>2026-11</c>.</param>
/// <param name="Cycle"><c>monthly</c> or <c>weekly</c>.</param>
/// <param name="From">Start (inclusive) at the review offset.</param>
/// <param name="To">End (exclusive) at the review offset.</param>
/// <param name="Entries">Entries in the period with their payload.</param>
/// <param name="ErasedEntries">Entries in the period already erased by retention (not analysed).</param>
/// <param name="ByTask">Entries per task and outcome, by task name.</param>
/// <param name="ByAccount">Per staff account (entries carrying an account), by account.</param>
/// <param name="ByStore">Per store (entries carrying a store), by store.</param>
/// <param name="Denied">Refused accesses.</param>
/// <param name="Unmasks">Full-value views.</param>
/// <param name="OutsideStoreHours">Personal-data reads by staff outside store hours.</param>
/// <param name="Alerts">Monitor alerts raised.</param>
/// <param name="Suspensions">Suspensions.</param>
/// <param name="Restorations">Suspensions lifted.</param>
/// <param name="Downloads">Every download and export, with its reason; all flagged.</param>
/// <param name="RetentionErasures">Retention erasures recorded in the period.</param>
/// <param name="EarlierPeriods">Sign-off state of the earlier periods of the cycle, newest first.</param>
public sealed record ReviewReport(
    string Period,
    string Cycle,
    DateTimeOffset From,
    DateTimeOffset To,
    long Entries,
    long ErasedEntries,
    IReadOnlyList<ReportTaskCount> ByTask,
    IReadOnlyList<ReportGroupCount> ByAccount,
    IReadOnlyList<ReportGroupCount> ByStore,
    ReportDenied Denied,
    ReportUnmasks Unmasks,
    ReportOutsideHours OutsideStoreHours,
    IReadOnlyList<ReportItem> Alerts,
    IReadOnlyList<ReportItem> Suspensions,
    IReadOnlyList<ReportItem> Restorations,
    IReadOnlyList<ReportItem> Downloads,
    IReadOnlyList<ReportErasure> RetentionErasures,
    IReadOnlyList<ReportSignOff> EarlierPeriods)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NewLine = "\n",
    };

    /// <summary>The report as UTF-8 JSON (camelCase, indented with LF, nulls omitted, non-ASCII escaped): the bytes a sign-off hashes.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>SHA-256 of <see cref="ToJson"/>, 64 lowercase hexadecimal characters (equals <c>sha256sum</c> of the <c>--out</c> file).</summary>
    public string Sha256Hex() => Convert.ToHexStringLower(SHA256.HashData(ToJson()));

    /// <summary>The report as Markdown for the console.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.Append(c, $"# Access-log review {Period} ({Cycle})\n\n");
        sb.Append(c, $"Period {From:yyyy-MM-dd HH:mm zzz} to {To:yyyy-MM-dd HH:mm zzz} (exclusive). Entries: {Entries:N0}; erased by retention: {ErasedEntries:N0}.\n");
        sb.Append(c, $"Report SHA-256: `{Sha256Hex()}`\n\n");

        sb.Append("## Entries per task\n\n| task | allowed | denied |\n|---|---:|---:|\n");
        foreach (var t in ByTask)
        {
            sb.Append(c, $"| {t.Task} | {t.Allowed:N0} | {t.Denied:N0} |\n");
        }

        Groups("Per account", "account", ByAccount);
        Groups("Per store", "store", ByStore);

        sb.Append(c, $"\n## Denied accesses: {Denied.Total:N0}\n\n");
        foreach (var e in Denied.ByError)
        {
            sb.Append(c, $"- {e.Key}: {e.Value:N0}\n");
        }

        Items(Denied.Items);
        sb.Append(c, $"\n## Unmasks: {Unmasks.Total:N0}\n\n");
        foreach (var f in Unmasks.ByField)
        {
            sb.Append(c, $"- {f.Key}: {f.Value:N0}\n");
        }

        sb.Append(c, $"\n## Reads outside store hours ({OutsideStoreHours.Definition}): {OutsideStoreHours.Total:N0}\n");
        Items(OutsideStoreHours.Items);
        sb.Append(c, $"\n## Alerts: {Alerts.Count:N0}\n");
        Items(Alerts);
        sb.Append(c, $"\n## Suspensions: {Suspensions.Count:N0}; restorations: {Restorations.Count:N0}\n");
        Items([.. Suspensions, .. Restorations]);
        sb.Append(c, $"\n## FLAGGED downloads and exports: {Downloads.Count:N0}\n");
        Items(Downloads);
        sb.Append(c, $"\n## Retention erasures: {RetentionErasures.Count:N0}\n\n");
        foreach (var r in RetentionErasures)
        {
            sb.Append(c, $"- #{r.Sequence} at {r.Time:yyyy-MM-dd HH:mm:ss}: sequences [{r.From}, {r.To}) before {r.Cutoff:yyyy-MM-dd HH:mm:ss zzz}, {r.Erased:N0} erased\n");
        }

        sb.Append("\n## Earlier periods\n\n| period | signed off | reviewer | entry |\n|---|---|---|---:|\n");
        foreach (var s in EarlierPeriods)
        {
            sb.Append(c, $"| {s.Period} | {(s.SignedOff ? "yes" : "**NO**")} | {s.Reviewer ?? "-"} | {(s.Sequence is { } q ? "#" + q.ToString(c) : "-")} |\n");
        }

        return sb.ToString();

        void Groups(string title, string key, IReadOnlyList<ReportGroupCount> groups)
        {
            sb.Append(c, $"\n## {title}\n\n| {key} | entries | denied | unmasks | outside hours | downloads |\n|---|---:|---:|---:|---:|---:|\n");
            foreach (var g in groups)
            {
                sb.Append(c, $"| {g.Key} | {g.Entries:N0} | {g.Denied:N0} | {g.Unmasks:N0} | {g.OutsideStoreHours:N0} | {g.Downloads:N0} |\n");
            }
        }

        void Items(IReadOnlyList<ReportItem> items)
        {
            if (items.Count == 0)
            {
                return;
            }

            sb.Append('\n');
            foreach (var i in items)
            {
                sb.Append(c, $"- {(i.Flagged ? "**FLAGGED** " : string.Empty)}#{i.Sequence} {i.Time:yyyy-MM-dd HH:mm:ss} {i.Task} {i.Outcome} account={i.Account ?? "-"} terminal={i.Terminal ?? "-"} store={i.Store ?? "-"}");
                if (i.ErrorCode is not null)
                {
                    sb.Append(c, $" error={i.ErrorCode}");
                }

                if (i.Target is not null)
                {
                    sb.Append(c, $" target={i.Target}");
                }

                if (i.Reason is not null)
                {
                    sb.Append(c, $" reason=\"{i.Reason.ReplaceLineEndings(" ")}\"");
                }

                sb.Append('\n');
            }
        }
    }
}

/// <summary>Entries of one task in the period.</summary>
/// <param name="Task">Kebab-case task name.</param>
/// <param name="Allowed">Allowed entries.</param>
/// <param name="Denied">Denied entries.</param>
public sealed record ReportTaskCount(string Task, long Allowed, long Denied);

/// <summary>Counts for one account or store.</summary>
/// <param name="Key">The account ID or store code.</param>
/// <param name="Entries">All entries.</param>
/// <param name="Denied">Denied entries.</param>
/// <param name="Unmasks">Allowed unmask entries.</param>
/// <param name="OutsideStoreHours">Personal-data reads outside store hours.</param>
/// <param name="Downloads">Downloads and exports.</param>
public sealed record ReportGroupCount(string Key, long Entries, long Denied, long Unmasks, long OutsideStoreHours, long Downloads);

/// <summary>Refused accesses.</summary>
/// <param name="Total">All denied entries.</param>
/// <param name="ByError">Count per error code (<c>none</c> when a refusal carries no code), ordinal order.</param>
/// <param name="Items">The first <c>MaxListedItems</c> denied entries by sequence.</param>
public sealed record ReportDenied(long Total, IReadOnlyDictionary<string, long> ByError, IReadOnlyList<ReportItem> Items);

/// <summary>Full-value views.</summary>
/// <param name="Total">Allowed unmask entries.</param>
/// <param name="ByField">How often each field was returned in full, ordinal order.</param>
public sealed record ReportUnmasks(long Total, IReadOnlyDictionary<string, long> ByField);

/// <summary>Personal-data reads by staff outside store hours.</summary>
/// <param name="Definition">The rule applied, e.g. <c>local time before 09:00 or from 21:00 (UTC+09:00)</c>.</param>
/// <param name="Total">Such entries.</param>
/// <param name="Items">The first <c>MaxListedItems</c> of them by sequence.</param>
public sealed record ReportOutsideHours(string Definition, long Total, IReadOnlyList<ReportItem> Items);

/// <summary>One listed entry.</summary>
/// <param name="Sequence">Sequence number.</param>
/// <param name="Time">When, at the review offset.</param>
/// <param name="Task">Task name.</param>
/// <param name="Outcome">Outcome name.</param>
/// <param name="Account">Account or null.</param>
/// <param name="Terminal">Terminal or null.</param>
/// <param name="Store">Store or null.</param>
/// <param name="ErrorCode">Refusal code or null.</param>
/// <param name="Target">Target or null.</param>
/// <param name="Reason">Stated reason or null.</param>
/// <param name="Flagged">True for downloads and exports (they need the reviewer's attention).</param>
public sealed record ReportItem(long Sequence, DateTimeOffset Time, string Task, string Outcome, string? Account, string? Terminal, string? Store, string? ErrorCode, string? Target, string? Reason, bool Flagged);

/// <summary>One retention erasure.</summary>
/// <param name="Sequence">The RetentionErasure entry.</param>
/// <param name="Time">When, at the review offset.</param>
/// <param name="From">First sequence covered.</param>
/// <param name="To">End of the range (exclusive).</param>
/// <param name="Cutoff">Entries before this were erased.</param>
/// <param name="Erased">Entries it erased.</param>
public sealed record ReportErasure(long Sequence, DateTimeOffset Time, long From, long To, DateTimeOffset Cutoff, long Erased);

/// <summary>Sign-off state of one period.</summary>
/// <param name="Period">Period name.</param>
/// <param name="SignedOff">Whether a sign-off entry exists.</param>
/// <param name="Sequence">The first sign-off entry, or null.</param>
/// <param name="Reviewer">Its reviewer account, or null.</param>
/// <param name="ReportSha256">The report hash it committed to, or null.</param>
public sealed record ReportSignOff(string Period, bool SignedOff, long? Sequence, string? Reviewer, string? ReportSha256);
