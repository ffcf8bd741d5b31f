using Custodian.Problems;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Net.Http.Headers;

namespace Custodian.Web;

/// <summary>
/// A page request for which Razor Pages selected no handler method is refused before the page renders (docs/web.md).
/// Razor Pages otherwise render such a page with nothing loaded: a form post to <c>/console/incidents/{id}</c> with no
/// <c>?handler=</c> or an unknown one (<c>?handler=Bogus</c>) read the unloaded case and answered 500 (found by a README-only
/// evaluation). The refusal is an RFC 9457 problem, as for every other form post the pages refuse:
/// <list type="bullet">
/// <item>404 <see cref="ErrorCodes.NotFound"/> when the page takes the request's method but none of its handlers for that
/// method is named by the request (the handler is part of the form's address, like an unknown path);</item>
/// <item>405 <see cref="ErrorCodes.MethodNotAllowed"/>, with an <c>Allow</c> header, when the page has no handler for the
/// request's method at all (e.g. a POST to a list page that only answers GET).</item>
/// </list>
/// A page that declares no handler methods at all is left alone. The filter runs after the page model's own checks
/// (<see cref="StaffPageModel"/>: device, session and role), so a request without a session is still sent to sign in.
/// </summary>
public sealed class PageHandlerGuard : IAsyncPageFilter
{
    /// <summary>The 404's message (no field value is echoed).</summary>
    public const string UnknownHandlerMessage = "This page has no such action: a form here must name one of the page's actions with '?handler=' (reload the page and send it again).";

    private static readonly HashSet<string> StandardMethods = new(["GET", "POST", "PUT", "PATCH", "DELETE"], StringComparer.Ordinal);

    /// <inheritdoc />
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var handlers = context.ActionDescriptor.HandlerMethods;
        if (context.HandlerMethod is not null || handlers.Count == 0)
        {
            await next();
            return;
        }

        var methods = handlers.Select(h => h.HttpMethod.ToUpperInvariant()).Where(m => StandardMethods.Contains(m)).Distinct(StringComparer.Ordinal).ToList();
        if (methods.Contains("GET"))
        {
            methods.Add("HEAD"); // Razor Pages answer HEAD with the GET handler
        }

        var method = context.HttpContext.Request.Method;
        if (methods.Contains(method, StringComparer.OrdinalIgnoreCase))
        {
            context.Result = new ProblemResult(new CustodianError(ErrorCodes.NotFound, StatusCodes.Status404NotFound, UnknownHandlerMessage));
            return;
        }

        context.HttpContext.Response.Headers[HeaderNames.Allow] = string.Join(", ", methods.Order(StringComparer.Ordinal));
        context.Result = new ProblemResult(new CustodianError(ErrorCodes.MethodNotAllowed, StatusCodes.Status405MethodNotAllowed, "Method not allowed."));
    }

    /// <summary>Writes a <see cref="CustodianError"/> as its RFC 9457 problem.</summary>
    private sealed class ProblemResult(CustodianError error) : IActionResult
    {
        public Task ExecuteResultAsync(ActionContext context) => Hosting.ProblemResults.WriteAsync(error, context.HttpContext);
    }
}
