using System.Globalization;
using Custodian.Protection;
using Custodian.Protection.Import;
using Custodian.Protection.Keys;
using Custodian.Protection.Sample;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.Backends;

/// <summary>
/// Migration <c>protection-import-002</c> (sequential key <c>seq</c>, subscriber id as a unique index) on a table that already
/// holds rows, on both backends, and the importer's keys after it: existing rows are numbered in id order with every column
/// kept, new rows continue the sequence, and the unique phone index still turns a repeated phone number away.
/// </summary>
public sealed class SubscriberKeyMigrationTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 1, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Existing_rows_get_keys_in_id_order_and_imports_continue_the_sequence(TestBackend backend)
    {
        var directory = Directory.CreateTempSubdirectory("custodian-seq-");
        PostgresSchema? schema = backend == TestBackend.Postgres ? await TestStorage.CreateSchemaAsync() : null;
        try
        {
            await using var database = schema is null ? new CustodianDatabase(Path.Combine(directory.FullName, "custodian.db")) : CustodianDatabase.ForPostgres(schema.Settings);
            var time = new FakeTimeProvider(Start);
            var migrations = new ProtectionMigrations().Migrations.ToList();
            await database.MigrateAsync(migrations.TakeWhile(m => m.Id != "protection-import-002"), time);
            await using (var connection = await database.OpenAsync())
            {
                foreach (var id in new long[] { 300, 100, 200 })
                {
                    await using var insert = connection.Command(
                        "INSERT INTO subscribers (id, phone_index, rrn_index, name_ct, rrn_ct, phone_ct, address_ct, rate_plan, contract_start, contract_end, home_store, created_at) " +
                        "VALUES (@id, @p, @r, @c, @c, @c, @c, 'LTE', '2025-01-01', '2027-01-01', 'S001', 1)",
                        ("@id", id),
                        ("@p", Bytes(id, 1)),
                        ("@r", Bytes(id, 2)),
                        ("@c", Bytes(id, 3)));
                    await insert.ExecuteNonQueryAsync();
                }
            }

            await database.MigrateAsync(migrations, time);

            Assert.Equal(["1 100", "2 200", "3 300"], await RowsAsync(database));
            var keys = ProtectionKeyring.LoadOrCreate(Path.Combine(directory.FullName, "keys"), time, Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
            var people = new SampleGenerator().Generate(21, 3, 5, new DateOnly(2026, 3, 2)).ToList();
            var importer = new SubscriberImporter(database, keys, time);
            var first = await importer.ImportAsync(new StringReader(Csv(people.Take(20))), ImportMode.AllOrNothing);
            Assert.Equal(20, first.RowsImported);

            // Line 2 repeats the phone number of the first import's line 2: the unique index turns it away.
            var again = await importer.ImportAsync(new StringReader(Csv([people[20], people[0] with { Name = "중복" }])), ImportMode.SkipBadRows);
            Assert.Equal([new ImportRowError(3, "phone", "must be unique: another row of this file or an existing subscriber has the same phone number")], again.Errors);

            await using (var connection = await database.OpenAsync())
            await using (var keysUsed = connection.Command("SELECT MIN(seq), MAX(seq), COUNT(*), COUNT(DISTINCT id) FROM subscribers"))
            await using (var reader = await keysUsed.ExecuteReaderAsync())
            {
                Assert.True(await reader.ReadAsync());
                Assert.Equal((1L, 24L, 24L, 24L), (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
            }
        }
        finally
        {
            if (schema is not null)
            {
                await schema.DisposeAsync();
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    private static byte[] Bytes(long id, int column) => Enumerable.Repeat((byte)((id / 100 * 10) + column), 32).ToArray();

    private static async Task<List<string>> RowsAsync(CustodianDatabase database)
    {
        var rows = new List<string>();
        await using var connection = await database.OpenAsync();
        await using var command = connection.Command("SELECT seq, id, phone_index, rrn_index, name_ct, address_ct, rate_plan FROM subscribers ORDER BY seq");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var id = reader.GetInt64(1);
            Assert.Equal(Bytes(id, 1), (byte[])reader.GetValue(2));
            Assert.Equal(Bytes(id, 2), (byte[])reader.GetValue(3));
            Assert.Equal(Bytes(id, 3), (byte[])reader.GetValue(4));
            Assert.Equal(Bytes(id, 3), (byte[])reader.GetValue(5));
            Assert.Equal("LTE", reader.GetString(6));
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"{reader.GetInt64(0)} {id}"));
        }

        return rows;
    }

    private static string Csv(IEnumerable<SampleSubscriber> rows)
    {
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, rows.ToList());
        return csv.ToString();
    }
}
