using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Access.Staff;
using Custodian.Classification;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.Extensions.Logging;

namespace Custodian.Gateway;

/// <summary>
/// Staff sign-in at an enrolled terminal: password + TOTP (RFC 6238), the one-time-password rule, the
/// own-store rule for store staff, and the ledger entry that must be written before a session exists.
/// Shared by the terminal API (<c>POST /api/v1/sessions</c>, bearer token) and the web pages (cookie).
/// Officers sign in only at the terminals <c>Custodian:OfficerDevices</c> names, when it is set (docs/access.md §7).
/// </summary>
public sealed class StaffSignIn(StaffDirectory staff, SessionStore sessions, IAccessLedger ledger, AccessRecorder recorder, TimeProvider time, ILogger<StaffSignIn> logger, Microsoft.Extensions.Options.IOptions<Approvals.OfficerDeviceOptions>? officerDevices = null)
{
    /// <summary>
    /// Authenticates <paramref name="account"/> at <paramref name="device"/> and opens a session bound to
    /// that device's certificate. Every outcome is recorded in the ledger (refusals as
    /// <see cref="AccessOutcome.Denied"/> <see cref="AccessTask.SignIn"/> entries).
    /// </summary>
    /// <returns>
    /// The session, or: <c>validation-failed</c> (400) when a field is missing; the directory's
    /// authentication error (401, or 423 when locked); <c>password-change-required</c> (403) for a one-time
    /// password; <see cref="StaffApi.StoreMismatch"/> (403) for store staff at another store's terminal;
    /// <c>officer-terminal-required</c> (403) for an officer outside <c>Custodian:OfficerDevices:Stores</c>;
    /// <c>ledger-unavailable</c> (503) when the sign-in could not be recorded.
    /// </returns>
    public async Task<Result<StaffSession>> SignInAsync(DeviceIdentity device, string? account, [Secret] string? password, [Secret] string? otp, string? sourceIp, CancellationToken cancellationToken = default)
    {
        var entry = new AccessEntry
        {
            Time = time.GetUtcNow(),
            Task = AccessTask.SignIn,
            Outcome = AccessOutcome.Allowed,
            Account = Codes.IsValid(account) ? account : null,
            Terminal = device.Terminal,
            Store = device.Store,
            SourceIp = sourceIp,
        };
        if (MissingOrMalformed(account, ("password", password), ("otp", otp)) is { } invalid)
        {
            return await recorder.RefuseAsync(entry, invalid, cancellationToken);
        }

        var principal = await staff.AuthenticateAsync(account!, password!, otp!);
        if (!principal.IsSuccess)
        {
            // Record the account only when it exists: people type passwords into the account field,
            // and the ledger keeps what it records for years.
            if (await staff.GetAsync(account!) is null)
            {
                entry = entry with { Account = null, Reason = "unknown account" };
            }

            return await recorder.RefuseAsync(entry, principal.Error!, cancellationToken);
        }

        var p = principal.Value;
        entry = entry with { Role = p.Role };
        if (p.MustChangePassword)
        {
            return await recorder.RefuseAsync(entry, new CustodianError(ErrorCodes.PasswordChangeRequired, 403, "This is a one-time password: change it with POST /api/v1/account/password, then sign in again."), cancellationToken);
        }

        if (p.Role.IsStoreStaff() && !string.Equals(p.Store, device.Store, StringComparison.Ordinal))
        {
            return await recorder.RefuseAsync(entry, new CustodianError(StaffApi.StoreMismatch, 403, "Store staff may sign in only at a terminal of their own store."), cancellationToken);
        }

        if (Approvals.OfficerDevices.Check(p.Role, device, officerDevices?.Value) is { } notOfficerDevice)
        {
            return await recorder.RefuseAsync(entry, notOfficerDevice, cancellationToken);
        }

        try
        {
            await ledger.AppendAsync(entry, cancellationToken);
        }
        catch (LedgerUnavailableException)
        {
            return new CustodianError(ErrorCodes.LedgerUnavailable, 503, "The access ledger could not record the sign-in, so it was refused.", IsTransient: true);
        }

        var session = sessions.Create(p, device, sourceIp, entry.Time); // entry.Time: before the credentials were checked
        Hosting.Log.SignedIn(logger, p.Id, device.Terminal);
        return session;
    }

    /// <summary>
    /// The validation problem for a sign-in or password change with a missing field or an account that is not an
    /// account ID (<see cref="StaffAccountRules.IdFormat"/>), naming the first field at fault (400
    /// <c>validation-failed</c>); null when every field is present and the account is well formed. Never quotes a value
    /// (people type passwords into the account field).
    /// </summary>
    /// <param name="account">The account ID as sent.</param>
    /// <param name="required">The other required fields as (JSON name, value), in the order they are checked.</param>
    internal static CustodianError? MissingOrMalformed(string? account, params (string Field, string? Value)[] required)
    {
        if (string.IsNullOrEmpty(account))
        {
            return ProblemResults.Validation("account", "is required");
        }

        if (!Codes.IsValid(account))
        {
            return ProblemResults.Validation("account", StaffAccountRules.IdFormat);
        }

        foreach (var (field, value) in required)
        {
            if (string.IsNullOrEmpty(value))
            {
                return ProblemResults.Validation(field, "is required");
            }
        }

        return null;
    }
}
