using Custodian.Access.Sessions;
using Custodian.Web;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Custodian.Pages.Workstation;

/// <summary>
/// <c>/workstation/locked</c>: where the workstation's script sends an idle browser. It revokes the staff session
/// of the cookie and deletes the cookie, so continuing needs a full sign-in again. The server's own idle timeout
/// (<see cref="Access.Sessions.SessionOptions.IdleTimeout"/>) is the real control; this page also clears the screen. A cross-site
/// link cannot sign anyone out: the session cookie is SameSite=Strict and so is not sent with it.
/// </summary>
public sealed class LockedModel(SessionStore sessions) : PageModel
{
    /// <summary>Revokes the session (if any) and shows the lock page.</summary>
    public void OnGet()
    {
        if (Request.Cookies[StaffPageModel.CookieName] is { Length: > 0 } token)
        {
            sessions.Revoke(token);
        }

        Response.Cookies.Delete(StaffPageModel.CookieName, new CookieOptions { Secure = true, Path = "/" });
    }
}
