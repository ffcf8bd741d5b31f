using Custodian.Portal;
using Custodian.Transparency;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Custodian.Pages.Portal;

/// <summary>
/// Base of the subscriber portal's signed-in pages (docs/portal.md, "Pages"). Before any handler runs it
/// resolves the portal session from the <see cref="CookieName"/> cookie (Secure, HttpOnly, SameSite=Strict,
/// host-only by the <c>__Host-</c> prefix) — no or an ended session sends the browser to <c>/portal/sign-in</c> —
/// and applies <see cref="PortalGuard.Smuggled"/>: a query parameter the page does not declare or a cookie named
/// like an identifier is refused (400). The subject of every page is the session's and comes from nowhere else.
/// </summary>
public abstract class PortalPageModel : PageModel
{
    /// <summary>The portal session cookie. Its value is the same token the API takes as a bearer.</summary>
    public const string CookieName = "__Host-custodian-portal";

    private static readonly HashSet<string> BaseQuery = new(StringComparer.OrdinalIgnoreCase) { "lang", "handler" };

    /// <summary>The signed-in subscriber's session (set before any handler runs).</summary>
    public PortalSession Session { get; private set; } = null!;

    /// <summary>Query parameters this page accepts besides <c>lang</c> and <c>handler</c>.</summary>
    protected virtual IReadOnlyCollection<string> QueryKeys => [];

    /// <inheritdoc />
    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var session = http.RequestServices.GetRequiredService<PortalSignIn>().Validate(http.Request.Cookies[CookieName]);
        if (!session.IsSuccess)
        {
            http.Response.Cookies.Delete(CookieName, new CookieOptions { Secure = true, Path = "/" });
            context.Result = Redirect("/portal/sign-in");
            return;
        }

        var allowed = new HashSet<string>(BaseQuery.Concat(QueryKeys), StringComparer.OrdinalIgnoreCase);
        if (PortalGuard.Smuggled(http, allowed, bodyAllowed: !HttpMethods.IsGet(http.Request.Method)) is { } smuggled)
        {
            context.Result = new ProblemResult(smuggled); // the stable code (not-your-data), as on the portal API
            return;
        }

        Session = session.Value;
        await next();
    }

    /// <summary>Sets the session cookie (after a successful sign-in).</summary>
    internal static void SetCookie(HttpResponse response, string token) =>
        response.Cookies.Append(CookieName, token, new CookieOptions { Secure = true, HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", IsEssential = true });

    /// <summary>Whether the page is shown in Korean.</summary>
    public static bool Korean => Web.WebFoundation.Language == "ko";

    /// <summary>A time as Korea Standard Time, <c>yyyy-MM-dd HH:mm:ss</c>.</summary>
    public static string Kst(DateTimeOffset time) => time.ToOffset(AccessHistory.KoreaOffset).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes a <see cref="Problems.CustodianError"/> as its RFC 9457 problem.</summary>
    private sealed class ProblemResult(Problems.CustodianError error) : IActionResult
    {
        public Task ExecuteResultAsync(ActionContext context) => Hosting.ProblemResults.WriteAsync(error, context.HttpContext);
    }
}
