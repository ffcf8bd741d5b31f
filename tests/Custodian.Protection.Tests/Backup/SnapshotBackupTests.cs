using Custodian.Protection.Audit;
using Custodian.Protection.Backup;
using Custodian.Protection.Keys;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Tests.Support;
using Custodian.Storage;

namespace Custodian.Protection.Tests.Backup;

public sealed class SnapshotBackupTests
{
    [Fact]
    public async Task Backup_then_restore_into_a_new_directory_gives_the_same_records_and_the_backup_holds_no_plaintext()
    {
        using var env = await TestEnvironment.CreateAsync();
        var people = await Population.ImportAsync(env, 200);
        var secret = env.Directory.Combine("ca.key");
        var plain = env.Directory.Combine("ca.crt");
        await File.WriteAllTextAsync(secret, "-----BEGIN PRIVATE KEY----- not really -----END PRIVATE KEY-----");
        await File.WriteAllTextAsync(plain, "certificate");
        var output = env.Directory.Combine("backup");

        var manifest = await new SnapshotBackup(env.Database, env.Keys, env.Time).BackupAsync(output, new Dictionary<string, (string, bool)>
        {
            ["ca/ca.key"] = (secret, true),
            ["ca/ca.crt"] = (plain, false),
        });

        Assert.Equal(["database", "keyring", "plain", "sealed"], manifest.Files!.Select(f => f.Kind).Order().ToArray());
        Assert.False(File.Exists(Path.Combine(output, "custodian.db-wal")));
        Assert.DoesNotContain("PRIVATE KEY", await File.ReadAllTextAsync(Path.Combine(output, "sealed", "ca_ca.key.sealed")), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(output, "master.key", SearchOption.AllDirectories));
        Assert.True((await new StorageAudit(env.Database, env.Keys).ScanAsync([output])).IsClean);

        using var restored = new TempDirectory();
        await SnapshotBackup.RestoreAsync(output, restored.Path, "custodian.db", "keys", TestEnvironment.MasterKey);

        Assert.Equal("-----BEGIN PRIVATE KEY----- not really -----END PRIVATE KEY-----", await File.ReadAllTextAsync(restored.Combine("ca/ca.key")));
        Assert.Equal("certificate", await File.ReadAllTextAsync(restored.Combine("ca/ca.crt")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(restored.Combine("ca/ca.key")));
        }

        var keys = ProtectionKeyring.LoadOrCreate(restored.Combine("keys"), env.Time, TestEnvironment.MasterKey);
        var vault = new SubscriberVault(new CustodianDatabase(restored.Combine("custodian.db")), keys);
        var original = new SubscriberVault(env.Database, env.Keys);
        Assert.Equal(200, await vault.CountAsync());
        foreach (var p in people.Take(20))
        {
            var id = Assert.Single(await vault.FindByPhoneAsync(p.Phone));
            Assert.Equal(await original.DecryptAsync(id), await vault.DecryptAsync(id));
        }
    }

    [Fact]
    public async Task Restore_refuses_an_altered_backup_a_wrong_master_key_and_a_directory_with_a_database_writing_nothing()
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 20);
        var output = env.Directory.Combine("backup");
        await new SnapshotBackup(env.Database, env.Keys, env.Time).BackupAsync(output, new Dictionary<string, (string, bool)>());
        using var target = new TempDirectory();
        var wrong = Enumerable.Repeat((byte)7, 32).ToArray();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => SnapshotBackup.RestoreAsync(output, target.Path, "custodian.db", "keys", wrong));
        Assert.Contains("master key", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(target.Path));

        var db = Path.Combine(output, "custodian.db");
        var bytes = await File.ReadAllBytesAsync(db);
        bytes[^100] ^= 1;
        await File.WriteAllBytesAsync(db, bytes);
        ex = await Assert.ThrowsAsync<InvalidOperationException>(() => SnapshotBackup.RestoreAsync(output, target.Path, "custodian.db", "keys", TestEnvironment.MasterKey));
        Assert.Contains("SHA-256", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(target.Path));

        await Assert.ThrowsAsync<InvalidOperationException>(() => SnapshotBackup.RestoreAsync(output, env.Directory.Path, "custodian.db", "keys", TestEnvironment.MasterKey));
        await Assert.ThrowsAsync<IOException>(() => new SnapshotBackup(env.Database, env.Keys, env.Time).BackupAsync(output, new Dictionary<string, (string, bool)>()));
    }
}
