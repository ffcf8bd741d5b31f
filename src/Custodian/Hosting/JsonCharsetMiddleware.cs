using Custodian.Problems;
using Microsoft.Net.Http.Headers;

namespace Custodian.Hosting;

/// <summary>
/// Refuses a JSON body (<c>application/json</c> or <c>application/*+json</c>) whose <c>Content-Type</c> names a charset
/// other than UTF-8 (RFC 8259 §8.1: JSON exchanged between systems is UTF-8) with 415 <c>unsupported-media-type</c>,
/// before any endpoint binds it, and records the refusal on the terminal listener as the binder's are
/// (<see cref="BodyRefusals"/>). The charset is never echoed.
/// </summary>
/// <remarks>
/// Without it, <c>charset=utf-16</c> made the binder transcode UTF-8 bytes into nonsense and answer 400 "not valid … byte 0",
/// and a charset .NET does not know was an unhandled exception (500). A body of zero bytes, a media type that is not JSON
/// (left to the endpoint's own 415) and <c>charset=utf-8</c> (any case, quoted or not) pass.
/// </remarks>
public sealed class JsonCharsetMiddleware(RequestDelegate next)
{
    /// <summary>The problem's detail (fixed text: the client's charset is not repeated).</summary>
    public const string Detail = "The body must be JSON in UTF-8, sent with 'Content-Type: application/json' (a charset, if named, must be utf-8).";

    /// <summary>Handles one request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        if (IsRefused(context.Request, out var quotedUtf8))
        {
            var error = new CustodianError(ErrorCodes.UnsupportedMediaType, StatusCodes.Status415UnsupportedMediaType, Detail);
            await BodyRefusals.RecordAsync(context, error);
            await error.WriteAsync(context);
            return;
        }

        if (quotedUtf8 is { } mediaType)
        {
            // charset="utf-8" is utf-8 (RFC 9110 §5.6.6), but the JSON binder takes the quotes for the charset's name.
            context.Request.ContentType = mediaType + "; charset=utf-8";
        }

        await next(context);
    }

    private static bool IsRefused(HttpRequest request, out string? quotedUtf8)
    {
        quotedUtf8 = null;
        if (request.ContentType is { } plain
            && (plain.Equals("application/json", StringComparison.OrdinalIgnoreCase) || plain.Equals("application/json; charset=utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return false; // what terminals send (HttpClient's JsonContent): no header parsing on the guarded reads' path
        }

        if (request.ContentLength is 0
            || request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>() is not { CanHaveBody: true }
            || request.ContentType is not { } contentType
            || !MediaTypeHeaderValue.TryParse(contentType, out var mediaType))
        {
            return false;
        }

        var isJson = mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.Type.Equals("application", StringComparison.OrdinalIgnoreCase) && mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));
        if (!isJson)
        {
            return false;
        }

        var quoted = false;
        foreach (var parameter in mediaType.Parameters)
        {
            if (!parameter.Name.Equals("charset", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!HeaderUtilities.RemoveQuotes(parameter.Value).Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            quoted |= HeaderUtilities.IsQuoted(parameter.Value);
        }

        if (quoted)
        {
            quotedUtf8 = mediaType.MediaType.ToString();
        }

        return false;
    }
}
