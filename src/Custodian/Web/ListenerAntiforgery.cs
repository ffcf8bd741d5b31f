using Custodian.Gateway;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;

namespace Custodian.Web;

/// <summary>
/// The antiforgery service of the two listeners, each with its own cookie name (docs/web.md, "Staff sessions in the
/// browser"): <see cref="StaffCookieName"/> on the terminal listener (console, workstation, staff sign-in) and
/// <see cref="PortalCookieName"/> on the portal listener. Browsers keep cookies per host, not per port (RFC 6265 §8.5),
/// so one browser on a host reaching both listeners holds both; with one shared name each listener would read and
/// replace the other's. Both use the host's data-protection keys, form field <see cref="FormFieldName"/> and header
/// <see cref="HeaderName"/>. A request is the portal's when its connection is tagged <see cref="Listeners.Portal"/>, or,
/// on an untagged connection, when its path is under <c>/portal</c>. Thread-safe.
/// </summary>
public sealed class ListenerAntiforgery : IAntiforgery
{
    /// <summary>Antiforgery cookie on the terminal listener. <c>__Host-</c>: Secure, host-only, Path=/ (RFC 6265bis §4.1.3.2).</summary>
    public const string StaffCookieName = "__Host-custodian-staff-csrf";

    /// <summary>Antiforgery cookie on the portal listener.</summary>
    public const string PortalCookieName = "__Host-custodian-portal-csrf";

    /// <summary>Form field carrying the request token.</summary>
    public const string FormFieldName = "__csrf";

    /// <summary>Header carrying the request token for scripts.</summary>
    public const string HeaderName = "X-CSRF-Token";

    private readonly IAntiforgery _staff;
    private readonly IAntiforgery _portal;

    /// <summary>Builds both listeners' services over <paramref name="dataProtection"/>.</summary>
    /// <param name="dataProtection">The host's data-protection provider (the same keys for both listeners).</param>
    /// <param name="loggerFactory">The host's logging.</param>
    public ListenerAntiforgery(IDataProtectionProvider dataProtection, ILoggerFactory loggerFactory)
    {
        _staff = Build(dataProtection, loggerFactory, StaffCookieName);
        _portal = Build(dataProtection, loggerFactory, PortalCookieName);
    }

    /// <summary>Sets the options every Custodian antiforgery service shares, with <paramref name="cookieName"/>.</summary>
    /// <param name="options">The options to set.</param>
    /// <param name="cookieName">The cookie's name.</param>
    public static void Configure(AntiforgeryOptions options, string cookieName)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Cookie.Name = cookieName;
        options.Cookie.SecurePolicy = CookieSecurePolicy.Always;
        options.Cookie.SameSite = SameSiteMode.Strict;
        options.Cookie.HttpOnly = true;
        options.FormFieldName = FormFieldName;
        options.HeaderName = HeaderName;
    }

    /// <summary>The cookie name <paramref name="context"/>'s listener uses.</summary>
    /// <param name="context">The request.</param>
    /// <returns><see cref="PortalCookieName"/> or <see cref="StaffCookieName"/>.</returns>
    public static string CookieNameFor(HttpContext context) => IsPortal(context) ? PortalCookieName : StaffCookieName;

    /// <inheritdoc />
    public AntiforgeryTokenSet GetAndStoreTokens(HttpContext httpContext) => For(httpContext).GetAndStoreTokens(httpContext);

    /// <inheritdoc />
    public AntiforgeryTokenSet GetTokens(HttpContext httpContext) => For(httpContext).GetTokens(httpContext);

    /// <inheritdoc />
    public Task<bool> IsRequestValidAsync(HttpContext httpContext) => For(httpContext).IsRequestValidAsync(httpContext);

    /// <inheritdoc />
    public Task ValidateRequestAsync(HttpContext httpContext) => For(httpContext).ValidateRequestAsync(httpContext);

    /// <inheritdoc />
    public void SetCookieTokenAndHeader(HttpContext httpContext) => For(httpContext).SetCookieTokenAndHeader(httpContext);

    private IAntiforgery For(HttpContext context) => IsPortal(context) ? _portal : _staff;

    private static bool IsPortal(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Listeners.Of(context) is { } listener
            ? listener == Listeners.Portal
            : context.Request.Path.StartsWithSegments("/portal", StringComparison.OrdinalIgnoreCase);
    }

    private static IAntiforgery Build(IDataProtectionProvider dataProtection, ILoggerFactory loggerFactory, string cookieName)
    {
        // ASP.NET Core's antiforgery implementation is internal: each listener gets its own, built in a private container
        // that shares the host's data-protection provider and logging.
        var services = new ServiceCollection();
        services.AddSingleton(loggerFactory);
        services.AddLogging();
        services.AddAntiforgery(o => Configure(o, cookieName));
        services.AddSingleton(dataProtection);
        return services.BuildServiceProvider().GetRequiredService<IAntiforgery>();
    }
}
