using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Cli;

/// <summary>What <c>--help</c> says about the data directory: the default in effect, and where it comes from.</summary>
[Collection(nameof(CliCollection))]
public sealed class CliHelpTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-help-");

    [Theory]
    [InlineData("--help")]
    [InlineData("import", "--help")]
    [InlineData("staff", "list", "--help")]
    public async Task Help_shows_the_data_directory_from_CUSTODIAN_DATA_when_it_is_set(params string[] args)
    {
        var data = Path.Combine(_dir.FullName, "elsewhere");

        var (exit, output, error) = await CliProcess.RunAsync(new Dictionary<string, string> { ["CUSTODIAN_DATA"] = data }, args);

        Assert.Equal((0, string.Empty), (exit, error));
        var line = DataLine(output);
        Assert.Equal($"-d, --data <data>  Data directory (database, keys, CA). The default comes from $CUSTODIAN_DATA. [default: {data}]", Squeeze(line));
        Assert.DoesNotContain("custodian-data", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("import", "--help")]
    public async Task Help_shows_custodian_data_when_CUSTODIAN_DATA_is_not_set(params string[] args)
    {
        var (exit, output, error) = await CliProcess.RunAsync(new Dictionary<string, string> { ["CUSTODIAN_DATA"] = string.Empty }, args);

        Assert.Equal((0, string.Empty), (exit, error));
        Assert.Equal("-d, --data <data>  Data directory (database, keys, CA). Set $CUSTODIAN_DATA for another default. [default: custodian-data]", Squeeze(DataLine(output)));
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static string DataLine(string help) =>
        Assert.Single(help.Split('\n'), l => l.TrimStart().StartsWith("-d, --data", StringComparison.Ordinal)).Trim();

    /// <summary>The line with the help layout's column padding collapsed to two spaces.</summary>
    private static string Squeeze(string line) => System.Text.RegularExpressions.Regex.Replace(line, " {2,}", "  ");
}
