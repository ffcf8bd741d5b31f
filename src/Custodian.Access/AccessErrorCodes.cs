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
}
