using Custodian.Identity;

namespace Custodian.Access.Staff;

/// <summary>Whether an account may sign in (column <c>staff_accounts.status</c>).</summary>
public enum StaffAccountStatus
{
    /// <summary>May sign in (stored as <c>active</c>).</summary>
    Active = 0,

    /// <summary>May not sign in (stored as <c>disabled</c>).</summary>
    Disabled = 1,
}

/// <summary>
/// Credentials of a new (or reset) account, returned exactly once: hand them to the person over a
/// trusted channel. Secret: never log, store or echo them.
/// </summary>
/// <param name="Id">Account ID.</param>
/// <param name="OneTimePassword">16-character random password; must be changed at first sign-in.</param>
/// <param name="TotpSecretBase32">The TOTP seed (20 random bytes, RFC 4226 §4), base32 (RFC 4648) without padding.</param>
/// <param name="OtpAuthUri"><c>otpauth://totp/…</c> URI for authenticator apps (SHA-1, 6 digits, 30-second period, RFC 6238).</param>
public sealed record NewAccount(string Id, string OneTimePassword, string TotpSecretBase32, string OtpAuthUri)
{
    /// <summary>Redacted: the credentials never appear in string conversions or logs.</summary>
    public override string ToString() => $"NewAccount {{ Id = {Id}, credentials redacted }}";
}

/// <summary>An authenticated staff member.</summary>
/// <param name="Id">Account ID.</param>
/// <param name="Role">Role.</param>
/// <param name="Store">Store code for clerks and store managers; null (or a home store) for officers.</param>
/// <param name="MustChangePassword">True while the password is a one-time password: the host allows only a password change.</param>
public sealed record StaffPrincipal(string Id, StaffRole Role, string? Store, bool MustChangePassword);

/// <summary>One staff account, for listings. Contains no secrets.</summary>
/// <param name="Id">Account ID.</param>
/// <param name="Role">Role.</param>
/// <param name="Store">Store code, if any.</param>
/// <param name="Status">Active or disabled.</param>
/// <param name="MustChangePassword">True while the password is a one-time password.</param>
/// <param name="FailedAttempts">Consecutive failed sign-ins since the last success or unlock.</param>
/// <param name="LockedUntil">End of the last lockout (UTC); a past value means no longer locked.</param>
/// <param name="CreatedAt">When the account was created (UTC).</param>
/// <param name="LastSignInAt">Last successful sign-in (UTC), or null.</param>
public sealed record StaffAccountInfo(
    string Id,
    StaffRole Role,
    string? Store,
    StaffAccountStatus Status,
    bool MustChangePassword,
    int FailedAttempts,
    DateTimeOffset? LockedUntil,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastSignInAt);
