using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Custodian.Access.Staff;

/// <summary>Settings of <see cref="StaffDirectory"/>. Validated when the directory is constructed.</summary>
public sealed class StaffOptions
{
    /// <summary>PBKDF2-HMAC-SHA256 iterations for new password hashes (existing hashes keep theirs and are re-hashed at the next successful sign-in).</summary>
    /// <value>The default is 600,000 (OWASP Password Storage Cheat Sheet, 2023, for PBKDF2-HMAC-SHA256); allowed 1,000 to 10,000,000. Tests use about 1,000.</value>
    [Range(1_000, 10_000_000)]
    public int PasswordIterations { get; set; } = 600_000;

    /// <summary>Consecutive failed sign-ins after which the account is locked (PIPA safety standard: lock out after repeated authentication failures).</summary>
    /// <value>The default is 5; allowed 1 to 100.</value>
    [Range(1, 100)]
    public int MaxFailedAttempts { get; set; } = 5;

    /// <summary>How long a lockout lasts; a security officer can end it sooner with <see cref="StaffDirectory.UnlockAsync"/>.</summary>
    /// <value>The default is 30 minutes; allowed 1 minute to 1 day.</value>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>TOTP time steps accepted before and after the current one, for clock drift (RFC 6238 §5.2 recommends at most one).</summary>
    /// <value>The default is 1 (±30 seconds); allowed 0 to 2.</value>
    [Range(0, 2)]
    public int TotpStepTolerance { get; set; } = 1;

    /// <summary>Issuer shown by authenticator apps, in the <c>otpauth://</c> URI.</summary>
    /// <value>The default is "Custodian".</value>
    [Required]
    [StringLength(64, MinimumLength = 1)]
    public string TotpIssuer { get; set; } = "Custodian";
}

/// <summary>Source-generated validator of the data annotations on <see cref="StaffOptions"/>.</summary>
[OptionsValidator]
public sealed partial class StaffOptionsValidator : IValidateOptions<StaffOptions>
{
}
