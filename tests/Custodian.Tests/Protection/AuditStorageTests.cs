using System.Net;
using System.Net.Http.Json;
using Custodian.Cli;
using Custodian.Protection.Keys;
using Custodian.Tests.Cli;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;

namespace Custodian.Tests.Protection;

/// <summary><c>custodian audit-storage</c> against a running server's data directory and its logs.</summary>
[Collection(nameof(CliCollection))]
public sealed class AuditStorageTests
{
    [Fact]
    public async Task Audit_storage_finds_nothing_after_import_lookups_unmask_and_a_full_key_rotation_while_the_server_runs()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 300);
        var data = host.Directory.FullName;
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        await LookUpAsync(host, clerk, unmask: true);

        // Data key and blind-index key rotation from the CLI (another process's view of the keyring) while the server runs.
        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "rotate", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "rotate", "--blind-index", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "reencrypt", "--data", data]));
        var keys = ProtectionKeyring.LoadOrCreate(Path.Combine(data, "keys"), TimeProvider.System);
        Assert.Equal([4u], keys.DataKeyIds.ToArray());
        Assert.Equal(5u, keys.BlindIndexKeyId);

        // The server searches and decrypts under the new keys without a restart.
        await LookUpAsync(host, clerk, unmask: false);

        var logs = Path.Combine(data, "..", Path.GetFileName(data) + "-logs");
        Directory.CreateDirectory(logs);
        try
        {
            await File.WriteAllLinesAsync(Path.Combine(logs, "server.log"), host.Logs.GetSnapshot().Select(r => $"{r.Timestamp:O} {r.Level} {r.Category} {r.Message} {r.Exception}"));
            Assert.Equal(0, await CustodianCli.RunAsync(["audit-storage", data, logs, "--data", data]));

            // 'serve' holds data/server.lock exclusively: the empty lock file is not reported as an unreadable gap.
            await using (new FileStream(Path.Combine(data, "server.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
            {
                Assert.Equal(0, await CustodianCli.RunAsync(["audit-storage", data, logs, "--data", data]));
            }

            // The same scan does find a value that leaked into a log.
            await File.AppendAllTextAsync(Path.Combine(logs, "server.log"), "debug: looked up " + host.Population[42].Phone + "\n");
            Assert.Equal(3, await CustodianCli.RunAsync(["audit-storage", data, logs, "--data", data]));
        }
        finally
        {
            Directory.Delete(logs, recursive: true);
        }
    }

    private static async Task LookUpAsync(CustodianTestHost host, HttpClient clerk, bool unmask)
    {
        foreach (var subscriber in host.Population.Take(3))
        {
            var handle = await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
            using var view = await clerk.GetAsync($"/api/v1/subscribers/{handle}?purpose=in-store-service");
            Assert.Equal(HttpStatusCode.OK, view.StatusCode);
            if (!unmask)
            {
                continue;
            }

            using var consent = await clerk.PostAsJsonAsync($"/api/v1/subscribers/{handle}/consent", new { purpose = "identity-verification" });
            var code = await GuardedLookupTests.ConsentCodeAsync(host, subscriber.Phone);
            using var unmasked = await clerk.PostAsJsonAsync($"/api/v1/subscribers/{handle}/unmask", new { purpose = "identity-verification", consentCode = code });
            Assert.Equal(HttpStatusCode.OK, unmasked.StatusCode);
        }
    }
}
