using System.Text.RegularExpressions;
using Custodian.Hosting;
using Custodian.Problems;
using Custodian.Transparency;

namespace Custodian.Portal;

/// <summary>
/// Object-level authorisation for the portal API (DESIGN.md: "holding a session never lets you name someone
/// else's subscriber ID, contract number or claim"). The subject of every portal request is the session's
/// and comes from nowhere else. The filter refuses, before the handler runs:
/// no or an ended session (401 <c>session-required</c>); a query parameter the endpoint does not declare,
/// a request body where the endpoint takes none, or a cookie named like an identifier (<c>subscriber</c>, <c>subject</c>,
/// <c>contract</c>, <c>customer</c>, <c>msisdn</c>, <c>phone</c>, <c>account</c>, <c>user</c>) (400 <c>not-your-data</c>).
/// JSON bodies of portal endpoints reject unknown members (400), so a smuggled <c>subscriberId</c> is refused too.
/// </summary>
public static partial class PortalGuard
{
    /// <summary>Key of the <see cref="PortalSession"/> in <see cref="HttpContext.Items"/> once the filter has passed.</summary>
    public const string SessionKey = "custodian.portal.session";

    /// <summary>An endpoint filter requiring a portal bearer session and allowing only <paramref name="queryKeys"/> in the query.</summary>
    /// <param name="queryKeys">Query parameter names the endpoint accepts (case-insensitive).</param>
    public static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> Require(params string[] queryKeys)
    {
        var allowed = new HashSet<string>(queryKeys, StringComparer.OrdinalIgnoreCase);
        return async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var signIn = context.RequestServices.GetRequiredService<PortalSignIn>();
            var session = signIn.Validate(Bearer(context));
            if (!session.IsSuccess)
            {
                return session.Error!.ToProblem();
            }

            var takesBody = context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>() is not null;
            if (Smuggled(context, allowed, takesBody) is { } error)
            {
                return error.ToProblem();
            }

            context.Items[SessionKey] = session.Value;
            return await next(invocation);
        };
    }

    /// <summary>The session the filter resolved.</summary>
    /// <exception cref="InvalidOperationException">When called on an endpoint without the filter.</exception>
    public static PortalSession Session(HttpContext context) =>
        context.Items[SessionKey] as PortalSession ?? throw new InvalidOperationException("The portal guard did not run for this endpoint.");

    /// <summary>The bearer token of the request, or null.</summary>
    public static string? Bearer(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : null;
    }

    /// <summary>The refusal for a request that tries to name a subject or anything else outside its declared inputs, or null.</summary>
    /// <param name="context">The request.</param>
    /// <param name="allowedQueryKeys">Query parameter names the endpoint accepts.</param>
    /// <param name="bodyAllowed">Whether the endpoint takes a request body.</param>
    public static CustodianError? Smuggled(HttpContext context, IReadOnlySet<string> allowedQueryKeys, bool bodyAllowed)
    {
        var unexpected = context.Request.Query.Keys.FirstOrDefault(k => !allowedQueryKeys.Contains(k));
        if (unexpected is not null)
        {
            return new CustodianError(ErrorCodes.NotYourData, 400, "Portal requests are always about you; this query parameter is not accepted here.");
        }

        var hasBody = context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0;
        if (hasBody && !bodyAllowed)
        {
            return new CustodianError(ErrorCodes.ValidationFailed, 400, "This portal request takes no body."); // an unexpected body, not a second subject: any body at all
        }

        if (context.Request.Cookies.Keys.Any(IdentifierCookie().IsMatch))
        {
            return new CustodianError(ErrorCodes.NotYourData, 400, "Portal requests are always about you; a cookie naming an identifier is not accepted.");
        }

        return null;
    }

    [GeneratedRegex("subscriber|subject|contract|customer|msisdn|phone|account|user", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierCookie();
}
