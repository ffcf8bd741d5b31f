using System.Text.Unicode;
using Custodian.Problems;
using Microsoft.Net.Http.Headers;

namespace Custodian.Hosting;

/// <summary>
/// Refuses a form body (<c>application/x-www-form-urlencoded</c>) whose names or values, percent-decoded, are not UTF-8, and
/// the query of a page request (<c>/console</c>, <c>/workstation</c>, <c>/staff</c>, <c>/portal</c> except <c>/portal/api</c>)
/// that is not: 400 <see cref="ErrorCodes.FormNotUtf8"/>, before any page binds it, recorded on the terminal listener as the
/// binder's refusals are (<see cref="BodyRefusals"/>). A JSON body holding bytes that are not UTF-8 anywhere — also in a
/// member the endpoint skips or in a member's name — is refused the same way with 400 <see cref="ErrorCodes.ValidationFailed"/>
/// (<see cref="JsonDetail"/>). The bytes are never echoed.
/// </summary>
/// <remarks>
/// Without it, the form reader decoded bytes that are not UTF-8 (<c>%FF</c>, or raw <c>\xff\xfe\xc3</c>) to U+FFFD and a
/// console reason or note was stored as "���", while the JSON API refuses such text (README, "Validation rules": text is
/// never stored garbled). The body is at most <see cref="CustodianOptions.MaxRequestBodyBytes"/> (64 KiB by default; Kestrel
/// refuses a longer one) and is read once into memory, then handed on unchanged. <c>+</c> is a space and a <c>%</c> not
/// followed by two hexadecimal digits is taken literally, as the form reader takes them.
/// </remarks>
public sealed class FormUtf8Middleware(RequestDelegate next)
{
    /// <summary>The problem's detail (fixed text: no field name or value is repeated).</summary>
    public const string Detail = "The form must be UTF-8 text: a field holds bytes that are not UTF-8 (reload the page and send it again).";

    /// <summary>
    /// The detail for a JSON body (<c>application/json</c> or <c>+json</c>) holding bytes that are not UTF-8 anywhere (400
    /// <c>validation-failed</c>), followed by the first such byte's place: <c> (line L, byte B).</c>, both counted from 1.
    /// </summary>
    public const string JsonDetail = "The request is malformed: the body is not valid UTF-8 JSON: it holds bytes that are not UTF-8";

    private static readonly string[] PageAreas = ["/portal", "/console", "/workstation", "/staff"];

    /// <summary>Handles one request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var refused = IsPage(request) && request.QueryString.HasValue && !IsUtf8(request.QueryString.Value.AsSpan(1));
        if (!refused && IsForm(request))
        {
            refused = !IsUtf8(await BufferBodyAsync(context));
        }

        if (!refused && IsJson(request))
        {
            // RFC 8259 §8.1: JSON is UTF-8. The serializer checks only the strings it reads, so bytes that are not UTF-8 in a
            // member it skips, or in a member's name, went through: the whole body is checked instead (README, "Validation rules").
            if (FirstInvalidUtf8(await BufferBodyAsync(context)) is { } at)
            {
                var notUtf8 = new CustodianError(ErrorCodes.ValidationFailed, StatusCodes.Status400BadRequest, JsonDetail + $" (line {at.Line}, byte {at.Byte}).");
                await BodyRefusals.RecordAsync(context, notUtf8);
                await notUtf8.WriteAsync(context);
                return;
            }
        }

        if (refused)
        {
            var error = new CustodianError(ErrorCodes.FormNotUtf8, StatusCodes.Status400BadRequest, Detail);
            await BodyRefusals.RecordAsync(context, error);
            await error.WriteAsync(context);
            return;
        }

        await next(context);
    }

    // Reads the whole body into memory and rewinds it, so that the endpoint reads it again unchanged.
    private static async Task<ArraySegment<byte>> BufferBodyAsync(HttpContext context)
    {
        context.Request.EnableBuffering();
        using var copy = new MemoryStream();
        await context.Request.Body.CopyToAsync(copy, context.RequestAborted);
        context.Request.Body.Position = 0;
        return new ArraySegment<byte>(copy.GetBuffer(), 0, (int)copy.Length);
    }

    /// <summary>Whether a form-encoded text (a body, or a query without its '?') is UTF-8 once percent-decoded.</summary>
    /// <param name="encoded">The encoded bytes: ASCII, <c>%XX</c> escapes, and possibly raw bytes that were never escaped.</param>
    public static bool IsUtf8(ReadOnlySpan<byte> encoded)
    {
        Span<byte> decoded = encoded.Length <= 1024 ? stackalloc byte[1024] : new byte[encoded.Length];
        var n = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var b = encoded[i];
            var high = b == (byte)'%' && i + 2 < encoded.Length ? Hex(encoded[i + 1]) : -1;
            var low = high >= 0 ? Hex(encoded[i + 2]) : -1;
            if (low >= 0)
            {
                decoded[n++] = (byte)((high << 4) | low);
                i += 2;
            }
            else
            {
                decoded[n++] = b; // '&', '=' and '+' are ASCII: splitting on them cannot make valid UTF-8 invalid or the reverse
            }
        }

        return Utf8.IsValid(decoded[..n]);
    }

    private static bool IsUtf8(ReadOnlySpan<char> query)
    {
        // Kestrel keeps the query as sent; a raw byte above 0x7F arrives as the char of the same value (Latin-1).
        var bytes = new byte[query.Length];
        for (var i = 0; i < query.Length; i++)
        {
            if (query[i] > 0xFF)
            {
                return false;
            }

            bytes[i] = (byte)query[i];
        }

        return IsUtf8(bytes);
    }

    private static int Hex(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private static bool IsForm(HttpRequest request) =>
        HasBody(request)
        && request.ContentType is { } contentType
        && MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
        && mediaType.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>The line and the byte within it (both from 1) of the first byte that does not start a valid UTF-8 sequence; null when all are valid.</summary>
    /// <param name="bytes">The body.</param>
    internal static (int Line, int Byte)? FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int line = 1, lineStart = 0;
        for (var i = 0; i < bytes.Length;)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[i..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return (line, i - lineStart + 1);
            }

            if (bytes[i] == (byte)'\n')
            {
                line++;
                lineStart = i + 1;
            }

            i += consumed;
        }

        return null;
    }

    // A body of unknown length (chunked on HTTP/1.1; DATA frames without the header on HTTP/2 and HTTP/3) reaches this
    // middleware with a Content-Length: RequestBodyBufferingMiddleware, earlier in the pipeline (CustodianServer), has read
    // it and set the header to its length. So "ContentLength > 0" covers every body on every protocol (tested over both).
    private static bool HasBody(HttpRequest request) => request.ContentLength is > 0;

    private static bool IsJson(HttpRequest request) =>
        HasBody(request)
        && request.ContentType is { } contentType
        && MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
        && (mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true);

    private static bool IsPage(HttpRequest request) =>
        PageAreas.Any(a => request.Path.StartsWithSegments(a, StringComparison.OrdinalIgnoreCase))
        && !request.Path.StartsWithSegments("/portal/api", StringComparison.OrdinalIgnoreCase);
}
