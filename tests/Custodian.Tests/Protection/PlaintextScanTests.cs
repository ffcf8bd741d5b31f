using System.Net.Http.Json;
using System.Text;
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

        var needles = new List<string>();
        foreach (var s in host.Population)
        {
            var rrn = s.Rrn.Replace("-", string.Empty, StringComparison.Ordinal);
            needles.Add(rrn);
            needles.Add($"{rrn[..6]}-{rrn[6..]}");
            var e164 = PhoneNumbers.NormalizeKorean(s.Phone).Value;
            var national = PhoneNumbers.FormatNational(e164);
            needles.Add(e164);
            needles.Add(e164[1..]);
            needles.Add(national);
            needles.Add(national.Replace("-", string.Empty, StringComparison.Ordinal));
        }

        // Checkpoint the WAL so both the main file and whatever remains in the WAL are scanned.
        var files = Directory.EnumerateFiles(host.Directory.FullName, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(files, f => f.EndsWith("custodian.db", StringComparison.Ordinal));
        var findings = new List<string>();
        foreach (var file in files)
        {
            var text = Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file));
            var utf8 = Encoding.UTF8.GetString(await File.ReadAllBytesAsync(file));
            foreach (var needle in needles)
            {
                if (text.Contains(needle, StringComparison.Ordinal) || utf8.Contains(needle, StringComparison.Ordinal))
                {
                    findings.Add($"{Path.GetFileName(file)} holds a personal value at offset {Math.Max(text.IndexOf(needle, StringComparison.Ordinal), utf8.IndexOf(needle, StringComparison.Ordinal))} (needle form {(needle.Contains('-', StringComparison.Ordinal) ? "hyphenated" : needle.StartsWith('+') ? "e164" : "digits")}, length {needle.Length})");
                }
            }
        }

        Assert.NotEmpty(host.Logs.GetSnapshot());
        foreach (var record in host.Logs.GetSnapshot())
        {
            var text = record.Message + " " + record.Exception + " " + string.Join(" ", record.StructuredState?.Select(p => p.Value) ?? []);
            foreach (var needle in needles.Where(n => text.Contains(n, StringComparison.Ordinal)))
            {
                findings.Add($"log event {record.Category}/{record.Id} holds a personal value");
            }
        }

        Assert.Empty(findings);
    }
}
