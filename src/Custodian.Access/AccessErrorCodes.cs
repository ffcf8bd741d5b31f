namespace Custodian.Access;

/// <summary>
/// Error codes the Access capability adds to <see cref="Problems.ErrorCodes"/>. Same rules: stable,
/// kebab-case, never reused with another meaning; the problem <c>type</c> is
/// <c>urn:custodian:error:&lt;code&gt;</c>.
/// </summary>
public static class AccessErrorCodes
{
    /// <summary>An enrollment code was requested for a terminal that is already enrolled and active; revoke it first (409).</summary>
    public const string TerminalAlreadyActive = "terminal-already-active";

    /// <summary>A staff account with this ID already exists (409).</summary>
    public const string AccountExists = "account-exists";

    /// <summary>A presented device certificate of Custodian's CA has the wrong key usage, extended key usage or CA flag (403).</summary>
    public const string DeviceCertificateUsage = "device-certificate-usage";

    /// <summary>A presented device certificate's notBefore lies ahead of the server's clock: a skewed clock or a forged validity (403).</summary>
    public const string DeviceCertificateNotYetValid = "device-certificate-not-yet-valid";

    /// <summary>The CSR's public key was already certified (for this or another device); every device and every renewal needs a fresh key (409).</summary>
    public const string DeviceKeyReused = "device-key-reused";

    /// <summary>The request's headers exceed the gateway's limit (431, RFC 6585 §5).</summary>
    public const string HeadersTooLarge = "headers-too-large";
}
