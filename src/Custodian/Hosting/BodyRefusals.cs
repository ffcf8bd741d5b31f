using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Gateway;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;

namespace Custodian.Hosting;

/// <summary>
/// Records a request body refused on the terminal listener — 400 <c>validation-failed</c> (JSON that cannot be read),
/// 413 <c>body-too-large</c>, 415 <c>unsupported-media-type</c> — which is answered before the endpoint's session filter
/// runs (by <see cref="ProblemMiddleware"/> or the status-code pages), as the gateway and the guard record theirs: a denied
/// <see cref="AccessTask.Refused"/> entry with the problem's code, the device's terminal and store (when its certificate was
/// accepted), the account and role of a live session of that device the request names (looked up without touching its
/// idle timer), the source address, and the method and route pattern in the reason (none for a media type that no route takes) — never the body, the path or the
/// query, which the client controls. The portal listener's requests are not recorded here.
/// </summary>
internal static class BodyRefusals
{
    /// <summary>Appends the refusal (a ledger that cannot record it is logged, and the refusal stands).</summary>
    public static async Task RecordAsync(HttpContext context, CustodianError error)
    {
        if (Listeners.Of(context) != Listeners.Terminal)
        {
            return;
        }

        var services = context.RequestServices;
        var device = context.Items[DeviceGatewayMiddleware.DeviceKey] as DeviceIdentity;
        var session = device is null ? null : NetworkPolicyMiddleware.Session(context, services.GetRequiredService<SessionStore>(), device);
        // A body of a media type no endpoint takes matches no route (the router answers 415 itself), so none can be named.
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText
            ?? (error.Code == ErrorCodes.UnsupportedMediaType ? "(no route takes this media type)" : "(no route)");
        await services.GetRequiredService<AccessRecorder>().RefuseAsync(
            new AccessEntry
            {
                Time = services.GetRequiredService<TimeProvider>().GetUtcNow(),
                Task = AccessTask.Refused,
                Outcome = AccessOutcome.Denied,
                Account = session?.Principal.Id,
                Role = session?.Principal.Role,
                Terminal = device?.Terminal,
                Store = device?.Store,
                SourceIp = context.Connection.RemoteIpAddress?.ToString(),
                Reason = $"request body refused: {context.Request.Method} {route}", // the route's pattern, never the path, query or body
            },
            error,
            CancellationToken.None); // recorded even when the client has gone
    }
}
