using System.Net;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

/// <summary>
/// The request-line limit (Kestrel's <c>MaxRequestLineSize</c>, 8 KiB) over real TLS on both protocols, as docs/access.md §4
/// describes it (found by an evaluation: the HTTP/2 answer differs). HTTP/1.1 gets Kestrel's bare 414; on HTTP/2 Kestrel
/// counts method, scheme, authority and path against the same limit and resets the stream (PROTOCOL_ERROR) — no status,
/// so no 414 and no problem document; the connection stays usable. Below the limit both are answered by the app.
/// </summary>
public sealed class RequestLineLimitTests
{
    [Fact]
    public async Task A_request_line_over_8_KiB_is_a_bare_414_on_http11_and_a_reset_stream_on_http2()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        using var portal = host.PortalClient();
        Task<HttpResponseMessage> Send(int queryLength, Version version) =>
            portal.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/portal/no-such-page?q=" + new string('a', queryLength)) { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact });

        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            using var served = await Send(8_000, version);
            Assert.Equal((version, HttpStatusCode.NotFound), (served.Version, served.StatusCode)); // the app's answer
        }

        using (var refused = await Send(8_300, HttpVersion.Version11))
        {
            Assert.Equal((HttpStatusCode.RequestUriTooLong, 0L), (refused.StatusCode, refused.Content.Headers.ContentLength ?? (await refused.Content.ReadAsByteArrayAsync()).Length));
        }

        var reset = await Assert.ThrowsAsync<HttpRequestException>(() => Send(8_300, HttpVersion.Version20));
        Assert.Equal((HttpRequestError.HttpProtocolError, "The HTTP/2 server reset the stream. HTTP/2 error code 'PROTOCOL_ERROR' (0x1). (HttpProtocolError)"), (reset.HttpRequestError, reset.Message));

        using var after = await Send(10, HttpVersion.Version20); // only the stream was reset
        Assert.Equal((HttpVersion.Version20, HttpStatusCode.NotFound), (after.Version, after.StatusCode));
    }
}
