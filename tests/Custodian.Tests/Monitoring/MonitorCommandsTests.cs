using Custodian.Cli;

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
    public async Task Evaluate_writes_the_markdown_report_and_rejects_bad_arguments()
    {
        var report = Path.Combine(_dir.FullName, "evaluation.md");
        Assert.Equal(0, await CustodianCli.RunAsync(["evaluate", "--scenario", "scraper", "--days", "10", "--clerks", "30", "--attack-day", "8", "--out", report, "--check"]));
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
}
