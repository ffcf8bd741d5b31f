using System.Globalization;
using System.Text;
using Custodian.Siem.Syslog;

namespace Custodian.Siem.Tests;

/// <summary>Reads back what the exporter sent: the CEF line in a received syslog message, and its extensions.</summary>
internal static class Cef
{
    /// <summary>The CEF line of a received message (MSG without the UTF-8 BOM).</summary>
    public static string Line(SyslogMessage message)
    {
        var msg = message.Message ?? throw new Xunit.Sdk.XunitException("message without MSG");
        Assert.StartsWith("\uFEFF", msg, StringComparison.Ordinal);
        return msg[1..];
    }

    /// <summary>The unescaped extension values of a CEF line (the inverse of the encoder's escaping).</summary>
    public static Dictionary<string, string> Extensions(string line)
    {
        // Skip the seven header fields: pipes escaped as \| do not count.
        var pipes = 0;
        var i = 0;
        for (; i < line.Length && pipes < 7; i++)
        {
            if (line[i] == '\\')
            {
                i++;
            }
            else if (line[i] == '|')
            {
                pipes++;
            }
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var ext = line[i..];
        var p = 0;
        while (p < ext.Length)
        {
            var eq = ext.IndexOf('=', p);
            if (eq < 0)
            {
                break; // a cut-short line
            }

            var key = ext[p..eq];
            var value = new StringBuilder();
            p = eq + 1;
            while (p < ext.Length)
            {
                var c = ext[p];
                if (c == '\\' && p + 1 < ext.Length)
                {
                    var n = ext[p + 1];
                    value.Append(n == 'n' ? '\n' : n);
                    p += 2;
                    continue;
                }

                // A space followed by "key=" (letters/digits then an unescaped '=') starts the next pair.
                if (c == ' ' && StartsPair(ext, p + 1))
                {
                    p++;
                    break;
                }

                value.Append(c);
                p++;
            }

            result[key] = value.ToString();
        }

        return result;
    }

    public static long Sequence(SyslogMessage message) =>
        long.Parse(Extensions(Line(message))["externalId"], NumberStyles.None, CultureInfo.InvariantCulture);

    private static bool StartsPair(string ext, int at)
    {
        var j = at;
        while (j < ext.Length && char.IsAsciiLetterOrDigit(ext[j]))
        {
            j++;
        }

        return j > at && j < ext.Length && ext[j] == '=';
    }
}
