using Microsoft.Extensions.Logging;

namespace Custodian.Events;

/// <summary>
/// Log catalog of the JetStream event log (event IDs 6010–6099 and 6600–6619; 6000–6009 are <c>Ledger.Projection</c>'s). IDs never
/// change meaning. Only counts, sequence numbers, the stream name and exception types are logged: never entry contents,
/// never the server URL (it may hold credentials).
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6010, Level = LogLevel.Information, Message = "JetStream event log ready: stream {Stream}, {StreamSize} entries in the stream, {LedgerSize} in the ledger tables.")]
    public static partial void Started(ILogger logger, string stream, long streamSize, long ledgerSize);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Error, Message = "Publishing a ledger entry to JetStream failed or was not acknowledged in time; the read is refused (fail closed).")]
    public static partial void PublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Error, Message = "Ledger entry {Sequence} was acknowledged by JetStream but not projected into the ledger tables in time; the read is refused (fail closed).")]
    public static partial void ProjectionLate(ILogger logger, long sequence);

    [LoggerMessage(EventId = 6013, Level = LogLevel.Error, Message = "The ledger projector stopped at ledger size {LedgerSize} and restarts from there.")]
    public static partial void ProjectorFailed(ILogger logger, long ledgerSize, Exception exception);

    [LoggerMessage(EventId = 6014, Level = LogLevel.Debug, Message = "Ledger projector applied sequences {FirstSequence}..{LastSequence}.")]
    public static partial void Projected(ILogger logger, long firstSequence, long lastSequence);

    [LoggerMessage(EventId = 6015, Level = LogLevel.Error, Message = "Publishing ledger entry {Sequence} to the in-process access event stream failed; projections catch up from the ledger.")]
    public static partial void LocalPublishFailed(ILogger logger, long sequence, Exception exception);

    [LoggerMessage(EventId = 6016, Level = LogLevel.Information, Message = "JetStream stream {Stream} created ({Replicas} replicas, file storage).")]
    public static partial void StreamCreated(ILogger logger, string stream, int replicas);

    [LoggerMessage(EventId = 6017, Level = LogLevel.Information, Message = "The ledger projector stopped at ledger size {LedgerSize}.")]
    public static partial void ProjectorStopped(ILogger logger, long ledgerSize);

    [LoggerMessage(EventId = 6018, Level = LogLevel.Critical, Message = "The ledger tables diverge from the event log at ledger sequence {Sequence}: the projector stopped and every append, so every guarded read, is refused until an operator investigates and restarts the server (docs/events.md).")]
    public static partial void Diverged(ILogger logger, long sequence, Exception exception);

    [LoggerMessage(EventId = 6600, Level = LogLevel.Warning, Message = "JetStream stream {Stream} was bound to no deployment and is now bound to this one ({Entries} entries in it).")]
    public static partial void StreamBound(ILogger logger, string stream, long entries);
}
