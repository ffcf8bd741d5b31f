using Custodian.Storage;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Backends;

/// <summary>
/// <c>custodian audit-storage</c> on both backends, run as its own process with the server's environment: clean after
/// import and lookups, and a phone number and an RRN written in clear into a table are found — on SQLite in the database
/// file, on PostgreSQL by reading every table's values through SQL, each finding naming table, column and row.
/// </summary>
public sealed class AuditStorageParityTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Audit_storage_is_clean_and_then_finds_a_phone_number_and_an_rrn_stored_in_clear_in_a_table(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, backend: backend);
        var db = host.Get<CustodianDatabase>();
        var environment = backend == TestBackend.Postgres
            ? new Dictionary<string, string> { ["Custodian__Storage"] = host.Get<StorageSettings>().ConnectionString! }
            : [];
        var data = host.Directory.FullName;

        var clean = await CliProcess.RunAsync(environment, "audit-storage", "--data", data);
        Assert.Equal(0, clean.Exit);
        Assert.Contains(backend == TestBackend.Postgres ? " PostgreSQL tables (" : " files (", clean.Output, StringComparison.Ordinal);
        Assert.Contains("for the RRNs and phone numbers of 20 subscribers: 0 findings.", clean.Output, StringComparison.Ordinal);

        // What a careless integration might do: keep a note and a raw copy beside the protected tables.
        var subscriber = host.Population[7];
        var note = "looked up " + subscriber.Phone;
        await using (var connection = await db.OpenAsync())
        {
            await using (var create = connection.Command(db.Dialect.TranslateDdl("CREATE TABLE leak_test (note TEXT, raw BLOB)")))
            {
                await create.ExecuteNonQueryAsync();
            }

            await using var insert = connection.Command("INSERT INTO leak_test (note, raw) VALUES (@note, @raw)", ("@note", note), ("@raw", System.Text.Encoding.ASCII.GetBytes(subscriber.Rrn)));
            await insert.ExecuteNonQueryAsync();
        }

        var found = await CliProcess.RunAsync(environment, "audit-storage", "--data", data);
        Assert.Equal(3, found.Exit);
        Assert.DoesNotContain(subscriber.Rrn, found.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(subscriber.Phone, found.Output, StringComparison.Ordinal);
        if (backend == TestBackend.Postgres)
        {
            var lines = found.Output.Split('\n');
            Assert.Contains($"FOUND phone at offset {note.AsSpan().IndexOfAnyInRange('0', '9')} in {db.Path}: table leak_test, column note, row (0,1)", lines);
            Assert.Contains($"FOUND rrn at offset 0 in {db.Path}: table leak_test, column raw, row (0,1)", lines);
        }
        else
        {
            Assert.Contains("FOUND phone at offset ", found.Output, StringComparison.Ordinal);
            Assert.Contains("FOUND rrn at offset ", found.Output, StringComparison.Ordinal);
        }
    }
}
