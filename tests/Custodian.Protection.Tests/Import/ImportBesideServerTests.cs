using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Tests.Support;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Testing;

namespace Custodian.Protection.Tests.Import;

/// <summary>
/// The staged path (<see cref="ImportConcurrency.BesideServer"/>) on a real SQLite file: everything is validated before
/// anything is written, rows are written in short transactions, and an all-or-nothing import that stops midway (a failed
/// write, a cancellation, a crash) leaves none of its rows.
/// </summary>
public sealed class ImportBesideServerTests
{
    private const int Existing = 50;

    [Theory]
    [InlineData(ImportMode.AllOrNothing)]
    [InlineData(ImportMode.SkipBadRows)]
    public async Task Beside_a_server_a_file_with_bad_rows_gets_the_same_report_and_rows_as_alone(ImportMode mode)
    {
        using var alone = await TestEnvironment.CreateAsync();
        using var beside = await TestEnvironment.CreateAsync();

        var expected = await new SubscriberImporter(alone.Database, alone.Keys, alone.Time).ImportAsync(Csv.Of(SubscriberImporterTests.MixedFile), mode, ImportConcurrency.Exclusive);
        var actual = await new SubscriberImporter(beside.Database, beside.Keys, beside.Time).ImportAsync(Csv.Of(SubscriberImporterTests.MixedFile), mode, ImportConcurrency.BesideServer);

        Assert.Equal(expected.Errors, actual.Errors);
        Assert.Equal((expected.RowsRead, expected.RowsImported, expected.RowsRejected), (actual.RowsRead, actual.RowsImported, actual.RowsRejected));
        Assert.Equal(mode == ImportMode.AllOrNothing ? 0 : 2, actual.RowsImported);
        Assert.Equal(actual.RowsImported, await new SubscriberVault(beside.Database, beside.Keys).CountAsync());
        await AssertNoRunLeftAsync(beside);
    }

    [Fact]
    public async Task A_phone_number_an_existing_subscriber_has_rejects_the_file_before_anything_is_written()
    {
        using var env = await TestEnvironment.CreateAsync();
        var (existing, file) = await SplitAsync(env, 3_000);
        var logger = new FakeLogger<SubscriberImporter>();
        file.Insert(2_500, existing[1]); // line 2,501 (the header is line 1) repeats a subscriber already in the database
        var progress = new List<ImportWriteProgress>();

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time, logger).ImportAsync(
            Csv.Of([.. file]), ImportMode.AllOrNothing, ImportConcurrency.BesideServer, null, new Recorder<ImportWriteProgress>(progress));

