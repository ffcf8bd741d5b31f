using Microsoft.Extensions.Logging;

namespace Custodian.Incidents.Claims;

/// <summary>
/// Log catalog of compensation claims (event IDs 5500–5599). Parameters are claim and incident IDs, staff codes, damage
/// kinds and amounts (KRW) only; never the claimant (no subscriber ID or token), the description, question or answer.
/// </summary>
internal static partial class ClaimLog
{
    [LoggerMessage(5500, LogLevel.Information, "Claim {ClaimId} filed for incident {IncidentId}: {Kind}, {Amount} KRW claimed")]
    public static partial void Filed(ILogger logger, string claimId, string incidentId, string kind, long amount);

    [LoggerMessage(5501, LogLevel.Information, "Claim {ClaimId}: information requested by {Account}")]
    public static partial void InformationRequested(ILogger logger, string claimId, string account);

    [LoggerMessage(5502, LogLevel.Information, "Claim {ClaimId}: the claimant answered")]
    public static partial void Answered(ILogger logger, string claimId);

    [LoggerMessage(5503, LogLevel.Warning, "Claim {ClaimId} approved by {Account}: {Amount} KRW")]
    public static partial void Approved(ILogger logger, string claimId, string account, long amount);

    [LoggerMessage(5504, LogLevel.Information, "Claim {ClaimId} rejected by {Account}")]
    public static partial void Rejected(ILogger logger, string claimId, string account);

    [LoggerMessage(5505, LogLevel.Warning, "Claim {ClaimId}: payout of {Amount} KRW recorded by {Account}")]
    public static partial void Paid(ILogger logger, string claimId, string account, long amount);
}
