using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Gateway;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Custodian.Web;

/// <summary>
/// Base of every staff page (officer console, clerk workstation). Before any handler runs it requires the
/// device the gateway validated, a staff session from the <see cref="CookieName"/> cookie that is bound
/// to that device's certificate, and one of <see cref="AllowedRoles"/>. Without a session the browser is
/// sent to <c>/staff/sign-in</c> with a return URL; a presented but invalid session and a wrong role are
/// refused and recorded in the ledger as <see cref="AccessTask.Refused"/> entries, as on the terminal API.
/// </summary>
public abstract class StaffPageModel : PageModel
{
    /// <summary>
    /// Name of the staff session cookie. The <c>__Host-</c> prefix makes browsers insist on Secure, Path=/ and
    /// no Domain (RFC 6265bis §4.1.3.2); the cookie is also HttpOnly and SameSite=Strict. Its value is the
    /// session token of <see cref="SessionStore"/>, so idle timeout (15 minutes by default) and absolute
    /// lifetime (12 hours) are the terminal API's.
    /// </summary>
    public const string CookieName = "__Host-custodian-staff";

    /// <summary>Roles allowed on this page.</summary>
    protected abstract IReadOnlyCollection<StaffRole> AllowedRoles { get; }

    /// <summary>The signed-in staff member, device and source address (set before any handler runs).</summary>
    public StaffRequest Staff { get; private set; } = null!;

    /// <inheritdoc />
    [NonHandler] // an override is not excluded from handler discovery by the base's attribute: a 'PAGE' request would call it
    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        if (http.Items[DeviceGatewayMiddleware.DeviceKey] is not DeviceIdentity device)
        {
            context.Result = NotFound();
            return;
        }

        var token = http.Request.Cookies[CookieName];
        var ip = http.Connection.RemoteIpAddress?.ToString();
        if (string.IsNullOrEmpty(token))
        {
            context.Result = Redirect(SignInUrl(http.Request));
            return;
        }

        var sessions = http.RequestServices.GetRequiredService<SessionStore>();
        var session = sessions.Validate(token, device);
        if (!session.IsSuccess || !AllowedRoles.Contains(session.Value.Principal.Role))
        {
            var error = session.IsSuccess
                ? new Problems.CustodianError(Problems.ErrorCodes.RoleNotPermitted, 403, "This page is not for your role.")
                : session.Error!;
            await http.RequestServices.GetRequiredService<AccessRecorder>().RefuseAsync(
                new AccessEntry
                {
                    Time = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow(),
                    Task = AccessTask.Refused,
                    Outcome = AccessOutcome.Denied,
                    Account = session.IsSuccess ? session.Value.Principal.Id : null,
                    Role = session.IsSuccess ? session.Value.Principal.Role : null,
                    Terminal = device.Terminal,
                    Store = device.Store,
                    SourceIp = ip,
                    Reason = "web page",
                },
                error,
                http.RequestAborted);
            if (!session.IsSuccess)
            {
                http.Response.Cookies.Delete(CookieName, new CookieOptions { Secure = true, Path = "/" });
                context.Result = Redirect(SignInUrl(http.Request));
            }
            else
            {
                context.Result = new ViewResult { ViewName = "/Pages/Shared/Forbidden.cshtml", StatusCode = StatusCodes.Status403Forbidden };
            }

            return;
        }

        Staff = new StaffRequest(device, session.Value, ip);
        http.Items[StaffApi.StaffKey] = Staff;
        await next();
    }

    private static string SignInUrl(HttpRequest request) =>
        "/staff/sign-in" + QueryString.Create("returnUrl", request.PathBase + request.Path + request.QueryString);

    /// <summary>Where a staff member lands after signing in without a return URL: officers the console, store staff the workstation.</summary>
    public static string Home(StaffRole role) => role.IsStoreStaff() ? "/workstation" : "/console";
}
