using System.Globalization;

namespace Custodian.Cli;

/// <summary>Wording shared by the verbs' console output.</summary>
internal static class CliText
{
    /// <summary>
    /// A count with its noun in the right number: <c>1 bad row</c>, <c>0 bad rows</c>, <c>1,200 bad rows</c>
    /// (thousands grouped, invariant culture).
    /// </summary>
    /// <param name="count">The count (any value; only exactly 1 takes the singular).</param>
    /// <param name="singular">The noun phrase for one, e.g. <c>bad row</c>.</param>
    /// <param name="plural">The noun phrase for other counts; default <paramref name="singular"/> + <c>s</c>.</param>
    /// <returns>The count and noun phrase separated by one space.</returns>
    public static string Count(long count, string singular, string? plural = null) =>
        count.ToString("N0", CultureInfo.InvariantCulture) + " " + (count == 1 ? singular : plural ?? singular + "s");
}
