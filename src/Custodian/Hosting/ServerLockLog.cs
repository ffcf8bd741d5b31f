using Microsoft.Extensions.Logging;

namespace Custodian.Hosting;

/// <summary>
/// Log catalog of the PostgreSQL server lock's watch (<see cref="SharedServerLock"/>; event IDs 5700–5709, which never change
/// meaning). Only outcomes and the check interval are logged: never the connection string, server address or personal data.
/// </summary>
internal static partial class ServerLockLog
{
    [LoggerMessage(EventId = 5700, EventName = "ServerLockRetaken", Level = LogLevel.Warning,
        Message = "The PostgreSQL session holding the server lock was gone (its lock with it); the shared server lock was taken again on a new session and the server goes on.")]
    public static partial void Retaken(ILogger logger);

    [LoggerMessage(EventId = 5701, EventName = "ServerLockTakenByVerb", Level = LogLevel.Critical,
        Message = "The PostgreSQL session holding the server lock was gone and a verb that must not run beside a server (masking adopt) now holds the lock exclusively; the server is stopping (fail closed).")]
    public static partial void TakenByVerb(ILogger logger);

    [LoggerMessage(EventId = 5702, EventName = "ServerLockUnreachable", Level = LogLevel.Error,
        Message = "The PostgreSQL session holding the server lock was gone and the database cannot be reached to take it again; retried in {IntervalSeconds} s.")]
    public static partial void Unreachable(ILogger logger, long intervalSeconds);
}
