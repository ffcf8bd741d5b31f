using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Custodian.Siem.Tests;

/// <summary>
/// "Kill and restart the exporter and nothing is lost": <c>custodian siem export --follow</c> runs as a real separate
/// process against a real rsyslogd, is killed with SIGKILL mid-stream, entries keep arriving while it is down, and a
/// restarted process delivers every ledger sequence at least once (duplicates allowed, counted and reported).
/// </summary>
public sealed class ExporterProcessTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 7, 0, 0, TimeSpan.Zero);

    [Fact]
    public Task Sigkill_mid_stream_and_restart_loses_nothing() => KillAndRestartAsync(kills: 1, entries: 6000);

    [Fact]
    [Trait("Category", "Long")]
    public Task Five_sigkills_mid_stream_lose_nothing() => KillAndRestartAsync(kills: 5, entries: 30_000);

    private async Task KillAndRestartAsync(int kills, int entries)
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await using var rsyslog = await RsyslogServer.StartAsync(tls: false);
        await env.AppendAsync(SiemTestEnvironment.Mixed(entries, T0));
        var id = $"syslog+tcp://127.0.0.1:{rsyslog.Port}";

        for (var k = 0; k < kills; k++)
        {
            var before = (await rsyslog.ReadMessagesAsync(lenient: true)).Count;
            using var run = StartExporter(env, rsyslog.Port, out var log);
            var exporter = run.Process;
            await rsyslog.WaitForAsync(m => m.Count >= before + 200, $"200 more messages from exporter run {k + 1}", lenient: true);
            exporter.Kill(); // SIGKILL on Unix: no shutdown code runs
            await exporter.WaitForExitAsync();
            var cursor = await env.Cursors.GetNextAsync(id);
            var size = await env.SqliteLedger.GetSizeAsync();
            output.WriteLine($"run {k + 1}: killed (exit code {exporter.ExitCode}) with the cursor at {cursor} of {size}; {log}".Trim());
            Assert.True(cursor < size, $"run {k + 1} was killed after it had finished; the test needs a kill mid-stream");

            // Entries keep arriving while no exporter runs.
            await env.AppendAsync(SiemTestEnvironment.Mixed(100, T0.AddHours(k + 1), seed: k + 10));
        }

        var expected = await SiemExportTests.ExpectedSequencesAsync(env);
        using (var lastRun = StartExporter(env, rsyslog.Port, out _))
        {
            var last = lastRun.Process;
            var all = expected.ToHashSet();
            await rsyslog.WaitForAsync(m => all.IsSubsetOf(m.Select(Cef.Sequence)), "every exported ledger sequence after the restart", lenient: true);
            last.Kill();
            await last.WaitForExitAsync();
        }

        var received = (await rsyslog.ReadMessagesAsync(lenient: true)).Select(Cef.Sequence).ToList();

        // A SIGKILL during a write can cut the frame in flight; rsyslog passes on what it got. At most one per kill,
        // and its batch was never acknowledged, so it was resent whole.
        Assert.True(rsyslog.Fragments <= kills, $"{rsyslog.Fragments} cut-short messages for {kills} kill(s)");
        var missing = expected.Except(received).ToList();
        Assert.Empty(missing);
        Assert.Empty(received.Except(expected));
        var duplicates = received.Count - received.Distinct().Count();
        output.WriteLine($"{expected.Count} events expected, {received.Count} received, {duplicates} duplicates (at-least-once resends after {kills} SIGKILL(s)), {rsyslog.Fragments} cut-short message(s).");
    }

    private static Exporter StartExporter(SiemTestEnvironment env, int port, out StringBuilder log)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "custodian.dll");
        Assert.True(File.Exists(dll), "custodian.dll is not beside the tests");
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            ArgumentList =
            {
                dll, "siem", "export", "--to", $"127.0.0.1:{port}", "--follow", "--batch-size", "10", "--poll-ms", "100",
                "--hostname", "test-host", "--data", env.DataDirectory,
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var buffer = new StringBuilder();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (buffer) { buffer.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (buffer) { buffer.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        log = buffer;
        return new Exporter(process);
    }

    /// <summary>The exporter child process, killed on dispose: a failed assertion must not leave it running (it follows forever).</summary>
    private sealed class Exporter(Process process) : IDisposable
    {
        public Process Process => process;

        public void Dispose()
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
        }
    }
}
