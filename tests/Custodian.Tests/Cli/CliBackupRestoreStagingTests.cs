using System.Runtime.Versioning;
using Custodian.Cli;
using Microsoft.Data.Sqlite;

namespace Custodian.Tests.Cli;

/// <summary>
/// <c>backup</c> and <c>restore</c> are all or nothing (docs/storage.md, "Backup and restore"): a failure leaves no
/// half-written backup, <c>restore</c> refuses a <c>--data</c> that holds anything (exit 2, one line) and keeps an existing
/// empty one with its mode.
/// </summary>
[Collection(nameof(CliCollection))]
[UnsupportedOSPlatform("windows")] // Custodian runs on Linux hosts; the modes are Unix file modes
public sealed class CliBackupRestoreStagingTests : IDisposable
{
    private const UnixFileMode Mode0750 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-staging-");

    private string Data => Path.Combine(_dir.FullName, "data");

    private string MasterKey => Path.Combine(Data, "keys", "master.key");

    [Fact]
    public async Task Restore_into_a_data_directory_that_holds_anything_is_refused_in_one_line_exit_2_and_changes_nothing()
    {
        var backup = await BackupAsync();
        var target = Path.Combine(_dir.FullName, "restored");
        Directory.CreateDirectory(target);
        await File.WriteAllTextAsync(Path.Combine(target, "notes.txt"), "operator's notes");

        var (code, stdout, stderr) = await CliCapture.RunAsync(["restore", backup, "--data", target, "--master-key", MasterKey]);

        Assert.Equal(
            (2, "", $"error: restore refuses to write into '{target}': it exists and is not empty (restore only into a new or empty directory; nothing was written).\n"),
            (code, stdout, stderr));
        Assert.Equal([Path.Combine(target, "notes.txt")], Directory.EnumerateFileSystemEntries(target).ToArray());
        Assert.Equal("operator's notes", await File.ReadAllTextAsync(Path.Combine(target, "notes.txt")));
    }

    [Fact]
    public async Task Restore_into_an_existing_empty_directory_keeps_it_with_its_mode_and_the_round_trip_verifies()
    {
        var backup = await BackupAsync();
        var target = Path.Combine(_dir.FullName, "restored");
        Directory.CreateDirectory(target);
        File.SetUnixFileMode(target, Mode0750);

        Assert.Equal(0, await CustodianCli.RunAsync(["restore", backup, "--data", target, "--master-key", MasterKey]));

        Assert.Equal(Mode0750, File.GetUnixFileMode(target));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(target), e => Path.GetFileName(e).Contains(".partial-", StringComparison.Ordinal));
        Assert.Equal(await File.ReadAllTextAsync(MasterKey), await File.ReadAllTextAsync(Path.Combine(target, "keys", "master.key")));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Data, "ca", "ca.key")), await File.ReadAllBytesAsync(Path.Combine(target, "ca", "ca.key")));
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--data", target]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_backup_failing_midway_leaves_no_backup_and_no_staging_directory(bool outputExists)
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var output = Path.Combine(_dir.FullName, "bk");
        if (outputExists)
        {
            Directory.CreateDirectory(output);
            File.SetUnixFileMode(output, Mode0750);
        }

        // The checkpoint signing key is read after the database snapshot and the keyring are written to the staging
        // directory (it is not loaded before: the verb signs nothing). A 3 GB (sparse) file cannot be read into memory.
        var logKey = Path.Combine(Data, "checkpoints", "log.key");
        Directory.CreateDirectory(Path.GetDirectoryName(logKey)!);
        await using (var oversized = new FileStream(logKey, FileMode.Create))
        {
            oversized.SetLength(3L << 30);
        }

        var (code, _, stderr) = await CliCapture.RunAsync(["backup", output, "--data", Data]);

        Assert.Equal(2, code);
        Assert.Equal("error: The file is too long. This operation is currently limited to supporting files less than 2 gigabytes in size.\n", stderr);
        Assert.Equal(
            new[] { Data }.Concat(outputExists ? [output] : []).Order(StringComparer.Ordinal).ToArray(),
            Directory.EnumerateFileSystemEntries(_dir.FullName).Order(StringComparer.Ordinal).ToArray());
        if (outputExists)
        {
            Assert.Empty(Directory.EnumerateFileSystemEntries(output));
            Assert.Equal(Mode0750, File.GetUnixFileMode(output));
        }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private async Task<string> BackupAsync()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var backup = Path.Combine(_dir.FullName, "bk");
        Assert.Equal(0, await CustodianCli.RunAsync(["backup", backup, "--data", Data]));
        return backup;
    }
}
