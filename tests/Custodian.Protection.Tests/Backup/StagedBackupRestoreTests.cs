using System.Runtime.Versioning;
using Custodian.Protection.Backup;
using Custodian.Protection.Tests.Support;

namespace Custodian.Protection.Tests.Backup;

/// <summary>
/// Backup and restore are all or nothing (docs/storage.md, "Backup and restore"): they write into a hidden staging directory
/// and move it into place only when complete; a failure or a cancellation leaves the target as it was, an existing empty
/// target is kept with its mode, and a target that holds anything is refused.
/// </summary>
[UnsupportedOSPlatform("windows")] // Custodian runs on Linux hosts; the modes are Unix file modes
public sealed class StagedBackupRestoreTests
{
    private const UnixFileMode Mode0750 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_backup_whose_file_disappears_midway_leaves_no_backup_and_no_staging_directory(bool targetExists)
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 20);
        using var parent = new TempDirectory();
        var output = parent.Combine("backup");
        if (targetExists)
        {
            Directory.CreateDirectory(output);
            File.SetUnixFileMode(output, Mode0750);
        }

        // The database snapshot and the keyring are written to the staging directory before this file is read: it is gone.
        var gone = env.Directory.Combine("ca.key");
        var ex = await Assert.ThrowsAsync<FileNotFoundException>(() => new SnapshotBackup(env.Database, env.Keys, env.Time).BackupAsync(output, new Dictionary<string, (string, bool)>
        {
            ["ca/ca.key"] = (gone, true),
        }));

        Assert.Equal(gone, ex.FileName);
        Assert.Equal(targetExists ? [output] : [], Directory.EnumerateFileSystemEntries(parent.Path).ToArray());
        if (targetExists)
        {
            Assert.Empty(Directory.EnumerateFileSystemEntries(output));
            Assert.Equal(Mode0750, File.GetUnixFileMode(output));
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task A_restore_cancelled_or_failing_after_every_file_is_written_leaves_the_target_as_it_was(bool targetExists, bool cancel)
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 20);
        var backup = env.Directory.Combine("backup");
        await new SnapshotBackup(env.Database, env.Keys, env.Time).BackupAsync(backup, new Dictionary<string, (string, bool)>());
        using var parent = new TempDirectory();
        var target = parent.Combine("restored");
        if (targetExists)
        {
            Directory.CreateDirectory(target);
            File.SetUnixFileMode(target, Mode0750);
        }

        // The last step before the move into place (where the CLI adds the master key): Ctrl-C there, or a failure.
        using var interrupt = new CancellationTokenSource();
        string? staged = null;
        Task Complete(string staging, CancellationToken token)
        {
            staged = staging;
            Assert.True(File.Exists(Path.Combine(staging, "custodian.db")));
            Assert.True(File.Exists(Path.Combine(staging, "keys", "keyring.json")));
            if (cancel)
            {
                interrupt.Cancel();
                return Task.CompletedTask;
            }

            throw new IOException("No space left on device");
        }

        var restore = SnapshotBackup.RestoreAsync(backup, target, "custodian.db", "keys", TestEnvironment.MasterKey, Complete, interrupt.Token);
        if (cancel)
        {
            await Assert.ThrowsAsync<OperationCanceledException>(() => restore);
        }
        else
        {
            Assert.Equal("No space left on device", (await Assert.ThrowsAsync<IOException>(() => restore)).Message);
        }

        Assert.StartsWith(Path.Combine(targetExists ? target : parent.Path, ".restored.partial-"), staged, StringComparison.Ordinal);
        Assert.False(Directory.Exists(staged));
        Assert.Equal(targetExists ? [target] : [], Directory.EnumerateFileSystemEntries(parent.Path).ToArray());
        if (targetExists)
        {
            Assert.Empty(Directory.EnumerateFileSystemEntries(target));
            Assert.Equal(Mode0750, File.GetUnixFileMode(target));
        }
    }

    [Fact]
    public async Task A_restore_into_an_existing_empty_directory_keeps_the_directory_and_its_mode()
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 20);
        var backup = env.Directory.Combine("backup");
        await new SnapshotBackup(env.Database, env.Keys, env.Time).BackupAsync(backup, new Dictionary<string, (string, bool)>());
        using var parent = new TempDirectory();
        var target = parent.Combine("restored");
        Directory.CreateDirectory(target);
        File.SetUnixFileMode(target, Mode0750);
        await File.WriteAllTextAsync(parent.Combine("marker"), "x"); // the parent's own entries are left alone

        await SnapshotBackup.RestoreAsync(backup, target, "custodian.db", "keys", TestEnvironment.MasterKey);

        Assert.Equal(Mode0750, File.GetUnixFileMode(target));
        Assert.Equal(["custodian.db", "keys"], Directory.EnumerateFileSystemEntries(target).Select(e => Path.GetFileName(e)!).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal([parent.Combine("marker"), target], Directory.EnumerateFileSystemEntries(parent.Path).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(backup, "keys", "keyring.json")), await File.ReadAllBytesAsync(Path.Combine(target, "keys", "keyring.json")));
    }

    [Fact]
    public async Task A_restore_into_a_new_directory_creates_it_0700_and_leaves_nothing_else()
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 20);
        var backup = env.Directory.Combine("backup");
        await new SnapshotBackup(env.Database, env.Keys, env.Time).BackupAsync(backup, new Dictionary<string, (string, bool)>());
        using var parent = new TempDirectory();
        var target = parent.Combine("restored");

        await SnapshotBackup.RestoreAsync(backup, target, "custodian.db", "keys", TestEnvironment.MasterKey);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(target));
        Assert.Equal([target], Directory.EnumerateFileSystemEntries(parent.Path).ToArray());
        Assert.Equal(["custodian.db", "keys"], Directory.EnumerateFileSystemEntries(target).Select(e => Path.GetFileName(e)!).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task A_restore_into_a_directory_that_holds_anything_is_refused_and_changes_nothing()
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 20);
        var backup = env.Directory.Combine("backup");
        await new SnapshotBackup(env.Database, env.Keys, env.Time).BackupAsync(backup, new Dictionary<string, (string, bool)>());
        using var target = new TempDirectory();
        await File.WriteAllTextAsync(target.Combine("notes.txt"), "operator's notes");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => SnapshotBackup.RestoreAsync(backup, target.Path, "custodian.db", "keys", TestEnvironment.MasterKey));

        Assert.Equal($"restore refuses to write into '{target.Path}': it exists and is not empty (restore only into a new or empty directory; nothing was written).", ex.Message);
        Assert.Equal([target.Combine("notes.txt")], Directory.EnumerateFileSystemEntries(target.Path).ToArray());
        Assert.Equal("operator's notes", await File.ReadAllTextAsync(target.Combine("notes.txt")));
    }
}
