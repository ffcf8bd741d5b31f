using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Custodian.Access.Certificates;
using Custodian.Cli;
using Custodian.Protection.Keys;
using Custodian.Protection.Subscribers;
using Custodian.Storage;
using Custodian.Tests.Cli;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Microsoft.Data.Sqlite;

namespace Custodian.Tests.Protection;

/// <summary><c>custodian backup</c> while the server serves lookups, then <c>custodian restore</c> into a new data directory.</summary>
[Collection(nameof(CliCollection))]
public sealed class BackupRestoreTests
{
    [Fact]
    public async Task Backup_while_the_server_runs_then_restore_round_trips_subscribers_ledger_and_keys()
    {
        // backup copies the SQLite file (VACUUM INTO); on PostgreSQL it refuses (below).
        await using var host = await CustodianTestHost.StartAsync(subscribers: 300, backend: TestBackend.Sqlite);
        var data = host.Directory.FullName;
        var work = Directory.CreateTempSubdirectory("custodian-backup-");
        try
        {
            var backup = Path.Combine(work.FullName, "backup");
            var restored = Path.Combine(work.FullName, "restored");
            var (clerk, _, _) = await host.ClerkAsync("C0001");

            // Lookups run while the snapshot is taken.
            using var stop = new CancellationTokenSource();
            var lookups = Task.Run(async () =>
            {
                var n = 0;
                do
                {
                    var handle = await GuardedLookupTests.SearchAsync(clerk, host.Population[n++ % 3].Phone);
                    using var view = await clerk.GetAsync($"/api/v1/subscribers/{handle}?purpose=in-store-service");
                    Assert.Equal(HttpStatusCode.OK, view.StatusCode);
                }
                while (!stop.IsCancellationRequested);
                return n;
            });
            Assert.Equal(0, await CustodianCli.RunAsync(["backup", backup, "--data", data]));
            await stop.CancelAsync();
            Assert.True(await lookups > 0);

            Assert.False(File.Exists(Path.Combine(backup, "keys", ProtectionKeyring.MasterKeyFileName)));
            Assert.False(File.Exists(Path.Combine(backup, "ca", "ca.key")));
            Assert.Equal(0, await CustodianCli.RunAsync(["audit-storage", backup, "--data", data]));

            // Without the master key (a missing argument: exit 1) nothing is restored; with it, everything is.
            Assert.Equal(1, await CustodianCli.RunAsync(["restore", backup, "--data", restored]));
            Assert.Equal(0, await CustodianCli.RunAsync(["restore", backup, "--data", restored, "--master-key", Path.Combine(data, "keys", ProtectionKeyring.MasterKeyFileName)]));
            Assert.Equal(2, await CustodianCli.RunAsync(["restore", backup, "--data", restored, "--master-key", Path.Combine(data, "keys", ProtectionKeyring.MasterKeyFileName)]));

            Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--data", restored]));
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(data, "ca", "ca.key")), await File.ReadAllBytesAsync(Path.Combine(restored, "ca", "ca.key")));
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(data, "access", "secrets.key")), await File.ReadAllBytesAsync(Path.Combine(restored, "access", "secrets.key")));
            var vault = new SubscriberVault(new CustodianDatabase(Path.Combine(restored, "custodian.db")), ProtectionKeyring.LoadOrCreate(Path.Combine(restored, "keys"), TimeProvider.System));
            Assert.Equal(300, await vault.CountAsync());
            var original = host.Get<SubscriberVault>();
            foreach (var subscriber in host.Population.Take(10))
            {
                var id = await GuardedLookupTests.IdOf(host, subscriber.Phone);
                Assert.Equal(await original.DecryptAsync(id), await vault.DecryptAsync(id));
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Restore_refuses_a_backup_whose_manifest_was_rewritten_to_plant_a_device_ca_and_writes_nothing()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, backend: TestBackend.Sqlite);
        var data = host.Directory.FullName;
        var master = Path.Combine(data, "keys", ProtectionKeyring.MasterKeyFileName);
        var work = Directory.CreateTempSubdirectory("custodian-backup-");
        try
        {
            var backup = Path.Combine(work.FullName, "backup");
            Assert.Equal(0, await CustodianCli.RunAsync(["backup", backup, "--data", data]));

            // Someone who can write where backups are kept (but holds no master key) adds a CA of their own as plain files
            // restored to ca/previous/: a restored server would trust client certificates it issues and sign its TLS
            // certificate with its key. The manifest's hashes are recomputed to match.
            var rogue = Path.Combine(work.FullName, "rogue-ca");
            CertificateAuthority.LoadOrCreate(rogue, TimeProvider.System).Dispose();
            var manifestPath = Path.Combine(backup, "manifest.json");
            var manifest = JsonNode.Parse(await File.ReadAllTextAsync(manifestPath))!.AsObject();
            foreach (var name in new[] { CertificateAuthority.CertificateFileName, CertificateAuthority.KeyFileName })
            {
                var bytes = await File.ReadAllBytesAsync(Path.Combine(rogue, name));
                Directory.CreateDirectory(Path.Combine(backup, "plain", "ca", "previous"));
                await File.WriteAllBytesAsync(Path.Combine(backup, "plain", "ca", "previous", name), bytes);
                manifest["files"]!.AsArray().Add(new JsonObject
                {
                    ["path"] = "plain/ca/previous/" + name,
                    ["kind"] = "plain",
                    ["size"] = bytes.Length,
                    ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)),
                    ["restoreTo"] = "ca/previous/" + name,
                });
            }

            await File.WriteAllTextAsync(manifestPath, manifest.ToJsonString());

            var restored = Path.Combine(work.FullName, "restored");
            Assert.Equal(2, await CustodianCli.RunAsync(["restore", backup, "--data", restored, "--master-key", master]));
            Assert.False(File.Exists(Path.Combine(restored, "ca", "previous", CertificateAuthority.KeyFileName)));
            Assert.False(File.Exists(Path.Combine(restored, "custodian.db")));

            // The backup as written still restores.
            var untouched = Path.Combine(work.FullName, "backup-2");
            Assert.Equal(0, await CustodianCli.RunAsync(["backup", untouched, "--data", data]));
            Assert.Equal(0, await CustodianCli.RunAsync(["restore", untouched, "--data", Path.Combine(work.FullName, "restored-2"), "--master-key", master]));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task On_postgres_backup_and_restore_refuse_with_one_line_naming_the_postgres_tools_and_write_nothing()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, backend: TestBackend.Postgres);
        var work = Directory.CreateTempSubdirectory("custodian-backup-");
        try
        {
            var backup = Path.Combine(work.FullName, "backup");
            var restored = Path.Combine(work.FullName, "restored");
            const string Expected = "copies the embedded SQLite database; on PostgreSQL back up and restore the database with PostgreSQL's tools (pg_basebackup with WAL archiving, or pg_dump) and the data directory (keys, CA, signing key) with a file backup (docs/storage.md).";

            // Each verb runs as its own process with the server's environment (its storage setting), as an operator would.
            var environment = new Dictionary<string, string> { ["Custodian__Storage"] = host.Get<StorageSettings>().ConnectionString! };
            var backedUp = await CliProcess.RunAsync(environment, "backup", backup, "--data", host.Directory.FullName);
            Assert.Equal((2, "error: backup " + Expected + "\n"), (backedUp.Exit, backedUp.Error));
            Assert.False(Directory.Exists(backup));

            var master = Path.Combine(host.Directory.FullName, "keys", ProtectionKeyring.MasterKeyFileName);
            var restoring = await CliProcess.RunAsync(environment, "restore", host.Directory.FullName, "--data", restored, "--master-key", master);
            Assert.Equal((2, "error: restore " + Expected + "\n"), (restoring.Exit, restoring.Error));
            Assert.False(Directory.Exists(restored));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
