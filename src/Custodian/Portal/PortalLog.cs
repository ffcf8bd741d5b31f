using Microsoft.Extensions.Logging;

namespace Custodian.Portal;

/// <summary>
/// Log catalog of the subscriber portal (event IDs 5100–5199). Subscribers appear only as counts or as
/// internal IDs classified by the caller's redactor, never as phone numbers or names.
/// </summary>
internal static partial class PortalLog
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Information, Message = "Inbox notice {DeliveryId} of kind {Kind} delivered.")]
    public static partial void NoticeDelivered(ILogger logger, string deliveryId, string kind);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "SMS copy of inbox notice {DeliveryId} could not be queued; it is retried at the next delivery of the same reference.")]
    public static partial void NoticeSmsFailed(ILogger logger, string deliveryId, Exception exception);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "A portal sign-in code SMS could not be queued; the subscriber must ask again.")]
    public static partial void CodeSmsFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Information, Message = "Alert {AlertId}: {Notices} subscriber notice(s) of a flagged access delivered.")]
    public static partial void FlaggedAccessNotified(ILogger logger, string alertId, int notices);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Error, Message = "Alert {AlertId}: notifying the subscribers of the flagged access failed.")]
    public static partial void FlaggedAccessFailed(ILogger logger, string alertId, Exception exception);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Error, Message = "A portal sign-in step was refused: the database holding the sign-in codes and their limits could not be read or written (no code was sent, no session opened).")]
    public static partial void SignInStorageFailed(ILogger logger, Exception exception);
}
