using Microsoft.Extensions.Logging;

namespace Custodian.Access.Sessions;

/// <summary>Log catalog of staff sessions (event IDs 3400–3499). Sessions are named by <see cref="StaffSession.Id"/>, never by token.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3400, Level = LogLevel.Information, Message = "Opened session {SessionId} for staff account {AccountId} on terminal {Terminal}")]
    public static partial void Created(ILogger logger, string sessionId, string accountId, string terminal);

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Closed session {SessionId} of staff account {AccountId}: {Reason}")]
    public static partial void Closed(ILogger logger, string sessionId, string accountId, string reason);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Warning, Message = "Session {SessionId} of staff account {AccountId}, opened on terminal {BoundTerminal}, was presented by terminal {PresentingTerminal}; session closed")]
    public static partial void TerminalMismatch(ILogger logger, string sessionId, string accountId, string boundTerminal, string presentingTerminal);
}
