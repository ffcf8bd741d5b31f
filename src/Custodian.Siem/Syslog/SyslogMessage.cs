using System.Globalization;
using System.Text;

namespace Custodian.Siem.Syslog;

/// <summary>One SD-ELEMENT of RFC 5424 §6.3: an SD-ID and its parameters in order.</summary>
/// <param name="Id">The SD-ID (1–32 printable US-ASCII characters except <c>=</c>, space, <c>]</c> and <c>"</c>).</param>
/// <param name="Parameters">PARAM-NAME / PARAM-VALUE pairs; values are unescaped text.</param>
public sealed record StructuredDataElement(string Id, IReadOnlyList<KeyValuePair<string, string>> Parameters);

/// <summary>
/// A syslog message in the RFC 5424 format (§6): <c>&lt;PRI&gt;1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
/// STRUCTURED-DATA [SP MSG]</c>. Null header fields are the NILVALUE <c>-</c>.
/// </summary>
/// <param name="Facility">0–23 (RFC 5424 §6.2.1 table 1; 13 is "log audit").</param>
/// <param name="Severity">0 (emergency) – 7 (debug) (RFC 5424 §6.2.1 table 2).</param>
/// <param name="Timestamp">The time, or null for NILVALUE. Written with at most 6 fraction digits (§6.2.3), trailing zeros dropped, <c>Z</c> for offset zero.</param>
/// <param name="HostName">At most 255 printable US-ASCII characters, or null.</param>
/// <param name="AppName">At most 48 printable US-ASCII characters, or null.</param>
/// <param name="ProcId">At most 128 printable US-ASCII characters, or null.</param>
/// <param name="MsgId">At most 32 printable US-ASCII characters, or null.</param>
/// <param name="StructuredData">SD-ELEMENTs; empty for NILVALUE.</param>
/// <param name="Message">The MSG part (UTF-8 when written), or null for none. A leading U+FEFF (the BOM of §6.4) is kept as part of the text.</param>
public sealed record SyslogMessage(
    int Facility,
    int Severity,
    DateTimeOffset? Timestamp,
    string? HostName,
    string? AppName,
    string? ProcId,
    string? MsgId,
    IReadOnlyList<StructuredDataElement> StructuredData,
    string? Message)
{
    /// <summary>The RFC 5424 version written and accepted: 1.</summary>
    public const int Version = 1;

    /// <summary>The PRI value: facility × 8 + severity (RFC 5424 §6.2.1).</summary>
    public int Priority => (Facility * 8) + Severity;

    /// <summary>The original TIMESTAMP text when the message was parsed (keeps the sender's fraction digits), else null.</summary>
    public string? TimestampText { get; init; }

    /// <summary>Formats the message (RFC 5424 §6).</summary>
    /// <exception cref="ArgumentException">When a header field is out of range, too long, or not printable US-ASCII.</exception>
    public string Format()
    {
        if (Facility is < 0 or > 23)
        {
            throw new ArgumentException("The facility must be 0-23 (RFC 5424 6.2.1).");
        }

        if (Severity is < 0 or > 7)
        {
            throw new ArgumentException("The severity must be 0-7 (RFC 5424 6.2.1).");
        }

        var sb = new StringBuilder(256);
        sb.Append('<').Append(Priority.ToString(CultureInfo.InvariantCulture)).Append(">1 ");
        sb.Append(TimestampText ?? (Timestamp is { } t ? FormatTimestamp(t) : "-")).Append(' ');
        sb.Append(Header(HostName, 255, "hostname")).Append(' ');
        sb.Append(Header(AppName, 48, "app-name")).Append(' ');
        sb.Append(Header(ProcId, 128, "procid")).Append(' ');
        sb.Append(Header(MsgId, 32, "msgid")).Append(' ');
        if (StructuredData.Count == 0)
        {
            sb.Append('-');
        }
        else
        {
            foreach (var element in StructuredData)
            {
                sb.Append('[').Append(SdName(element.Id, "SD-ID"));
                foreach (var (name, value) in element.Parameters)
                {
                    sb.Append(' ').Append(SdName(name, "PARAM-NAME")).Append("=\"");
                    foreach (var c in value)
                    {
                        if (c is '"' or '\\' or ']')
                        {
                            sb.Append('\\'); // RFC 5424 6.3.3
                        }

                        sb.Append(c);
                    }

                    sb.Append('"');
                }

                sb.Append(']');
            }
        }

        if (Message is not null)
        {
            sb.Append(' ').Append(Message);
        }

        return sb.ToString();
    }

    /// <summary>Formats a TIMESTAMP (RFC 5424 §6.2.3, RFC 3339): up to 6 fraction digits without trailing zeros; <c>Z</c> or <c>±hh:mm</c>.</summary>
    public static string FormatTimestamp(DateTimeOffset time)
    {
        var sb = new StringBuilder(32);
        sb.Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
        var micros = (time.Ticks % TimeSpan.TicksPerSecond) / 10;
        if (micros != 0)
        {
            sb.Append('.').Append(micros.ToString("D6", CultureInfo.InvariantCulture).TrimEnd('0'));
        }

        if (time.Offset == TimeSpan.Zero)
        {
            sb.Append('Z');
        }
        else
        {
            var offset = time.Offset;
            sb.Append(offset < TimeSpan.Zero ? '-' : '+').Append(offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    /// <summary>
    /// Parses one RFC 5424 message (without transport framing). Strict about the header (§6): PRI 0–191
    /// with no leading zeros, version 1, single spaces, NILVALUEs, RFC 3339 timestamp, printable US-ASCII
    /// header fields within their lengths, well-formed SD-ELEMENTs with §6.3.3 escapes.
    /// </summary>
    /// <param name="text">The message text.</param>
    /// <param name="message">The message, when well formed.</param>
    /// <param name="error">What is wrong (names the part and the rule, not the value), when not.</param>
    public static bool TryParse(string text, out SyslogMessage? message, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        message = null;
        var p = 0;
        if (!Expect(text, ref p, '<'))
        {
            error = "PRI must start with '<'.";
            return false;
        }

        var priStart = p;
        while (p < text.Length && char.IsAsciiDigit(text[p]))
        {
            p++;
        }

        if (p - priStart is < 1 or > 3 || (p - priStart > 1 && text[priStart] == '0') || !Expect(text, ref p, '>'))
        {
            error = "PRI must be 1-3 digits without leading zeros, closed by '>'.";
            return false;
        }

        var pri = int.Parse(text.AsSpan(priStart, p - priStart - 1), NumberStyles.None, CultureInfo.InvariantCulture);
        if (pri > 191)
        {
            error = "PRI must be at most 191.";
            return false;
        }

        if (!Expect(text, ref p, '1') || !Expect(text, ref p, ' '))
        {
            error = "VERSION must be 1 followed by a space.";
            return false;
        }

        var fields = new string?[5];
        int[] maxLengths = [255, 255, 48, 128, 32];
        string[] names = ["TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID"];
        for (var i = 0; i < fields.Length; i++)
        {
            var start = p;
            while (p < text.Length && text[p] != ' ')
            {
                if (text[p] is < '!' or > '~')
                {
                    error = $"{names[i]} must be printable US-ASCII.";
                    return false;
                }

                p++;
            }

            if (p == start || p - start > maxLengths[i] || !Expect(text, ref p, ' '))
            {
                error = $"{names[i]} must be 1-{maxLengths[i]} characters followed by a space.";
                return false;
            }

            var value = text[start..(p - 1)];
            fields[i] = value == "-" ? null : value;
        }

        DateTimeOffset? timestamp = null;
        if (fields[0] is { } ts)
        {
            if (!TryParseTimestamp(ts, out var parsed))
            {
                error = "TIMESTAMP must be an RFC 3339 date-time with at most 6 fraction digits.";
                return false;
            }

            timestamp = parsed;
        }

        var elements = new List<StructuredDataElement>();
        if (p < text.Length && text[p] == '-')
        {
            p++;
        }
        else
        {
            while (p < text.Length && text[p] == '[')
            {
                p++;
                if (!TryReadSdName(text, ref p, out var id))
                {
                    error = "SD-ID must be 1-32 printable US-ASCII characters other than '=', ' ', ']' and '\"'.";
                    return false;
                }

                var parameters = new List<KeyValuePair<string, string>>();
                while (p < text.Length && text[p] == ' ')
                {
                    p++;
                    if (!TryReadSdName(text, ref p, out var name) || !Expect(text, ref p, '=') || !Expect(text, ref p, '"'))
                    {
                        error = "SD-PARAM must be PARAM-NAME=\"value\".";
                        return false;
                    }

                    var value = new StringBuilder();
                    while (true)
                    {
                        if (p >= text.Length)
                        {
                            error = "PARAM-VALUE must be closed by '\"'.";
                            return false;
                        }

                        var c = text[p++];
                        if (c == '"')
                        {
                            break;
                        }

                        if (c == '\\' && p < text.Length && text[p] is '"' or '\\' or ']')
                        {
                            c = text[p++];
                        }

                        value.Append(c);
                    }

                    parameters.Add(new(name, value.ToString()));
                }

                if (!Expect(text, ref p, ']'))
                {
                    error = "SD-ELEMENT must be closed by ']'.";
                    return false;
                }

                elements.Add(new StructuredDataElement(id, parameters));
            }

            if (elements.Count == 0)
            {
                error = "STRUCTURED-DATA must be '-' or one or more SD-ELEMENTs.";
                return false;
            }
        }

        string? msg = null;
        if (p < text.Length)
        {
            if (text[p] != ' ')
            {
                error = "MSG must be separated from STRUCTURED-DATA by a space.";
                return false;
            }

            msg = text[(p + 1)..];
        }

        message = new SyslogMessage(pri / 8, pri % 8, timestamp, fields[1], fields[2], fields[3], fields[4], elements, msg) { TimestampText = fields[0] };
        error = null;
        return true;
    }

    private static bool TryParseTimestamp(string text, out DateTimeOffset value)
    {
        value = default;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var zone = text.Length > 0 && (text[^1] is 'Z') ? text.Length - 1 : text.LastIndexOfAny(['+', '-']);
        if (zone < 19)
        {
            return false;
        }

        var fraction = dot > 0 ? text[(dot + 1)..zone] : string.Empty;
        if (fraction.Length > 6 || (dot > 0 && fraction.Length == 0))
        {
            return false;
        }

        string[] formats = ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFK"];
        return DateTimeOffset.TryParseExact(text, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
    }

    private static bool TryReadSdName(string text, ref int p, out string name)
    {
        var start = p;
        while (p < text.Length && text[p] is >= '!' and <= '~' and not '=' and not ']' and not '"')
        {
            p++;
        }

        name = text[start..p];
        return name.Length is >= 1 and <= 32;
    }

    private static bool Expect(string text, ref int p, char c)
    {
        if (p < text.Length && text[p] == c)
        {
            p++;
            return true;
        }

        return false;
    }

    private static string Header(string? value, int max, string field)
    {
        if (value is null)
        {
            return "-";
        }

        if (value.Length is 0 || value.Length > max || value.Any(c => c is < '!' or > '~'))
        {
            throw new ArgumentException($"The syslog {field} must be 1-{max} printable US-ASCII characters (RFC 5424 6.2).");
        }

        return value;
    }

    private static string SdName(string value, string what)
    {
        if (value.Length is 0 or > 32 || value.Any(c => c is < '!' or > '~' or '=' or ']' or '"'))
        {
            throw new ArgumentException($"The {what} must be 1-32 printable US-ASCII characters other than '=', ' ', ']' and '\"' (RFC 5424 6.3).");
        }

        return value;
    }
}
