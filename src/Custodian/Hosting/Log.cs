using Microsoft.Extensions.Logging;

namespace Custodian.Hosting;

/// <summary>
/// Log catalog of the host (event IDs 1000–1999). Parameters are identifiers of staff, terminals,
/// stores and error codes only; never subscriber data, codes or secrets.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Custodian listening: terminal API {TerminalUrl}, portal {PortalUrl}, data {DataDirectory}")]
    public static partial void Listening(ILogger logger, string terminalUrl, string portalUrl, string dataDirectory);

    [LoggerMessage(1001, LogLevel.Warning, "Request refused at the gateway: {ErrorCode} from {SourceIp} (terminal {Terminal})")]
    public static partial void DeviceRefused(ILogger logger, string errorCode, string? sourceIp, string? terminal);

    [LoggerMessage(1002, LogLevel.Information, "Request refused by policy: {ErrorCode} for account {Account} on terminal {Terminal}")]
    public static partial void PolicyRefused(ILogger logger, string errorCode, string? account, string? terminal);

    [LoggerMessage(1003, LogLevel.Error, "The access ledger could not record an entry; the request was refused (fail closed)")]
    public static partial void LedgerFailed(ILogger logger, Exception exception);

    [LoggerMessage(1007, LogLevel.Error, "The database could not serve {Route} (unreachable or a transient refusal); the request was refused with 503")]
    public static partial void StorageFailed(ILogger logger, string route, Exception exception);

    [LoggerMessage(1004, LogLevel.Error, "Unhandled error while serving {Route}")]
    public static partial void Unhandled(ILogger logger, string route, Exception exception);

    [LoggerMessage(1005, LogLevel.Information, "Terminal {Terminal} of store {Store} enrolled")]
    public static partial void Enrolled(ILogger logger, string terminal, string store);

    [LoggerMessage(1006, LogLevel.Information, "Staff account {Account} signed in on terminal {Terminal}")]
    public static partial void SignedIn(ILogger logger, string account, string terminal);
}
