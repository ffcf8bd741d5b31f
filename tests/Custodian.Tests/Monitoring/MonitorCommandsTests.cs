using System.Diagnostics;
using System.Globalization;
using System.Text;
using Custodian.Cli;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Monitoring;

[Collection(nameof(Custodian.Tests.Cli.CliCollection))]
public sealed class MonitorCommandsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-monitor-cli-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Replay_exits_3_on_bad_rows_even_when_told_to_skip_them_and_0_on_a_good_log()
    {
        var good = Path.Combine(_dir.FullName, "log.csv");
        var lines = new List<string> { "time,clerk,terminal,store,subscriber,task,purpose,fields,outcome" };
        for (var i = 0; i < 12; i++)
        {
            lines.Add($"2026-11-02T11:{i:00}:00+09:00,C7,T-7,S002,tok{i},search,,name,allowed");
        }

        await File.WriteAllLinesAsync(good, lines);
        Assert.Equal(0, await CustodianCli.RunAsync(["monitor", "replay", good]));

        var bad = Path.Combine(_dir.FullName, "bad.csv");
        await File.WriteAllLinesAsync(bad, [.. lines, "not-a-time,C7,T-7,S002,tok,search,,name,allowed"]);
        Assert.Equal(3, await CustodianCli.RunAsync(["monitor", "replay", bad]));
        Assert.Equal(3, await CustodianCli.RunAsync(["monitor", "replay", bad, "--skip-bad-rows"])); // the report is printed; rows were still refused
        Assert.Equal(1, await CustodianCli.RunAsync(["monitor", "replay", Path.Combine(_dir.FullName, "missing.csv")]));
        Assert.Equal(1, await CustodianCli.RunAsync(["monitor", "replay", Path.Combine(_dir.FullName, "log.txt")]));
    }

    [Fact]
    public async Task Ctrl_c_during_a_replay_stops_it_mid_file_and_exits_130()
    {
        var log = Path.Combine(_dir.FullName, "long.csv");
        await using (var writer = new StreamWriter(log, false, new UTF8Encoding(false)))
        {
            await writer.WriteLineAsync("time,clerk,terminal,store,subscriber,task,purpose,fields,outcome");
            var start = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.FromHours(9));
            for (var i = 0; i < ReplayRows; i++)
            {
                var clerk = i % 300;
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{start.AddMilliseconds(i * 50L):yyyy-MM-ddTHH:mm:ss.fffzzz},C{clerk},T-{clerk},S{clerk % 50:000},tok{i % 200_000},search,,name;phone,allowed"));
            }
        }

        var size = new FileInfo(log).Length;
        using var replay = CliProcess.StartWithDefaultSigint("monitor", "replay", log);
        var stdout = replay.StandardOutput.ReadToEndAsync();
        var stderr = replay.StandardError.ReadToEndAsync();
        var read = await WaitForBytesReadAsync(replay, MidFile); // the verb is part-way through the file
        var signalled = Stopwatch.StartNew();
        CliProcess.Signal(replay, "INT");
        await CliProcess.WaitForExitAsync(replay);
        signalled.Stop();

        Assert.InRange(read, MidFile, size - 1);
        Assert.Equal(130, replay.ExitCode);
        Assert.Equal("error: interrupted by SIGINT; the operation was stopped before it finished.", (await stderr).TrimEnd('\n'));
        Assert.Empty(await stdout); // no report of a partial replay
        Assert.True(signalled.Elapsed < TimeSpan.FromSeconds(4), $"stopped {signalled.Elapsed} after the signal, not by itself within the 5-second grace");
    }

    [Fact]
    public async Task Ctrl_c_during_an_evaluation_stops_it_in_order_and_exits_130()
    {
        using var evaluate = CliProcess.StartWithDefaultSigint("evaluate", "--days", "60");
        var stderr = evaluate.StandardError.ReadToEndAsync();
        var firstLine = await evaluate.StandardOutput.ReadLineAsync(); // the progress of the first scenario: the verb is evaluating
        var stdout = evaluate.StandardOutput.ReadToEndAsync();
        CliProcess.Signal(evaluate, "INT");
        await CliProcess.WaitForExitAsync(evaluate);

        Assert.Matches("^[a-z-]+ seed 1: [0-9]+%$", firstLine);
        Assert.Equal(130, evaluate.ExitCode);
        // Not "... did not stop within 5 seconds and was ended": the evaluator itself stopped at the cancellation.
        Assert.Equal("error: interrupted by SIGINT; the operation was stopped before it finished.", (await stderr).TrimEnd('\n'));
        Assert.DoesNotContain("# Monitor evaluation", await stdout, StringComparison.Ordinal); // no report of a partial run
    }

    [Fact]
    public async Task Evaluate_writes_the_markdown_report_and_rejects_bad_arguments()
    {
        var report = Path.Combine(_dir.FullName, "evaluation.md");
        var (code, stdout, _) = await Custodian.Tests.Cli.CliCapture.RunAsync(["evaluate", "--scenario", "scraper", "--days", "10", "--clerks", "30", "--attack-day", "8", "--out", report, "--check"]);
        Assert.Equal(0, code);
        Assert.EndsWith($"Wrote {report}.\n", stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal); // the path given, not only the file name
        var text = await File.ReadAllTextAsync(report);
        Assert.Contains("| scraper | 1 |", text, StringComparison.Ordinal);
        Assert.Contains("Every target met.", text, StringComparison.Ordinal);
        Assert.Equal(1, await CustodianCli.RunAsync(["evaluate", "--scenario", "ddos"]));
        Assert.Equal(1, await CustodianCli.RunAsync(["evaluate", "--days", "5", "--attack-day", "5"]));
        Assert.Equal(1, await CustodianCli.RunAsync(["evaluate", "--clerks", "3"]));

        // An --out that cannot be written is refused before the matrix runs (which takes minutes at the defaults).
        Assert.Equal(1, await CustodianCli.RunAsync(["evaluate", "--out", _dir.FullName]));
        Assert.Equal(1, await CustodianCli.RunAsync(["evaluate", "--out", Path.Combine(_dir.FullName, "missing", "evaluation.md")]));
    }

    [Fact]
    public async Task Evaluate_says_where_it_wrote_its_report_as_an_absolute_path_when_given_a_relative_one()
    {
        var report = Path.Combine(_dir.FullName, "relative.md");
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, report);
        Assert.False(Path.IsPathRooted(relative));

        var (code, stdout, _) = await Custodian.Tests.Cli.CliCapture.RunAsync(["evaluate", "--scenario", "scraper", "--days", "6", "--clerks", "6", "--subscribers", "1000", "--attack-day", "4", "--out", relative]);

        Assert.Equal(0, code);
        Assert.EndsWith($"Wrote {report}.\n", stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.True(File.Exists(report));
    }

    [Fact]
    public async Task Evaluate_records_a_command_that_can_be_run_again_when_the_out_path_has_a_space()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "eval runs"));
        var report = Path.Combine(folder.FullName, "it's the report.md");
        var (code, _, _) = await Custodian.Tests.Cli.CliCapture.RunAsync(["evaluate", "--scenario", "scraper", "--days", "6", "--clerks", "6", "--subscribers", "1000", "--attack-day", "4", "--out", report]);
        Assert.Equal(0, code);
        var quoted = "'" + report.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        Assert.Contains($"Command: `custodian evaluate --scenario scraper --days 6 --clerks 6 --subscribers 1000 --attack-day 4 --out {quoted}`", await File.ReadAllTextAsync(report), StringComparison.Ordinal);
    }

    /// <summary>Rows of the long replay file (about 120 MB): enough that reading it takes seconds.</summary>
    private const int ReplayRows = 1_500_000;

    /// <summary>Bytes read by the replay when it is signalled: well past start-up, well before the end of the file.</summary>
    private const long MidFile = 32L * 1024 * 1024;


    /// <summary>
    /// Waits until <paramref name="process"/> has read at least <paramref name="bytes"/> bytes (Linux <c>/proc/PID/io</c>,
    /// <c>rchar</c>; .NET reads files with <c>pread</c>, so the descriptor's own offset stays 0) and returns how many.
    /// </summary>
    private static async Task<long> WaitForBytesReadAsync(Process process, long bytes)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (true)
        {
            Assert.False(process.HasExited, "the replay ended before it was seen reading the file");
            try
            {
                var io = await File.ReadAllLinesAsync($"/proc/{process.Id}/io", timeout.Token);
                var read = long.Parse(io.First(l => l.StartsWith("rchar:", StringComparison.Ordinal))[6..].Trim(), CultureInfo.InvariantCulture);
                if (read >= bytes)
                {
                    return read;
                }
            }
            catch (IOException)
            {
                // The process is ending: the assertion above says so on the next round.
            }

            await Task.Delay(10, timeout.Token);
        }
    }


}
