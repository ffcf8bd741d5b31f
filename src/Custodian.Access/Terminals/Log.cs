using Microsoft.Extensions.Logging;

namespace Custodian.Access.Terminals;

/// <summary>Log catalog of the terminal registry (event IDs 3200–3299). Never logs enrollment codes or revocation reasons.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Issued an enrollment code for terminal {TerminalId}, valid until {ExpiresAt:O}")]
    public static partial void EnrollmentCodeIssued(ILogger logger, string terminalId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Enrolled terminal {TerminalId} with certificate {SerialHex}")]
    public static partial void Enrolled(ILogger logger, string terminalId, string serialHex);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Refused an enrollment: {Code}")]
    public static partial void EnrollmentRefused(ILogger logger, string code);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "Revoked terminal {TerminalId}")]
    public static partial void Revoked(ILogger logger, string terminalId);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Debug, Message = "Terminal check failed for {TerminalId}: {Code}")]
    public static partial void CheckFailed(ILogger logger, string terminalId, string code);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Information, Message = "Renewed the device certificate of terminal {TerminalId}: {SerialHex}, valid until {NotAfter:O}")]
    public static partial void Renewed(ILogger logger, string terminalId, string serialHex, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Warning, Message = "Refused a certificate renewal for terminal {TerminalId}: {Code}")]
    public static partial void RenewalRefused(ILogger logger, string terminalId, string code);
}
