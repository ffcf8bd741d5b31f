using Custodian.Classification;
using Custodian.Problems;
using Custodian.Transparency;
using Custodian.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace Custodian.Pages.Portal;

/// <summary>
/// <c>/portal/sign-in</c>: phone number, then the 6-digit code sent by SMS, through <see cref="PortalSignIn"/> (the
/// same limits and answers as the API). The phone number travels only in form bodies, never in a URL. A successful
/// code check starts a brand-new session (any cookie the browser brought is discarded: no session fixation) and
/// sends the browser to the history.
/// </summary>
public sealed class SignInModel(PortalSignIn signIn, IStringLocalizer<PortalText> text) : PageModel
{
    /// <summary>The phone number typed (kept in the form between the two steps).</summary>
    [BindProperty]
    [PersonalData]
    public string? Phone { get; set; }

    /// <summary>True on the second step (code entry).</summary>
    public bool CodeSent { get; private set; }

    /// <summary>A plain-language reason for the last refusal, or null.</summary>
    public string? ErrorMessage { get; private set; }

    /// <summary>Shows the phone form; a session cookie the browser brings is dropped.</summary>
    public IActionResult OnGet()
    {
        Response.Cookies.Delete(PortalPageModel.CookieName, new CookieOptions { Secure = true, Path = "/" });
        return Page();
    }

    /// <summary>Step 1: asks for a code. The answer is the same whether or not the number is a subscriber's.</summary>
    public async Task<IActionResult> OnPostSendAsync()
    {
        var result = await signIn.RequestCodeAsync(Phone, HttpContext.Connection.RemoteIpAddress?.ToString(), HttpContext.RequestAborted);
        if (!result.IsSuccess)
        {
            ErrorMessage = Explain(result.Error!);
            Response.StatusCode = result.Error!.Status;
            return Page();
        }

        CodeSent = true;
        return Page();
    }

    /// <summary>Step 2: checks the code; on success starts the session and goes to the history.</summary>
    public async Task<IActionResult> OnPostVerifyAsync([Secret] string? code)
    {
        var session = await signIn.VerifyAsync(Phone, code?.Trim(), HttpContext.Connection.RemoteIpAddress?.ToString(), HttpContext.RequestAborted);
        if (!session.IsSuccess)
        {
            CodeSent = true;
            ErrorMessage = Explain(session.Error!);
            Response.StatusCode = session.Error!.Status;
            return Page();
        }

        if (Request.Cookies[PortalPageModel.CookieName] is { Length: > 0 } old)
        {
            signIn.SignOut(old);
        }

        PortalPageModel.SetCookie(Response, session.Value.Token);
        return LocalRedirect("/portal/history");
    }

    /// <summary>Signs out: ends the session and clears the cookie.</summary>
    public IActionResult OnPostSignOut()
    {
        if (Request.Cookies[PortalPageModel.CookieName] is { Length: > 0 } token)
        {
            signIn.SignOut(token);
        }

        Response.Cookies.Delete(PortalPageModel.CookieName, new CookieOptions { Secure = true, Path = "/" });
        return LocalRedirect("/portal/sign-in");
    }

    private string Explain(CustodianError error) => error.Code switch
    {
        ErrorCodes.ValidationFailed when error.Errors?.ContainsKey("code") == true => text["The code is wrong or has expired. Ask for a new code if needed."], // sent empty
        ErrorCodes.PhoneInvalid or ErrorCodes.ValidationFailed => text["Enter a Korean mobile number, e.g. 010-1234-5678."],
        ErrorCodes.RateLimited => text["Too many attempts. Try again in an hour."],
        ErrorCodes.PortalCodeInvalid => text["The code is wrong or has expired. Ask for a new code if needed."],
        ErrorCodes.LedgerUnavailable => text["The service could not record your sign-in, so it was refused. Try again shortly."],
        _ => text["Sign-in failed. Try again."],
    };
}
