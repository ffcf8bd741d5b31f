using System.Net;
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
        await using var host = await CustodianTestHost.StartAsync(subscribers: 300);
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
}
