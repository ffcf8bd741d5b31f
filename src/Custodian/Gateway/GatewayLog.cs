using Microsoft.Extensions.Logging;

namespace Custodian.Gateway;

/// <summary>
/// Log catalog of the access gateway's additions (event IDs 5300–5399): certificate renewal, request limits,
/// network zones. Parameters are terminal, store and account identifiers, addresses and error codes only.
/// </summary>
internal static partial class GatewayLog
{
    [LoggerMessage(EventId = 5300, Level = LogLevel.Information, Message = "Terminal {Terminal} of store {Store} renewed its device certificate, valid until {NotAfter:O}")]
    public static partial void Renewed(ILogger logger, string terminal, string store, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 5301, Level = LogLevel.Warning, Message = "Refused a request whose headers total {Bytes} bytes (limit {Limit}) from {SourceIp}")]
    public static partial void HeadersTooLarge(ILogger logger, long bytes, int limit, string? sourceIp);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Warning, Message = "Request refused by the gateway's network policy: {Code} for terminal {Terminal} from {SourceIp}")]
    public static partial void PolicyRefused(ILogger logger, string code, string terminal, string? sourceIp);

    [LoggerMessage(EventId = 5303, Level = LogLevel.Warning, Message = "Network zones are off: no store zone and no VDI network is configured (Custodian:Gateway:Zones, Custodian:Gateway:VdiNetworks)")]
    public static partial void ZonesOff(ILogger logger);

    [LoggerMessage(EventId = 5304, Level = LogLevel.Information, Message = "Ended every session of staff account {Account}: disabled, or its role or store changed")]
    public static partial void SessionsEnded(ILogger logger, string account);
}
