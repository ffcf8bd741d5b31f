namespace Custodian.Tests.Infrastructure;

/// <summary>
/// Content that does not tell its length, so the request carries no Content-Length header: chunked on HTTP/1.1, DATA
/// frames alone on HTTP/2. Written in pieces of 8 KiB.
/// </summary>
internal sealed class UnknownLengthContent : HttpContent
{
    private readonly byte[] _body;

    /// <summary>Content of <paramref name="body"/> with the Content-Type <paramref name="contentType"/> (default <c>application/json</c>).</summary>
    public UnknownLengthContent(byte[] body, string contentType = "application/json")
    {
        _body = body;
        Headers.TryAddWithoutValidation("Content-Type", contentType);
    }

    /// <inheritdoc />
    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        for (var at = 0; at < _body.Length; at += 8_192)
        {
            await stream.WriteAsync(_body.AsMemory(at, Math.Min(8_192, _body.Length - at)));
        }
    }

    /// <inheritdoc />
    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
