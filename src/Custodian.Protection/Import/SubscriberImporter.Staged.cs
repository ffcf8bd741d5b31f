using System.Data.Common;
using System.Globalization;
using System.Threading.Channels;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Custodian.Protection.Import;

/// <summary>
/// The staged path (<see cref="ImportConcurrency.BesideServer"/> on SQLite): validate and stage the whole file without the
/// write lock, then copy it into <c>subscribers</c> in short transactions that let the running server's ledger in between.
/// </summary>
public sealed partial class SubscriberImporter
{
    /// <summary>
    /// Target length of one write transaction of the staged path: the rows per transaction are adapted after each commit
    /// (100 to <see cref="BatchSize"/>) so that it holds the write lock about this long. A lookup that arrives meanwhile waits
    /// at most this long plus one busy-handler sleep (well inside the ledger's 5-second lock wait). The default is 100 ms.
    /// </summary>
    public static readonly TimeSpan StagedTransactionBudget = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Pause after each commit of the staged path, in which writers waiting for the lock (the ledger) take it. SQLite's busy
    /// handler sleeps between its attempts (at most 100 ms per sleep), so the pause is longer than one sleep: every waiter
    /// wakes at least once inside it. The default is 150 ms.
    /// </summary>
    public static readonly TimeSpan StagedPause = TimeSpan.FromMilliseconds(150);

    private const int StagedMinRows = 100;

    private const int StagedFirstRows = 1_000;

    /// <summary>The staging table: the columns of <c>subscribers</c>, <c>seq</c> holding the line; the connection's own, in SQLite's temporary database.</summary>
    private const string CreateStageSql =
        "CREATE TEMP TABLE import_rows (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL, phone_index BLOB NOT NULL UNIQUE, rrn_index BLOB NOT NULL, " +
        "name_ct BLOB NOT NULL, rrn_ct BLOB NOT NULL, phone_ct BLOB NOT NULL, address_ct BLOB NOT NULL, rate_plan TEXT NOT NULL, contract_start TEXT NOT NULL, " +
        "contract_end TEXT NOT NULL, home_store TEXT NOT NULL, created_at INTEGER NOT NULL, phone_index_next BLOB, rrn_index_next BLOB, household_index BLOB, family_plan_index BLOB)";

    /// <summary>A phone number an earlier line of the file has is turned away by the staging table's unique index (the earlier line wins).</summary>
    private const string StageInsertSql = "INSERT INTO temp.import_rows " + InsertColumns + InsertValues + " ON CONFLICT (phone_index) DO NOTHING";

    private const string StagedExistingSql = "SELECT t.seq FROM temp.import_rows t WHERE EXISTS (SELECT 1 FROM main.subscribers s WHERE s.phone_index = t.phone_index) ORDER BY t.seq";

    private const string StagedRangeSql = "SELECT COUNT(*), MAX(seq) FROM (SELECT seq FROM temp.import_rows WHERE seq > @after ORDER BY seq LIMIT @rows)";

    /// <summary>
    /// One write transaction: the staged rows of lines (<c>@after</c>, <c>@last</c>] get <c>seq</c> = <c>@max</c> + line − <c>@after</c>,
    /// above every key present when the transaction began, so the range (<c>@max</c>, <c>@max</c> + <c>@last</c> − <c>@after</c>]
    /// holds this transaction's rows and no others.
    /// </summary>
    private const string StagedCopySql =
        "INSERT INTO main.subscribers " + InsertColumns + " " +
        "SELECT @max + t.seq - @after, t.id, t.phone_index, t.rrn_index, t.name_ct, t.rrn_ct, t.phone_ct, t.address_ct, t.rate_plan, t.contract_start, t.contract_end, t.home_store, @created_at, t.phone_index_next, t.rrn_index_next, t.household_index, t.family_plan_index " +
        "FROM temp.import_rows t WHERE t.seq > @after AND t.seq <= @last ORDER BY t.seq ON CONFLICT (phone_index) DO NOTHING";

    private const string StagedMissingSql =
        "SELECT t.seq FROM temp.import_rows t WHERE t.seq > @after AND t.seq <= @last AND NOT EXISTS (SELECT 1 FROM main.subscribers s WHERE s.id = t.id) ORDER BY t.seq";

