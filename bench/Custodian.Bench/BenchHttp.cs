using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Custodian.Client;

namespace Custodian.Bench;

/// <summary>
/// Terminal HTTP clients like the product's <see cref="TerminalHttp.Create"/> (trust only Custodian's CA, present
/// the device certificate, HTTP/1.1 keep-alive), plus a count of the TCP connections opened, so every phase can
/// report how many new TLS handshakes it paid for.
/// </summary>
internal static class BenchHttp
{
    private static long _connections;

    /// <summary>TCP connections opened by bench clients so far (each one is followed by a mutual-TLS handshake).</summary>
    public static long Connections => Interlocked.Read(ref _connections);

    public static HttpClient Create(Uri baseUrl, X509Certificate2 ca, X509Certificate2? clientCertificate, int maxConnections)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref _connections);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && TerminalHttp.ChainsTo(new X509Certificate2(certificate), ca),
                ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
                LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
            },
        };
        return new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }
}
