using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Access.Terminals;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.Extensions.Logging;

namespace Custodian.Gateway;

/// <summary>
/// Network zones, staff standing, opening hours and trust classes, right after the device gateway validated the device
/// (docs/access.md §3). A session whose account was disabled, re-enabled, reset or moved (role or store) since it opened
/// is ended here (docs/access.md §6), whichever process or node made the change, also once the account is active again.
/// Requests without a validated device (the portal listener, enrollment, the CA certificate, health) pass untouched.
/// A refusal is a problem response and a ledger entry: <see cref="AccessTask.DeviceRefused"/> for a device outside its
/// zone, <see cref="AccessTask.Refused"/> for closed hours and trust classes.
/// </summary>
public sealed class NetworkPolicyMiddleware(
    RequestDelegate next,
    NetworkPolicy policy,
    SessionStore sessions,
    Access.Staff.StaffDirectory staff,
    AccessRecorder recorder,
    TimeProvider time,
    ILogger<NetworkPolicyMiddleware> logger)
{
    /// <summary>Handles one request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Items[DeviceGatewayMiddleware.DeviceKey] is not DeviceIdentity device)
        {
            await next(context);
            return;
        }

        var address = context.Connection.RemoteIpAddress;
        if (policy.CheckZone(device, address) is { } zoneRefusal)
        {
            await RefuseAsync(context, device, AccessTask.DeviceRefused, zoneRefusal);
            return;
        }

        var session = Session(context, sessions, device);
        if (session is not null && !await staff.GetStandingAsync(session.Principal, session.SignedInAt))
        {
            // A leaver (disabled) or mover (role or store changed) since the session opened: every session of the
            // account ends now; the endpoint then refuses the request for want of a session, and records that.
            sessions.RevokeAccount(session.Principal.Id);
            GatewayLog.SessionsEnded(logger, session.Principal.Id);
            session = null;
        }

        var path = context.Request.Path;
        var maintenance = path.Equals("/api/v1/terminal/renewals", StringComparison.Ordinal) || path.StartsWithSegments("/static", StringComparison.Ordinal);
        if (!maintenance && policy.CheckHours(device, time.GetUtcNow(), session?.CreatedAt) is { } hoursRefusal)
        {
            await RefuseAsync(context, device, AccessTask.Refused, hoursRefusal);
            return;
        }

        if (AccessTaskOf(context) is { } task && policy.CheckTaskClass(device, task) is { } classRefusal)
        {
            await RefuseAsync(context, device, AccessTask.Refused, classRefusal);
            return;
        }

        await next(context);
    }

    /// <summary>
    /// The ledger task an endpoint performs: its <see cref="AccessTaskMetadata"/>, or for the terminal API's existing
    /// endpoints, from their names. Null for endpoints that read no personal data.
    /// </summary>
    internal static string? AccessTaskOf(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<AccessTaskMetadata>() is { } declared)
        {
            return declared.Task.ToName();
        }

        return endpoint?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName switch
        {
            "SearchSubscribers" => AccessTask.Search.ToName(),
            "ViewSubscriber" => AccessTask.View.ToName(),
            "Unmask" => AccessTask.Unmask.ToName(),
            "ReviewExport" => AccessTask.Export.ToName(),
            _ => null,
        };
    }

    /// <summary>
    /// The live session of <paramref name="device"/> that the request names (bearer token, or the staff pages' cookie), without
    /// touching its idle timer; null when it names none.
    /// </summary>
    internal static StaffSession? Session(HttpContext context, SessionStore sessions, DeviceIdentity device)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : context.Request.Cookies[Web.StaffPageModel.CookieName];
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        return sessions.Peek(token, device);
    }

    private async Task RefuseAsync(HttpContext context, DeviceIdentity device, AccessTask task, CustodianError error)
    {
        var ip = context.Connection.RemoteIpAddress?.ToString();
        GatewayLog.PolicyRefused(logger, error.Code, device.Terminal, ip ?? "an unknown address");
        await recorder.RefuseAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = task,
                Outcome = AccessOutcome.Denied,
                Terminal = device.Terminal,
                Store = device.Store,
                SourceIp = ip,
                Reason = "gateway policy: " + device.TrustClass.ToName(),
            },
            error,
            context.RequestAborted);
        await Hosting.ProblemResults.WriteAsync(error, context);
    }
}

/// <summary>
/// Endpoint metadata naming the ledger task an endpoint performs, so that <see cref="NetworkPolicyMiddleware"/> applies
/// <see cref="GatewayOptions.TaskClasses"/> to it: <c>.WithMetadata(new AccessTaskMetadata(AccessTask.Download))</c>.
/// </summary>
/// <param name="Task">The task.</param>
public sealed record AccessTaskMetadata(AccessTask Task);
