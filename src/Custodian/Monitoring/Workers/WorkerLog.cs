namespace Custodian.Monitoring.Workers;

/// <summary>
/// Log catalog of the sharded monitor workers (event IDs 6100–6159, 6180–6189 and 5750–5759, stable; docs/events.md; 6190–6199 are the NATS credential files'). Parameters are worker
/// identifiers, partition names, counts, stream sequences, alert IDs and principal codes (staff and terminal codes are
/// not personal data) — never subscriber identifiers or entry contents.
/// </summary>
internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 6100, Level = LogLevel.Information, Message = "Monitor worker {WorkerId} joined bucket {Bucket} (lease {LeaseSeconds} s).")]
    public static partial void Joined(ILogger logger, string workerId, string bucket, int leaseSeconds);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Monitor worker {WorkerId}: {Members} live members, owns {Owned} partitions ({Started} started, {Stopped} stopped).")]
    public static partial void Rebalanced(ILogger logger, string workerId, int members, int owned, int started, int stopped);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Monitor worker {WorkerId} lost its lease; it stops every partition and rejoins.")]
    public static partial void LeaseLost(ILogger logger, string workerId);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Partition {Partition} was taken over by another worker (epoch {Epoch} is no longer current); this worker stops it without acknowledging.")]
    public static partial void Fenced(ILogger logger, string partition, long epoch);

    [LoggerMessage(EventId = 6116, Level = LogLevel.Warning, Message = "Partition {Partition} (epoch {Epoch}): this worker's lease ran out before the batch was committed; it stops the partition without acknowledging and rejoins when its lease is renewed.")]
    public static partial void LeaseRanOut(ILogger logger, string partition, long epoch);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Debug, Message = "Partition {Partition} acquired at epoch {Epoch}: resumes after stream sequence {LastStreamSequence}, {Replayed} entries replayed into its state.")]
    public static partial void PartitionStarted(ILogger logger, string partition, long epoch, long lastStreamSequence, int replayed);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Error, Message = "Partition {Partition} stopped after a failure; it restarts from its stored progress.")]
    public static partial void PartitionFailed(ILogger logger, string partition, Exception exception);

    [LoggerMessage(EventId = 6180, Level = LogLevel.Information, Message = "Partition {Partition}: its consumer was deleted (409 Consumer Deleted), the end of a hand-off when the partition moved to another worker at a rebalance; this worker stops it, and starts it again from its stored progress if it still owns it at the next membership round.")]
    public static partial void ConsumerDeleted(ILogger logger, string partition);

    [LoggerMessage(EventId = 6106, Level = LogLevel.Warning, Message = "Alert {AlertId} raised by {Detector} on partition {Partition}: {PrincipalKind} {PrincipalId} read {Observed} distinct subscribers in {WindowSeconds} s (limit {Limit}), at sequence {Sequence}.")]
    public static partial void AlertRaised(ILogger logger, string alertId, string detector, string partition, string principalKind, string principalId, int observed, long windowSeconds, int limit, long sequence);

    [LoggerMessage(EventId = 6107, Level = LogLevel.Warning, Message = "Suspended {PrincipalKind} {PrincipalId} (alert {AlertId}).")]
    public static partial void Suspended(ILogger logger, string principalKind, string principalId, string? alertId);

    [LoggerMessage(EventId = 6108, Level = LogLevel.Error, Message = "Monitor worker could not store the alert or suspension of {PrincipalKind} {PrincipalId}; the partition retries the batch.")]
    public static partial void ActionFailed(ILogger logger, string principalKind, string principalId, Exception exception);

    [LoggerMessage(EventId = 6120, Level = LogLevel.Warning, Message = "Monitor worker {WorkerId} cannot rejoin: another worker with the same identifier holds its membership key; this worker runs no partition until the key is free.")]
    public static partial void IdentifierHeld(ILogger logger, string workerId);

    [LoggerMessage(EventId = 6109, Level = LogLevel.Warning, Message = "Monitor worker {WorkerId}: the membership bucket is unreachable; partitions stop when the lease runs out.")]
    public static partial void MembershipUnavailable(ILogger logger, string workerId, Exception exception);

    [LoggerMessage(EventId = 6110, Level = LogLevel.Information, Message = "Monitor worker {WorkerId} stopped.")]
    public static partial void Stopped(ILogger logger, string workerId);

    [LoggerMessage(EventId = 6111, Level = LogLevel.Error, Message = "Monitor worker could not append its {Task} entry for {Target} to the access ledger.")]
    public static partial void LedgerAppendFailed(ILogger logger, string task, string target, Exception exception);

    [LoggerMessage(EventId = 6112, Level = LogLevel.Warning, Message = "Alert {AlertId} raised by {Detector} on partition {Partition}: {PrincipalKind} {PrincipalId} at risk {Risk}, action {Action}, at sequence {Sequence}.")]
    public static partial void DecisionMade(ILogger logger, string alertId, string detector, string partition, string principalKind, string principalId, int risk, string action, long sequence);

    [LoggerMessage(EventId = 6113, Level = LogLevel.Warning, Message = "Stepped up {PrincipalKind} {PrincipalId} (alert {AlertId}): plain views are refused while its risk stays at step-up.")]
    public static partial void SteppedUp(ILogger logger, string principalKind, string principalId, string alertId);

    [LoggerMessage(EventId = 6114, Level = LogLevel.Debug, Message = "Partition {Partition} stores the risk of {Principals} principals with its progress up to stream sequence {LastStreamSequence}.")]
    public static partial void RiskStored(ILogger logger, string partition, int principals, long lastStreamSequence);

    [LoggerMessage(EventId = 6117, Level = LogLevel.Debug, Message = "Partition a00 restored {Days} stored baseline days before local day {FirstReplayedDay}, the first its rebuild counts.")]
    public static partial void BaselineRestored(ILogger logger, int days, long firstReplayedDay);

    [LoggerMessage(EventId = 6118, Level = LogLevel.Debug, Message = "Partition a00 stored {Days} baseline days (open days' counts so far and closed days) at its progress, stream sequence {LastStreamSequence}.")]
    public static partial void BaselineDaysStored(ILogger logger, int days, long lastStreamSequence);

    [LoggerMessage(EventId = 6119, Level = LogLevel.Warning, Message = "Partition a00 could not store its baseline's open days at the stop; a later acquisition rebuilds them from the ledger, or restores their last stored counts.")]
    public static partial void BaselineDaysNotStored(ILogger logger, Exception? exception);

    // Storage outages (docs/events.md, "Monitor workers", "Storage outages"): one warning when the outage is first seen, one
    // line when the storage answers again; no stack trace (the reason names the backend and server, never credentials).
    [LoggerMessage(EventId = 5750, EventName = "MonitorWorkerStorageUnavailable", Level = LogLevel.Warning, Message = "Monitor worker {WorkerId}: {Reason} (while {Activity}). The partitions that need the storage stop without acknowledging what was not committed; the worker keeps its membership and acquires them again from their stored progress when the storage answers (retried after {BackoffSeconds} s, doubling up to {MaxBackoffSeconds} s).")]
    public static partial void StorageUnavailable(ILogger logger, string workerId, string reason, string activity, double backoffSeconds, int maxBackoffSeconds);

    [LoggerMessage(EventId = 5751, EventName = "MonitorWorkerStorageBack", Level = LogLevel.Information, Message = "Monitor worker {WorkerId}: the storage answers again after {OutageSeconds} s; {Acquired} partitions acquired again from their stored progress.")]
    public static partial void StorageBack(ILogger logger, string workerId, long outageSeconds, int acquired);

    [LoggerMessage(EventId = 5752, EventName = "MonitorWorkerPartitionStorageFailed", Level = LogLevel.Debug, Message = "Partition {Partition} stopped: the storage failed ({Failure}); committed up to stream sequence {LastStreamSequence}, nothing after it acknowledged.")]
    public static partial void PartitionStorageFailed(ILogger logger, string partition, string failure, long lastStreamSequence);

    [LoggerMessage(EventId = 5753, EventName = "MonitorWorkerStorageRetryFailed", Level = LogLevel.Debug, Message = "Monitor worker {WorkerId}: the storage still fails ({Failure}); next attempt in {BackoffSeconds} s.")]
    public static partial void StorageRetryFailed(ILogger logger, string workerId, string failure, double backoffSeconds);

    [LoggerMessage(EventId = 6121, Level = LogLevel.Debug, Message = "Partition {Partition}: quiet-period tick skipped, the consumer has a backlog ({Pending} waiting or delivered but not committed; committed up to stream sequence {LastStreamSequence}).")]
    public static partial void QuietTickSkipped(ILogger logger, string partition, long pending, long lastStreamSequence);

    [LoggerMessage(EventId = 6122, Level = LogLevel.Debug, Message = "Partition {Partition}: quiet-period tick advanced the engine to ledger time {LedgerTime:O}; {Decisions} decisions.")]
    public static partial void QuietTick(ILogger logger, string partition, DateTimeOffset ledgerTime, int decisions);

    [LoggerMessage(EventId = 6123, Level = LogLevel.Warning, Message = "Partition {Partition}: quiet-period tick skipped, the consumer's backlog could not be read; the next tick asks again.")]
    public static partial void QuietTickBacklogUnknown(ILogger logger, string partition, Exception exception);

    [LoggerMessage(EventId = 6115, Level = LogLevel.Warning, Message = "Partition {Partition}: consumer sequence {Delivered} arrived where {Expected} was due (a delivery was lost); its consumer starts again after stream sequence {LastStreamSequence}.")]
    public static partial void DeliveryGap(ILogger logger, string partition, ulong expected, ulong delivered, long lastStreamSequence);
}
