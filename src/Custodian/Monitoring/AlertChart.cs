using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Custodian.Monitoring;

/// <summary>
/// The alert detail's chart, as inline SVG rendered on the server (no script, no external library; allowed by the
/// console's CSP): the principal's evidence entries over time as a cumulative step line, against the alert's limit
/// or threshold and, when the detector's detail names one, the principal's own baseline median.
/// </summary>
public static partial class AlertChart
{
    /// <summary>Chart width in SVG user units.</summary>
    public const int Width = 720;

    /// <summary>Chart height in SVG user units.</summary>
    public const int Height = 260;

    /// <summary>
    /// The own-baseline median named in a detector's detail (<c>own median 20</c>, see <c>AlertEvidence.Detail</c>),
    /// or null when the detail names none.
    /// </summary>
    public static double? OwnMedian(string? detail)
    {
        if (detail is null)
        {
            return null;
        }

        var match = OwnMedianPattern().Match(detail);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>
    /// Renders the chart. Text is XML-escaped; the markup has no script and no style attribute.
    /// </summary>
    /// <param name="times">Times of the evidence entries (any order); each adds one to the cumulative line.</param>
    /// <param name="observed">The alert's observed value (shown in the legend).</param>
    /// <param name="limit">The alert's limit or threshold, drawn as a red dashed line.</param>
    /// <param name="median">The own-baseline median, drawn as a grey dashed line; null for none.</param>
    /// <param name="labels">Localised legend texts: title, "activity", "limit", "baseline".</param>
    /// <returns>An <c>&lt;svg&gt;</c> element, <see cref="Width"/> × <see cref="Height"/>.</returns>
    public static string Svg(IReadOnlyList<DateTimeOffset> times, int observed, int limit, double? median, ChartLabels labels)
    {
        ArgumentNullException.ThrowIfNull(times);
        ArgumentNullException.ThrowIfNull(labels);
        const int left = 50, right = 20, top = 40, bottom = 40;
        var ci = CultureInfo.InvariantCulture;
        var sorted = times.Order().ToArray();
        var max = Math.Max(1, Math.Max(sorted.Length, Math.Max(limit, (int)Math.Ceiling(median ?? 0))));
        var plotW = Width - left - right;
        var plotH = Height - top - bottom;
        var start = sorted.Length > 0 ? sorted[0] : default;
        var span = sorted.Length > 1 ? (sorted[^1] - start).TotalMilliseconds : 0;
        double X(DateTimeOffset t) => left + (span <= 0 ? plotW : plotW * (t - start).TotalMilliseconds / span);
        double Y(double v) => top + plotH - (plotH * v / max);

        var sb = new StringBuilder();
        sb.Append(ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" id=\"activity-chart\">\n");
        sb.Append(ci, $"<title>{Escape(labels.Title)}</title>\n");
        sb.Append(ci, $"<text x=\"{left}\" y=\"18\" font-family=\"sans-serif\" font-size=\"13\">{Escape(labels.Title)}</text>\n");
        sb.Append(ci, $"<line x1=\"{left}\" y1=\"{top + plotH}\" x2=\"{left + plotW}\" y2=\"{top + plotH}\" stroke=\"#333\"/>\n");
        sb.Append(ci, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{top + plotH}\" stroke=\"#333\"/>\n");
        sb.Append(ci, $"<text x=\"{left - 4}\" y=\"{top + 4}\" font-family=\"sans-serif\" font-size=\"10\" text-anchor=\"end\">{max}</text>\n");
        sb.Append(ci, $"<text x=\"{left - 4}\" y=\"{top + plotH}\" font-family=\"sans-serif\" font-size=\"10\" text-anchor=\"end\">0</text>\n");
        if (sorted.Length > 0)
        {
            var points = new StringBuilder();
            points.Append(ci, $"{left:F1},{Y(0):F1}");
            for (var i = 0; i < sorted.Length; i++)
            {
                var x = sorted.Length == 1 ? left + plotW : X(sorted[i]);
                points.Append(ci, $" {x:F1},{Y(i):F1} {x:F1},{Y(i + 1):F1}");
            }

            sb.Append(ci, $"<polyline class=\"activity\" points=\"{points}\" fill=\"none\" stroke=\"#1f4e9c\" stroke-width=\"2\"><title>{Escape(labels.Activity)}: {sorted.Length}</title></polyline>\n");
            sb.Append(ci, $"<text x=\"{left}\" y=\"{Height - 12}\" font-family=\"sans-serif\" font-size=\"10\">{sorted[0].UtcDateTime:yyyy-MM-dd HH:mm:ss}Z</text>\n");
            sb.Append(ci, $"<text x=\"{left + plotW}\" y=\"{Height - 12}\" font-family=\"sans-serif\" font-size=\"10\" text-anchor=\"end\">{sorted[^1].UtcDateTime:yyyy-MM-dd HH:mm:ss}Z</text>\n");
        }

        sb.Append(ci, $"<line class=\"limit\" x1=\"{left}\" y1=\"{Y(limit):F1}\" x2=\"{left + plotW}\" y2=\"{Y(limit):F1}\" stroke=\"#b22\" stroke-dasharray=\"6 4\"><title>{Escape(labels.Limit)}: {limit}</title></line>\n");
        if (median is { } m)
        {
            sb.Append(ci, $"<line class=\"baseline\" x1=\"{left}\" y1=\"{Y(m):F1}\" x2=\"{left + plotW}\" y2=\"{Y(m):F1}\" stroke=\"#777\" stroke-dasharray=\"2 3\"><title>{Escape(labels.Baseline)}: {m.ToString("0.#", ci)}</title></line>\n");
        }

        var legend = $"{labels.Activity} {observed} · {labels.Limit} {limit}" + (median is { } md ? $" · {labels.Baseline} {md.ToString("0.#", ci)}" : string.Empty);
        sb.Append(ci, $"<text x=\"{left + plotW}\" y=\"18\" font-family=\"sans-serif\" font-size=\"11\" text-anchor=\"end\">{Escape(legend)}</text>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Escape(string text) => System.Security.SecurityElement.Escape(text) ?? string.Empty;

    [GeneratedRegex(@"own median ([0-9]+(?:\.[0-9]+)?)", RegexOptions.CultureInvariant, 100)]
    private static partial Regex OwnMedianPattern();
}

/// <summary>Localised texts of <see cref="AlertChart.Svg"/>.</summary>
/// <param name="Title">Chart title.</param>
/// <param name="Activity">Name of the cumulative evidence line.</param>
/// <param name="Limit">Name of the limit line.</param>
/// <param name="Baseline">Name of the own-baseline line.</param>
public sealed record ChartLabels(string Title, string Activity, string Limit, string Baseline);
