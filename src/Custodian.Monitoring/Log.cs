using Microsoft.Extensions.Logging;

namespace Custodian.Monitoring;

/// <summary>
/// The monitoring capability's log catalog (event IDs 4000–4099, stable). Parameters are alert IDs, principal
/// kinds and codes (staff and terminal codes are not personal data), window lengths, counts and ledger
/// sequences — never subscriber IDs or any personal data.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4001, EventName = "MonitorStarted", Level = LogLevel.Information,
        Message = "Access monitor started: replayed {Replayed} ledger entries of the last {ReplayHours} hours in {ElapsedMs} ms after restoring {BaselineDays} stored baseline days, processed up to sequence {ProcessedSequence}, {Tracked} principals tracked, {PendingBreaches} missed breaches and {MissedDecisions} missed detection decisions acted on.")]
    public static partial void MonitorStarted(ILogger logger, int replayed, long replayHours, long elapsedMs, int baselineDays, long processedSequence, int tracked, int pendingBreaches, int missedDecisions);

    [LoggerMessage(EventId = 4013, EventName = "BaselineDaysUnavailable", Level = LogLevel.Warning,
        Message = "The baseline's stored days could not be read ({ErrorType}): the baseline is rebuilt from the replayed days only.")]
    public static partial void BaselineDaysUnavailable(ILogger logger, string errorType, Exception exception);

    [LoggerMessage(EventId = 4014, EventName = "BaselineDaysNotStored", Level = LogLevel.Warning,
        Message = "{Count} baseline days (closed, or open days' counts so far) could not be stored ({ErrorType}): a restart rebuilds them only from the replayed days, or restores an open day's last stored counts.")]
    public static partial void BaselineDaysNotStored(ILogger logger, int count, string errorType, Exception exception);

    [LoggerMessage(EventId = 4002, EventName = "AlertRaised", Level = LogLevel.Warning,
        Message = "Alert {AlertId} raised by {Detector}: {PrincipalKind} {PrincipalId} read {Observed} distinct subscribers in {WindowSeconds} s (limit {Limit}), at sequence {Sequence}.")]
    public static partial void AlertRaised(ILogger logger, string alertId, string detector, string principalKind, string principalId, int observed, long windowSeconds, int limit, long sequence);

    [LoggerMessage(EventId = 4003, EventName = "PrincipalSuspended", Level = LogLevel.Warning,
        Message = "Suspended {PrincipalKind} {PrincipalId} (alert {AlertId}).")]
    public static partial void PrincipalSuspended(ILogger logger, string principalKind, string principalId, string? alertId);

    [LoggerMessage(EventId = 4004, EventName = "BreachWhileSuspended", Level = LogLevel.Debug,
        Message = "{PrincipalKind} {PrincipalId} exceeded a window while already suspended ({Observed} > {Limit} in {WindowSeconds} s); no new alert.")]
    public static partial void BreachWhileSuspended(ILogger logger, string principalKind, string principalId, int observed, int limit, long windowSeconds);

    [LoggerMessage(EventId = 4005, EventName = "PrincipalRestored", Level = LogLevel.Information,
        Message = "Restored {PrincipalKind} {PrincipalId} by {Officer}; {AlertsRestored} alerts marked restored.")]
    public static partial void PrincipalRestored(ILogger logger, string principalKind, string principalId, string officer, int alertsRestored);

    [LoggerMessage(EventId = 4015, EventName = "QuietAdvanceFailed", Level = LogLevel.Error,
        Message = "The monitor failed to advance its detectors through a quiet period; the next tick or entry retries.")]
    public static partial void QuietAdvanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4006, EventName = "EntryProcessingFailed", Level = LogLevel.Error,
        Message = "The monitor failed to process ledger entry {Sequence}; continuing with the next.")]
    public static partial void EntryProcessingFailed(ILogger logger, long sequence, Exception exception);

    [LoggerMessage(EventId = 4007, EventName = "LedgerAppendFailed", Level = LogLevel.Error,
        Message = "The monitor could not append its {Task} entry for {Target} to the access ledger.")]
    public static partial void LedgerAppendFailed(ILogger logger, string task, string target, Exception exception);

    [LoggerMessage(EventId = 4008, EventName = "SuspensionPersistFailed", Level = LogLevel.Error,
        Message = "Could not record the suspension of {PrincipalKind} {PrincipalId} in the database; it holds in memory only.")]
    public static partial void SuspensionPersistFailed(ILogger logger, string principalKind, string principalId, Exception exception);

    [LoggerMessage(EventId = 4009, EventName = "SuspensionRefreshFailed", Level = LogLevel.Warning,
        Message = "Could not refresh the suspended principals from the database; keeping the previous set.")]
    public static partial void SuspensionRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4010, EventName = "AlertStoreFailed", Level = LogLevel.Error,
        Message = "Could not store the alert for {PrincipalKind} {PrincipalId}; suspending without an alert record.")]
    public static partial void AlertStoreFailed(ILogger logger, string principalKind, string principalId, Exception exception);

    [LoggerMessage(EventId = 4011, EventName = "MonitorStopped", Level = LogLevel.Information,
        Message = "Access monitor stopped at sequence {ProcessedSequence}.")]
    public static partial void MonitorStopped(ILogger logger, long processedSequence);

    [LoggerMessage(EventId = 4012, EventName = "PrincipalsPruned", Level = LogLevel.Debug,
        Message = "Dropped the window state of {Dropped} idle principals; {Tracked} remain.")]
    public static partial void PrincipalsPruned(ILogger logger, int dropped, int tracked);
}
