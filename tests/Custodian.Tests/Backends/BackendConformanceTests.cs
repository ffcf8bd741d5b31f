using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Custodian.Tests.Backends;

/// <summary>
/// Functional checks that run on both backends through <see cref="CustodianTestHost"/> (with the parameterised lookup and
/// portal-history tests in Lookup/ and Portal/): the server starts, reports its storage, and an all-or-nothing import
/// that fails leaves nothing behind.
/// </summary>
public sealed class BackendConformanceTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Health_reports_the_storage_backend_on_both_listeners(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend);
        var name = backend == TestBackend.Postgres ? "postgres" : "sqlite";
        Assert.Equal(name, host.Get<CustodianDatabase>().Dialect.Backend);
        foreach (var client in new[] { host.TerminalClient(null), host.PortalClient() })
        {
            using (client)
            {
                using var response = await client.GetAsync("/health");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal("{\"status\":\"ok\",\"storage\":{\"backend\":\"" + name + "\",\"status\":\"ok\"}}", body.GetRawText());
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task The_baselines_stored_days_are_written_rewritten_read_in_seed_order_and_pruned_after_sixty_days(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend);
        var store = new Custodian.Monitoring.BaselineDayStore(host.Get<CustodianDatabase>());
        var clerk = new Custodian.Monitoring.Principal(Custodian.Monitoring.PrincipalKind.Clerk, "C0001");
        var terminal = new Custodian.Monitoring.Principal(Custodian.Monitoring.PrincipalKind.Terminal, "S001-t-C0001");
        await store.WriteAsync(
        [
            new(terminal, null, null, 20_100, 7, 0, 4),
            new(clerk, "S001", Identity.StaffRole.StoreManager, 20_100, 7, 1, 4),
            new(clerk, "S001", Identity.StaffRole.StoreManager, 20_099, 3, 0, 2),
        ]);
        await store.WriteAsync([new(clerk, "S002", Identity.StaffRole.Clerk, 20_100, 9, 2, 5)]); // the same day again: replaced
        Assert.Equal(
            [
                new(clerk, "S001", Identity.StaffRole.StoreManager, 20_099, 3, 0, 2),
                new(clerk, "S002", Identity.StaffRole.Clerk, 20_100, 9, 2, 5),
                new Custodian.Monitoring.Detection.BaselineDay(terminal, null, null, 20_100, 7, 0, 4),
            ],
            await store.ReadBeforeAsync(20_101));
        Assert.Equal([20_099L], (await store.ReadBeforeAsync(20_100)).Select(d => d.Day)); // before the first replayed day only
        Assert.Equal([20_100L, 20_100], (await store.ReadBeforeAsync(20_099 + Custodian.Monitoring.BaselineDayStore.KeptDays + 1)).Select(d => d.Day)); // the 60 days before it only

        // A day 60 days after 20,099 deletes it (kept: 60 days before the newest); 20,100 stays.
        await store.WriteAsync([new(clerk, "S001", Identity.StaffRole.Clerk, 20_159, 1, 0, 1)]);
        Assert.Equal([20_100L, 20_100, 20_159], (await store.ReadBeforeAsync(20_160)).Select(d => d.Day).Order());
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task An_all_or_nothing_import_with_a_bad_row_or_a_duplicate_phone_imports_nothing_and_a_good_one_everything(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, backend: backend);
        var importer = host.Get<SubscriberImporter>();
        Assert.Equal(20, await CountSubscribersAsync(host));

        var fresh = new SampleGenerator().Generate(30, 3, 99, new DateOnly(2026, 3, 2)).ToList();
        var withDuplicate = fresh.Take(10).Append(host.Population[0] with { }).ToList(); // phone already imported
        var duplicate = await importer.ImportAsync(new StringReader(Csv(withDuplicate)), ImportMode.AllOrNothing);
        Assert.Equal((11L, 0L, 1L), (duplicate.RowsRead, duplicate.RowsImported, duplicate.RowsRejected));
        Assert.Equal(20, await CountSubscribersAsync(host));

        var badRow = Csv(fresh.Take(10)) + "not,a,valid,row\n";
        var bad = await importer.ImportAsync(new StringReader(badRow), ImportMode.AllOrNothing);
        Assert.Equal(0L, bad.RowsImported);
        Assert.Equal(20, await CountSubscribersAsync(host));

        var good = await importer.ImportAsync(new StringReader(Csv(fresh)), ImportMode.AllOrNothing);
        Assert.Equal((30L, 30L, 0L), (good.RowsRead, good.RowsImported, good.RowsRejected));
        Assert.Equal(50, await CountSubscribersAsync(host));
    }

    private static string Csv(IEnumerable<SampleSubscriber> rows)
    {
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, rows.ToList());
        return csv.ToString();
    }

    private static async Task<long> CountSubscribersAsync(CustodianTestHost host)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command("SELECT COUNT(*) FROM subscribers");
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The health answer when the configured database is down.</summary>
public sealed class HealthUnavailableTests
{
    [Fact]
    public async Task Health_is_503_naming_only_the_backend_when_postgres_is_unreachable()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var settings = StorageSettings.Parse("Host=127.0.0.1;Port=1;Username=u;Password=secret-pw;Database=d;Timeout=3").Value!;
        builder.Services.AddSingleton(_ => CustodianDatabase.ForPostgres(settings));
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.MapHealthApi();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.Single();
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("{\"status\":\"unavailable\",\"storage\":{\"backend\":\"postgres\",\"status\":\"unavailable\"}}", await response.Content.ReadAsStringAsync());
        await app.StopAsync();
    }
}
