using Microsoft.Extensions.Logging;

namespace Custodian.Incidents;

/// <summary>
/// Log catalog of incident response (event IDs 5200–5299; the scoping projection 6160–6179). Parameters are incident IDs, staff codes, counts and hashes
/// only; never subscriber IDs, tokens or any personal value.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(5200, LogLevel.Warning, "Incident {IncidentId} declared by {Account}: {Scope}")]
    public static partial void Declared(ILogger logger, string incidentId, string account, string scope);

    [LoggerMessage(5201, LogLevel.Warning, "Incident {IncidentId} scoped by {Account}: {Subscribers} subscribers affected ({PersonalData} with personal data) from {Entries} entries; set SHA-256 {SetSha256}")]
    public static partial void Scoped(ILogger logger, string incidentId, string account, long subscribers, long personalData, long entries, string setSha256);

    [LoggerMessage(5202, LogLevel.Information, "Incident {IncidentId} notices: {Sent} sent, {Failed} failed, {NotRequired} not required (token only)")]
    public static partial void Notified(ILogger logger, string incidentId, long sent, long failed, long notRequired);

    [LoggerMessage(5203, LogLevel.Warning, "Incident {IncidentId}: a notice could not be delivered over {Channel} ({ErrorType})")]
    public static partial void DeliveryFailed(ILogger logger, string incidentId, string channel, string errorType);

    [LoggerMessage(5204, LogLevel.Information, "Incident {IncidentId} closed by {Account}")]
    public static partial void Closed(ILogger logger, string incidentId, string account);

    [LoggerMessage(5205, LogLevel.Information, "Incident {IncidentId}: affected set exported by {Account} ({Rows} tokens)")]
    public static partial void Exported(ILogger logger, string incidentId, string account, long rows);

    [LoggerMessage(6160, LogLevel.Debug, "Incident scoping projection: {Count} ledger entries projected, sequences {From} to {To} (exclusive)")]
    public static partial void Projected(ILogger logger, long count, long from, long to);

    [LoggerMessage(6161, LogLevel.Warning, "Incident scoping projection: the ledger has a gap at sequence {Sequence}; projected up to it and will retry")]
    public static partial void ProjectionGap(ILogger logger, long sequence);

    [LoggerMessage(6162, LogLevel.Warning, "Incident scoping projection: a catch-up failed ({ErrorType}); retrying at the next tick, scoping reads the unprojected tail meanwhile")]
    public static partial void ProjectionFailed(ILogger logger, string errorType, Exception exception);

    [LoggerMessage(6163, LogLevel.Warning, "Incident scoping: the projection could not catch up before scoping ({ErrorType}); the unprojected tail is read from the ledger")]
    public static partial void ScopeCatchUpFailed(ILogger logger, string errorType, Exception exception);
}
