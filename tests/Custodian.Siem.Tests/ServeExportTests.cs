using System.Diagnostics;
using System.Text;

namespace Custodian.Siem.Tests;

/// <summary><c>custodian serve</c> with <c>Custodian__Siem__*</c> set runs the export in the background; a bad value stops the start in one line.</summary>
public sealed class ServeExportTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 7, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Serve_exports_the_ledger_to_the_configured_receiver()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await using var rsyslog = await RsyslogServer.StartAsync(tls: true);
        await env.AppendAsync(SiemTestEnvironment.Mixed(120, T0));
        var expected = (await SiemExportTests.ExpectedSequencesAsync(env)).ToHashSet();

        using var serve = Start(env, new()
        {
            ["Custodian__Siem__To"] = $"127.0.0.1:{rsyslog.Port}",
            ["Custodian__Siem__Tls"] = "true",
            ["Custodian__Siem__CaFile"] = rsyslog.CaFile!,
            ["Custodian__Siem__HostName"] = "serve-host",
            ["Custodian__Siem__PollIntervalMs"] = "100",
        }, out var log);
        try
        {
            var messages = await rsyslog.WaitForAsync(m => expected.IsSubsetOf(m.Select(Cef.Sequence)), "every exported sequence from serve");
            Assert.All(messages, m => Assert.Equal("serve-host", m.HostName));

            // The cursor moves in its own transaction after the receiver took the batch: give it that moment before the kill.
            for (var waited = 0; waited < 300 && await env.Cursors.GetNextAsync($"syslog+tls://127.0.0.1:{rsyslog.Port}") <= expected.Max(); waited++)
            {
                await Task.Delay(100);
            }
        }
        finally
        {
            serve.Kill();
            await serve.WaitForExitAsync();
        }

        // The server appends entries of its own meanwhile; the cursor is past every entry written before it started.
        Assert.True(await env.Cursors.GetNextAsync($"syslog+tls://127.0.0.1:{rsyslog.Port}") > expected.Max());
        Assert.DoesNotContain("error", log.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_bad_siem_setting_stops_serve_with_one_line()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        using var serve = Start(env, new() { ["Custodian__Siem__To"] = "no-port-here", ["Custodian__Siem__BatchSize"] = "0" }, out var log);
        await serve.WaitForExitAsync();
        Assert.Equal(2, serve.ExitCode);
        var line = Assert.Single(log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: invalid SIEM export configuration: ", line, StringComparison.Ordinal);
        Assert.Contains("BatchSize", line, StringComparison.Ordinal);
        Assert.Contains("Siem:To must be host:port", line, StringComparison.Ordinal);
        Assert.DoesNotContain("no-port-here", line, StringComparison.Ordinal);
    }

    private static Process Start(SiemTestEnvironment env, Dictionary<string, string> environment, out StringBuilder log)
    {
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "custodian.dll"), "serve", "--terminal-port", "0", "--portal-port", "0", "--data", env.DataDirectory },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var buffer = new StringBuilder();
        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, e) => { lock (buffer) { buffer.AppendLine(e.Data); } };
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        log = buffer;
        return process;
    }
}
