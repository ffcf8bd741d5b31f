using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Custodian.Tests.Events;

/// <summary>
/// A real nats-server (Debian's <c>nats-server</c> package) for one test: <c>nats-server -js -a 127.0.0.1 -p PORT -sd DIR</c>,
/// JetStream on, file storage in a temporary directory. It runs under a small shell watchdog that kills it with SIGKILL
/// when the test process is gone, so it dies with the test run even when the run itself is killed. <see cref="StopAsync"/>
/// kills it (SIGKILL: nothing is flushed beyond what JetStream already synced), <see cref="StartAsync"/> starts it again on
/// the same port and storage; disposing kills it and deletes the storage.
/// </summary>
internal sealed class NatsServer : IAsyncDisposable
{
    private readonly DirectoryInfo _directory;
    private Process? _watchdog;

    private readonly bool _jetStream;
    private readonly (string User, string Password)? _credentials;
    private readonly NatsTlsFiles? _tls;
    private string? _configuration;

    private NatsServer(DirectoryInfo directory, int port, bool jetStream, (string User, string Password)? credentials, NatsTlsFiles? tls, string? configuration)
    {
        _directory = directory;
        Port = port;
        _jetStream = jetStream;
        _credentials = credentials;
        _tls = tls;
        _configuration = configuration;
    }

    /// <summary>The client port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The <c>Custodian:Events</c> value for this server (<c>tls://</c> when it requires TLS).</summary>
    public string Url => string.Create(CultureInfo.InvariantCulture, $"{(_tls is null ? "nats" : "tls")}://127.0.0.1:{Port}");

    /// <summary>
    /// The configuration text the next <see cref="StartAsync"/> writes to <c>nats.conf</c> (see <see cref="StartNewAsync"/>);
    /// set it between <see cref="StopAsync"/> and <see cref="StartAsync"/> to restart the server with another one.
    /// </summary>
    public string? Configuration
    {
        get => _configuration;
        set => _configuration = value;
    }

    private string PidFile => Path.Combine(_directory.FullName, "nats.pid");

    /// <summary>Starts a server on a free port with empty storage and waits until it accepts clients.</summary>
    /// <param name="jetStream">False for a server without JetStream (<c>-js</c> left out).</param>
    /// <param name="credentials">A user and password the server requires (<c>--user U --pass P</c>); null for none.</param>
    /// <param name="tls">TLS for clients (<c>--tlscert --tlskey --tlscacert --tlsverify</c>: only TLS clients presenting a certificate of the files' CA); null for plain text.</param>
    /// <param name="configuration">
    /// nats-server configuration text written to <c>nats.conf</c> and given with <c>-c</c>, e.g.
    /// <c>authorization { users = [ { nkey: U… } ] }</c> or an operator-mode <c>operator</c>/<c>resolver</c> block; the
    /// command line's address, port, JetStream and storage options win over it. Null for none.
    /// </param>
    public static async Task<NatsServer> StartNewAsync(bool jetStream = true, (string User, string Password)? credentials = null, NatsTlsFiles? tls = null, string? configuration = null)
    {
        var server = new NatsServer(Directory.CreateTempSubdirectory("custodian-nats-"), FreePort(), jetStream, credentials, tls, configuration);
        await server.StartAsync();
        return server;
    }

    /// <summary>The path of nats-server; fails the test with the install command when missing.</summary>
    public static string FindNatsServer()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Concat(["/usr/sbin", "/usr/bin"]))
        {
            var candidate = Path.Combine(dir, "nats-server");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("nats-server is not installed: the event-log tests need it. Install it with 'apt-get install -y nats-server' (scripts/test-prerequisites.sh does this).");
    }

    /// <summary>(Re)starts the server on <see cref="Port"/> with the same storage and waits until it accepts clients.</summary>
    public async Task StartAsync()
    {
        var nats = FindNatsServer();
        File.Delete(PidFile);
        var store = Path.Combine(_directory.FullName, "store");
        var log = Path.Combine(_directory.FullName, "nats.log");

        // The watchdog: nats-server in the background, killed when the test process (or nats-server itself) is gone.
        var script = string.Create(
            CultureInfo.InvariantCulture,
            $"\"$0\" {(_jetStream ? "-js " : string.Empty)}-a 127.0.0.1 -p {Port} -sd \"$1\" -P \"$2\" >>\"$3\" 2>&1 & n=$!; while kill -0 {Environment.ProcessId} 2>/dev/null && kill -0 $n 2>/dev/null; do sleep 0.2; done; kill -9 $n 2>/dev/null; wait $n");
        if (_credentials is { } credentials)
        {
            script = script.Replace("-P \"$2\"", "-P \"$2\" --user \"$4\" --pass \"$5\"", StringComparison.Ordinal);
        }

        if (_tls is not null)
        {
            script = script.Replace("-P \"$2\"", "-P \"$2\" --tlsverify --tlscert \"$6\" --tlskey \"$7\" --tlscacert \"$8\"", StringComparison.Ordinal);
        }

        var configFile = Path.Combine(_directory.FullName, "nats.conf");
        if (_configuration is not null)
        {
            await File.WriteAllTextAsync(configFile, _configuration);
            script = script.Replace("-P \"$2\"", "-P \"$2\" -c \"$9\"", StringComparison.Ordinal);
        }

        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, ArgumentList = { "-c", script, nats, store, PidFile, log } };
        info.ArgumentList.Add(_credentials?.User ?? string.Empty);
        info.ArgumentList.Add(_credentials?.Password ?? string.Empty);
        info.ArgumentList.Add(_tls?.ServerCertificate ?? string.Empty);
        info.ArgumentList.Add(_tls?.ServerKey ?? string.Empty);
        info.ArgumentList.Add(_tls?.CaCertificate ?? string.Empty);
        info.ArgumentList.Add(configFile);

        _watchdog = Process.Start(info) ?? throw new InvalidOperationException("nats-server could not be started.");
        var watch = Stopwatch.StartNew();
        while (!await AcceptsAsync())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(30) || _watchdog.HasExited)
            {
                var output = File.Exists(log) ? await File.ReadAllTextAsync(log) : string.Empty;
                throw new InvalidOperationException("nats-server did not start: " + output.Trim());
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Kills the server (SIGKILL) and waits until it is gone.</summary>
    public async Task StopAsync()
    {
        if (File.Exists(PidFile) && int.TryParse((await File.ReadAllTextAsync(PidFile)).Trim(), CultureInfo.InvariantCulture, out var pid))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                await process.WaitForExitAsync();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        if (_watchdog is { } watchdog)
        {
            await watchdog.WaitForExitAsync();
            watchdog.Dispose();
            _watchdog = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<bool> AcceptsAsync()
    {
        if (!File.Exists(PidFile))
        {
            return false;
        }

        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
