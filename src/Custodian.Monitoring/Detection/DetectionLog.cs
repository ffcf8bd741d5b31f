using Microsoft.Extensions.Logging;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// Log catalog of the detection engine and its users (event IDs 5000–5099, stable). Parameters are alert IDs,
/// detector names, principal kinds and codes, scores, risks, actions and ledger sequences — never subscriber IDs or
/// any personal data.
/// </summary>
internal static partial class DetectionLog
{
    [LoggerMessage(EventId = 5001, EventName = "DecisionMade", Level = LogLevel.Warning,
        Message = "Alert {AlertId} by {Detector}: {PrincipalKind} {PrincipalId} scored {Score}, risk {Risk}, action {Action}, at sequence {Sequence}.")]
    public static partial void DecisionMade(ILogger logger, string alertId, string detector, string principalKind, string principalId, int score, int risk, string action, long sequence);

    [LoggerMessage(EventId = 5002, EventName = "AlertReviewed", Level = LogLevel.Information,
        Message = "Alert {AlertId} set to {State} by {Officer}.")]
    public static partial void AlertReviewed(ILogger logger, string alertId, string state, string officer);
}
