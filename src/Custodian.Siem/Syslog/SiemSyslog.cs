using Custodian.Siem.Cef;
using Custodian.Siem.Ocsf;

namespace Custodian.Siem.Syslog;

/// <summary>
/// The syslog message Custodian sends for one event (RFC 5424 §6): facility 13 "log audit", severity from the
/// OCSF severity (<see cref="ToSyslogSeverity"/>), TIMESTAMP = event time (UTC, milliseconds), HOSTNAME = the
/// configured host name, APP-NAME <c>custodian</c>, PROCID <c>-</c>, MSGID = OCSF <c>type_uid</c>, no
/// STRUCTURED-DATA, MSG = U+FEFF (the BOM of §6.4: MSG is UTF-8) followed by the CEF line of
/// <see cref="OcsfCefMapper"/>. Stateless and thread-safe.
/// </summary>
public static class SiemSyslog
{
    /// <summary>The facility: 13, "log audit" (RFC 5424 §6.2.1 table 1).</summary>
    public const int Facility = 13;

    /// <summary>The APP-NAME.</summary>
    public const string AppName = "custodian";

    /// <summary>
    /// Syslog severity of an OCSF <c>severity_id</c>: Informational → 6 informational, Low → 5 notice,
    /// Medium → 4 warning, High → 3 error, Critical and Fatal → 2 critical, Unknown/Other → 5 notice.
    /// </summary>
    public static int ToSyslogSeverity(int ocsfSeverityId) => ocsfSeverityId switch
    {
        1 => 6,
        2 => 5,
        3 => 4,
        4 => 3,
        5 or 6 => 2,
        _ => 5,
    };

    /// <summary>The RFC 5424 message for <paramref name="ocsf"/>.</summary>
    /// <param name="ocsf">The event.</param>
    /// <param name="hostName">HOSTNAME: 1–255 printable US-ASCII characters.</param>
    public static SyslogMessage ToSyslog(OcsfEvent ocsf, string hostName)
    {
        ArgumentNullException.ThrowIfNull(ocsf);
        var time = DateTimeOffset.FromUnixTimeMilliseconds(ocsf.Json["time"]!.GetValue<long>());
        return new SyslogMessage(
            Facility,
            ToSyslogSeverity(ocsf.SeverityId),
            time,
            hostName,
            AppName,
            null,
            ocsf.TypeUid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [],
            "\uFEFF" + CefEncoder.Encode(OcsfCefMapper.ToCef(ocsf)));
    }

    /// <summary>Whether <paramref name="name"/> is a valid HOSTNAME: 1–255 printable US-ASCII characters (RFC 5424 §6.2.4).</summary>
    public static bool IsValidHostName(string? name) => name is { Length: >= 1 and <= 255 } && name.All(c => c is >= '!' and <= '~');

    /// <summary>A host name usable as HOSTNAME: the machine name with anything but printable US-ASCII replaced by <c>-</c>, at most 255 characters.</summary>
    public static string SanitizeHostName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var chars = name.Select(c => c is >= '!' and <= '~' ? c : '-').Take(255).ToArray();
        return chars.Length == 0 ? "-" : new string(chars);
    }
}
