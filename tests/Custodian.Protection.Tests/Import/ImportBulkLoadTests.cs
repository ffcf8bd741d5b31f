using System.Globalization;
using Custodian.Identity;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Tests.Support;
using Custodian.Protection.Validation;
using Custodian.Storage;
using Microsoft.Extensions.Logging.Testing;

namespace Custodian.Protection.Tests.Import;

/// <summary>
/// The bulk path (docs/protection-benchmarks.md): an all-or-nothing import into an empty table drops the secondary
/// indexes, appends the rows under sequential keys, and builds the indexes after them; duplicates across batches are found
/// then and reported in file order with the other errors; a rejected load leaves the schema as it was.
/// </summary>
public sealed class ImportBulkLoadTests
{
    private const string Duplicate = "must be unique: another row of this file or an existing subscriber has the same phone number";
    private const string RrnDate = "must start with a real birth date (YYMMDD) in the century its 7th digit names";

    [Fact]
    public async Task The_importers_index_definitions_are_the_migrations()
    {
        using var env = await TestEnvironment.CreateAsync();

        Assert.Equal(
            SubscriberIndexes.All.Select(i => i.Name + ": " + i.Sql).Order(StringComparer.Ordinal),
            await SchemaAsync(env.Database));
    }

    [Fact]
    public async Task A_bulk_load_builds_the_migrated_indexes_after_rows_appended_in_file_order()
    {
        using var env = await TestEnvironment.CreateAsync();
        var schema = await SchemaAsync(env.Database);
        var lines = SampleLines(SubscriberImporter.BatchSize + 700, seed: 31);
        var logger = new FakeLogger<SubscriberImporter>();

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time, logger).ImportAsync(Csv.Of([.. lines]), ImportMode.AllOrNothing);

        Assert.Equal((5_700L, 5_700L, 0L), (report.RowsRead, report.RowsImported, report.RowsRejected));
        Assert.Empty(report.Errors);
        Assert.Equal(schema, await SchemaAsync(env.Database));
        Assert.Equal([6300], logger.Collector.GetSnapshot().Where(r => r.Id.Id is >= 6300 and < 6400).Select(r => r.Id.Id));

