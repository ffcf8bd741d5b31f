using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Custodian.Tests.Events;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Custodian.Tests.Cluster;

/// <summary>
/// A real three-node nats-server cluster with JetStream on 127.0.0.1 (Debian's <c>nats-server</c> 2.9 package): node
/// <c>nI</c> runs <c>nats-server -js -n nI -a 127.0.0.1 -p CLIENT -sd DIR --cluster_name custodian-test
/// --cluster nats://127.0.0.1:ROUTE --routes (the other two route URLs)</c>, every port chosen free by the operating
/// system, each node's file store in its own temporary directory. Each node runs under a shell watchdog that kills it
/// (SIGKILL) when the test process is gone. <see cref="KillAsync"/> is kill -9 of one node; <see cref="StartAsync(int)"/>
/// restarts it on the same ports and store. Disposing kills every node and deletes the stores.
/// </summary>
internal sealed class NatsCluster : IAsyncDisposable
{
    private readonly DirectoryInfo _directory;
    private readonly Node[] _nodes;

    private NatsCluster(DirectoryInfo directory, int size)
    {
        _directory = directory;
        _nodes = [.. Enumerable.Range(1, size).Select(i => new Node($"n{i}", FreePort(), FreePort()))];
    }

    /// <summary>Node count (3).</summary>
    public int Count => _nodes.Length;

    /// <summary>The client URL of node <paramref name="index"/> (0-based), e.g. <c>nats://127.0.0.1:41234</c>: a <c>Custodian:Events</c> value.</summary>
    public string Url(int index) => string.Create(CultureInfo.InvariantCulture, $"nats://127.0.0.1:{_nodes[index].ClientPort}");

    /// <summary>The server name of node <paramref name="index"/> (<c>n1</c>, <c>n2</c>, <c>n3</c>), as JetStream names a stream's leader.</summary>
    public string Name(int index) => _nodes[index].Name;

    /// <summary>The index of the node named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No node has that name.</exception>
    public int IndexOf(string name) => Array.FindIndex(_nodes, n => n.Name == name) is var i and >= 0 ? i : throw new ArgumentException($"no node {name}", nameof(name));

    /// <summary>Starts <paramref name="size"/> nodes, routed to each other, and waits until each accepts clients and JetStream has a meta leader.</summary>
    public static async Task<NatsCluster> StartNewAsync(int size = 3)
    {
        var cluster = new NatsCluster(Directory.CreateTempSubdirectory("custodian-nats-cluster-"), size);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, size).Select(cluster.StartAsync));
            await cluster.WaitForJetStreamAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>(Re)starts node <paramref name="index"/> on its ports and store; waits until it accepts clients.</summary>
    public async Task StartAsync(int index)
    {
        var node = _nodes[index];
        var nats = NatsServer.FindNatsServer();
        var home = Path.Combine(_directory.FullName, node.Name);
        Directory.CreateDirectory(home);
        var pidFile = Path.Combine(home, "nats.pid");
        File.Delete(pidFile);
        var routes = string.Join(',', _nodes.Where(n => n != node).Select(n => string.Create(CultureInfo.InvariantCulture, $"nats://127.0.0.1:{n.RoutePort}")));
        var log = Path.Combine(home, "nats.log");
        var script = string.Create(
            CultureInfo.InvariantCulture,
            $"\"$0\" -js -n {node.Name} -a 127.0.0.1 -p {node.ClientPort} -sd \"$1\" -P \"$2\" --cluster_name custodian-test --cluster nats://127.0.0.1:{node.RoutePort} --routes {routes} >>\"$3\" 2>&1 & n=$!; while kill -0 {Environment.ProcessId} 2>/dev/null && kill -0 $n 2>/dev/null; do sleep 0.2; done; kill -9 $n 2>/dev/null; wait $n");
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, ArgumentList = { "-c", script, nats, Path.Combine(home, "store"), pidFile, log } };
        node.Watchdog = Process.Start(info) ?? throw new InvalidOperationException("nats-server could not be started.");
        node.PidFile = pidFile;
        var watch = Stopwatch.StartNew();
        while (!await AcceptsAsync(node))
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(30) || node.Watchdog.HasExited)
            {
                throw new InvalidOperationException($"nats-server {node.Name} did not start: " + (File.Exists(log) ? (await File.ReadAllTextAsync(log)).Trim() : string.Empty));
            }

            await Task.Delay(50);
        }
    }

    /// <summary>kill -9 of node <paramref name="index"/>; waits until it is gone.</summary>
    public async Task KillAsync(int index)
    {
        var node = _nodes[index];
        if (node.PidFile is { } pidFile && File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture, out var pid))
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

        if (node.Watchdog is { } watchdog)
        {
            await watchdog.WaitForExitAsync();
            watchdog.Dispose();
            node.Watchdog = null;
        }
    }

    /// <summary>
    /// The server name of the node leading <paramref name="stream"/> and the replicas JetStream reports for it, asked of
    /// any node that answers (stream info: <c>cluster.leader</c>, <c>config.num_replicas</c>).
    /// </summary>
    public async Task<(string Leader, int Replicas)> StreamLeaderAsync(string stream = "CUSTODIAN_LEDGER")
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            foreach (var index in Enumerable.Range(0, Count).Where(i => _nodes[i].Watchdog is not null))
            {
                try
                {
                    await using var connection = new NatsConnection(NatsOpts.Default with { Url = Url(index), ConnectTimeout = TimeSpan.FromSeconds(2) });
                    var info = await new NatsJSContext(connection).GetStreamAsync(stream);
                    if (info.Info.Cluster?.Leader is { Length: > 0 } leader)
                    {
                        return (leader, info.Info.Config.NumReplicas);
                    }
                }
                catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
                {
                    // Try the next node, then again.
                }
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"no node named a leader for stream {stream} within 30 s");
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < _nodes.Length; i++)
        {
            await KillAsync(i);
        }

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

    private static async Task<bool> AcceptsAsync(Node node)
    {
        if (node.PidFile is null || !File.Exists(node.PidFile))
        {
            return false;
        }

        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, node.ClientPort);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Waits until JetStream answers account information on every node (the meta group has a leader).</summary>
    private async Task WaitForJetStreamAsync()
    {
        var watch = Stopwatch.StartNew();
        for (var index = 0; index < Count; index++)
        {
            while (true)
            {
                try
                {
                    await using var connection = new NatsConnection(NatsOpts.Default with { Url = Url(index) });
                    await new NatsJSContext(connection).GetAccountInfoAsync();
                    break;
                }
                catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
                {
                    if (watch.Elapsed > TimeSpan.FromSeconds(60))
                    {
                        throw new InvalidOperationException($"JetStream on {Name(index)} did not become available within 60 s: {ex.Message}");
                    }

                    await Task.Delay(200);
                }
            }
        }
    }

    private sealed class Node(string name, int clientPort, int routePort)
    {
        public string Name { get; } = name;

        public int ClientPort { get; } = clientPort;

        public int RoutePort { get; } = routePort;

        public Process? Watchdog { get; set; }

        public string? PidFile { get; set; }
    }
}
