using Microsoft.Extensions.Logging;

namespace Custodian.Ledger;

/// <summary>Log catalog of <see cref="SqliteAccessLedger"/>. Event IDs 2000–2099 are the ledger's and never change meaning. Only counts, sequence numbers and exception types are logged — never entry contents.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Ledger batch committed: {Count} entries, sequences {FirstSequence}..{LastSequence}, tree size {TreeSize}.")]
    public static partial void BatchCommitted(ILogger logger, int count, long firstSequence, long lastSequence, long treeSize);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Ledger batch of {Count} entries could not be committed; its callers are refused (fail closed).")]
    public static partial void BatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Critical, Message = "Ledger tail is inconsistent: newest tree head has size {HeadSize} but there are {EntryCount} entries. Appends are refused until the ledger is verified.")]
    public static partial void TailInconsistent(ILogger logger, long headSize, long entryCount);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Critical, Message = "Ledger frontier stored with tree head {HeadSize} does not reproduce its root. Appends are refused until the ledger is verified.")]
    public static partial void FrontierMismatch(ILogger logger, long headSize);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Publishing ledger entry {Sequence} to the access event stream failed; the entry is durable and projections must catch up from the ledger.")]
    public static partial void PublishFailed(ILogger logger, long sequence, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Ledger writer stopped.")]
    public static partial void WriterStopped(ILogger logger);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Ledger subtree hashes are incomplete ({Stored} stored, {Expected} expected for tree size {TreeSize}); backfilling them from the leaf hashes.")]
    public static partial void SubtreesBackfilled(ILogger logger, long stored, long expected, long treeSize);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Ledger subtree hashes could not be checked at start-up; the first append checks them again.")]
    public static partial void SubtreesNotPrepared(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Background WAL checkpoint of the ledger database failed; it is retried at the next interval.")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5640, Level = LogLevel.Debug, Message = "Ledger subject index: projected {Entries} entries ({Rows} subject rows), sequences [{From}, {To}).")]
    public static partial void SubjectsProjected(ILogger logger, long entries, int rows, long from, long to);

    [LoggerMessage(EventId = 5641, Level = LogLevel.Warning, Message = "Ledger subject index: the ledger has a gap at sequence {Sequence}; projected up to it and will retry.")]
    public static partial void SubjectProjectionGap(ILogger logger, long sequence);
}
