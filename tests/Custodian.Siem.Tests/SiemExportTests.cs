using System.Globalization;
using System.Text.Json.Nodes;
using Custodian.Ledger;
using Custodian.Siem.Export;
using Custodian.Siem.Ocsf;
using Xunit.Abstractions;

namespace Custodian.Siem.Tests;

/// <summary>The exporter against a real rsyslogd: TCP and TLS, the persisted cursor, failures, cancellation and reconnection.</summary>
public sealed class SiemExportTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 7, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Exports_every_exported_entry_once_as_cef_over_octet_counted_tcp_and_resumes_from_the_cursor()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await using var rsyslog = await RsyslogServer.StartAsync(tls: false);
        var entries = SiemTestEnvironment.Mixed(240, T0);
        await env.AppendAsync(entries);
        var expected = await ExpectedSequencesAsync(env);

        await using (var sink = await Connect(rsyslog))
        {
            var progress = await env.Exporter.ExportAvailableAsync(sink, 32, CancellationToken.None);
            Assert.Equal(await env.SqliteLedger.GetSizeAsync(), progress.NextSequence);
            Assert.Equal(expected.Count, progress.Events);
        }

        var messages = await rsyslog.WaitForAsync(m => m.Count >= expected.Count, $"{expected.Count} messages");
        Assert.Equal(expected, messages.Select(Cef.Sequence).ToList());
        foreach (var m in messages)
        {
            Assert.Equal(13, m.Facility);
            Assert.Equal("custodian", m.AppName);
            Assert.Equal("test-host", m.HostName);
            Assert.Null(m.ProcId);
            Assert.Empty(m.StructuredData);
            var line = Cef.Line(m);
            Assert.StartsWith("CEF:0|Custodian|Custodian|1|" + m.MsgId + "|", line, StringComparison.Ordinal);
            // 600301: the first start's own staff-created entry (sequence 0); 600303: the mix's staff changes.
            Assert.Contains(m.MsgId, new[] { "600501", "600504", "600599", "300201", "300202", "300299", "600301", "600303" });
        }

        // Staff changes (an administrator's action) arrive as 6003 API Activity: Update, naming the account changed.
        var staffChanged = messages.Where(m => m.MsgId == "600303").Select(m => Cef.Extensions(Cef.Line(m))).ToList();
        Assert.Equal(20, staffChanged.Count);
        Assert.All(staffChanged, x => Assert.Equal(("staff-changed", "C1001", "Success"), (x["act"], x["flexString1"], x["outcome"])));

        // The download entry's reason shows the CEF extension escaping on the wire: = and \ escaped, newline as \n, pipe kept.
        var download = messages.First(m => Cef.Extensions(Cef.Line(m))["act"] == "download");
        Assert.Contains(@"reason=monthly reconciliation | store\=S001 \\ ok\nline two msg=", Cef.Line(download), StringComparison.Ordinal);
        Assert.Equal("monthly reconciliation | store=S001 \\ ok\nline two", Cef.Extensions(Cef.Line(download))["reason"]);

        // A second run finds nothing new: the cursor persisted.
        await using (var sink = await Connect(rsyslog))
        {
            Assert.Equal(0, (await env.Exporter.ExportAvailableAsync(sink, 32, CancellationToken.None)).Events);
        }

        var cursor = Assert.Single(await env.Cursors.ListAsync());
        Assert.Equal($"syslog+tcp://127.0.0.1:{rsyslog.Port}", cursor.Sink);
        Assert.Equal(expected.Count, cursor.Exported);
    }

    [Fact]
    public async Task Exports_over_tls_to_a_receiver_whose_ca_is_pinned_and_refuses_any_other()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await using var rsyslog = await RsyslogServer.StartAsync(tls: true);
        await env.AppendAsync(SiemTestEnvironment.Mixed(60, T0));
        var expected = await ExpectedSequencesAsync(env);
        var target = new SyslogTarget("127.0.0.1", rsyslog.Port);

        // Pinned to another CA: the handshake fails and nothing is sent.
        using var otherDir = new TempDirectory();
        var otherCa = otherDir.Combine("other.pem");
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=other", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var cert = request.CreateSelfSigned(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1));
            await File.WriteAllTextAsync(otherCa, cert.ExportCertificatePem());
        }

        var refused = await Assert.ThrowsAsync<IOException>(() => SyslogTcpSink.ConnectAsync(target, true, SiemExportService.LoadCaFile(otherCa), "test-host", SyslogTcpSink.DefaultTimeout, TimeProvider.System, CancellationToken.None));
        Assert.Contains("TLS handshake", refused.Message, StringComparison.Ordinal);

        await using (var sink = await SyslogTcpSink.ConnectAsync(target, true, SiemExportService.LoadCaFile(rsyslog.CaFile), "test-host", SyslogTcpSink.DefaultTimeout, TimeProvider.System, CancellationToken.None))
        {
            Assert.Equal($"syslog+tls://127.0.0.1:{rsyslog.Port}", sink.Id);
            await env.Exporter.ExportAvailableAsync(sink, 500, CancellationToken.None);
        }

        var messages = await rsyslog.WaitForAsync(m => m.Count >= expected.Count, $"{expected.Count} messages over TLS");
        Assert.Equal(expected, messages.Select(Cef.Sequence).ToList());
    }

    [Fact]
    public async Task A_failing_sink_leaves_the_cursor_after_the_last_flushed_batch_and_the_next_run_sends_the_rest()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await using var rsyslog = await RsyslogServer.StartAsync(tls: false);
        await env.AppendAsync(SiemTestEnvironment.Mixed(100, T0));
        var size = await env.SqliteLedger.GetSizeAsync();
        var expected = await ExpectedSequencesAsync(env);

        await using (var real = await Connect(rsyslog))
        {
            var failing = new FailingAfter(real, batches: 2);
            await Assert.ThrowsAsync<IOException>(() => env.Exporter.ExportAvailableAsync(failing, 10, CancellationToken.None));
            Assert.Equal(20, await env.Cursors.GetNextAsync(real.Id)); // two batches of 10 ledger entries flushed
        }

        await using (var again = await Connect(rsyslog))
        {
            Assert.Equal(size, (await env.Exporter.ExportAvailableAsync(again, 10, CancellationToken.None)).NextSequence);
        }

        var messages = await rsyslog.WaitForAsync(m => m.Select(Cef.Sequence).ToHashSet().SetEquals(expected), "every sequence");
        Assert.Equal(expected.Count, messages.Count); // the failed batch was never written, so nothing was duplicated
    }

    [Fact]
    public async Task Cancelled_and_restarted_follow_run_loses_nothing_and_reconnects_after_the_receiver_restarts()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var rsyslog = await RsyslogServer.StartAsync(tls: false);
        var port = rsyslog.Port;
        await env.AppendAsync(SiemTestEnvironment.Mixed(2000, T0));
        var target = new SyslogTarget("127.0.0.1", port);
        Task<ISiemSink> ConnectTarget(CancellationToken ct) => SyslogTcpSink.ConnectAsync(target, false, null, "test-host", SyslogTcpSink.DefaultTimeout, TimeProvider.System, ct).ContinueWith(t => (ISiemSink)t.Result, ct, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        var id = SyslogTcpSink.SinkId(target, false);

        // Run 1: cancelled mid-stream.
        using (var cts = new CancellationTokenSource())
        {
            var run = env.Exporter.RunAsync(ConnectTarget, id, 5, TimeSpan.FromMilliseconds(100), cts.Token);
            await rsyslog.WaitForAsync(m => m.Count >= 50, "the first 50 messages");
            await cts.CancelAsync();
            await run;
        }

        var cursorAfterCancel = await env.Cursors.GetNextAsync(id);
        Assert.True(cursorAfterCancel < await env.SqliteLedger.GetSizeAsync(), "cancelled before the end");
        var beforeCancel = (await ExpectedSequencesAsync(env)).Where(s => s < cursorAfterCancel).ToHashSet();
        var firstRun = await rsyslog.WaitForAsync(m => beforeCancel.IsSubsetOf(m.Select(Cef.Sequence)), "every sequence below the cursor after cancellation");

        // Run 2 follows; the receiver is stopped and a new one started on the same port: the exporter reconnects.
        using var cts2 = new CancellationTokenSource();
        var follow = env.Exporter.RunAsync(ConnectTarget, id, 50, TimeSpan.FromMilliseconds(100), cts2.Token);
        await rsyslog.WaitForAsync(m => m.Count > firstRun.Count, "messages of the second run");
        await rsyslog.DisposeAsync();
        var received = new List<long>(firstRun.Select(Cef.Sequence));
        await using var restarted = await RsyslogServer.StartAsync(tls: false, port);
        await env.AppendAsync(SiemTestEnvironment.Mixed(300, T0.AddHours(1), seed: 8));
        var expected = await ExpectedSequencesAsync(env);
        var cursorBeforeRestart = await env.Cursors.GetNextAsync(id);
        var afterRestart = await restarted.WaitForAsync(m => m.Count > 0 && m.Select(Cef.Sequence).Max() == expected[^1], "the newest entry after the receiver restart");
        await cts2.CancelAsync();
        await follow;

        // Every sequence the first receiver did not get (the cursor says where it stood) reached the second one.
        var all = received.Concat(afterRestart.Select(Cef.Sequence)).ToHashSet();
        var missing = expected.Where(s => s >= cursorBeforeRestart && !all.Contains(s)).ToList();
        Assert.Empty(missing);
        output.WriteLine($"cancelled at cursor {cursorAfterCancel}; receiver restarted with cursor at {cursorBeforeRestart}; {afterRestart.Count} messages to the new receiver");
    }

    [Fact]
    public async Task Writes_ocsf_json_lines_that_validate_and_resume_from_their_own_cursor()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await env.AppendAsync(SiemTestEnvironment.Mixed(48, T0));
        var expected = await ExpectedSequencesAsync(env);
        var file = env.Directory.Combine("events.jsonl");
        await using (var sink = OcsfJsonLinesSink.ToFile(file))
        {
            Assert.Equal("ocsf-json:" + file, sink.Id);
            await env.Exporter.ExportAvailableAsync(sink, 7, CancellationToken.None);
        }

        await env.AppendAsync(SiemTestEnvironment.Mixed(12, T0.AddHours(1)));
        await using (var sink = OcsfJsonLinesSink.ToFile(file))
        {
            await env.Exporter.ExportAvailableAsync(sink, 7, CancellationToken.None);
        }

        var lines = await File.ReadAllLinesAsync(file);
        var events = lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(await ExpectedSequencesAsync(env), events.Select(e => long.Parse(e["metadata"]!["uid"]!.GetValue<string>(), CultureInfo.InvariantCulture)).ToList());
        Assert.True(expected.Count < events.Count);
        foreach (var e in events)
        {
            Assert.Empty(OcsfClassValidator.Instance.Validate(e, OcsfMapper.Profiles));
            if (e["class_uid"]!.GetValue<int>() == OcsfMapper.Authentication)
            {
                Assert.Empty(OcsfSchemas.Errors("authentication", OcsfSchemas.CustodianVariant, e));
            }
        }
    }

    [Fact]
    public async Task Cursors_only_move_forward()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await env.Cursors.AdvanceAsync("syslog+tcp://a:1", 10, 4);
        await env.Cursors.AdvanceAsync("syslog+tcp://a:1", 7, 2);
        Assert.Equal(10, await env.Cursors.GetNextAsync("syslog+tcp://a:1"));
        Assert.Equal(6, Assert.Single(await env.Cursors.ListAsync()).Exported);
        Assert.Equal(0, await env.Cursors.GetNextAsync("syslog+tcp://b:1"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => env.Cursors.AdvanceAsync("x", -1, 0));
    }

    [Theory]
    [InlineData("host:0", false, null, "Custodian:Siem:To must be host:port")]
    [InlineData("host:514", false, "/nonexistent.pem", "Custodian:Siem:CaFile needs Custodian:Siem:Tls=true.")]
    [InlineData("host:514", true, "/nonexistent.pem", "Custodian:Siem:CaFile must name an existing PEM file.")]
    [InlineData("host:514", false, null, "Custodian:Siem:HostName must be 1-255 printable US-ASCII characters", "two words")]
    public void Bad_serve_options_give_one_line_each(string to, bool tls, string? ca, string message, string? hostName = null)
    {
        var failures = SiemExportOptionsValidator.ValidateAll(new SiemExportOptions { To = to, Tls = tls, CaFile = ca, HostName = hostName });
        Assert.StartsWith(message, Assert.Single(failures), StringComparison.Ordinal);
        Assert.Contains("BatchSize", Assert.Single(SiemExportOptionsValidator.ValidateAll(new SiemExportOptions { BatchSize = 0 })), StringComparison.Ordinal);
        Assert.Empty(SiemExportOptionsValidator.ValidateAll(new SiemExportOptions()));
    }

    internal static async Task<List<long>> ExpectedSequencesAsync(SiemTestEnvironment env)
    {
        var list = new List<long>();
        await foreach (var c in env.SqliteLedger.ReadAsync(0))
        {
            if (OcsfMapper.Classify(c.Entry.Task) is not null)
            {
                list.Add(c.Sequence);
            }
        }

        return list;
    }

    private static async Task<SyslogTcpSink> Connect(RsyslogServer rsyslog) =>
        await SyslogTcpSink.ConnectAsync(new SyslogTarget("127.0.0.1", rsyslog.Port), false, null, "test-host", SyslogTcpSink.DefaultTimeout, TimeProvider.System, CancellationToken.None);

    /// <summary>Passes the first batches to a real sink, then fails like a dropped connection.</summary>
    private sealed class FailingAfter(ISiemSink inner, int batches) : ISiemSink
    {
        private int _left = batches;

        public string Id => inner.Id;

        public ValueTask WriteAsync(IReadOnlyList<OcsfEvent> events, CancellationToken cancellationToken) =>
            _left-- > 0 ? inner.WriteAsync(events, cancellationToken) : throw new IOException("connection reset (injected)");

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