        Assert.Equal([new ImportRowError(2_501, "phone", "must be unique: another row of this file or an existing subscriber has the same phone number")], report.Errors);
        Assert.Equal(0, report.RowsImported);
        Assert.Equal(Existing, await new SubscriberVault(env.Database, env.Keys).CountAsync());
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Id.Id is 6504 or 6505); // nothing was written, so nothing was removed
        Assert.Empty(progress); // no write phase
        await AssertNoRunLeftAsync(env);
    }

    [Fact]
    public async Task An_all_or_nothing_import_beside_a_server_writes_every_row_in_several_transactions_and_forgets_its_run()
    {
        using var env = await TestEnvironment.CreateAsync();
        var (_, file) = await SplitAsync(env, 12_000);
        var logger = new FakeLogger<SubscriberImporter>();

        var progress = new List<ImportWriteProgress>();
        var checkedRows = new List<long>();
        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time, logger).ImportAsync(
            Csv.Of([.. file]), ImportMode.AllOrNothing, ImportConcurrency.BesideServer, new Recorder<long>(checkedRows), new Recorder<ImportWriteProgress>(progress));

        Assert.Empty(report.Errors);
        Assert.Equal((12_000L, 12_000L), (report.RowsRead, report.RowsImported));
        Assert.Equal(Existing + 12_000, await new SubscriberVault(env.Database, env.Keys).CountAsync());
        var written = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 6504).StructuredState!;
        Assert.Equal("12000", written.Single(p => p.Key == "Rows").Value);
        var transactions = int.Parse(written.Single(p => p.Key == "Transactions").Value!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(transactions >= 3); // at most 5,000 rows each

        // The write phase reports itself after the check reached the end of the file: 0 of 12,000, then once per commit.
        Assert.Equal(12_000L, checkedRows[^1]);
        Assert.Equal(transactions + 1, progress.Count);
        Assert.Equal(new ImportWriteProgress(0, 12_000), progress[0]);
        Assert.Equal(new ImportWriteProgress(12_000, 12_000), progress[^1]);
        Assert.All(progress.Zip(progress.Skip(1)), pair => Assert.True(pair.Second.RowsWritten > pair.First.RowsWritten && pair.Second.RowsToWrite == 12_000));
        Assert.Equal(12_000L, await Population.ScalarAsync(env.Database, $"SELECT COUNT(*) FROM subscribers WHERE seq > {Existing}")); // appended after the existing keys
        await AssertNoRunLeftAsync(env);
    }

    [Fact]
    public async Task A_write_failing_midway_removes_every_row_the_import_had_committed()
    {
        using var env = await TestEnvironment.CreateAsync();
        var (_, file) = await SplitAsync(env, 12_000);
        var logger = new FakeLogger<SubscriberImporter>();

        // The write of the 7,001st row fails (as a full disk would), after the first transactions have committed.
        await ExecuteAsync(env.Database, $"CREATE TRIGGER fail_midway BEFORE INSERT ON subscribers WHEN NEW.seq > {Existing + 7_000} BEGIN SELECT RAISE(ABORT, 'disk full'); END");

        var failure = await Assert.ThrowsAsync<SqliteException>(() =>
            new SubscriberImporter(env.Database, env.Keys, env.Time, logger).ImportAsync(Csv.Of([.. file]), ImportMode.AllOrNothing, ImportConcurrency.BesideServer));

        Assert.Contains("disk full", failure.Message, StringComparison.Ordinal);
        var removed = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 6505).StructuredState!;
        Assert.NotEqual("0", removed.Single(p => p.Key == "Rows").Value); // rows had been committed …
        Assert.Equal(Existing, await new SubscriberVault(env.Database, env.Keys).CountAsync()); // … and are gone again
        await AssertNoRunLeftAsync(env);
    }

    [Fact]
    public async Task Cancelling_beside_a_server_while_rows_are_being_written_removes_them()
    {
        using var env = await TestEnvironment.CreateAsync();
        var (_, file) = await SplitAsync(env, 12_000);
        using var cancel = new CancellationTokenSource();
        var import = new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(Csv.Of([.. file]), ImportMode.AllOrNothing, ImportConcurrency.BesideServer, null, null, cancel.Token);

        // Cancel as soon as the first rows of the import are visible (written and committed).
        while (!import.IsCompleted && await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM subscribers") == Existing)
        {
            await Task.Delay(5);
        }

        await cancel.CancelAsync();
        var failure = await Assert.ThrowsAsync<ImportCanceledException>(() => import);

        Assert.Equal(0, failure.Report.RowsImported);
        Assert.Equal(Existing, await new SubscriberVault(env.Database, env.Keys).CountAsync());
        await AssertNoRunLeftAsync(env);
    }

    [Fact]
    public async Task An_import_whose_process_died_is_removed_at_the_next_import_and_one_still_running_is_left_alone()
    {
        using var env = await TestEnvironment.CreateAsync();
        var (_, file) = await SplitAsync(env, 2_000);
        var importer = new SubscriberImporter(env.Database, env.Keys, env.Time);
        Assert.Equal(2_000, (await importer.ImportAsync(Csv.Of([.. file]), ImportMode.AllOrNothing, ImportConcurrency.BesideServer)).RowsImported);

        // As a crash leaves it: the run and its transactions' ranges are recorded, its lock file is no longer held.
        var last = await Population.ScalarAsync(env.Database, "SELECT MAX(seq) FROM subscribers");
        await ExecuteAsync(
            env.Database,
            $"INSERT INTO subscriber_import_runs (id, started_at) VALUES ('dead', 1); " +
            $"INSERT INTO subscriber_import_batches (run_id, first_seq, last_seq) VALUES ('dead', {Existing + 1}, {Existing + 1_500}), ('dead', {Existing + 1_501}, {last}); " +
            "INSERT INTO subscriber_import_runs (id, started_at) VALUES ('live', 2); " +
            "INSERT INTO subscriber_import_batches (run_id, first_seq, last_seq) VALUES ('live', 1, 10)");
        var liveLock = env.Database.Path + "-import-live.lock";
        var held = new FileStream(liveLock, FileMode.Create, FileAccess.ReadWrite, FileShare.None);

        var logger = new FakeLogger<SubscriberImporter>();
        var recovering = new SubscriberImporter(env.Database, env.Keys, env.Time, logger);
        Assert.Equal(0, (await recovering.ImportAsync(Csv.Of(Csv.Header), ImportMode.AllOrNothing)).RowsImported); // any import recovers first

        Assert.Equal(Existing, await new SubscriberVault(env.Database, env.Keys).CountAsync());
        Assert.Equal("2000", Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 6507).StructuredState!.Single(p => p.Key == "Rows").Value);
        Assert.Equal(1L, await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM subscriber_import_runs WHERE id = 'live'"));

        await held.DisposeAsync(); // the live one's process ends too
        Assert.Equal(1, await recovering.RecoverAsync());
        Assert.Equal(Existing - 10, await new SubscriberVault(env.Database, env.Keys).CountAsync());
        await AssertNoRunLeftAsync(env);
    }

    /// <summary>Imports the first <see cref="Existing"/> of a generated population (alone) and returns them and the CSV lines (header first) of the next <paramref name="count"/>.</summary>
    private static async Task<(List<string> Existing, List<string> File)> SplitAsync(TestEnvironment env, int count)
    {
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, new SampleGenerator().Generate(Existing + count, 3, 41, TestEnvironment.Today));
        var lines = csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        var existing = lines.Skip(1).Take(Existing).ToList();
        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(Csv.Of([lines[0], .. existing]), ImportMode.AllOrNothing);
        Assert.Equal(Existing, report.RowsImported);
        return (existing, [lines[0], .. lines.Skip(1 + Existing)]);
    }

    private static async Task AssertNoRunLeftAsync(TestEnvironment env)
    {
        Assert.Equal(0L, await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM subscriber_import_runs"));
        Assert.Equal(0L, await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM subscriber_import_batches"));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(env.Database.Path)!, "*-import-*.lock"));
    }

    private static async Task ExecuteAsync(CustodianDatabase database, string sql)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.Command(sql);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Records every report synchronously, in order (<see cref="Progress{T}"/> would post them to the thread pool).</summary>
    private sealed class Recorder<T>(List<T> into) : IProgress<T>
    {
        public void Report(T value)
        {
            lock (into)
            {
                into.Add(value);
            }
        }
    }
}
