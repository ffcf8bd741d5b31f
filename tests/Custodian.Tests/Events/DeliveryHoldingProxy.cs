using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Custodian.Tests.Events;

/// <summary>
/// A TCP proxy between a NATS client and a nats-server that can hold back JetStream deliveries: while held, every message
/// the server sends with a <c>$JS.ACK.</c> reply subject (a consumer's delivery) is kept, in order, instead of forwarded;
/// everything else (API replies such as consumer info, key-value operations, pings, pull status messages) passes. The
/// server counts the held messages delivered; the client has not received them — a consumer with a backlog whose
/// worker is idle. <see cref="Release"/> forwards what was held and stops holding.
/// </summary>
internal sealed class DeliveryHoldingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Task> _tasks = [];
    private readonly List<(Stream Client, byte[] Frame)> _held = [];
    private readonly SemaphoreSlim _writeGate = new(1, 1); // one writer to the clients at a time: the pumps and ReleaseAsync
    private bool _holding;

    private DeliveryHoldingProxy(TcpListener listener, int upstreamPort)
    {
        _listener = listener;
        _upstreamPort = upstreamPort;
        _tasks.Add(Task.Run(AcceptAsync));
    }

    /// <summary>The proxy's URL, <c>nats://127.0.0.1:port</c>.</summary>
    public string Url => string.Create(CultureInfo.InvariantCulture, $"nats://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>How many deliveries are held now.</summary>
    public int Held
    {
        get
        {
            lock (_gate)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Starts a proxy to the server at <paramref name="upstreamUrl"/> (<c>nats://127.0.0.1:port</c>).</summary>
    public static DeliveryHoldingProxy Start(string upstreamUrl)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new DeliveryHoldingProxy(listener, new Uri(upstreamUrl).Port);
    }

    /// <summary>From now on, deliveries are held.</summary>
    public void Hold()
    {
        lock (_gate)
        {
            _holding = true;
        }
    }

    /// <summary>Forwards the held deliveries, in order and before anything the server sends after, and stops holding.</summary>
    public async Task ReleaseAsync()
    {
        await _writeGate.WaitAsync(_stop.Token);
        try
        {
            List<(Stream Client, byte[] Frame)> held;
            lock (_gate)
            {
                _holding = false;
                held = [.. _held];
                _held.Clear();
            }

            foreach (var (client, frame) in held)
            {
                try
                {
                    await client.WriteAsync(frame, _stop.Token);
                    await client.FlushAsync(_stop.Token);
                }
                catch (IOException)
                {
                    // That connection is gone; the consumer redelivers after its ack wait.
                }
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await Task.WhenAll(_tasks.ToArray());
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Closed.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var upstream = new TcpClient();
            await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
            var toClient = client.GetStream();
            var toServer = upstream.GetStream();
            lock (_gate)
            {
                _tasks.Add(Task.Run(() => PumpAsync(() => toClient.CopyToAsync(toServer, _stop.Token), client, upstream)));
                _tasks.Add(Task.Run(() => PumpAsync(() => FromServerAsync(toServer, toClient), client, upstream)));
            }
        }
    }

    private async Task PumpAsync(Func<Task> pump, TcpClient client, TcpClient upstream)
    {
        try
        {
            await pump();
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Either side closed.
        }
        finally
        {
            client.Dispose();
            upstream.Dispose();
        }
    }

    // Copies the server's protocol frames to the client, keeping deliveries while holding (MSG / HMSG whose reply subject
    // starts with $JS.ACK.).
    private async Task FromServerAsync(Stream server, Stream client)
    {
        var reader = new BufferedStream(server, 64 * 1024);
        var line = new List<byte>(256);
        var one = new byte[1];
        while (true)
        {
            line.Clear();
            while (line.Count < 2 || line[^2] != '\r' || line[^1] != '\n')
            {
                if (await reader.ReadAsync(one, _stop.Token) == 0)
                {
                    return;
                }

                line.Add(one[0]);
            }

            var head = Encoding.ASCII.GetString([.. line]);
            var tokens = head.TrimEnd('\r', '\n').Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var frame = line.ToArray();
            var delivery = false;
            if (tokens.Length > 0 && tokens[0] is "MSG" or "HMSG")
            {
                var size = int.Parse(tokens[^1], CultureInfo.InvariantCulture);
                var payload = new byte[size + 2];
                await reader.ReadExactlyAsync(payload, _stop.Token);
                frame = [.. frame, .. payload];
                var withReply = tokens[0] == "MSG" ? tokens.Length == 5 : tokens.Length == 6;
                delivery = withReply && tokens[3].StartsWith("$JS.ACK.", StringComparison.Ordinal);
            }

            lock (_gate)
            {
                if (delivery && _holding)
                {
                    _held.Add((client, frame));
                    continue;
                }
            }

            await WriteAsync(client, frame);
        }
    }

    private async Task WriteAsync(Stream client, byte[] frame)
    {
        await _writeGate.WaitAsync(_stop.Token);
        try
        {
            await client.WriteAsync(frame, _stop.Token);
            await client.FlushAsync(_stop.Token);
        }
        finally
        {
            _writeGate.Release();
        }
    }

}