        // Without a pending blind-index key, the pending-key indexes were kept through the load; the three others were built
        // after it, the unique phone index first, and the transaction committed once.
        Assert.Equal(
            ["ux_subscribers_phone_index", "ux_subscribers_id", "ix_subscribers_rrn_index"],
            logger.Collector.GetSnapshot().Where(r => r.Id.Id == 6500).Select(r => r.StructuredState!.Single(p => p.Key == "Index").Value));
        Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 6501);

        // The load was copied into the database file after the commit, and the connection's automatic checkpoint is back.
        var checkpoint = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 6502).StructuredState!;
        Assert.True(Convert.ToInt64(checkpoint.Single(p => p.Key == "Frames").Value, CultureInfo.InvariantCulture) > 100);
        Assert.Equal(checkpoint.Single(p => p.Key == "Frames").Value, checkpoint.Single(p => p.Key == "Copied").Value);
        Assert.Equal(1_000, await Population.ScalarAsync(env.Database, "PRAGMA wal_autocheckpoint"));
        Assert.Equal(0L, await Population.ScalarAsync(env.Database, "PRAGMA threads")); // the sort threads are the bulk load's only
        Assert.Equal("ok", await StringAsync(env.Database, "PRAGMA integrity_check"));
        Assert.Equal(5_700, await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM subscribers INDEXED BY ix_subscribers_phone_index_next WHERE phone_index_next IS NULL"));

        // The table was empty, so a row's key is its line − 1 (the first data line, 2, gets 1); the rebuilt unique index
        // finds it by phone.
        var vault = new SubscriberVault(env.Database, env.Keys);
        foreach (var line in new[] { 2, 3, 5_001, 5_002, 5_701 })
        {
            var phone = PhoneOf(lines[line - 1]);
            var id = new SubscriberId(await Population.ScalarAsync(env.Database, "SELECT id FROM subscribers WHERE seq = " + (line - 1).ToString(CultureInfo.InvariantCulture)));
            Assert.Equal(phone, (await vault.DecryptAsync(id))!.Phone);
            Assert.Equal([id], await vault.FindByPhoneAsync(phone));
        }

        Assert.Equal(5_700, await Population.ScalarAsync(env.Database, "SELECT COUNT(DISTINCT seq) FROM subscribers WHERE seq BETWEEN 1 AND 5700"));
    }

    [Fact]
    public async Task During_a_blind_index_rotation_a_bulk_load_builds_the_pending_key_indexes_after_the_rows_too()
    {
        using var env = await TestEnvironment.CreateAsync();
        var schema = await SchemaAsync(env.Database);
        env.Keys.BeginBlindIndexRotation();
        var lines = SampleLines(SubscriberImporter.BatchSize + 300, seed: 35);
        var logger = new FakeLogger<SubscriberImporter>();

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time, logger).ImportAsync(Csv.Of([.. lines]), ImportMode.AllOrNothing);

        Assert.Equal(5_300L, report.RowsImported);
        Assert.Equal(
            ["ux_subscribers_phone_index", "ux_subscribers_id", "ix_subscribers_rrn_index", "ix_subscribers_phone_index_next", "ix_subscribers_rrn_index_next"],
            logger.Collector.GetSnapshot().Where(r => r.Id.Id == 6500).Select(r => r.StructuredState!.Single(p => p.Key == "Index").Value));
        Assert.Equal(schema, await SchemaAsync(env.Database));
        Assert.Equal("ok", await StringAsync(env.Database, "PRAGMA integrity_check"));
        Assert.Equal(5_300, await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM subscribers INDEXED BY ix_subscribers_rrn_index_next WHERE rrn_index_next IS NOT NULL"));
        Assert.Equal(0, await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM subscribers INDEXED BY ix_subscribers_phone_index_next WHERE phone_index_next IS NULL"));
    }

    [Fact]
    public async Task Duplicates_across_batches_of_a_bulk_load_are_listed_in_file_order_with_the_other_errors_and_nothing_is_written()
    {
        using var env = await TestEnvironment.CreateAsync();
        var schema = await SchemaAsync(env.Database);
        var lines = SampleLines((2 * SubscriberImporter.BatchSize) + 10, seed: 32);
        var file = new List<string>(lines);
        file[5_003 - 1] = WithPhoneOf(lines[5_003 - 1], lines[2 - 1]);   // batch 2 repeats batch 1
        file[5_004 - 1] = WithRrn(lines[5_004 - 1], "711232-1234567");   // a bad row between the duplicates
        file[7_000 - 1] = WithPhoneOf(lines[7_000 - 1], lines[6_000 - 1]); // within batch 2
        file[10_005 - 1] = WithPhoneOf(lines[10_005 - 1], lines[3 - 1]); // batch 3 repeats batch 1
        var logger = new FakeLogger<SubscriberImporter>();

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time, logger).ImportAsync(Csv.Of([.. file]), ImportMode.AllOrNothing);

        Assert.Equal(
            [
                new ImportRowError(5_003, "phone", Duplicate),
                new ImportRowError(5_004, "rrn", RrnDate),
                new ImportRowError(7_000, "phone", Duplicate),
                new ImportRowError(10_005, "phone", Duplicate),
            ],
            report.Errors);
        Assert.Equal((10_010L, 0L, 4L), (report.RowsRead, report.RowsImported, report.RowsRejected));
        Assert.Equal(0, await new SubscriberVault(env.Database, env.Keys).CountAsync());
        Assert.Equal(schema, await SchemaAsync(env.Database));
        Assert.Contains(logger.Collector.GetSnapshot(), r => r.Id.Id == 6301 && r.Message.Contains("2 rows", StringComparison.Ordinal));

        // The rolled-back load left the schema whole: the corrected file loads.
        file[5_003 - 1] = lines[5_003 - 1];
        file[5_004 - 1] = lines[5_004 - 1];
        file[7_000 - 1] = lines[7_000 - 1];
        file[10_005 - 1] = lines[10_005 - 1];
        var fixedReport = await env.ImportAsync(ImportMode.AllOrNothing, [.. file]);
        Assert.Equal(10_010L, fixedReport.RowsImported);
        Assert.Equal(schema, await SchemaAsync(env.Database));
    }

    [Fact]
    public async Task Only_an_all_or_nothing_import_into_an_empty_table_takes_the_bulk_path_and_later_keys_follow_the_table()
    {
        using var env = await TestEnvironment.CreateAsync();
        var logger = new FakeLogger<SubscriberImporter>();
        var importer = new SubscriberImporter(env.Database, env.Keys, env.Time, logger);

        Assert.Equal(100, (await importer.ImportAsync(Csv.Of([.. SampleLines(100, seed: 33)]), ImportMode.SkipBadRows)).RowsImported);
        Assert.Equal(100, (await importer.ImportAsync(Csv.Of([.. SampleLines(100, seed: 34)]), ImportMode.AllOrNothing)).RowsImported);

        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Id.Id is >= 6300 and < 6400 or 6500);
        Assert.Equal(200, await Population.ScalarAsync(env.Database, "SELECT MAX(seq) FROM subscribers")); // 1–100, then 101–200
        Assert.Equal(200, await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM subscribers"));
    }

    private static async Task<List<string>> SchemaAsync(CustodianDatabase database)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.Command("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'subscribers' AND sql IS NOT NULL ORDER BY name");
        var found = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            found.Add(reader.GetString(0) + ": " + reader.GetString(1));
        }

        return found;
    }

    private static async Task<string> StringAsync(CustodianDatabase database, string sql)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.Command(sql);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static string PhoneOf(string line) => PhoneNumbers.NormalizeKoreanMobile(line.Split(',')[2]).Value;

    private static string WithPhoneOf(string line, string other)
    {
        var fields = line.Split(',');
        fields[2] = other.Split(',')[2];
        return string.Join(',', fields);
    }

    private static string WithRrn(string line, string rrn)
    {
        var fields = line.Split(',');
        fields[1] = rrn;
        return string.Join(',', fields);
    }

    private static List<string> SampleLines(int count, int seed)
    {
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, new SampleGenerator().Generate(count, 3, seed, TestEnvironment.Today));
        return csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
    }
}
