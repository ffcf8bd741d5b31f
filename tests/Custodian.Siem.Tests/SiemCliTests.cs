using System.Diagnostics;
using Custodian.Ledger;

namespace Custodian.Siem.Tests;

/// <summary><c>custodian siem export|status</c> through the real executable: argument errors are one line with exit code 1.</summary>
public sealed class SiemCliTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 7, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("error: --to host:port is required for CEF over syslog (or use --format ocsf-json --out FILE).", "siem", "export")]
    [InlineData("error: --to must be host:port with a port of 1-65535 (IPv6 in brackets: [::1]:6514).", "siem", "export", "--to", "nohost")]
    [InlineData("error: --once and --follow exclude each other.", "siem", "export", "--to", "127.0.0.1:514", "--once", "--follow")]
    [InlineData("error: --format ocsf-json needs --out FILE (or -) and takes no --to, --tls or --ca.", "siem", "export", "--format", "ocsf-json")]
    [InlineData("error: --out is for --format ocsf-json; CEF goes to a syslog receiver (--to).", "siem", "export", "--to", "127.0.0.1:514", "--out", "x")]
    [InlineData("error: --ca needs --tls.", "siem", "export", "--to", "127.0.0.1:514", "--ca", "/nonexistent.pem")]
    [InlineData("error: --ca: no such file: /nonexistent.pem.", "siem", "export", "--to", "127.0.0.1:514", "--tls", "--ca", "/nonexistent.pem")]
    [InlineData("error: --ca: the CA file holds no PEM certificate.", "siem", "export", "--to", "127.0.0.1:514", "--tls", "--ca", "/etc/passwd")]
    [InlineData("error: --batch-size must be a whole number from 1 to 10,000", "siem", "export", "--to", "127.0.0.1:514", "--batch-size", "0")]
    [InlineData("error: --format ocsf-json (an export to a file or standard output) requires --reason with the reason for the export (PIPA safety standard Art. 8(2)).", "siem", "export", "--format", "ocsf-json", "--out", "-")]
    [InlineData("error: --format ocsf-json (an export to a file or standard output) requires --reason with the reason for the export (PIPA safety standard Art. 8(2)).", "siem", "export", "--format", "ocsf-json", "--out", "-", "--reason", " ")]
    [InlineData("error: --reason: must not contain a phone number or a resident registration number; name a subscriber by token.", "siem", "export", "--format", "ocsf-json", "--out", "-", "--reason", "asked by 010-1234-5678")]
    [InlineData("error: --reason is only used with --format ocsf-json; the CEF feed to the SIEM's syslog receiver is not a one-off export.", "siem", "export", "--to", "127.0.0.1:514", "--reason", "audit")]
    public async Task Bad_arguments_give_one_line_and_exit_code_1(string message, params string[] args)
    {
        using var dir = new TempDirectory();
        var (code, stdout, stderr) = await RunAsync([.. args, "--data", dir.Combine("data")]);
        Assert.Equal(1, code);
        Assert.Equal(message, stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim());
        Assert.Empty(stdout);
    }

    [Fact]
    public async Task Once_exports_to_rsyslog_and_status_shows_the_cursor()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await using var rsyslog = await RsyslogServer.StartAsync(tls: false);
        await env.AppendAsync(SiemTestEnvironment.Mixed(36, T0));
        var expected = await SiemExportTests.ExpectedSequencesAsync(env);
        var size = await env.SqliteLedger.GetSizeAsync();

        var (code, stdout, _) = await RunAsync(["siem", "export", "--to", $"127.0.0.1:{rsyslog.Port}", "--once", "--data", env.DataDirectory]);
        Assert.Equal(0, code);
        Assert.Equal($"Exported {expected.Count} events to syslog+tcp://127.0.0.1:{rsyslog.Port}; cursor {size} of ledger size {size}.", stdout.Trim());
        await rsyslog.WaitForAsync(m => m.Select(Cef.Sequence).SequenceEqual(expected), "every exported sequence");

        (code, stdout, _) = await RunAsync(["siem", "status", "--data", env.DataDirectory]);
        Assert.Equal(0, code);
        Assert.Contains($"Ledger size: {size}", stdout, StringComparison.Ordinal);
        Assert.Contains($"syslog+tcp://127.0.0.1:{rsyslog.Port}", stdout, StringComparison.Ordinal);

        // Nothing listening: --once fails with exit code 2 and a one-line message, and the cursor stays.
        await rsyslog.DisposeAsync();
        string stderr;
        (code, _, stderr) = await RunAsync(["siem", "export", "--to", $"127.0.0.1:{rsyslog.Port}", "--data", env.DataDirectory]);
        Assert.Equal(2, code);
        Assert.StartsWith($"error: cannot connect to the syslog receiver 127.0.0.1:{rsyslog.Port}", stderr.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ocsf_json_export_to_a_file_needs_a_reason_and_is_recorded_as_an_export()
    {
        // A README-only evaluation found that this one-off export of clerks, IPs and subscriber tokens asked no reason and left no trace.
        await using var env = await SiemTestEnvironment.CreateAsync();
        await env.AppendAsync(SiemTestEnvironment.Mixed(6, T0));
        var size = await env.SqliteLedger.GetSizeAsync();
        var file = Path.GetFullPath(env.Directory.Combine("events.jsonl"));

        var (code, stdout, stderr) = await RunAsync(["siem", "export", "--format", "ocsf-json", "--out", file, "--data", env.DataDirectory]);
        Assert.Equal((1, string.Empty), (code, stdout));
        Assert.StartsWith("error: --format ocsf-json (an export to a file or standard output) requires --reason", stderr.Trim(), StringComparison.Ordinal);
        Assert.False(File.Exists(file));
        Assert.Equal(size, await env.SqliteLedger.GetSizeAsync());

        (code, stdout, _) = await RunAsync(["siem", "export", "--format", "ocsf-json", "--out", file, "--reason", " quarterly SOC audit ", "--data", env.DataDirectory]);
        Assert.Equal(0, code);
        var expected = await SiemExportTests.ExpectedSequencesAsync(env);
        Assert.Equal(size + 1, await env.SqliteLedger.GetSizeAsync());
        Assert.Equal(
            $"Recorded as ledger entry #{size} (an export, flagged in the review report).\nExported {expected.Count} events to ocsf-json:{file}; cursor {size + 1} of ledger size {size + 1}.",
            stdout.Trim().ReplaceLineEndings("\n"));
        var recorded = await OnlyEntryFromAsync(env, size);
        Assert.Equal(
            (AccessTask.Export, AccessOutcome.Allowed, "quarterly SOC audit", $"siem ocsf-json:{file} from=0", true),
            (recorded.Entry.Task, recorded.Entry.Outcome, recorded.Entry.Reason, recorded.Entry.Target, recorded.Entry.Account!.StartsWith("local-", StringComparison.Ordinal)));
        Assert.True(recorded.Entry.Task.IsDownloadOrExport()); // so the review report flags it

        // The export's own entry is the last event written.
        var last = System.Text.Json.Nodes.JsonNode.Parse(File.ReadLines(file).Last())!;
        Assert.Equal(("export", size.ToString(System.Globalization.CultureInfo.InvariantCulture)), (last["unmapped"]!["task"]!.GetValue<string>(), last["metadata"]!["uid"]!.GetValue<string>()));

        // Again from the cursor: recorded again, with where it started.
        (code, _, _) = await RunAsync(["siem", "export", "--format", "ocsf-json", "--out", file, "--reason", "second part", "--data", env.DataDirectory]);
        Assert.Equal(0, code);
        recorded = await OnlyEntryFromAsync(env, size + 1);
        Assert.Equal($"siem ocsf-json:{file} from={size + 1}", recorded.Entry.Target);
    }

    private static async Task<CommittedEntry> OnlyEntryFromAsync(SiemTestEnvironment env, long sequence)
    {
        var entries = new List<CommittedEntry>();
        await foreach (var c in env.SqliteLedger.ReadAsync(sequence))
        {
            entries.Add(c);
        }

        return Assert.Single(entries);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args)
    {
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "custodian.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }
}
