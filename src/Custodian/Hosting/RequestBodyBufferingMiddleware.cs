using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Custodian.Hosting;

/// <summary>
/// Reads a request body of unknown length (no <c>Content-Length</c>: HTTP/1.1 chunked, or HTTP/2 and HTTP/3 DATA
/// frames without the header) into memory before any endpoint sees it, so that a body over
/// <see cref="CustodianOptions.MaxRequestBodyBytes"/> (64 KiB by default) is refused the same way on every protocol:
/// 413 <c>body-too-large</c> from Kestrel's limit, turned into a problem by <see cref="ProblemMiddleware"/>.
/// </summary>
/// <remarks>
/// Without it, an over-long HTTP/2 body with no <c>Content-Length</c> reached the JSON binder, whose reader then failed
/// with an <see cref="InvalidOperationException"/> ("The PipeReader has already advanced past the provided position")
/// instead of Kestrel's 413, and the client got 500 <c>internal-error</c> — on the portal's sign-in too, before any
/// authentication. A body with a <c>Content-Length</c> is left alone (Kestrel refuses an over-long one before reading it).
/// Memory per request is bounded by the limit. The buffered body replaces <see cref="HttpRequest.Body"/> and
/// <see cref="HttpRequest.ContentLength"/> is set to its length.
/// </remarks>
public sealed class RequestBodyBufferingMiddleware(RequestDelegate next)
{
    /// <summary>Handles one request.</summary>
    /// <exception cref="BadHttpRequestException">From Kestrel, 413, when the body exceeds the limit (answered by <see cref="ProblemMiddleware"/>).</exception>
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.ContentLength is not null || context.Features.Get<IHttpRequestBodyDetectionFeature>() is not { CanHaveBody: true })
        {
            await next(context);
            return;
        }

        var reader = request.BodyReader;
        byte[] body;
        while (true)
        {
            // Nothing is consumed until the end: Kestrel counts every byte read against MaxRequestBodySize and throws its
            // 413 BadHttpRequestException from ReadAsync once the body passes it.
            var result = await reader.ReadAsync(context.RequestAborted);
            if (result.IsCompleted)
            {
                body = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                break;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        request.Body = new MemoryStream(body, writable: false);
        request.ContentLength = body.Length;
        await next(context);
    }
}
