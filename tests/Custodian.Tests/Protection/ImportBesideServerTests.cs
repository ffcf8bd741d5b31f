using Custodian.Ledger;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Protection;

/// <summary>
/// The defect: an all-or-nothing import beside a running server held SQLite's one write lock for the whole import, so every
/// lookup's ledger entry waited out its lock timeout and the read was refused (503 ledger-unavailable). Beside a server the
/// import now writes in short transactions with pauses between them: every ledger append of the running server succeeds.
/// </summary>
public sealed class ImportBesideServerTests
{
    private const string Probe = "C-import-probe";

    [Fact]
    public async Task Lookups_go_on_while_an_all_or_nothing_import_runs_beside_the_server()
    {
        await using var host = await CustodianTestHost.StartAsync(backend: TestBackend.Sqlite);
        var ledger = host.Get<IAccessLedger>();
        var vault = host.Get<SubscriberVault>();
        var taken = host.Population.Select(p => p.Phone).ToHashSet(StringComparer.Ordinal);
        var incoming = new SampleGenerator().Generate(12_000, 3, 1234, DateOnly.FromDateTime(host.Clock.GetUtcNow().UtcDateTime)).Where(p => !taken.Contains(p.Phone)).ToList();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, incoming);
        var sizeBefore = await ((IAccessLedgerReader)ledger).GetSizeAsync();

        var import = Task.Run(() => host.Get<SubscriberImporter>().ImportAsync(new StringReader(csv.ToString()), ImportMode.AllOrNothing, ImportConcurrency.BesideServer));

        // Four lookups at a time, as the server's endpoints do them: the ledger entry first (group commit, waiting for the
        // write lock at most the ledger's lock timeout), then the subscriber's row. Any refusal throws and fails the test.
        var lookups = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var done = 0;
            while (!import.IsCompleted || done == 0)
            {
                var subscriber = host.Population[(worker * 50 + done) % host.Population.Count];
                var phone = Custodian.Protection.Validation.PhoneNumbers.NormalizeKoreanMobile(subscriber.Phone).Value;
                var id = Assert.Single(await vault.FindByPhoneAsync(phone));
                await ledger.AppendAsync(new AccessEntry
                {
                    Time = host.Clock.GetUtcNow(),
                    Task = AccessTask.View,
                    Outcome = AccessOutcome.Allowed,
                    Account = Probe,
                    Purpose = "in-store-service",
                    Subjects = [id],
                });
                Assert.NotNull(await vault.DecryptAsync(id));
                done++;
            }

            return done;
        })).ToList();

        var report = await import;
        var counts = await Task.WhenAll(lookups);

        Assert.Empty(report.Errors);
        Assert.Equal((incoming.Count, (long)incoming.Count), (report.RowsRead, report.RowsImported));
        Assert.Equal(host.Population.Count + incoming.Count, await vault.CountAsync());
        var recorded = 0;
        await foreach (var entry in ((IAccessLedgerReader)ledger).ReadAsync(sizeBefore))
        {
            recorded += entry.Entry.Account == Probe ? 1 : 0;
        }

        Assert.Equal(counts.Sum(), recorded); // every lookup was recorded (the server's own entries, alerts among them, are not counted)
        Assert.All(counts, c => Assert.True(c > 0));
    }
}
