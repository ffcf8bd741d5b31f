using System.Globalization;
using System.Net;

namespace Custodian.Siem.Export;

/// <summary>A syslog receiver address: <c>host:port</c> (IPv6 literals in brackets, <c>[::1]:6514</c>).</summary>
/// <param name="Host">DNS name or IP literal (without brackets); also the name checked in the TLS server certificate.</param>
/// <param name="Port">1–65535.</param>
public sealed record SyslogTarget(string Host, int Port)
{
    /// <summary>Parses <c>host:port</c>; the error names the rule, never echoes the value.</summary>
    public static bool TryParse(string? text, out SyslogTarget? target, out string? error)
    {
        target = null;
        error = "must be host:port with a port of 1-65535 (IPv6 in brackets: [::1]:6514).";
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return false;
            }
        }
        else if (host.Contains(':', StringComparison.Ordinal) || Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            return false;
        }

        target = new SyslogTarget(host, port);
        error = null;
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host) + ":" + Port.ToString(CultureInfo.InvariantCulture);
}
