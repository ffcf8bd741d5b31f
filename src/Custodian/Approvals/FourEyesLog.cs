namespace Custodian.Approvals;

/// <summary>
/// Log catalog of the four-eyes work (event IDs 5400–5499): the daily dormant-account run, privileged actions carried out.
/// Parameters are counts, account, detector and action names only.
/// </summary>
internal static partial class FourEyesLog
{
    [LoggerMessage(EventId = 5400, Level = LogLevel.Information, Message = "Dormant-account run: disabled {Count} account(s) with no sign-in for {Days} days")]
    public static partial void DormantDisabled(ILogger logger, int count, int days);

    [LoggerMessage(EventId = 5401, Level = LogLevel.Error, Message = "Dormant-account run failed; it is retried at the next interval")]
    public static partial void DormantRunFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5402, Level = LogLevel.Warning, Message = "The daily dormant-account run is off (Custodian:DormantAccounts:Enabled=false); run 'custodian staff disable-dormant' from cron instead")]
    public static partial void DormantJobOff(ILogger logger);

    [LoggerMessage(EventId = 5403, Level = LogLevel.Warning, Message = "Detector {Detector} switched {State}: requested by {RequestedBy}, approved by {ApprovedBy}")]
    public static partial void DetectorSwitched(ILogger logger, string detector, string state, string requestedBy, string approvedBy);

    [LoggerMessage(EventId = 5404, Level = LogLevel.Warning, Message = "Distinct-subscriber limits of {Principal} raised {Factor}x until {Until:O}: requested by {RequestedBy}, approved by {ApprovedBy}")]
    public static partial void QuotaRaised(ILogger logger, string principal, int factor, DateTimeOffset until, string requestedBy, string approvedBy);
}
