using Custodian.Access.Certificates;
using Custodian.Classification;
using Custodian.Gateway;
using Custodian.Problems;
using Custodian.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace Custodian.Pages.Staff;

/// <summary>
/// <c>/staff/sign-in</c> on the terminal listener: password + TOTP at an enrolled device, through
/// <see cref="StaffSignIn"/> (so the ledger records every attempt), then the session token in the
/// <see cref="StaffPageModel.CookieName"/> cookie and a redirect to the return URL or the role's home page.
/// </summary>
public sealed class SignInModel(StaffSignIn signIn, IStringLocalizer<SharedText> text) : PageModel
{
    /// <summary>The account typed (shown again after a failed attempt; never the password or code).</summary>
    [BindProperty]
    public string? Account { get; set; }

    /// <summary>Where to go after signing in: a local path under <c>/console</c> or <c>/workstation</c> only.</summary>
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>The terminal this browser runs on (from its device certificate).</summary>
    public string Terminal { get; private set; } = string.Empty;

    /// <summary>The terminal's store.</summary>
    public string Store { get; private set; } = string.Empty;

    /// <summary>A plain-language reason for the last refusal, or null.</summary>
    public string? ErrorMessage { get; private set; }

    /// <summary>Shows the form.</summary>
    public IActionResult OnGet()
    {
        if (!Describe())
        {
            return NotFound();
        }

        return Page();
    }

    /// <summary>Signs in; on success sets the session cookie and redirects.</summary>
    public async Task<IActionResult> OnPostAsync([Secret] string? password, [Secret] string? otp)
    {
        if (!Describe())
        {
            return NotFound();
        }

        var device = (DeviceIdentity)HttpContext.Items[DeviceGatewayMiddleware.DeviceKey]!;
        var session = await signIn.SignInAsync(device, Account?.Trim(), password, otp?.Trim(), HttpContext.Connection.RemoteIpAddress?.ToString(), HttpContext.RequestAborted);
        if (!session.IsSuccess)
        {
            ErrorMessage = Explain(session.Error!);
            Response.StatusCode = session.Error!.Status;
            return Page();
        }

        Response.Cookies.Append(StaffPageModel.CookieName, session.Value.Token, new CookieOptions
        {
            Secure = true,
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            IsEssential = true,
        });
        return LocalRedirect(IsAllowedReturn(ReturnUrl) ? ReturnUrl! : StaffPageModel.Home(session.Value.Principal.Role));
    }

    /// <summary>Signs out: revokes the session and clears the cookie.</summary>
    public IActionResult OnPostSignOut([FromServices] Access.Sessions.SessionStore sessions)
    {
        if (Request.Cookies[StaffPageModel.CookieName] is { Length: > 0 } token)
        {
            sessions.Revoke(token);
        }

        Response.Cookies.Delete(StaffPageModel.CookieName, new CookieOptions { Secure = true, Path = "/" });
        return LocalRedirect("/staff/sign-in");
    }

    private bool Describe()
    {
        if (HttpContext.Items[DeviceGatewayMiddleware.DeviceKey] is not DeviceIdentity device)
        {
            return false;
        }

        Terminal = device.Terminal;
        Store = device.Store;
        return true;
    }

    /// <summary>
    /// True for a local path in a staff area; anything else (another site, a protocol-relative URL, the portal, a path with a
    /// control character, which <see cref="PageModel.LocalRedirect(string)"/> would refuse with an exception after the
    /// session was opened) is ignored.
    /// </summary>
    internal static bool IsAllowedReturn(string? url) =>
        url is { Length: > 1 and <= 2048 }
        && url[0] == '/' && url[1] != '/' && url[1] != '\\'
        && !url.Any(char.IsControl)
        && (url.StartsWith("/console", StringComparison.OrdinalIgnoreCase) || url.StartsWith("/workstation", StringComparison.OrdinalIgnoreCase));

    private string Explain(CustodianError error) => error.Code switch
    {
        ErrorCodes.ValidationFailed => text["Enter your account, password and the 6-digit authenticator code."],
        ErrorCodes.PasswordChangeRequired => text["This is a one-time password. Choose your own password first."],
        StaffApi.StoreMismatch => text["Store staff may sign in only at a terminal of their own store."],
        ErrorCodes.LedgerUnavailable => text["The access ledger could not record the sign-in, so it was refused. Try again shortly."],
        ErrorCodes.AccountLocked => text["This account is locked after too many failed attempts. Ask a security officer."],
        _ => text["The account, password or authenticator code is wrong."],
    };
}
