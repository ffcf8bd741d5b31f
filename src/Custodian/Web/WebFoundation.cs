using System.Globalization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Localization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using HeaderNames = Microsoft.Net.Http.Headers.HeaderNames;

namespace Custodian.Web;

/// <summary>
/// The web pages' common ground (docs/web.md): Razor Pages compiled into the <c>custodian</c> assembly,
/// Korean (default) and English, CSS and scripts embedded from <c>src/Custodian/wwwroot</c> and served at
/// <c>/static/…</c>, and strict security headers on every HTML response. Areas: <c>/portal/…</c> on the
/// portal listener; <c>/console/…</c>, <c>/workstation/…</c> and <c>/staff/…</c> on the terminal listener,
/// behind the device gateway (mutual TLS with an enrolled device certificate).
/// </summary>
public static class WebFoundation
{
    /// <summary>Supported UI cultures; the first is the default (the product serves Korean subscribers and staff).</summary>
    public static readonly IReadOnlyList<string> Cultures = ["ko", "en"];

    /// <summary>Query parameter that switches the UI language (<c>?lang=ko</c> or <c>?lang=en</c>); the choice is kept in a cookie.</summary>
    public const string LanguageQuery = "lang";

    /// <summary>URL prefix of the embedded static assets (CSS, scripts). They carry no personal data and are served on both listeners.</summary>
    public const string StaticPath = "/static";

    /// <summary>
    /// Content-Security-Policy of every HTML response: same-origin scripts, styles, images, forms and
    /// connections only; no inline script or style (so injected markup cannot run or restyle the page);
    /// never framed (clickjacking); no plugins; no &lt;base&gt; rewriting.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

    /// <summary>
    /// Registers Razor Pages (with <see cref="PageHandlerGuard"/>: a request no handler method answers is refused, never
    /// rendered with nothing loaded; and <see cref="AntiforgeryFailureMarker"/>), localization and antiforgery for the web pages, and the route
    /// constraint <see cref="NotLiteralRouteConstraint"/> (<c>not(…)</c>) the APIs use.
    /// </summary>
    public static IServiceCollection AddCustodianWeb(this IServiceCollection services)
    {
        services.AddRazorPages().AddMvcOptions(o =>
        {
            o.Filters.Add(new PageHandlerGuard());
            o.Filters.Add(new AntiforgeryFailureMarker());
        });
        services.AddLocalization(o => o.ResourcesPath = "Resources");
        services.Configure<RouteOptions>(o =>
        {
            o.LowercaseUrls = true;
            o.SetParameterPolicy<NotLiteralRouteConstraint>(NotLiteralRouteConstraint.Name);
        });
        // __Host- cookies are Secure, host-only and Path=/ by rule (RFC 6265bis §4.1.3.2). Each listener has its own cookie
        // name (a browser shares cookies across ports): ListenerAntiforgery replaces the single service Razor Pages register.
        services.AddAntiforgery(o => ListenerAntiforgery.Configure(o, ListenerAntiforgery.StaffCookieName));
        services.AddSingleton<ListenerAntiforgery>();
        services.Replace(ServiceDescriptor.Singleton<IAntiforgery>(sp => sp.GetRequiredService<ListenerAntiforgery>()));
        return services;
    }

    /// <summary>
    /// Adds, in this order: security headers (on HTML responses; <c>nosniff</c>, <c>no-referrer</c> and, unless the response
    /// sets its own, <c>Cache-Control: no-store</c> on every response), the UI culture (query, cookie,
    /// <c>Accept-Language</c>, else Korean) and the embedded static files at <see cref="StaticPath"/>.
    /// Call before the device gateway so that static assets need no device certificate.
    /// </summary>
    public static WebApplication UseCustodianWeb(this WebApplication app)
    {
        app.Use(static (context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var response = ((HttpContext)state).Response;
                response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
                response.Headers["Referrer-Policy"] = "no-referrer";
                if (response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true)
                {
                    response.Headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
                    response.Headers[HeaderNames.XFrameOptions] = "DENY";
                    response.Headers["Cross-Origin-Opener-Policy"] = "same-origin";
                    response.Headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()";

                    // Pages show personal data: never stored by the browser or a proxy.
                    response.Headers[HeaderNames.CacheControl] = "no-store";
                }
                else if (!response.Headers.ContainsKey(HeaderNames.CacheControl))
                {
                    // API answers carry personal data too (search hits, a view, an unmasked RRN, a subscriber's history and
                    // receipts): no browser or proxy keeps them either. Static assets set their own (no-cache) and keep it.
                    response.Headers[HeaderNames.CacheControl] = "no-store";
                }

                return Task.CompletedTask;
            }, context);
            return next(context);
        });

        var cultures = Cultures.Select(CultureInfo.GetCultureInfo).ToList();
        var localization = new RequestLocalizationOptions
        {
            DefaultRequestCulture = new RequestCulture(Cultures[0]),
            SupportedCultures = cultures,
            SupportedUICultures = cultures,
            FallBackToParentCultures = true,
            FallBackToParentUICultures = true,
        };
        localization.RequestCultureProviders =
        [
            new QueryStringRequestCultureProvider { QueryStringKey = LanguageQuery, UIQueryStringKey = LanguageQuery },
            new CookieRequestCultureProvider(),
            new AcceptLanguageHeaderRequestCultureProvider(),
        ];
        app.UseRequestLocalization(localization);
        app.Use(static (context, next) =>
        {
            // Keep an explicit choice of language for the next pages.
            if (context.Request.Query.TryGetValue(LanguageQuery, out var lang) && Cultures.Contains(lang.ToString(), StringComparer.Ordinal))
            {
                context.Response.Cookies.Append(
                    CookieRequestCultureProvider.DefaultCookieName,
                    CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(lang.ToString())),
                    new CookieOptions { Secure = true, HttpOnly = true, SameSite = SameSiteMode.Lax, Path = "/", MaxAge = TimeSpan.FromDays(365), IsEssential = true });
            }

            return next(context);
        });

        app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = StaticPath,
            FileProvider = new EmbeddedFileProvider(typeof(WebFoundation).Assembly, "Custodian.wwwroot"),
            ServeUnknownFileTypes = false,
            OnPrepareResponse = static file => file.Context.Response.Headers[HeaderNames.CacheControl] = "no-cache",
        });
        return app;
    }

    /// <summary>
    /// The current URL with the language switched to <paramref name="culture"/>, other query parameters kept
    /// (a relative URL: path and query only, so it can never point off-site).
    /// </summary>
    public static string LanguageUrl(HttpRequest request, string culture)
    {
        var query = request.Query
            .Where(q => !string.Equals(q.Key, LanguageQuery, StringComparison.OrdinalIgnoreCase))
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
            .Append(new KeyValuePair<string, string?>(LanguageQuery, culture));
        return request.PathBase + request.Path + QueryString.Create(query);
    }

    /// <summary>The two-letter UI language of this request (<c>ko</c> or <c>en</c>).</summary>
    public static string Language => CultureInfo.CurrentUICulture.TwoLetterISOLanguageName;
}
