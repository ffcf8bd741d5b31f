using System.Buffers;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Custodian.Siem.Ocsf;
using Custodian.Siem.Syslog;

namespace Custodian.Siem.Export;

/// <summary>
/// Sends events as RFC 5424 messages (<see cref="SiemSyslog"/>) over TCP with octet-counting framing
/// (RFC 6587 §3.4.1: <c>MSG-LEN SP SYSLOG-MSG</c>, MSG-LEN the message's length in octets, no trailer),
/// optionally inside TLS (RFC 5425: TLS 1.2 or 1.3, the server authenticated by its certificate chain and
/// host name). A batch is written in one buffer and flushed before <see cref="WriteAsync"/> returns.
/// Plain TCP and TLS give no application-level acknowledgement: an event the receiver accepted into its
/// socket buffer but lost in a crash is not resent (RELP would close that gap; see docs/siem.md).
/// Connecting (TCP and TLS handshake together) and each batch's write are bounded by a timeout: a receiver that
/// accepts the connection but never completes the handshake, or stops reading, fails the attempt with an
/// <see cref="IOException"/> instead of stalling the export for ever.
/// </summary>
public sealed class SyslogTcpSink : ISiemSink
{
    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly string _hostName;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    private SyslogTcpSink(TcpClient client, Stream stream, string id, string hostName, TimeSpan timeout, TimeProvider time)
    {
        _client = client;
        _stream = stream;
        Id = id;
        _hostName = hostName;
        _timeout = timeout;
        _time = time;
    }

    /// <summary>The default <c>timeout</c> of <see cref="ConnectAsync"/>: 10 seconds (<see cref="SiemExportOptions.TimeoutMs"/>).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public string Id { get; }

    /// <summary>The cursor key for a target: <c>syslog+tcp://host:port</c> or <c>syslog+tls://host:port</c>.</summary>
    public static string SinkId(SyslogTarget target, bool tls)
    {
        ArgumentNullException.ThrowIfNull(target);
        return (tls ? "syslog+tls://" : "syslog+tcp://") + target;
    }

    /// <summary>Connects (and with <paramref name="tls"/>, completes the TLS handshake).</summary>
    /// <param name="target">The receiver.</param>
    /// <param name="tls">Whether to use TLS (RFC 5425).</param>
    /// <param name="caCertificates">With TLS: the only trust anchors for the server's chain (a pinned CA); null for the system trust store.</param>
    /// <param name="hostName">HOSTNAME written in each message.</param>
    /// <param name="timeout">
    /// Longest wait for the connection and handshake together, and later for each batch's write and flush (positive;
    /// <see cref="DefaultTimeout"/> unless configured).
    /// </param>
    /// <param name="time">The clock the timeout runs on.</param>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    /// <exception cref="IOException">When the connection or handshake fails or times out (also for socket errors and an untrusted server certificate).</exception>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled.</exception>
    public static async Task<SyslogTcpSink> ConnectAsync(SyslogTarget target, bool tls, X509Certificate2Collection? caCertificates, string hostName, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        var client = new TcpClient { NoDelay = true };
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await client.ConnectAsync(target.Host, target.Port, linked.Token);
            Stream stream = client.GetStream();
            if (tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = target.Host,
                        EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        RemoteCertificateValidationCallback = caCertificates is null ? null : (_, certificate, _, errors) => ValidateAgainst(caCertificates, certificate, errors),
                    },
                    linked.Token);
                stream = ssl;
            }

            return new SyslogTcpSink(client, stream, SinkId(target, tls), hostName, timeout, time);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            throw new IOException($"the syslog receiver {target} did not complete the {(tls ? "TCP connection and TLS handshake" : "TCP connection")} within {Seconds(timeout)}.", ex);
        }
        catch (SocketException ex)
        {
            client.Dispose();
            throw new IOException($"cannot connect to the syslog receiver {target}: {ex.SocketErrorCode}.", ex);
        }
        catch (System.Security.Authentication.AuthenticationException ex)
        {
            client.Dispose();
            throw new IOException($"TLS handshake with the syslog receiver {target} failed: {ex.Message}", ex);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Frames one message with octet counting (RFC 6587 §3.4.1) into <paramref name="buffer"/>.</summary>
    public static void Frame(string message, IBufferWriter<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(buffer);
        var length = Encoding.UTF8.GetByteCount(message);
        var prefix = length.ToString(CultureInfo.InvariantCulture) + " ";
        Encoding.ASCII.GetBytes(prefix, buffer);
        Encoding.UTF8.GetBytes(message, buffer);
    }

    /// <inheritdoc />
    public async ValueTask WriteAsync(IReadOnlyList<OcsfEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var socket = _client.Client;
        try
        {
            // A receiver that closed the connection shows as readable with nothing to read: fail before writing into a dead socket.
            if (socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0)
            {
                throw new IOException("the syslog receiver closed the connection.");
            }
        }
        catch (SocketException ex)
        {
            throw new IOException("the syslog connection failed: " + ex.SocketErrorCode + ".", ex);
        }

        var buffer = new ArrayBufferWriter<byte>(events.Count * 512);
        foreach (var e in events)
        {
            Frame(SiemSyslog.ToSyslog(e, _hostName).Format(), buffer);
        }

        using var deadline = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await _stream.WriteAsync(buffer.WrittenMemory, linked.Token);
            await _stream.FlushAsync(linked.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"the syslog receiver did not take the batch within {Seconds(_timeout)}; the connection is dropped and the batch sent again.", ex);
        }
        catch (SocketException ex)
        {
            throw new IOException("the syslog connection failed: " + ex.SocketErrorCode + ".", ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new IOException("the syslog connection is closed.", ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stream.DisposeAsync();
        }
        catch (IOException)
        {
            // The connection is already gone; nothing left to flush.
        }

        _client.Dispose();
    }

    private static string Seconds(TimeSpan timeout) =>
        timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    private static bool ValidateAgainst(X509Certificate2Collection anchors, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
