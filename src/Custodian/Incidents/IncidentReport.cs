using System.Globalization;
using System.Text;

namespace Custodian.Incidents;

/// <summary>
/// The summary report of a case (Markdown) and its timeline chart (SVG). Counts only: no subscriber token, internal ID or
/// personal value appears, so the report can go to management and the regulator.
/// </summary>
public static class IncidentReport
{
    /// <summary>The Markdown report: case, 72-hour clock, scope, counts per grade, fields exposed, per-day timeline, actions with ledger sequences.</summary>
    /// <param name="incident">The case.</param>
    /// <param name="clock">Its notice clock now.</param>
    /// <param name="actions">Its recorded actions.</param>
    /// <param name="chartFile">File name of the SVG chart to link, or null for none.</param>
    public static string ToMarkdown(Incident incident, NoticeClock clock, IReadOnlyList<IncidentAction> actions, string? chartFile = null)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(actions);
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"# Incident {incident.Id}: {incident.Title}\n\n");
        sb.Append(ci, $"- State: **{incident.State.ToName()}**\n");
        sb.Append(ci, $"- Declared: {IncidentStore.Utc(incident.DeclaredAt)} by {incident.DeclaredBy}\n");
        sb.Append(ci, $"- Notice deadline (PIPA Art. 34, 72 hours): {IncidentStore.Utc(clock.Deadline)} — {clock.Describe()}\n");
        if (incident.Alerts.Count > 0)
        {
            sb.Append(ci, $"- From alerts: {string.Join(", ", incident.Alerts)}\n");
        }

        sb.Append(ci, $"- Scope: {(incident.Scope.Describe() is { Length: > 0 } d ? d : "(none yet)")}\n");
        if (incident.ClosedAt is { } closed)
        {
            sb.Append(ci, $"- Closed: {IncidentStore.Utc(closed)} — {incident.CloseNote}\n");
        }

        if (incident.Summary is { } s)
        {
            var c = s.Counts;
            sb.Append(ci, $"\n## Affected subscribers\n\nScoped {IncidentStore.Utc(s.ScopedAt)} by {s.ScopedBy} over the first {Count(s.LedgerSize, "ledger entry", "ledger entries")}; ");
            sb.Append(ci, $"principals scanned: {string.Join(", ", s.Principals)}. {SubjectsLine(s)}\n\n");
            sb.Append(ci, $"Affected-set SHA-256: `{s.SetSha256}`\n\n");
            sb.Append("| Grade | Subscribers |\n|---|---:|\n");
            sb.Append(ci, $"| RRN shown in full (`rrn-unmasked`) | {c.RrnUnmasked:N0} |\n");
            sb.Append(ci, $"| other fields shown in full (`unmasked`) | {c.Unmasked:N0} |\n");
            sb.Append(ci, $"| masked only (`masked`) | {c.Masked:N0} |\n");
            sb.Append(ci, $"| **personal data exposed** (notified) | **{c.PersonalData:N0}** |\n");
            sb.Append(ci, $"| token only (`token-only`, not a leak of personal data; not notified) | {c.TokenOnly:N0} |\n");
            sb.Append(ci, $"| total | {c.Total:N0} |\n");
            sb.Append("\n## Fields exposed\n\n| Field | Subscribers shown it | … in full |\n|---|---:|---:|\n");
            foreach (var (field, n) in s.Fields)
            {
                sb.Append(ci, $"| {field} | {n:N0} | {s.UnmaskedFields.GetValueOrDefault(field):N0} |\n");
            }

            sb.Append("\n## Timeline\n\n");
            if (chartFile is not null)
            {
                sb.Append(ci, $"![Exposing entries per day]({chartFile})\n\n");
            }

            sb.Append("| Day | Entries | Subscribers |\n|---|---:|---:|\n");
            foreach (var day in s.Timeline)
            {
                sb.Append(ci, $"| {day.Day} | {day.Entries:N0} | {day.Subscribers:N0} |\n");
            }
        }

        sb.Append("\n## Actions (access ledger)\n\n| Ledger # | Time (UTC) | Action | Officer | Detail |\n|---:|---|---|---|---|\n");
        foreach (var a in actions)
        {
            sb.Append(ci, $"| {a.Sequence} | {IncidentStore.Utc(a.Time)} | {a.Action} | {a.Account} | {a.Detail.Replace("|", "\\|", StringComparison.Ordinal)} |\n");
        }

        return sb.ToString();
    }

    /// <summary>
    /// The scan's counts in words: entries matched, how many of them exposed someone, and the distinct subscribers they
    /// affected (<see cref="GradeCounts.Total"/>, the table's total), e.g. <c>7 entries matched, 5 of them exposing;
    /// 5 distinct subscribers affected.</c> Entries and subscribers differ whenever one subscriber is read more than once.
    /// </summary>
    /// <param name="summary">The scoping run.</param>
    public static string SubjectsLine(ScopeSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{Count(summary.EntriesMatched, "entry", "entries")} matched, {summary.EntriesExposing:N0} of them exposing; {Count(summary.Counts.Total, "distinct subscriber", "distinct subscribers")} affected.");
    }

    /// <summary>A count with its noun in the right number (<c>1 ledger entry</c>, <c>2 ledger entries</c>), thousands grouped.</summary>
    private static string Count(long count, string singular, string plural) =>
        count.ToString("N0", CultureInfo.InvariantCulture) + " " + (count == 1 ? singular : plural);

    /// <summary>
    /// A bar chart of exposing entries per day as a standalone SVG 1.1 document (no script, no external reference; styles as
    /// attributes so it passes a <c>style-src 'self'</c> policy). 720 × 240 user units; bar height proportional to entries;
    /// each bar has a <c>&lt;title&gt;</c> with the day and counts.
    /// </summary>
    /// <param name="timeline">Days ascending.</param>
    /// <param name="title">Chart title (escaped).</param>
    public static string TimelineSvg(IReadOnlyList<TimelineDay> timeline, string title)
    {
        ArgumentNullException.ThrowIfNull(timeline);
        const int width = 720, height = 240, left = 50, bottom = 30, top = 30;
        var ci = CultureInfo.InvariantCulture;
        var max = Math.Max(1, timeline.Count == 0 ? 1 : timeline.Max(d => d.Entries));
        var plotWidth = width - left - 10;
        var barWidth = timeline.Count == 0 ? 0 : (double)plotWidth / timeline.Count;
        var sb = new StringBuilder();
        sb.Append(ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">\n");
        sb.Append(ci, $"<title>{Escape(title)}</title>\n");
        sb.Append(ci, $"<text x=\"{left}\" y=\"18\" font-family=\"sans-serif\" font-size=\"13\">{Escape(title)}</text>\n");
        sb.Append(ci, $"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - 10}\" y2=\"{height - bottom}\" stroke=\"#333\"/>\n");
        sb.Append(ci, $"<text x=\"{left - 4}\" y=\"{top + 4}\" font-family=\"sans-serif\" font-size=\"10\" text-anchor=\"end\">{max:N0}</text>\n");
        for (var i = 0; i < timeline.Count; i++)
        {
            var d = timeline[i];
            var h = (height - bottom - top) * (double)d.Entries / max;
            var x = left + (i * barWidth);
            sb.Append(ci, $"<rect x=\"{x + 1:F1}\" y=\"{height - bottom - h:F1}\" width=\"{Math.Max(1, barWidth - 2):F1}\" height=\"{h:F1}\" fill=\"#b22\"><title>{d.Day}: {d.Entries:N0} entries, {d.Subscribers:N0} subscribers</title></rect>\n");
        }

        if (timeline.Count > 0)
        {
            sb.Append(ci, $"<text x=\"{left}\" y=\"{height - 10}\" font-family=\"sans-serif\" font-size=\"10\">{timeline[0].Day}</text>\n");
            sb.Append(ci, $"<text x=\"{width - 10}\" y=\"{height - 10}\" font-family=\"sans-serif\" font-size=\"10\" text-anchor=\"end\">{timeline[^1].Day}</text>\n");
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Escape(string text) => System.Security.SecurityElement.Escape(text) ?? string.Empty;
}
