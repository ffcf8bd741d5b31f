using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custodian.Siem.Syslog;

namespace Custodian.Siem.Tests;

/// <summary>
/// A real rsyslogd started for one test: <c>rsyslogd -n -f &lt;generated conf&gt; -i &lt;pidfile&gt;</c> with imtcp on
/// 127.0.0.1 and a free port (octet-counted framing is imtcp's default), optionally TLS (gtls driver, a test CA and
/// server certificate made here), writing each received message's raw text as one line to a file. Killed at dispose.
/// </summary>
internal sealed class RsyslogServer : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly Process _process;
    private bool _disposed;

    private RsyslogServer(TempDirectory dir, Process process, int port, string? caFile)
    {
        _dir = dir;
        _process = process;
        Port = port;
        CaFile = caFile;
    }

    public int Port { get; }

    /// <summary>With TLS: the PEM file of the test CA that issued the server certificate.</summary>
    public string? CaFile { get; }

    public string ReceivedFile => _dir.Combine("received.log");

    public static string FindRsyslogd()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Concat(["/usr/sbin", "/sbin"]))
        {
            var candidate = Path.Combine(dir, "rsyslogd");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            "rsyslogd is not installed: the SIEM export tests need a real rsyslog. Install it with "
            + "'apt-get install -y --no-install-recommends rsyslog rsyslog-gnutls' (.ci/run does this).");
    }

    /// <summary>Starts rsyslogd on <paramref name="port"/> (a free one when null).</summary>
    public static async Task<RsyslogServer> StartAsync(bool tls, int? port = null)
    {
        var rsyslogd = FindRsyslogd();
        var dir = new TempDirectory();
        var listenPort = port ?? FreePort();
        string? caFile = null;
        var global = $"global(workDirectory=\"{dir.Path}\"";
        var module = "module(load=\"imtcp\"";
        if (tls)
        {
            caFile = dir.Combine("ca.pem");
            WriteTestPki(dir, caFile);
            global += $" DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"{caFile}\" DefaultNetstreamDriverCertFile=\"{dir.Combine("server.pem")}\" DefaultNetstreamDriverKeyFile=\"{dir.Combine("server.key")}\"";
            module += " StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\"";
        }

        var conf = dir.Combine("rsyslog.conf");
        await File.WriteAllTextAsync(conf, $"""
            {global})
            {module})
            input(type="imtcp" address="127.0.0.1" port="{listenPort}")
            template(name="raw" type="string" string="%rawmsg%\n")
            action(type="omfile" file="{dir.Combine("received.log")}" template="raw")

            """);
        var start = new ProcessStartInfo(rsyslogd)
        {
            ArgumentList = { "-n", "-f", conf, "-i", dir.Combine("rsyslogd.pid") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        var server = new RsyslogServer(dir, process, listenPort, caFile);
        await server.WaitUntilListeningAsync();
        return server;
    }

    /// <summary>
    /// The messages received so far (one per line, parsed as RFC 5424). With <paramref name="lenient"/>, lines that are
    /// not a whole message (a frame cut short when a sender was killed mid-write: rsyslog submits what it got when the
    /// connection closes) are skipped and counted in <see cref="Fragments"/> instead of failing the test. A fragment is
    /// a line that is not RFC 5424 or whose CEF line lacks its last extension (<c>msg</c>).
    /// </summary>
    public async Task<List<SyslogMessage>> ReadMessagesAsync(bool lenient = false)
    {
        Fragments = 0;
        if (!File.Exists(ReceivedFile))
        {
            return [];
        }

        var lines = await File.ReadAllLinesAsync(ReceivedFile);
        var messages = new List<SyslogMessage>(lines.Length);
        foreach (var line in lines.Where(l => l.Length > 0))
        {
            var ok = SyslogMessage.TryParse(line, out var message, out var error);
            if (lenient && (!ok || message!.Message is not { } msg || !Cef.Extensions(msg.TrimStart('\uFEFF')).ContainsKey("msg")))
            {
                Fragments++;
                continue;
            }

            // The test data is synthetic: showing the start of a bad line is safe and makes a failure diagnosable.
            Assert.True(ok, $"rsyslog received a message that is not RFC 5424 ({error}): {line[..Math.Min(line.Length, 120)]}");
            messages.Add(message!);
        }

        return messages;
    }

    /// <summary>Lines skipped as fragments by the last lenient <see cref="ReadMessagesAsync"/>.</summary>
    public int Fragments { get; private set; }

    /// <summary>
    /// Waits until <paramref name="done"/> holds for the received messages; returns them. Fails when 60 s pass with no
    /// new message (a stall), or after 10 minutes in all: on a loaded CI machine an exporter committing its cursor every
    /// 10 messages delivered 3,831 of 6,001 in a fixed 60 s while still making progress.
    /// </summary>
    public async Task<List<SyslogMessage>> WaitForAsync(Func<List<SyslogMessage>, bool> done, string what, bool lenient = false)
    {
        var total = Stopwatch.StartNew();
        var sinceProgress = Stopwatch.StartNew();
        var seen = -1;
        while (true)
        {
            var messages = await ReadMessagesAsync(lenient);
            if (done(messages))
            {
                return messages;
            }

            if (messages.Count > seen)
            {
                seen = messages.Count;
                sinceProgress.Restart();
            }

            if (sinceProgress.Elapsed > TimeSpan.FromSeconds(60) || total.Elapsed > TimeSpan.FromMinutes(10) || _process.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"rsyslog did not receive {what} (has {messages.Count} messages, the last new one {sinceProgress.Elapsed.TotalSeconds:0} s ago; rsyslogd exited: {_process.HasExited}).");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _dir.Dispose();
    }

    private async Task WaitUntilListeningAsync()
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (_process.HasExited)
            {
                var err = await _process.StandardError.ReadToEndAsync() + await _process.StandardOutput.ReadToEndAsync();
                throw new InvalidOperationException("rsyslogd exited at start: " + err.Trim());
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException("rsyslogd did not listen within 20 s.");
    }

    private static readonly HashSet<int> HandedOut = [];

    private static int FreePort()
    {
        // Never hand the same port to two servers of this test run (tests run in parallel; a released port can come back).
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    private static void WriteTestPki(TempDirectory dir, string caFile)
    {
        var now = TimeProvider.System.GetUtcNow();
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Custodian SIEM test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(ca, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(16));

        File.WriteAllText(caFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(dir.Combine("server.pem"), server.ExportCertificatePem() + "\n");
        File.WriteAllText(dir.Combine("server.key"), serverKey.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
