using System.Globalization;
using System.Text;

namespace Custodian.Siem.Cef;

/// <summary>
/// One ArcSight Common Event Format (CEF) record: seven pipe-separated header fields and
/// space-separated <c>key=value</c> extensions (Micro Focus "Implementing ArcSight CEF", revision 25).
/// </summary>
/// <param name="DeviceVendor">Header field 2, e.g. <c>Custodian</c>.</param>
/// <param name="DeviceProduct">Header field 3.</param>
/// <param name="DeviceVersion">Header field 4.</param>
/// <param name="SignatureId">Header field 5 (Device Event Class ID); Custodian uses the OCSF <c>type_uid</c>, e.g. <c>600501</c>.</param>
/// <param name="Name">Header field 6, human-readable event name.</param>
/// <param name="Severity">Header field 7, 0 (lowest) to 10 (highest).</param>
/// <param name="Extensions">Extension pairs in output order; keys are CEF dictionary keys (letters and digits only).</param>
public sealed record CefRecord(
    string DeviceVendor,
    string DeviceProduct,
    string DeviceVersion,
    string SignatureId,
    string Name,
    int Severity,
    IReadOnlyList<KeyValuePair<string, string>> Extensions);

/// <summary>
/// Encodes <see cref="CefRecord"/>s as CEF version 0 lines. Escaping follows the CEF specification:
/// in header fields <c>\</c> → <c>\\</c> and <c>|</c> → <c>\|</c>, and line breaks (CR, LF, CRLF) become one
/// space; in extension values <c>\</c> → <c>\\</c>, <c>=</c> → <c>\=</c> and every line break (CR, LF, CRLF)
/// becomes the two characters <c>\n</c>; pipes are not escaped in extension values; extension keys keep
/// only ASCII letters and digits. The rules and vectors are checked against logstash-codec-cef's
/// specification (shared/testdata/syslog-cef/cef-encode-cases.json). Stateless and thread-safe.
/// </summary>
public static class CefEncoder
{
    /// <summary>Lowest CEF severity.</summary>
    public const int MinSeverity = 0;

    /// <summary>Highest CEF severity.</summary>
    public const int MaxSeverity = 10;

    /// <summary>Encodes <paramref name="record"/> as one line (no line terminator).</summary>
    /// <exception cref="ArgumentOutOfRangeException">When the severity is outside 0–10.</exception>
    /// <exception cref="ArgumentException">When an extension key has no letter or digit left after sanitising.</exception>
    public static string Encode(CefRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfLessThan(record.Severity, MinSeverity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(record.Severity, MaxSeverity);
        var sb = new StringBuilder(256);
        sb.Append("CEF:0|")
            .Append(EscapeHeader(record.DeviceVendor)).Append('|')
            .Append(EscapeHeader(record.DeviceProduct)).Append('|')
            .Append(EscapeHeader(record.DeviceVersion)).Append('|')
            .Append(EscapeHeader(record.SignatureId)).Append('|')
            .Append(EscapeHeader(record.Name)).Append('|')
            .Append(record.Severity.ToString(CultureInfo.InvariantCulture)).Append('|');
        var first = true;
        foreach (var (key, value) in record.Extensions)
        {
            var k = SanitizeKey(key);
            if (k.Length == 0)
            {
                throw new ArgumentException("A CEF extension key must contain at least one ASCII letter or digit.", nameof(record));
            }

            if (!first)
            {
                sb.Append(' ');
            }

            first = false;
            sb.Append(k).Append('=').Append(EscapeExtensionValue(value));
        }

        return sb.ToString();
    }

    /// <summary>Escapes a header field: <c>\</c> and <c>|</c> get a backslash; CR, LF and CRLF become one space.</summary>
    public static string EscapeHeader(string value) => Escape(value, '|', " ");

    /// <summary>Escapes an extension value: <c>\</c> and <c>=</c> get a backslash; CR, LF and CRLF become <c>\n</c>; <c>|</c> is kept.</summary>
    public static string EscapeExtensionValue(string value) => Escape(value, '=', @"\n");

    // The CEF escaping both parts share: backslash and the part's delimiter get a backslash; CR, LF and CRLF become one newline replacement.
    private static string Escape(string value, char delimiter, string newline)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder(value.Length + 8);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\\' || c == delimiter)
            {
                sb.Append('\\').Append(c);
            }
            else if (c is '\r' or '\n')
            {
                sb.Append(newline);
                if (c == '\r' && i + 1 < value.Length && value[i + 1] == '\n')
                {
                    i++;
                }
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>Keeps only the ASCII letters and digits of an extension key (CEF keys are alphanumeric).</summary>
    public static string SanitizeKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var sb = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// Parses a CEF severity given as text: an integer 0–10, or a decimal with a zero fraction (<c>1.0</c>).
    /// Anything else (empty, <c>1.5</c>, <c>-1</c>, <c>11</c>, words) is invalid.
    /// </summary>
    /// <param name="text">The text; null is invalid.</param>
    /// <param name="severity">The severity, when valid.</param>
    public static bool TryParseSeverity(string? text, out int severity)
    {
        severity = 0;
        if (string.IsNullOrEmpty(text)
            || !decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            || value != decimal.Truncate(value)
            || value < MinSeverity
            || value > MaxSeverity)
        {
            return false;
        }

        severity = (int)value;
        return true;
    }
}
