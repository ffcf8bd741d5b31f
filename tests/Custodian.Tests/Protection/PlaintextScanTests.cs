using System.Net.Http.Json;
using Custodian.Protection.Validation;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;

namespace Custodian.Tests.Protection;

public sealed class PlaintextScanTests
{
    [Fact]
    public async Task No_rrn_or_phone_number_in_the_data_directory_or_the_logs_after_import_lookups_unmask_and_portal_use()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 300);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        foreach (var subscriber in host.Population.Take(5))
        {
            var handle = await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
            using (await clerk.GetAsync($"/api/v1/subscribers/{handle}?purpose=in-store-service"))
            {
            }

            using (await clerk.PostAsJsonAsync($"/api/v1/subscribers/{handle}/consent", new { purpose = "identity-verification" }))
            {
            }

            var code = await GuardedLookupTests.ConsentCodeAsync(host, subscriber.Phone);
            using var unmasked = await clerk.PostAsJsonAsync($"/api/v1/subscribers/{handle}/unmask", new { purpose = "identity-verification", consentCode = code, fields = new[] { "rrn", "phone", "name", "address" } });
            Assert.True(unmasked.IsSuccessStatusCode);
        }

        using (var bad = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[9].Rrn }))
        {
        }

        using var portal = await PortalTests.SignInAsync(host, host.Population[0].Phone);
        using (await portal.GetAsync("/portal/api/v1/history"))
        {
        }

        var needles = PlaintextScanner.Needles(host.Population);
        var findings = await PlaintextScanner.ScanFilesAsync(host.Directory.FullName, needles);
        if (host.Backend == TestBackend.Sqlite)
        {
            Assert.Contains(Directory.EnumerateFiles(host.Directory.FullName), f => f.EndsWith("custodian.db", StringComparison.Ordinal));
        }
        else
        {
            // The database is not in the data directory: every value of every table, read through SQL.
            var tables = await host.Get<Custodian.Protection.Audit.StorageAudit>().ScanWithDatabaseAsync([]);
            Assert.True(tables.TablesScanned > 20, $"{tables.TablesScanned} tables");
            Assert.Equal(300, tables.Subscribers);
            Assert.Empty(tables.Findings);
        }

        Assert.NotEmpty(host.Logs.GetSnapshot());
        findings.AddRange(PlaintextScanner.ScanLogs(host.Logs, needles));
        Assert.Empty(findings);
    }
}
