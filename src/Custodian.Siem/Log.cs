using Microsoft.Extensions.Logging;

namespace Custodian.Siem;

/// <summary>
/// The SIEM export's log catalog (event IDs 6400–6499, stable). Parameters are destination IDs (host:port or a
/// file path), ledger sequences, counts and delays — never subscriber IDs, tokens or any personal data.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6401, EventName = "SiemExportStarted", Level = LogLevel.Information,
        Message = "SIEM export to {Sink} starting at ledger sequence {NextSequence}.")]
    public static partial void ExportStarted(ILogger logger, string sink, long nextSequence);

    [LoggerMessage(EventId = 6402, EventName = "SiemBatchExported", Level = LogLevel.Debug,
        Message = "SIEM export to {Sink}: {Events} events sent, cursor now {NextSequence}.")]
    public static partial void BatchExported(ILogger logger, string sink, int events, long nextSequence);

    // One line per retry: a receiver that is down is routine, and a stack trace at every back-off step buried the reason.
    // The reason is our own IOException's message (destination, socket error code, timeout), never a payload.
    [LoggerMessage(EventId = 6403, EventName = "SiemSinkFailed", Level = LogLevel.Warning,
        Message = "SIEM export to {Sink} failed at ledger sequence {NextSequence}: {Reason} Retrying in {DelayMs} ms.")]
    public static partial void SinkFailed(ILogger logger, string sink, long nextSequence, string reason, long delayMs);

    [LoggerMessage(EventId = 6405, EventName = "SiemSinkFailureDetail", Level = LogLevel.Debug,
        Message = "SIEM export to {Sink}: the failure's exception.")]
    public static partial void SinkFailureDetail(ILogger logger, string sink, Exception exception);

    [LoggerMessage(EventId = 6404, EventName = "SiemExportStopped", Level = LogLevel.Information,
        Message = "SIEM export to {Sink} stopped at ledger sequence {NextSequence}.")]
    public static partial void ExportStopped(ILogger logger, string sink, long nextSequence);
}
