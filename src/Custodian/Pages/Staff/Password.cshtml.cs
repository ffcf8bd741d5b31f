using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Access.Staff;
using Custodian.Classification;
using Custodian.Gateway;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace Custodian.Pages.Staff;

/// <summary>
/// <c>/staff/password</c> on the terminal listener: replaces a one-time (or current) password, with a TOTP
/// code, as <c>POST /api/v1/account/password</c> does; every attempt is recorded in the ledger as
/// <see cref="AccessTask.PasswordChange"/>. On success every other session of the account ends; the staff session whose
/// cookie the browser sends, when it is this account's on this terminal, goes on (docs/access.md §6.4).
/// </summary>
public sealed class PasswordModel(StaffDirectory staff, SessionStore sessions, AccessRecorder recorder, TimeProvider time, IStringLocalizer<SharedText> text) : PageModel
{
    /// <summary>The account typed.</summary>
    [BindProperty]
    public string? Account { get; set; }

    /// <summary>True after a successful change.</summary>
    public bool Changed { get; private set; }

    /// <summary>A plain-language reason for the last refusal, or null.</summary>
    public string? ErrorMessage { get; private set; }

    /// <summary>Shows the form.</summary>
    public IActionResult OnGet() => HttpContext.Items[DeviceGatewayMiddleware.DeviceKey] is DeviceIdentity ? Page() : NotFound();

    /// <summary>Changes the password.</summary>
    public async Task<IActionResult> OnPostAsync([Secret] string? currentPassword, [Secret] string? newPassword, [Secret] string? otp)
    {
        if (HttpContext.Items[DeviceGatewayMiddleware.DeviceKey] is not DeviceIdentity device)
        {
            return NotFound();
        }

        var account = Account?.Trim();
        var entry = new AccessEntry
        {
            Time = time.GetUtcNow(),
            Task = AccessTask.PasswordChange,
            Outcome = AccessOutcome.Allowed,
            Account = Codes.IsValid(account) ? account : null,
            Terminal = device.Terminal,
            Store = device.Store,
            SourceIp = HttpContext.Connection.RemoteIpAddress?.ToString(),
        };
        if (Gateway.StaffSignIn.MissingOrMalformed(account, ("currentPassword", currentPassword), ("newPassword", newPassword), ("otp", otp)) is { } invalid)
        {
            await recorder.RefuseAsync(entry, invalid, HttpContext.RequestAborted);
            return Refused(text["Fill in every field."], 400);
        }

        var keep = Gateway.StaffApi.OwnSession(HttpContext, sessions, account!);
        Problems.Result<bool> changed;
        try
        {
            // Append first, then act, as the API does: no ledger entry, no new password.
            changed = await staff.ChangePasswordAsync(account!, currentPassword!, newPassword!, otp!.Trim(), () => recorder.RecordGrantAsync(entry), keep);
        }
        catch (LedgerUnavailableException ex)
        {
            var error = recorder.GrantNotRecorded(ex, "password change");
            return Refused(text["The access ledger could not record the password change, so the password is unchanged. Try again shortly."], error.Status);
        }

        if (!changed.IsSuccess)
        {
            var error = await recorder.RefuseAsync(entry, changed.Error!, HttpContext.RequestAborted);
            return Refused(error.Code == Problems.ErrorCodes.PasswordPolicy ? error.Message : text["The account, password or authenticator code is wrong."], error.Status);
        }

        sessions.RevokeAccount(account!, except: keep);
        Changed = true;
        return Page();
    }

    private PageResult Refused(string message, int status)
    {
        ErrorMessage = message;
        Response.StatusCode = status;
        return Page();
    }
}
