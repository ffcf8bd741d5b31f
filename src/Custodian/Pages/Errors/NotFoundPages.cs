using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Mvc.ViewFeatures;

namespace Custodian.Pages.Errors;

/// <summary>Marker type of the error pages' strings: the English text is the key; Korean in <c>Resources/Pages/Errors/ErrorText.ko.resx</c>.</summary>
public sealed class ErrorText;

/// <summary>
/// Not-found answers for people (docs/incidents.md, "Not found"): a request for a page path — <c>/portal/…</c> except
/// <c>/portal/api/…</c>, <c>/console/…</c>, <c>/workstation/…</c>, <c>/staff/…</c> — that ends in an empty 404 (an unknown
/// path, or a page whose case, claim or alert does not exist) gets an HTML page in the request's language (Korean
/// default, English) with the site's layout and security headers, instead of the RFC 9457 problem the APIs answer with.
/// Only GET and HEAD: a form post to an unknown page keeps the problem answer.
/// </summary>
public static class NotFoundPages
{
    /// <summary>The view rendered: <c>Pages/Errors/NotFound.cshtml</c>.</summary>
    public const string ViewName = "/Pages/Errors/NotFound.cshtml";

    private static readonly string[] PageAreas = ["/portal", "/console", "/workstation", "/staff"];

    /// <summary>
    /// Adds the HTML not-found answer for page paths. Call right after the API's status-code problem handler and before
    /// <c>UseCustodianWeb</c>, so it answers first and the culture and security headers of the request apply.
    /// </summary>
    public static WebApplication UseNotFoundPages(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWhen(IsPageRequest, branch => branch.UseStatusCodePages(WriteAsync));
        return app;
    }

    /// <summary>Whether the request is a GET or HEAD for a page path (not an API under <c>/portal/api</c>).</summary>
    public static bool IsPageRequest(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var path = context.Request.Path;
        return (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            && PageAreas.Any(a => path.StartsWithSegments(a, StringComparison.OrdinalIgnoreCase))
            && !path.StartsWithSegments("/portal/api", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task WriteAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        if (http.Response.StatusCode != StatusCodes.Status404NotFound)
        {
            return; // the problem handler answers every other status
        }

        // The culture the localization middleware chose for this request (its thread culture does not flow back out here).
        if (http.Features.Get<IRequestCultureFeature>() is { } culture)
        {
            System.Globalization.CultureInfo.CurrentCulture = culture.RequestCulture.Culture;
            System.Globalization.CultureInfo.CurrentUICulture = culture.RequestCulture.UICulture;
        }

        var view = new ViewResult
        {
            ViewName = ViewName,
            StatusCode = StatusCodes.Status404NotFound,
            ViewData = new ViewDataDictionary(new EmptyModelMetadataProvider(), new ModelStateDictionary()),
        };
        await view.ExecuteResultAsync(new ActionContext(http, http.GetRouteData(), new ActionDescriptor()));
    }
}
