using Custodian.Cli;

namespace Custodian.Tests.Cli;

/// <summary>
/// Output and input paths are checked before any work: a directory, a missing parent directory or a missing input
/// file is a bad argument (exit code 1, one line on stderr naming the option), and nothing is written.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class CliPathTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-paths-");

    /// <summary>A data directory that does not exist: a verb that checked its paths only after opening it would exit 2, not 1.</summary>
    private string Data => Path.Combine(_dir.FullName, "data");

    public static TheoryData<string[]> OutputOptions => new()
    {
        { ["sample", "--subscribers", "5", "--out", "{path}"] },
        { ["staff", "import", "{feed}", "--credentials-out", "{path}"] },
        { ["review", "--month", "2026-10", "--out", "{path}"] },
        { ["review", "query", "--export", "{path}", "--reason", "audit"] },
        { ["incident", "export", "INC-20261101-ABCDEF", "--out", "{path}", "--reason", "notice"] },
        { ["incident", "report", "INC-20261101-ABCDEF", "--out", "{path}"] },
        { ["incident", "report", "INC-20261101-ABCDEF", "--svg", "{path}"] },
        { ["ledger", "checkpoint", "--out", "{path}"] },
        { ["ledger", "receipt", "--sequence", "0", "--out", "{path}"] },
        { ["siem", "export", "--format", "ocsf-json", "--out", "{path}", "--reason", "audit"] },
        { ["evaluate", "--out", "{path}"] },
    };

    [Theory]
    [MemberData(nameof(OutputOptions))]
    public async Task An_output_path_that_is_a_directory_or_in_a_missing_directory_is_a_usage_error_and_writes_nothing(string[] template)
    {
        var feed = Path.Combine(_dir.FullName, "feed.csv");
        await File.WriteAllTextAsync(feed, "account,role,store,status\nC0001,clerk,S001,active\n");
        var existingDirectory = Directory.CreateDirectory(Path.Combine(_dir.FullName, "existing")).FullName;
        var inMissingDirectory = Path.Combine(_dir.FullName, "missing", "out.file");

        Assert.Equal(1, await CustodianCli.RunAsync(Args(template, existingDirectory, feed)));
        Assert.Equal(1, await CustodianCli.RunAsync(Args(template, inMissingDirectory, feed)));

        Assert.Empty(Directory.EnumerateFileSystemEntries(existingDirectory));
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "missing")));
        Assert.False(Directory.Exists(Data));
        Assert.Equal(["existing", "feed.csv"], Directory.EnumerateFileSystemEntries(_dir.FullName).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Terminal_init_out_must_be_a_directory_in_an_existing_parent()
    {
        var file = Path.Combine(_dir.FullName, "a-file");
        await File.WriteAllTextAsync(file, "x");
        string[] common = ["terminal", "init", "--server", "https://127.0.0.1:1", "--code", "x", "--ca-sha256", new string('a', 64)];

        Assert.Equal(1, await CustodianCli.RunAsync([.. common, "--out", file]));
        Assert.Equal(1, await CustodianCli.RunAsync([.. common, "--out", Path.Combine(_dir.FullName, "missing", "terminal")]));
        Assert.Equal("x", await File.ReadAllTextAsync(file));
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "missing")));
    }

    [Fact]
    public async Task A_failed_export_leaves_no_file_and_keeps_the_one_that_was_there()
    {
        var path = Path.Combine(_dir.FullName, "export.csv");

        // The writer fails part-way (e.g. the ledger refused the export's entry): nothing appears, no temporary file stays.
        var failure = await Assert.ThrowsAsync<IOException>(() => CliFiles.WritePrivateAsync(path, async stream =>
        {
            await stream.WriteAsync("seq,time_utc\r\n"u8.ToArray());
            throw new IOException("ledger append failed");
        }));
        Assert.Equal("ledger append failed", failure.Message);
        Assert.Empty(_dir.GetFiles("*", SearchOption.AllDirectories));

        // A success replaces the file whole, owner-only.
        await CliFiles.WritePrivateAsync(path, stream => stream.WriteAsync("first\n"u8.ToArray()).AsTask());
        Assert.Equal("first\n", await File.ReadAllTextAsync(path));
        Assert.False(OperatingSystem.IsWindows(), "Custodian runs on Linux hosts.");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        // A later failure leaves the earlier export as it was.
        await Assert.ThrowsAsync<CliException>(() => CliFiles.WritePrivateAsync(path, async stream =>
        {
            await stream.WriteAsync("sec"u8.ToArray());
            throw CliException.Usage("refused");
        }));
        Assert.Equal("first\n", await File.ReadAllTextAsync(path));
        Assert.Equal(["export.csv"], _dir.GetFiles().Select(f => f.Name));
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private string[] Args(string[] template, string path, string feed) =>
        [.. template.Select(a => a.Replace("{path}", path, StringComparison.Ordinal).Replace("{feed}", feed, StringComparison.Ordinal)), "--data", Data];
}
