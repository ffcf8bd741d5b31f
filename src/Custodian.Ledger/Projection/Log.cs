using Microsoft.Extensions.Logging;

namespace Custodian.Ledger.Projection;

/// <summary>
/// Log catalog of <see cref="LedgerProjection"/>. Event IDs 6000–6009 (the JetStream event log's range is 6000–6099,
/// docs/events.md) never change meaning. Only counts and sequence numbers are logged — never entry contents.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Debug, Message = "Ledger projection applied {Count} entries, sequences {FirstSequence}..{LastSequence}.")]
    public static partial void Applied(ILogger logger, int count, long firstSequence, long lastSequence);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Critical, Message = "Ledger projection found an inconsistent tail: newest tree head has size {HeadSize} but there are {EntryCount} entries.")]
    public static partial void TailInconsistent(ILogger logger, long headSize, long entryCount);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Critical, Message = "Ledger projection found the stored entry at sequence {Sequence} different from the event log's.")]
    public static partial void Diverged(ILogger logger, long sequence);
}
