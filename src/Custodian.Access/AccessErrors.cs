using Custodian.Problems;

namespace Custodian.Access;

/// <summary>The Access capability's refusals, with their HTTP statuses (see <see cref="ErrorCodes"/>).</summary>
internal static class AccessErrors
{
    public static readonly CustodianError DeviceCertificateRequired =
        new(ErrorCodes.DeviceCertificateRequired, 403, "A device certificate issued by Custodian is required; enroll this terminal first.");

    public static readonly CustodianError DeviceCertificateExpired =
        new(ErrorCodes.DeviceCertificateExpired, 403, "The device certificate is outside its validity period; re-enroll the terminal.");

    public static readonly CustodianError DeviceCertificateRevoked =
        new(ErrorCodes.DeviceCertificateRevoked, 403, "The device certificate has been revoked or replaced; re-enroll the terminal.");

    public static readonly CustodianError UnknownTerminal =
        new(ErrorCodes.DeviceCertificateUntrusted, 403, "The device certificate does not belong to an enrolled terminal.");

    public static readonly CustodianError EnrollmentCodeInvalid =
        new(ErrorCodes.EnrollmentCodeInvalid, 403, "The enrollment code is unknown, already used or expired.");

    public static readonly CustodianError InvalidCredentials =
        new(ErrorCodes.InvalidCredentials, 401, "The account, password or one-time code is wrong.");

    public static readonly CustodianError AccountDisabled =
        new(ErrorCodes.AccountDisabled, 403, "The account is disabled; contact the security office.");

    public static readonly CustodianError SessionRequired =
        new(ErrorCodes.SessionRequired, 401, "A staff session is required; it is missing, expired or was closed after inactivity. Sign in again.");

    public static readonly CustodianError SessionTerminalMismatch =
        new(ErrorCodes.SessionTerminalMismatch, 401, "The session was opened on another terminal's certificate; sign in again on this terminal.");

    /// <summary>
    /// <see cref="ErrorCodes.SessionTerminalMismatch"/> when the presenting certificate is the same terminal's newer one
    /// (renewed with <c>custodian terminal renew</c>, or re-enrolled): a session is bound to the certificate it was
    /// opened with, so renewing ends the terminal's sessions (docs/access.md §2.1).
    /// </summary>
    public static readonly CustodianError SessionCertificateRenewed =
        new(ErrorCodes.SessionTerminalMismatch, 401, "The session was opened with this terminal's previous device certificate; the certificate was renewed since, which ends the sessions opened with it. Sign in again.");

    public static readonly CustodianError DeviceCertificateNotYetValid =
        new(AccessErrorCodes.DeviceCertificateNotYetValid, 403, "The device certificate is not valid yet: its notBefore lies ahead of the server's clock. Check the clocks of the terminal and the server, then renew or re-enroll.");

    public static readonly CustodianError DeviceKeyReused =
        new(AccessErrorCodes.DeviceKeyReused, 409, "csr: the public key was already certified for a device; every device and every renewal needs a freshly generated key.");

    public static CustodianError DeviceCertificateUsage(string message) => new(AccessErrorCodes.DeviceCertificateUsage, 403, message);

    public static CustodianError DeviceCertificateUntrusted(string message) => new(ErrorCodes.DeviceCertificateUntrusted, 403, message);

    public static CustodianError CsrInvalid(string message) => new(ErrorCodes.CsrInvalid, 400, message);

    public static CustodianError AccountLocked(DateTimeOffset until) =>
        new(ErrorCodes.AccountLocked, 423, $"The account is locked after repeated failed sign-ins until {until:yyyy-MM-dd'T'HH:mm:ss'Z'}; a security officer can unlock it.");

    public static CustodianError Validation(string field, string rule) =>
        new(ErrorCodes.ValidationFailed, 400, $"{field}: {rule}")
        {
            Errors = new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [rule] },
        };
}
