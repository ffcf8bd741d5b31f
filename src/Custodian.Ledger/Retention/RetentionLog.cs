using Microsoft.Extensions.Logging;

namespace Custodian.Ledger.Retention;

/// <summary>Log catalog of ledger retention. Event IDs 2400–2419 are retention's, 5600–5609 its PostgreSQL path's; they never change meaning. Only counts, sequence numbers and times are logged — never entry contents.</summary>
internal static partial class RetentionLog
{
    [LoggerMessage(EventId = 2400, Level = LogLevel.Information, Message = "Retention erased {Count} ledger entries in sequences [{From}, {To}) under erasure entry {Sequence}; cutoff {CutoffMs} (Unix ms).")]
    public static partial void Erased(ILogger logger, int count, long from, long to, long sequence, long cutoffMs);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Error, Message = "Retention could not erase ledger sequences [{From}, {To}); nothing of that range changed.")]
    public static partial void ErasureFailed(ILogger logger, long from, long to, Exception exception);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Error, Message = "The scheduled retention run failed; it is retried at the next interval.")]
    public static partial void ScheduledRunFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5600, Level = LogLevel.Error, Message = "Retention appended erasure entry {Sequence} for ledger sequences [{From}, {To}) but could not erase them; the entry erased nothing and the next run erases the range under a new entry.")]
    public static partial void EraseAfterAppendFailed(ILogger logger, long from, long to, long sequence, Exception exception);
}
