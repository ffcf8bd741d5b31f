using Custodian.Access;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Custodian.Gateway;

/// <summary>
/// Refuses requests whose headers exceed <see cref="GatewayOptions.MaxRequestHeaderBytes"/> before the device
/// gateway looks at them: a problem response <c>headers-too-large</c> (431) and a
/// <see cref="AccessTask.DeviceRefused"/> entry in the ledger (a security event: oversized headers are a probe
/// or an attack on parsers, never a store terminal's normal traffic).
/// </summary>
public sealed class RequestLimitsMiddleware(
    RequestDelegate next,
    IOptions<GatewayOptions> options,
    AccessRecorder recorder,
    TimeProvider time,
    ILogger<RequestLimitsMiddleware> logger)
{
    private readonly int _limit = options.Value.MaxRequestHeaderBytes;

    /// <summary>Handles one request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        long total = 0;
        foreach (var header in context.Request.Headers)
        {
            total += header.Key.Length + 4; // ": " and CRLF, as on the wire
            foreach (var value in header.Value)
            {
                total += value?.Length ?? 0;
            }
        }

        if (total <= _limit)
        {
            await next(context);
            return;
        }

        var ip = context.Connection.RemoteIpAddress?.ToString();
        GatewayLog.HeadersTooLarge(logger, total, _limit, ip ?? "an unknown address");
        var error = new CustodianError(AccessErrorCodes.HeadersTooLarge, StatusCodes.Status431RequestHeaderFieldsTooLarge, $"headers: the request's headers exceed {_limit} bytes in total.");
        await recorder.RefuseAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = AccessTask.DeviceRefused,
                Outcome = AccessOutcome.Denied,
                SourceIp = ip,
                Reason = "request headers over the limit", // never the headers: a client controls them
            },
            error,
            context.RequestAborted);
        await Hosting.ProblemResults.WriteAsync(error, context);
    }
}
