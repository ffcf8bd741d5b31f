using Microsoft.Extensions.Logging;

namespace Custodian.Access.Staff;

/// <summary>
/// Log catalog of the staff directory (event IDs 3300–3399). Account IDs are operator-chosen codes
/// (not personal data); an unrecognized account ID is never logged (it may be a mistyped password or
/// someone's personal number). Passwords, TOTP codes and seeds are never logged.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3300, Level = LogLevel.Information, Message = "Created staff account {AccountId} with role {Role}")]
    public static partial void AccountCreated(ILogger logger, string accountId, string role);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Staff account {AccountId} authenticated")]
    public static partial void Authenticated(ILogger logger, string accountId);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning, Message = "Failed authentication for an unknown account")]
    public static partial void UnknownAccount(ILogger logger);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Warning, Message = "Failed authentication for staff account {AccountId} ({FailedAttempts} consecutive)")]
    public static partial void AuthenticationFailed(ILogger logger, string accountId, int failedAttempts);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Warning, Message = "Staff account {AccountId} locked until {LockedUntil:O}")]
    public static partial void Locked(ILogger logger, string accountId, DateTimeOffset lockedUntil);

    [LoggerMessage(EventId = 3305, Level = LogLevel.Warning, Message = "Refused a reused TOTP time step for staff account {AccountId}")]
    public static partial void TotpReplay(ILogger logger, string accountId);

    [LoggerMessage(EventId = 3306, Level = LogLevel.Information, Message = "Staff account {AccountId} changed its password")]
    public static partial void PasswordChanged(ILogger logger, string accountId);

    [LoggerMessage(EventId = 3307, Level = LogLevel.Information, Message = "Staff account {AccountId} status set to {Status}")]
    public static partial void StatusChanged(ILogger logger, string accountId, string status);

    [LoggerMessage(EventId = 3308, Level = LogLevel.Information, Message = "Staff account {AccountId} unlocked")]
    public static partial void Unlocked(ILogger logger, string accountId);

    [LoggerMessage(EventId = 3309, Level = LogLevel.Information, Message = "Reset the credentials of staff account {AccountId}")]
    public static partial void CredentialsReset(ILogger logger, string accountId);

    [LoggerMessage(EventId = 3310, Level = LogLevel.Warning, Message = "Refused authentication for disabled staff account {AccountId}")]
    public static partial void DisabledRefused(ILogger logger, string accountId);

    [LoggerMessage(EventId = 3311, Level = LogLevel.Error, Message = "The TOTP seed of staff account {AccountId} could not be decrypted (wrong secrets key or altered row)")]
    public static partial void SeedUnreadable(ILogger logger, string accountId);

    [LoggerMessage(EventId = 3312, Level = LogLevel.Warning, Message = "Dormant staff account {AccountId} was not disabled: it is the last active security officer")]
    public static partial void DormantLastOfficerKept(ILogger logger, string accountId);
}