    /// <summary>
    /// Removes the rows of every all-or-nothing import that was written beside a server and did not finish, whose process
    /// is gone (a crash, a kill): the ranges its transactions recorded in <c>subscriber_import_batches</c> are deleted, newest
    /// first, each in a short transaction of its own with the same pause as the writing, so a running server's lookups go on.
    /// An import still running (its lock file, beside the database, is held) is left alone. Called at the start of every
    /// import on SQLite and by the server at start-up; nothing to do on PostgreSQL, where the staged path is not used.
    /// </summary>
    /// <param name="cancellationToken">Cancels before a run is begun; a run begun is removed to the end.</param>
    /// <returns>How many unfinished imports were removed.</returns>
    public async Task<int> RecoverAsync(CancellationToken cancellationToken = default)
    {
        if (!_database.IsSqlite)
        {
            return 0;
        }

        await using var connection = await _database.OpenAsync(cancellationToken);
        var runs = new List<string>();
        await using (var list = connection.Command("SELECT id FROM subscriber_import_runs ORDER BY started_at"))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                runs.Add(reader.GetString(0));
            }
        }

        var removed = 0;
        foreach (var run in runs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            FileStream owner;
            try
            {
                owner = OpenRunLock(run);
            }
            catch (IOException)
            {
                continue; // its import is running
            }

            await using (owner)
            {
                var rows = await RemoveRunAsync(connection, run);
                Log.ImportRunRecovered(_logger, rows);
                removed++;
            }

            File.Delete(RunLockPath(run));
        }

        return removed;
    }

    /// <summary>
    /// The staged path's write stage: stages every prepared batch into the connection's temporary table (no lock on the
    /// database), finds the phone numbers that existing subscribers already have, then — unless an all-or-nothing import
    /// had a bad row — copies the staged rows in short transactions (<see cref="CopyStagedAsync"/>).
    /// </summary>
    private async Task<bool> StageAndWriteAsync(ChannelReader<PreparedBatch> prepared, ImportMode mode, ImportState state, IProgress<long>? rowsDone, IProgress<ImportWriteProgress>? writeProgress, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        var sqlite = (SqliteConnection)connection;
        await using (var cache = connection.Command("PRAGMA cache_size"))
        {
            var pooledCacheSize = await cache.ExecuteScalarAsync(cancellationToken);
            await SetCacheSizeAsync(connection, "-" + ImportCacheKiB.ToString(CultureInfo.InvariantCulture));
            try
            {
                await RunAsync(connection, null, CreateStageSql, cancellationToken);
                try
                {
                    await StageAsync(sqlite, prepared, state, rowsDone, cancellationToken);
                    if (state.TruncatedAtLine is { } truncated)
                    {
                        state.Reject(truncated, "row", OversizedRule);
                    }

                    await RejectExistingAsync(connection, state, cancellationToken);
                    if (mode == ImportMode.AllOrNothing && state.RowsRejected > 0)
                    {
                        return false;
                    }

                    return await CopyStagedAsync(sqlite, mode, state, writeProgress, cancellationToken);
                }
                finally
                {
                    // The temporary table would otherwise live on in the pooled connection.
                    await RunAsync(connection, null, "DROP TABLE IF EXISTS temp.import_rows", CancellationToken.None);
                }
            }
            finally
            {
                await SetCacheSizeAsync(connection, Convert.ToInt64(pooledCacheSize, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>Stages the prepared batches in file order, one deferred transaction each: it writes only the temporary database, so the database's write lock is never taken.</summary>
    private async Task StageAsync(SqliteConnection connection, ChannelReader<PreparedBatch> prepared, ImportState state, IProgress<long>? rowsDone, CancellationToken cancellationToken)
    {
        await using var insert = InsertCommand.Create(connection, StageInsertSql);
        long rowsStaged = 0;
        await foreach (var (outcomes, _) in prepared.ReadAllAsync(cancellationToken))
        {
            using (var transaction = connection.BeginTransaction(deferred: true))
            {
                var createdAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
                for (var i = 0; i < outcomes.Length; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (outcomes[i].Errors is { } errors)
                    {
                        state.Reject(errors);
                    }
                    else if (insert.Execute(outcomes[i].Row!, outcomes[i].Row!.Line, createdAt) == 0)
                    {
                        state.Reject(outcomes[i].Row!.Line, ImportColumns.Phone, DuplicatePhoneRule);
                    }
                }

                transaction.Commit();
            }

            rowsStaged += outcomes.Length;
            rowsDone?.Report(rowsStaged);
        }
    }

    /// <summary>Rejects (in file order, among the other errors) and unstages every staged row whose phone number an existing subscriber has. A read: no write lock.</summary>
    private static async Task RejectExistingAsync(DbConnection connection, ImportState state, CancellationToken cancellationToken)
    {
        var lines = new List<long>();
        await using (var query = connection.Command(StagedExistingSql))
        await using (var reader = await query.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                lines.Add(reader.GetInt64(0));
            }
        }

        if (lines.Count == 0)
        {
            return;
        }

        state.RejectInFileOrder(lines, ImportColumns.Phone, DuplicatePhoneRule);
        await RunAsync(connection, null, "DELETE FROM temp.import_rows WHERE EXISTS (SELECT 1 FROM main.subscribers s WHERE s.phone_index = temp.import_rows.phone_index)", cancellationToken);
    }

    /// <summary>
    /// Copies the staged rows into <c>subscribers</c> in file order, in transactions of about
    /// <see cref="StagedTransactionBudget"/> with a pause of <see cref="StagedPause"/> after each. All or nothing: the run and
    /// each transaction's <c>seq</c> range are recorded (in that transaction) and its lock file is held; a failure or a
    /// cancellation removes the rows again before the exception leaves, a crash leaves them to <see cref="RecoverAsync"/>.
    /// A phone number that a subscriber added since the staging has (another writer) is a duplicate-phone row error: all or
    /// nothing removes everything, skip-bad-rows keeps the other rows. Returns whether rows were committed.
    /// </summary>
    private async Task<bool> CopyStagedAsync(SqliteConnection connection, ImportMode mode, ImportState state, IProgress<ImportWriteProgress>? writeProgress, CancellationToken cancellationToken)
    {
        var allOrNothing = mode == ImportMode.AllOrNothing;
        string? run = null;
        FileStream? owner = null;
        var finished = false; // the run's record is gone (its rows kept or removed): its lock file can go too
        var written = 0L;
        var began = TimeProvider.System.GetTimestamp();
        var transactions = 0;
        try
        {
            if (allOrNothing)
            {
                run = Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
                owner = OpenRunLock(run);
                await RunAsync(connection, null, "INSERT INTO subscriber_import_runs (id, started_at) VALUES (@run, @at)", cancellationToken, ("@run", run), ("@at", _time.GetUtcNow().ToUnixTimeMilliseconds()));
            }

            long toWrite;
            await using (var staged = connection.Command("SELECT COUNT(*) FROM temp.import_rows"))
            {
                toWrite = Convert.ToInt64(await staged.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            }

            writeProgress?.Report(new ImportWriteProgress(0, toWrite));
            long after = 0;
            var rows = StagedFirstRows;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long count;
                long last;
                await using (var range = connection.Command(StagedRangeSql, ("@after", after), ("@rows", (long)rows)))
                await using (var reader = await range.ExecuteReaderAsync(cancellationToken))
                {
                    await reader.ReadAsync(cancellationToken);
                    count = reader.GetInt64(0);
                    last = count == 0 ? 0 : reader.GetInt64(1);
                }

                if (count == 0)
                {
                    break;
                }

                // Real time on purpose, here and in the pause: the budget and the waiters' busy handlers are real time.
                var transactionBegan = TimeProvider.System.GetTimestamp();
                transactions++;
                var missing = new List<long>();
                using (var transaction = connection.BeginTransaction(deferred: false)) // BEGIN IMMEDIATE: waits for the lock like the ledger does
                {
                    long max;
                    await using (var maxSeq = InTransaction(connection.Command("SELECT COALESCE(MAX(seq), 0) FROM main.subscribers"), transaction))
                    {
                        max = Convert.ToInt64(await maxSeq.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
                    }

                    var createdAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
                    long inserted;
                    await using (var copy = InTransaction(connection.Command(StagedCopySql, ("@max", max), ("@after", after), ("@last", last), ("@created_at", createdAt)), transaction))
                    {
                        inserted = await copy.ExecuteNonQueryAsync(cancellationToken);
                    }

                    if (inserted < count)
                    {
                        await using var query = InTransaction(connection.Command(StagedMissingSql, ("@after", after), ("@last", last)), transaction);
                        await using var reader = await query.ExecuteReaderAsync(cancellationToken);
                        while (await reader.ReadAsync(cancellationToken))
                        {
                            missing.Add(reader.GetInt64(0));
                        }
                    }

                    if (allOrNothing && missing.Count > 0)
                    {
                        transaction.Rollback();
                    }
                    else
                    {
                        if (run is not null)
                        {
                            await RunAsync(connection, transaction, "INSERT INTO subscriber_import_batches (run_id, first_seq, last_seq) VALUES (@run, @first, @last)", cancellationToken, ("@run", run), ("@first", max + 1), ("@last", max + last - after));
                        }

                        transaction.Commit();
                        written += inserted;
                        writeProgress?.Report(new ImportWriteProgress(written, toWrite));
                        if (!allOrNothing)
                        {
                            state.RowsImported += inserted; // committed: a cancellation from here on keeps it
                        }
                    }
                }

                if (missing.Count > 0)
                {
                    state.RejectInFileOrder(missing, ImportColumns.Phone, DuplicatePhoneRule);
                    if (allOrNothing)
                    {
                        break;
                    }
                }

                var elapsedMs = Math.Max(1, TimeProvider.System.GetElapsedTime(transactionBegan).TotalMilliseconds);
                rows = (int)Math.Clamp(rows * StagedTransactionBudget.TotalMilliseconds / elapsedMs, StagedMinRows, BatchSize);
                after = last;
                await Task.Delay(StagedPause, TimeProvider.System, cancellationToken);
            }

            var totalMs = (long)TimeProvider.System.GetElapsedTime(began).TotalMilliseconds;
            if (!allOrNothing)
            {
                Log.StagedWritten(_logger, written, transactions, totalMs);
                return state.RowsImported > 0;
            }

            if (state.RowsRejected > 0)
            {
                await RemoveRunAsync(connection, run!);
                finished = true;
                return false;
            }

            // The rows stay: forgetting the run is what makes them final.
            await RunAsync(connection, null, "DELETE FROM subscriber_import_batches WHERE run_id = @run; DELETE FROM subscriber_import_runs WHERE id = @run", CancellationToken.None, ("@run", run!));
            finished = true;
            state.RowsImported += written;
            Log.StagedWritten(_logger, written, transactions, totalMs);
            return true;
        }
        catch when (run is not null && !finished)
        {
            // A failure or a cancellation in the middle: the rows of this import go again before the caller hears of it.
            // If the removal fails too (the disk that filled up), the run stays recorded and the next import or server start removes it.
            try
            {
                var removed = await RemoveRunAsync(connection, run);
                finished = true;
                Log.ImportRunRemoved(_logger, removed);
            }
            catch (Exception ex) when (ex is DbException or IOException or InvalidOperationException)
            {
                Log.ImportRunRemovalFailed(_logger, ex.GetType().Name);
            }

            throw;
        }
        finally
        {
            if (owner is not null)
            {
                await owner.DisposeAsync();
                if (finished)
                {
                    File.Delete(owner.Name);
                }
            }
        }
    }

    /// <summary>Deletes a run's rows, newest range first, one short transaction and one pause per range; then the run. Not cancellable. Returns the rows removed.</summary>
    private async Task<long> RemoveRunAsync(DbConnection connection, string run)
    {
        var sqlite = (SqliteConnection)connection;
        long removed = 0;
        while (true)
        {
            long first;
            long last;
            await using (var next = connection.Command("SELECT first_seq, last_seq FROM subscriber_import_batches WHERE run_id = @run ORDER BY first_seq DESC LIMIT 1", ("@run", run)))
            await using (var reader = await next.ExecuteReaderAsync(CancellationToken.None))
            {
                if (!await reader.ReadAsync(CancellationToken.None))
                {
                    break;
                }

                first = reader.GetInt64(0);
                last = reader.GetInt64(1);
            }

            using (var transaction = sqlite.BeginTransaction(deferred: false))
            {
                await using (var delete = InTransaction(connection.Command("DELETE FROM subscribers WHERE seq BETWEEN @first AND @last", ("@first", first), ("@last", last)), transaction))
                {
                    removed += await delete.ExecuteNonQueryAsync(CancellationToken.None);
                }

                await RunAsync(connection, transaction, "DELETE FROM subscriber_import_batches WHERE run_id = @run AND first_seq = @first", CancellationToken.None, ("@run", run), ("@first", first));
                transaction.Commit();
            }

            await Task.Delay(StagedPause, TimeProvider.System, CancellationToken.None);
        }

        await RunAsync(connection, null, "DELETE FROM subscriber_import_runs WHERE id = @run", CancellationToken.None, ("@run", run));
        return removed;
    }

    /// <summary>The lock file an import writing beside a server holds while its run is recorded: beside the database, named by the run.</summary>
    private string RunLockPath(string run) => _database.Path + "-import-" + run + ".lock";

    /// <summary>Opens a run's lock file exclusively (owner-only when created); an <see cref="IOException"/> means another process or import holds it.</summary>
    private FileStream OpenRunLock(string run)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(RunLockPath(run), options);
    }

    /// <summary>Runs one statement, in <paramref name="transaction"/> when the connection has one open (Microsoft.Data.Sqlite requires it named).</summary>
    private static async Task RunAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.Command(sql, parameters);
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DbCommand InTransaction(DbCommand command, DbTransaction transaction)
    {
        command.Transaction = transaction;
        return command;
    }
}
