using Custodian.Access.Certificates;
using Custodian.Access.Terminals;
using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.Extensions.Logging;

namespace Custodian.Gateway;

/// <summary>
/// Device trust at the door of the sales-terminal API. Every request on the terminal listener,
/// except enrollment (which carries its own one-time code), must present a client certificate
/// issued by Custodian's CA, within its validity, for an active, unrevoked terminal. Otherwise the
/// request never reaches a handler: it gets a problem response and is recorded in the ledger as a
/// <see cref="AccessTask.DeviceRefused"/> security event. Routes of the other listener are not
/// reachable here, and vice versa. The root (<c>GET /</c>, the address <c>serve</c> prints) redirects (302) to the
/// listener's sign-in page: <c>/portal/sign-in</c> on the portal listener, <c>/staff/sign-in</c> on the terminal listener
/// once the device's certificate has been accepted.
/// </summary>
public sealed class DeviceGatewayMiddleware(
    RequestDelegate next,
    CertificateAuthority ca,
    TerminalRegistry terminals,
    AccessRecorder recorder,
    TimeProvider time,
    ILogger<DeviceGatewayMiddleware> logger)
{
    /// <summary><see cref="HttpContext.Items"/> key of the validated <see cref="DeviceIdentity"/>.</summary>
    public const string DeviceKey = "custodian.device";

    /// <summary>Handles one request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var listener = Listeners.Of(context);
        var path = context.Request.Path;
        var isPortalPath = path.StartsWithSegments("/portal", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/ledger", StringComparison.OrdinalIgnoreCase); // the transparency API is public, on the portal listener only
        if (listener == Listeners.Portal)
        {
            if (IsRoot(context))
            {
                context.Response.Redirect("/portal/sign-in"); // the address `serve` prints: a subscriber's browser lands on sign-in
                return;
            }

            if (!isPortalPath && !path.StartsWithSegments("/health", StringComparison.Ordinal))
            {
                await NotFound().WriteAsync(context);
                return;
            }

            await next(context);
            return;
        }

        if (isPortalPath)
        {
            await NotFound().WriteAsync(context);
            return;
        }

        if (IsOpen(context))
        {
            await next(context);
            return;
        }

        var certificate = await context.Connection.GetClientCertificateAsync(context.RequestAborted);
        var identity = ca.ValidateClientCertificate(certificate);
        if (!identity.IsSuccess)
        {
            await RefuseAsync(context, identity.Error!, terminal: null, store: null);
            return;
        }

        var status = await terminals.CheckAsync(identity.Value);
        if (!status.IsSuccess)
        {
            await RefuseAsync(context, status.Error!, identity.Value.Terminal, identity.Value.Store);
            return;
        }

        context.Items[DeviceKey] = identity.Value;
        if (IsRoot(context))
        {
            context.Response.Redirect("/staff/sign-in"); // an enrolled device's browser at the printed address: staff sign-in
            return;
        }

        await next(context);
    }

    private static bool IsRoot(HttpContext context) =>
        (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)) && context.Request.Path.Value is null or "" or "/";

    private static bool IsOpen(HttpContext context)
    {
        var path = context.Request.Path;
        return (HttpMethods.IsPost(context.Request.Method) && path.Equals("/api/v1/enroll", StringComparison.Ordinal))
            || (HttpMethods.IsGet(context.Request.Method) && path.Equals("/api/v1/ca", StringComparison.Ordinal))
            || path.StartsWithSegments("/openapi", StringComparison.Ordinal)
            || path.StartsWithSegments("/health", StringComparison.Ordinal);
    }

    private static CustodianError NotFound() => new(ErrorCodes.NotFound, StatusCodes.Status404NotFound, "No such resource on this listener.");

    private async Task RefuseAsync(HttpContext context, CustodianError error, string? terminal, string? store)
    {
        var ip = context.Connection.RemoteIpAddress?.ToString();
        Hosting.Log.DeviceRefused(logger, error.Code, ip ?? "an unknown address", terminal ?? "none"); // never "(null)" in the line
        await recorder.RefuseAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = AccessTask.DeviceRefused,
                Outcome = AccessOutcome.Denied,
                Terminal = terminal,
                Store = store,
                SourceIp = ip,
                Reason = "request method " + context.Request.Method, // never the path or query: a client controls them
            },
            error,
            context.RequestAborted);
        await error.WriteAsync(context);
    }
}
