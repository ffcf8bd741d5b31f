using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Custodian.Client;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

/// <summary>
/// A server issues its TLS certificate at its start on its own clock (notBefore = now − 5 minutes); the test clients
/// judge it on the same clock (<see cref="TerminalHttp.ChainsTo(X509Certificate2, X509Certificate2, DateTimeOffset)"/>),
/// so a node started after a test has moved its fake clock ahead of the wall clock is still reached. Before, the clients
/// judged it by the wall clock and such a node could not be reached, depending on the minute of the hour the test ran.
/// </summary>
public sealed class TestClockTlsTests
{
    [Fact]
    public async Task A_node_started_a_day_ahead_on_the_fake_clock_is_reached_over_tls()
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 5);
        a.Time.Advance(TimeSpan.FromDays(1));
        await using var b = await a.StartNodeAsync();

        using var portal = b.PortalClient();
        using var response = await portal.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The certificate the node presents is valid on the fake clock and not yet valid by the wall clock.
        using var served = await ServerCertificateAsync(b.PortalUrl);
        Assert.Equal(a.Time.GetUtcNow() - TimeSpan.FromMinutes(5), new DateTimeOffset(served.NotBefore.ToUniversalTime()));
        Assert.True(TerminalHttp.ChainsTo(served, a.Ca, a.Time.GetUtcNow()));
        Assert.False(TerminalHttp.ChainsTo(served, a.Ca));
    }

    private static async Task<X509Certificate2> ServerCertificateAsync(Uri url)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(url.Host, url.Port);
        X509Certificate2? presented = null;
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            presented = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return true;
        });
        await tls.AuthenticateAsClientAsync(url.Host);
        return presented ?? throw new InvalidOperationException("The server presented no certificate.");
    }
}
