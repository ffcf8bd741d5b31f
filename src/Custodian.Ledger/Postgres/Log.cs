using Microsoft.Extensions.Logging;

namespace Custodian.Ledger.Postgres;

/// <summary>
/// Log catalog of <see cref="PostgresAccessLedger"/>. Event IDs 5900–5949 belong to the PostgreSQL ledger (issue 8's range
/// is 5900–5999) and never change meaning. Only counts, sequence numbers and exception types are logged — never entry contents.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 5901, Level = LogLevel.Debug, Message = "PostgreSQL ledger batch committed: {Count} entries, sequences {FirstSequence}..{LastSequence}.")]
    public static partial void BatchCommitted(ILogger logger, int count, long firstSequence, long lastSequence);

    [LoggerMessage(EventId = 5902, Level = LogLevel.Error, Message = "PostgreSQL ledger batch of {Count} entries could not be committed; its callers are refused (fail closed).")]
    public static partial void BatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 5903, Level = LogLevel.Critical, Message = "PostgreSQL ledger tail is inconsistent: newest tree head has size {HeadSize} but there are {EntryCount} entries, or its frontier does not reproduce its root. Appends are refused.")]
    public static partial void TailInconsistent(ILogger logger, long headSize, long entryCount);

    [LoggerMessage(EventId = 5904, Level = LogLevel.Error, Message = "Publishing ledger entry {Sequence} to the access event stream failed; the entry is durable and projections must catch up from the ledger.")]
    public static partial void PublishFailed(ILogger logger, long sequence, Exception exception);

    [LoggerMessage(EventId = 5905, Level = LogLevel.Information, Message = "PostgreSQL ledger writer stopped.")]
    public static partial void WriterStopped(ILogger logger);
}
