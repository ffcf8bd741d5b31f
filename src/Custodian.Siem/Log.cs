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

    [LoggerMessage(EventId = 6403, EventName = "SiemSinkFailed", Level = LogLevel.Warning,
        Message = "SIEM export to {Sink} failed at ledger sequence {NextSequence}; retrying in {DelayMs} ms.")]
    public static partial void SinkFailed(ILogger logger, string sink, long nextSequence, long delayMs, Exception exception);

    [LoggerMessage(EventId = 6404, EventName = "SiemExportStopped", Level = LogLevel.Information,
        Message = "SIEM export to {Sink} stopped at ledger sequence {NextSequence}.")]
    public static partial void ExportStopped(ILogger logger, string sink, long nextSequence);
}
