namespace Custodian.Problems;

/// <summary>
/// Stable, machine-readable error codes. Each HTTP refusal is an RFC 9457 problem whose
/// <c>type</c> is <c>urn:custodian:error:&lt;code&gt;</c> and which carries the code in an
/// <c>errorCode</c> extension member; the same code is recorded in the ledger entry of the refusal.
/// Codes never change meaning once shipped; add new ones instead.
/// </summary>
public static class ErrorCodes
{
    /// <summary>Prefix of the problem <c>type</c> URI.</summary>
    public const string TypePrefix = "urn:custodian:error:";

    // Gateway / device trust (403 unless noted)
    /// <summary>No client certificate was presented.</summary>
    public const string DeviceCertificateRequired = "device-certificate-required";
    /// <summary>The client certificate was not issued by Custodian's CA, is malformed, or has the wrong usage.</summary>
    public const string DeviceCertificateUntrusted = "device-certificate-untrusted";
    /// <summary>The device certificate has been revoked.</summary>
    public const string DeviceCertificateRevoked = "device-certificate-revoked";
    /// <summary>The device certificate is outside its validity period.</summary>
    public const string DeviceCertificateExpired = "device-certificate-expired";
    /// <summary>The enrollment code is unknown, used or expired.</summary>
    public const string EnrollmentCodeInvalid = "enrollment-code-invalid";
    /// <summary>The certificate signing request is malformed, has a bad signature or a weak key (400).</summary>
    public const string CsrInvalid = "csr-invalid";
    /// <summary>
    /// The device CA on disk is no longer the one this server loaded (<c>custodian ca rotate</c> ran and the server was not
    /// restarted): enrollment and renewal are refused until the restart (503), because a certificate issued now would come
    /// from the previous CA yet count as renewed since the rotation (docs/access.md §2.4).
    /// </summary>
    public const string CaRestartRequired = "ca-restart-required";

    // Authentication (401 unless noted)
    /// <summary>The request needs a staff session (bearer token) and has none, or it expired or was cut for idleness.</summary>
    public const string SessionRequired = "session-required";
    /// <summary>Account, password or one-time code wrong (deliberately not saying which).</summary>
    public const string InvalidCredentials = "invalid-credentials";
    /// <summary>The account is locked after repeated failures (423).</summary>
    public const string AccountLocked = "account-locked";
    /// <summary>The account is disabled (403).</summary>
    public const string AccountDisabled = "account-disabled";
    /// <summary>The password is a one-time password and must be changed before anything else (403).</summary>
    public const string PasswordChangeRequired = "password-change-required";
    /// <summary>The new password does not meet the password policy (400).</summary>
    public const string PasswordPolicy = "password-policy";
    /// <summary>The session belongs to another terminal's certificate (401).</summary>
    public const string SessionTerminalMismatch = "session-terminal-mismatch";

    // Policy (403 unless noted)
    /// <summary>The role may not perform this task.</summary>
    public const string RoleNotPermitted = "role-not-permitted";
    /// <summary>No purpose code was given for a read that needs one (400).</summary>
    public const string PurposeRequired = "purpose-required";
    /// <summary>The purpose code is unknown or not allowed for this task (400).</summary>
    public const string PurposeUnknown = "purpose-unknown";
    /// <summary>Unmasking needs the subscriber's consent code and none valid was given.</summary>
    public const string ConsentRequired = "consent-required";
    /// <summary>The consent code is wrong, expired or used.</summary>
    public const string ConsentInvalid = "consent-invalid";
    /// <summary>Too many wrong consent codes by this clerk for this subscriber within the window (429; new codes do not reset it).</summary>
    public const string ConsentAttemptsExhausted = "consent-attempts-exhausted";
    /// <summary>The clerk is suspended by the monitor or an officer.</summary>
    public const string ClerkSuspended = "clerk-suspended";
    /// <summary>The terminal is suspended by the monitor or an officer.</summary>
    public const string TerminalSuspended = "terminal-suspended";
    /// <summary>The subscriber handle is not one this session obtained from a search (404).</summary>
    public const string SubscriberHandleUnknown = "subscriber-handle-unknown";
    /// <summary>A request named another subscriber's data (object-level authorisation) (403).</summary>
    public const string NotYourData = "not-your-data";

    // Input (400 unless noted)
    /// <summary>The request body or parameters failed validation; details name the field and rule.</summary>
    public const string ValidationFailed = "validation-failed";
    /// <summary>400: free text (a reason, note, title or question) contains a phone number or resident registration number; name subscribers by token (Custodian.Classification.FreeText).</summary>
    public const string PersonalDataInText = "personal-data-in-text";
    /// <summary>400: free text (a reason, note, title or question) contains a Unicode bidirectional control character (U+202A–U+202E, U+2066–U+2069), which can make stored text display in another order than it reads (Custodian.Classification.FreeText).</summary>
    public const string BidiControlInText = "bidi-control-in-text";
    /// <summary>400: free text (a reason, note, title or question) contains a control character (C0 other than tab, line feed and carriage return; DEL; C1), such as the ESC that starts a terminal escape sequence (Custodian.Classification.FreeText.ContainsControlCharacter).</summary>
    public const string ControlCharacterInText = "control-character-in-text";
    /// <summary>400: a web form's body (<c>application/x-www-form-urlencoded</c>) or a page's query holds bytes that are not UTF-8 once percent-decoded (e.g. <c>%FF</c>), which the form reader would store as U+FFFD (Custodian.Hosting.FormUtf8Middleware).</summary>
    public const string FormNotUtf8 = "form-not-utf8";
    /// <summary>The request body is larger than allowed (413).</summary>
    public const string BodyTooLarge = "body-too-large";
    /// <summary>405: the path exists but does not take this HTTP method (the response's <c>Allow</c> header lists the ones it takes).</summary>
    public const string MethodNotAllowed = "method-not-allowed";
    /// <summary>415: the body's media type is not one the endpoint takes (JSON endpoints: <c>Content-Type: application/json</c>, and a JSON body in a charset other than UTF-8).</summary>
    public const string UnsupportedMediaType = "unsupported-media-type";
    /// <summary>The phone number is not a valid Korean number.</summary>
    public const string PhoneInvalid = "phone-invalid";
    /// <summary>Too many requests (429).</summary>
    public const string RateLimited = "rate-limited";
    /// <summary>The portal one-time code is wrong or expired (401).</summary>
    public const string PortalCodeInvalid = "portal-code-invalid";

    // Server (503)
    /// <summary>The ledger could not durably record the entry, so the read was refused (fail closed). Transient.</summary>
    public const string LedgerUnavailable = "ledger-unavailable";
    /// <summary>
    /// The database (PostgreSQL or SQLite) could not be reached or refused the statement for a reason that retrying can
    /// cure (connection lost, server shutting down, serialization failure, busy): 503, transient. Nothing was returned.
    /// </summary>
    public const string StorageUnavailable = "storage-unavailable";
    /// <summary>An unexpected server error (500).</summary>
    public const string InternalError = "internal-error";
    /// <summary>The resource does not exist (404).</summary>
    public const string NotFound = "not-found";
}
