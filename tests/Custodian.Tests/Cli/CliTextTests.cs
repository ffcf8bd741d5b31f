using Custodian.Cli;

namespace Custodian.Tests.Cli;

/// <summary>Counts in console output take the noun in the right number ("1 bad row", not "1 bad rows" or "1 bad row(s)").</summary>
[Collection(nameof(CliCollection))]
public sealed class CliTextTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-text-");

    [Theory]
    [InlineData(0, "0 bad rows")]
    [InlineData(1, "1 bad row")]
    [InlineData(2, "2 bad rows")]
    [InlineData(1200, "1,200 bad rows")]
    public void Count_takes_the_singular_only_for_one(long count, string expected) =>
        Assert.Equal(expected, CliText.Count(count, "bad row"));

    [Fact]
    public void Count_takes_an_irregular_plural() =>
        Assert.Equal(["1 entry", "3 entries"], [CliText.Count(1, "entry", "entries"), CliText.Count(3, "entry", "entries")]);

    [Fact]
    public async Task Monitor_replay_reports_one_bad_row_in_the_singular()
    {
        var log = Path.Combine(_dir.FullName, "log.csv");
        await File.WriteAllLinesAsync(log, [
            "time,clerk,terminal,store,subscriber,task,purpose,fields,outcome",
            "2026-11-02T11:00:00+09:00,C7,T-7,S002,tok1,search,,name,allowed",
            "not-a-time,C7,T-7,S002,tok2,search,,name,allowed",
        ]);
        var (code, stdout, stderr) = await CaptureAsync(["monitor", "replay", log]);
        Assert.Equal(3, code);
        Assert.Empty(stdout);
        Assert.Equal("1 bad row; nothing replayed (use --skip-bad-rows to replay the good one).", stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].TrimEnd('\r'));

        (code, stdout, _) = await CaptureAsync(["monitor", "replay", log, "--skip-bad-rows"]);
        Assert.Equal(3, code);
        Assert.Contains("Replayed 1 row: 0 alerts, 0 suspensions.", stdout, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static Task<(int Code, string Stdout, string Stderr)> CaptureAsync(string[] args) => CliCapture.RunAsync(args);
}
