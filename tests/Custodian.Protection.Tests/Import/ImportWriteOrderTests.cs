using System.Globalization;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Tests.Support;

namespace Custodian.Protection.Tests.Import;

/// <summary>
/// Duplicates are decided as in file order (the earlier line wins) and reported in file order, whether decided within a
/// batch before the inserts or by the unique phone index, and the import's schema and page-cache changes must leave
/// searches and pooled connections as they were.
/// </summary>
public sealed class ImportWriteOrderTests
{
    private const string Duplicate = "must be unique: another row of this file or an existing subscriber has the same phone number";

    [Theory]
    [InlineData(ImportMode.SkipBadRows)]
    [InlineData(ImportMode.AllOrNothing)]
    public async Task Within_a_batch_the_earlier_line_wins_and_later_duplicates_are_reported_in_file_order(ImportMode mode)
    {
        using var env = await TestEnvironment.CreateAsync();
        var lines = SampleLines(300, seed: 21);

        // Lines 202–301 repeat the phone numbers of lines 2–101 under other names.
        var file = new List<string>(lines);
        for (var i = 1; i <= 100; i++)
        {
            var fields = lines[i].Split(',');
            fields[0] = "중복" + i.ToString(CultureInfo.InvariantCulture);
            file[200 + i] = string.Join(',', fields);
        }

        var report = await env.ImportAsync(mode, [.. file]);

        Assert.Equal(Enumerable.Range(202, 100).Select(line => new ImportRowError(line, "phone", Duplicate)), report.Errors);
        Assert.Equal(100, report.RowsRejected);
        if (mode == ImportMode.SkipBadRows)
        {
            Assert.Equal(200, report.RowsImported);
            var vault = new SubscriberVault(env.Database, env.Keys);
            foreach (var line in new[] { 2, 50, 101 })
            {
                var phone = Custodian.Protection.Validation.PhoneNumbers.NormalizeKoreanMobile(lines[line - 1].Split(',')[2]).Value;
                var record = await vault.DecryptAsync(Assert.Single(await vault.FindByPhoneAsync(phone)));
                Assert.Equal(lines[line - 1].Split(',')[0], record!.Name);
            }
        }
        else
        {
            Assert.Equal(0, report.RowsImported);
            Assert.Equal(0, await new SubscriberVault(env.Database, env.Keys).CountAsync());
        }
    }

    [Fact]
    public async Task Duplicates_of_existing_subscribers_are_reported_in_file_order()
    {
        using var env = await TestEnvironment.CreateAsync();
        var existing = SampleLines(100, seed: 22);
        Assert.Equal(100, (await env.ImportAsync(ImportMode.AllOrNothing, [.. existing])).RowsImported);

        // Every third line of the new file repeats an existing subscriber's phone number.
        var fresh = SampleLines(300, seed: 23);
        var file = new List<string> { fresh[0] }; // the sample's header: the eight columns and family_plan
        var expected = new List<ImportRowError>();
        for (var i = 1; i <= 150; i++)
        {
            if (i % 3 == 0)
            {
                file.Add(existing[i / 3]);
                expected.Add(new ImportRowError(file.Count, "phone", Duplicate));
            }
            else
            {
                file.Add(fresh[i]);
            }
        }

        var report = await env.ImportAsync(ImportMode.SkipBadRows, [.. file]);

        Assert.Equal(expected, report.Errors);
        Assert.Equal(100, report.RowsImported);
        Assert.Equal(200, await new SubscriberVault(env.Database, env.Keys).CountAsync());
    }

    [Fact]
    public async Task The_import_gives_back_its_large_page_cache_before_its_connection_returns_to_the_pool()
    {
        using var env = await TestEnvironment.CreateAsync();
        long before;
        await using (var connection = await env.Database.OpenAsync())
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA cache_size";
            before = Convert.ToInt64(await pragma.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }

        Assert.Equal(300, (await env.ImportAsync(ImportMode.AllOrNothing, [.. SampleLines(300, seed: 24)])).RowsImported);

        await using (var connection = await env.Database.OpenAsync())
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA cache_size";
            Assert.Equal(before, Convert.ToInt64(await pragma.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
        }

        Assert.NotEqual(-SubscriberImporter.ImportCacheKiB, before);
    }

    [Fact]
    public async Task The_pending_RRN_index_is_partial_and_still_serves_the_vaults_search_shape()
    {
        using var env = await TestEnvironment.CreateAsync();
        await using var connection = await env.Database.OpenAsync();
        await using var indexes = connection.CreateCommand();
        indexes.CommandText = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'subscribers' AND sql IS NOT NULL ORDER BY name";
        var found = new List<string>();
        await using (var reader = await indexes.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                found.Add(reader.GetString(0) + ": " + reader.GetString(1));
            }
        }

        Assert.Equal(
            [
                "ix_subscribers_phone_index_next: CREATE INDEX ix_subscribers_phone_index_next ON subscribers (phone_index_next)",
                "ix_subscribers_rrn_index: CREATE INDEX ix_subscribers_rrn_index ON subscribers (rrn_index)",
                "ix_subscribers_rrn_index_next: CREATE INDEX ix_subscribers_rrn_index_next ON subscribers (rrn_index_next) WHERE rrn_index_next IS NOT NULL",
                "ux_subscribers_id: CREATE UNIQUE INDEX ux_subscribers_id ON subscribers (id)",
                "ux_subscribers_phone_index: CREATE UNIQUE INDEX ux_subscribers_phone_index ON subscribers (phone_index)",
            ],
            found);

        // The statement shape SubscriberVault.FindByRrnAsync runs: both columns searched through an index, no table scan.
        await using var plan = connection.CreateCommand();
        plan.CommandText = "EXPLAIN QUERY PLAN SELECT DISTINCT id FROM subscribers WHERE rrn_index IN (@current, @pending) OR rrn_index_next IN (@current, @pending) ORDER BY id";
        plan.Parameters.Add(new Microsoft.Data.Sqlite.SqliteParameter("@current", new byte[32]));
        plan.Parameters.Add(new Microsoft.Data.Sqlite.SqliteParameter("@pending", new byte[32]));
        var steps = new List<string>();
        await using (var reader = await plan.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                steps.Add(reader.GetString(3));
            }
        }

        Assert.Contains(steps, s => s.Contains("USING INDEX ix_subscribers_rrn_index_next", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Contains("USING INDEX ix_subscribers_rrn_index ", StringComparison.Ordinal));
        Assert.DoesNotContain(steps, s => s.StartsWith("SCAN subscribers", StringComparison.Ordinal));
    }

    private static List<string> SampleLines(int count, int seed)
    {
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, new SampleGenerator().Generate(count, 3, seed, TestEnvironment.Today));
        return csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
    }
}
