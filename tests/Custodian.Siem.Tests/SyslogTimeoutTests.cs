using System.Net;
using System.Net.Sockets;
using Custodian.Siem.Export;
using Custodian.Siem.Ocsf;

namespace Custodian.Siem.Tests;

/// <summary>
/// A receiver that accepts the TCP connection but never completes the TLS handshake, or never reads, used to stall the
/// export for ever (no timeout on connect, handshake or write). Now each fails with an <see cref="IOException"/> that
/// says what did not happen and within how long. Real sockets on 127.0.0.1, the real clock (the timeout is a network
/// timeout); no assertion on how long anything took.
/// </summary>
public sealed class SyslogTimeoutTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task A_receiver_that_never_answers_the_tls_handshake_fails_the_connection_within_the_timeout()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = listener.AcceptTcpClientAsync(); // accepts and then says nothing

        var connect = SyslogTcpSink.ConnectAsync(new SyslogTarget("127.0.0.1", port), true, null, "test-host", Short, TimeProvider.System, CancellationToken.None);
        var finished = await Task.WhenAny(connect, Task.Delay(TimeSpan.FromMinutes(2)));

        Assert.Same(connect, finished); // without the timeout the handshake waits for ever
        var error = await Assert.ThrowsAsync<IOException>(() => connect);
        Assert.Equal($"the syslog receiver 127.0.0.1:{port} did not complete the TCP connection and TLS handshake within 0.3 s.", error.Message);
        (await accepted).Dispose();
    }

    [Fact]
    public async Task A_receiver_that_stops_reading_fails_the_batch_write_within_the_timeout()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await env.AppendAsync(SiemTestEnvironment.Mixed(40, new DateTimeOffset(2026, 11, 30, 7, 0, 0, TimeSpan.Zero)));
        OcsfEvent? one = null;
        await foreach (var committed in env.SqliteLedger.ReadAsync(0))
        {
            one ??= env.Mapper.Map(committed);
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = listener.AcceptTcpClientAsync(); // accepts and never reads: the socket buffers fill up

        await using var sink = await SyslogTcpSink.ConnectAsync(new SyslogTarget("127.0.0.1", port), false, null, "test-host", Short, TimeProvider.System, CancellationToken.None);
        var batch = Enumerable.Repeat(one!, 100_000).ToList(); // tens of megabytes: more than loopback's socket buffers hold
        var write = sink.WriteAsync(batch, CancellationToken.None).AsTask();
        var finished = await Task.WhenAny(write, Task.Delay(TimeSpan.FromMinutes(2)));

        Assert.Same(write, finished);
        var error = await Assert.ThrowsAsync<IOException>(() => write);
        Assert.Equal("the syslog receiver did not take the batch within 0.3 s; the connection is dropped and the batch sent again.", error.Message);
        (await accepted).Dispose();
    }

    [Theory]
    [InlineData(99)]
    [InlineData(300_001)]
    public void The_timeout_setting_is_bounded_and_named_as_the_setting(int timeoutMs) =>
        Assert.Equal(
            ["Custodian:Siem:TimeoutMs must be between 100 and 300000."],
            SiemExportOptionsValidator.ValidateAll(new SiemExportOptions { To = "127.0.0.1:6514", TimeoutMs = timeoutMs }));

    [Fact]
    public void Tls_or_a_ca_file_without_a_receiver_is_refused_rather_than_silently_exporting_nothing()
    {
        Assert.Equal(
            ["Custodian:Siem:Tls and Custodian:Siem:CaFile need Custodian:Siem:To (host:port); without it the export is off."],
            SiemExportOptionsValidator.ValidateAll(new SiemExportOptions { Tls = true }));
        Assert.Empty(SiemExportOptionsValidator.ValidateAll(new SiemExportOptions()));
        Assert.Equal(
            ["Custodian:Siem:BatchSize must be between 1 and 10000."],
            SiemExportOptionsValidator.ValidateAll(new SiemExportOptions { To = "127.0.0.1:6514", BatchSize = 0 }));
    }
}
