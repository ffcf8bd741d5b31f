using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using Custodian.Storage;
using CsvHelper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Protection.Import;

/// <summary>
/// Imports subscribers from CSV (<see cref="ImportColumns"/>): validates and normalizes every field,
/// encrypts the personal fields (<see cref="FieldCipher"/>, in parallel), computes the blind indexes
/// and inserts in batches of <see cref="BatchSize"/> rows with one prepared statement, in file order. Each row gets a
/// fresh <see cref="SubscriberId.NewRandom"/> and the next values of the table's sequential key <c>seq</c>
/// (<c>protection-import-002</c>), so the table's B-tree is appended to. During a blind-index key rotation it also writes the
/// indexes under the pending key (<c>phone_index_next</c>, <c>rrn_index_next</c>). Duplicate phone numbers — within the file or against
/// the database — are row errors: the earlier line of the file wins (within a batch this is decided before the
/// inserts; across batches and against existing subscribers the unique <c>phone_index</c> decides). Errors are
/// reported in file order. Reports name the line, field and rule, never a value; nothing personal is logged.
/// <para>
/// Bulk path: an <see cref="ImportMode.AllOrNothing"/> import into an empty <c>subscribers</c> table on SQLite drops the
/// table's secondary indexes inside its transaction, appends the rows, and builds the indexes after them (a sort each,
/// far cheaper than a random B-tree insert per row and index; progress stays at the last row meanwhile). While no
/// blind-index rotation is pending, the two pending-key indexes are kept through the load instead (every row appends a
/// NULL entry to one and none to the other), saving two full-table scans at the end. After the commit the bulk path runs
/// the WAL checkpoint itself (the commit's automatic one is off for its transaction), so the end phase is logged step by
/// step: events 6500 (each index), 6501 (commit), 6502 (checkpoint). Duplicate
/// phone numbers across batches are then found by building the unique phone index; if that fails, the rows whose phone
/// number an earlier line has are listed, in file order with the other errors, and everything is rolled back as for any
/// bad row. Other SQLite connections keep reading the last committed state (WAL) with its indexes throughout. Not used on
/// PostgreSQL, where <c>DROP INDEX</c> would lock every reader out of the table until the import commits.
/// </para>
/// Throughput, CPU per row and peak RSS: docs/protection-benchmarks.md.
/// <para>
/// A physical line longer than <see cref="MaxRecordBytes"/> is one bad row (field <c>row</c>, no value shown) and the
/// lines after it are read (<see cref="OverlongLineFilter"/>). A record never spans lines: a quote that is not closed on the
/// line where it opens (an unterminated quote, or a line break inside quotes, which no field may hold) makes that line one
/// bad row (<see cref="UnterminatedQuoteRule"/>), reported at that line, and the lines after it are read as rows of their
/// own, in either <see cref="ImportMode"/>: nothing is merged into the broken field.
/// </para>
/// <para>
/// Beside a running server (<see cref="ImportConcurrency.BesideServer"/>, SQLite only) the writer stage stages the rows in
/// a temporary table instead, and writes them only after the whole file was checked, in short transactions with pauses
/// between them (<c>SubscriberImporter.Staged.cs</c>, docs/storage.md); the bulk path is not used there.
/// </para>
/// <para>
/// Cancellation: in <see cref="ImportMode.AllOrNothing"/> nothing is written (beside a server: what was written is removed
/// again before the exception leaves); in
/// <see cref="ImportMode.SkipBadRows"/> batches already committed stay. Either way
/// <see cref="ImportCanceledException"/> is thrown, whose report counts the rows kept. Not thread-safe per call; separate calls may
/// run concurrently (SQLite serializes their writes).
/// </para>
/// </summary>
public sealed partial class SubscriberImporter
{
    /// <summary>Rows per insert transaction (<see cref="ImportMode.SkipBadRows"/>) and per parallel encryption batch.</summary>
    public const int BatchSize = 5_000;

    /// <summary>Most problems listed in <see cref="ImportReport.Errors"/>; further ones are only counted.</summary>
    public const int MaxReportedErrors = 100_000;

    /// <summary>Longest accepted name, in UTF-16 characters after trimming.</summary>
    public const int MaxNameLength = 50;

    /// <summary>Longest accepted address, in UTF-16 characters after trimming.</summary>
    public const int MaxAddressLength = 200;

    /// <summary>Longest accepted rate plan name, in UTF-16 characters after trimming.</summary>
    public const int MaxRatePlanLength = 100;

    /// <summary>
    /// SQLite page cache of the import's connection on the row-by-row path, in KiB (512 MiB). Rows land at random places in
    /// the id and blind-index B-trees, so the more of them the cache holds, the fewer pages the writer reads and spills; with
    /// it the importing process peaked at about 0.68 GiB for 1,000,000 rows (docs/protection-benchmarks.md), under the
    /// 1 GiB budget of issue 3. The bulk path uses <see cref="BulkCacheKiB"/> instead. The connection's previous cache size
    /// is restored before it returns to the pool.
    /// </summary>
    public const int ImportCacheKiB = 512 * 1024;

    /// <summary>
    /// SQLite page cache of the bulk path, in KiB (256 MiB): appending needs only the pages at the end of each B-tree, and
    /// SQLite gives each index sort as much memory again as the page cache (at most 512 MiB), spilling sorted runs to
    /// temporary files beyond it. 2 × 256 MiB keeps the importing process under the 1 GiB budget of issue 3 however large
    /// the file; with <see cref="ImportCacheKiB"/> a 3,000,000-row load peaked at 801 MiB and would approach
    /// 512 + 512 MiB plus the process at 17.4 M rows (docs/protection-benchmarks.md).
    /// </summary>
    public const int BulkCacheKiB = 256 * 1024;

    /// <summary>
    /// Auxiliary threads SQLite's sorter may use, beside the importing thread, while a bulk load builds its deferred
    /// indexes (<c>PRAGMA threads</c>): processors − 1, 0–3 (1 on a 2-core machine).
    /// </summary>
    public static int BulkSortThreads { get; } = Math.Clamp(Environment.ProcessorCount - 1, 0, 3);

    /// <summary>Largest accepted CSV record (one line), in bytes; a longer line is one bad row (<see cref="OverlongLineFilter"/>).</summary>
    public const int MaxRecordBytes = 64 * 1024;

    private const string InsertColumns =
        "(seq, id, phone_index, rrn_index, name_ct, rrn_ct, phone_ct, address_ct, rate_plan, contract_start, contract_end, home_store, created_at, phone_index_next, rrn_index_next, household_index, family_plan_index)";

    private const string InsertValues =
        " VALUES (@seq, @id, @phone_index, @rrn_index, @name_ct, @rrn_ct, @phone_ct, @address_ct, @rate_plan, @contract_start, @contract_end, @home_store, @created_at, @phone_index_next, @rrn_index_next, @household_index, @family_plan_index)";

    private const string InsertSql = "INSERT INTO subscribers " + InsertColumns + InsertValues;

    /// <summary>Row by row into an indexed table: a phone number already present is turned away by its unique index.</summary>
    private const string InsertOrSkipSql = InsertSql + " ON CONFLICT (phone_index) DO NOTHING";

    /// <summary>
    /// Rows of the bulk load whose phone number an earlier row (lower <c>seq</c>, earlier line) already has; run only when the
    /// load is rejected, over a temporary index on <c>phone_index</c> that the rollback removes.
    /// </summary>
    private const string LaterDuplicatesSql =
        "SELECT s.seq FROM subscribers s WHERE EXISTS (SELECT 1 FROM subscribers e WHERE e.phone_index = s.phone_index AND e.seq < s.seq) ORDER BY s.seq";

    /// <summary>SQLite's extended result code <c>SQLITE_CONSTRAINT_UNIQUE</c> (sqlite.org/rescode.html#constraint_unique).</summary>
    private const int SqliteConstraintUnique = 2067;

    /// <summary>The columns the header may name: the required ones (<see cref="ImportColumns.All"/>), then the optional ones.</summary>
    private static readonly IReadOnlyList<string> KnownColumns = [.. ImportColumns.All, .. ImportColumns.Optional];

    private static readonly string OversizedRule = $"must be at most {MaxRecordBytes} bytes (check for an unterminated quote); the rest of the file was not read";

    private static readonly string OverlongLineRule = $"must be at most {MaxRecordBytes} bytes; the line was skipped and the lines after it were read";

    /// <summary>
    /// The rule for a text field holding bytes that are not UTF-8 (decoded as U+FFFD), as a CSV saved as CP949 / EUC-KR or
    /// Latin-1 has; RFC 4180 leaves the charset to the MIME type and this importer reads UTF-8 (a UTF-16 file with a BOM
    /// is detected).
    /// </summary>
    public const string NotUtf8Rule = "must be UTF-8 text: the file holds bytes that are not UTF-8 (saved as CP949/EUC-KR or Latin-1?); save it as UTF-8";

    /// <summary>
    /// The rule for a shown text field (name, address, rate_plan) holding a C0 or C1 control character (U+0000–U+001F,
    /// U+007F–U+009F: tabs, line breaks, escapes) or a line or paragraph separator (U+2028, U+2029).
    /// </summary>
    public const string ControlCharacterRule = "must not contain control characters or line breaks";

    /// <summary>
    /// The rule for a shown text field holding a Unicode bidirectional embedding, override or isolate control (U+202A–U+202E,
    /// U+2066–U+2069): the same rule as free text (<see cref="Classification.FreeText.BidiRule"/>), because such a name or
    /// address displays in another order than it is stored and can make a clerk read another subscriber's details
    /// ("Trojan Source", CVE-2021-42574).
    /// </summary>
    public const string BidiControlRule = Classification.FreeText.BidiRule;

    /// <summary>
    /// The rule for a shown text field holding any other invisible format character (Unicode general category Cf: U+200B
    /// zero width space, U+200E/U+200F direction marks, U+00AD soft hyphen, U+FEFF, …): invisible on screen, they make two
    /// names or addresses that look alike differ, or one that looks like another's.
    /// </summary>
    public const string FormatCharacterRule = "must not contain invisible format characters (Unicode category Cf, e.g. U+200B, U+200E, U+FEFF)";

    /// <summary>
    /// The rule for a <c>rate_plan</c> starting with <c>=</c>, <c>+</c>, <c>-</c> or <c>@</c>: a spreadsheet opening an export
    /// of the clear <c>rate_plan</c> column would run it as a formula (CSV injection, OWASP). There is no catalogue of rate
    /// plans to check against, so the value is otherwise free text (1–<see cref="MaxRatePlanLength"/> characters).
    /// </summary>
    public const string FormulaRule = "must not start with '=', '+', '-' or '@' (a spreadsheet would run it as a formula)";

    /// <summary>
    /// The rule for a line whose quoted field is not closed on that line: an unterminated quote, or a line break inside
    /// quotes, which no field allows (names, addresses and rate plans refuse line breaks; the other fields are codes, numbers
    /// and dates). Every line break ends a record, so the line is one bad row and the lines after it are read as rows of their own.
    /// </summary>
    public const string UnterminatedQuoteRule = "must close every quote on the line where it opens (an unterminated quote, or a line break inside quotes, which no field may hold); the lines after it were read as rows of their own";

    private const string DuplicatePhoneRule = "must be unique: another row of this file or an existing subscriber has the same phone number";

    private readonly CustodianDatabase _database;
    private readonly FieldCipher _cipher;
    private readonly BlindIndex _index;
    private readonly Households.HouseholdIndex _households;
    private readonly ProtectionKeyring _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the importer.</summary>
    /// <param name="db">The database (migrated with <see cref="ProtectionMigrations"/>).</param>
    /// <param name="keys">The keyring.</param>
    /// <param name="time">Clock for <c>created_at</c> and the RRN future-date rule.</param>
    /// <param name="logger">Optional logger (events 3101–3109, 6300–6301 and 6500–6503); receives counts, index names and milliseconds only.</param>
    public SubscriberImporter(CustodianDatabase db, ProtectionKeyring keys, TimeProvider time, ILogger<SubscriberImporter>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(time);
        _database = db;
        _cipher = new FieldCipher(keys);
        _index = new BlindIndex(keys);
        _households = new Households.HouseholdIndex(keys);
        _keys = keys;
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Imports subscribers from <paramref name="csv"/> with no server running on the database (<see cref="ImportConcurrency.Exclusive"/>).</summary>
    /// <param name="csv">UTF-8 CSV text with a header line naming all eight <see cref="ImportColumns"/> (any order). Not disposed.</param>
    /// <param name="mode">What to do with bad rows; default <see cref="ImportMode.AllOrNothing"/>.</param>
    /// <param name="rowsDone">Receives the number of data records processed so far (validated, then written or rejected) after each batch.</param>
    /// <param name="cancellationToken">Cancels the import (see the class remarks for what stays written).</param>
    /// <returns>The report. A header problem yields one <c>header</c> error and nothing is read further.</returns>
    /// <exception cref="ImportCanceledException">When cancelled; its report says how many rows stayed written.</exception>
    public Task<ImportReport> ImportAsync(TextReader csv, ImportMode mode = ImportMode.AllOrNothing, IProgress<long>? rowsDone = null, CancellationToken cancellationToken = default) =>
        ImportAsync(csv, mode, ImportConcurrency.Exclusive, rowsDone, null, cancellationToken);

    /// <summary>Imports subscribers from <paramref name="csv"/>.</summary>
    /// <param name="csv">UTF-8 CSV text with a header line naming all eight <see cref="ImportColumns"/> (any order). Not disposed.</param>
    /// <param name="mode">What to do with bad rows.</param>
    /// <param name="concurrency">
    /// Whether a server runs on the database (<see cref="ImportConcurrency.BesideServer"/>: on SQLite, validate everything
    /// first, then write in short transactions with pauses between them) or not (<see cref="ImportConcurrency.Exclusive"/>).
    /// </param>
    /// <param name="rowsDone">
    /// Receives the number of data records processed so far after each batch: validated and written or rejected; with
    /// <see cref="ImportConcurrency.BesideServer"/> on SQLite, validated and staged (the writing follows).
    /// </param>
    /// <param name="writeProgress">
    /// With <see cref="ImportConcurrency.BesideServer"/> on SQLite only: receives the write phase's progress — once when it
    /// begins (0 of the rows to write) and after each committed transaction — so that a caller can show it after
    /// <paramref name="rowsDone"/> has reached the end of the file. Never called on the other paths, or when the check
    /// rejected an all-or-nothing file.
    /// </param>
    /// <param name="cancellationToken">Cancels the import (see the class remarks for what stays written).</param>
    /// <returns>The report. A header problem yields one <c>header</c> error and nothing is read further.</returns>
    /// <exception cref="ImportCanceledException">When cancelled; its report says how many rows stayed written.</exception>
    public async Task<ImportReport> ImportAsync(TextReader csv, ImportMode mode, ImportConcurrency concurrency, IProgress<long>? rowsDone = null, IProgress<ImportWriteProgress>? writeProgress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csv);
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode));
        }

        if (!Enum.IsDefined(concurrency))
        {
            throw new ArgumentOutOfRangeException(nameof(concurrency));
        }

        var started = _time.GetTimestamp();
        Log.ImportStarted(_logger, mode);
        var state = new ImportState();
        try
        {
            if (_database.IsSqlite)
            {
                // An all-or-nothing import that a crash left half-written beside a server is removed before anything else.
                await RecoverAsync(cancellationToken);
            }

            return await ImportCoreAsync(csv, mode, concurrency == ImportConcurrency.BesideServer && _database.IsSqlite, rowsDone, writeProgress, state, started, cancellationToken);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested && ex is not ImportCanceledException)
        {
            // Every stage has stopped (the writer is awaited before the reader's exception leaves), so the counts are final.
            Log.ImportCanceled(_logger, mode, state.RowsRead, state.RowsImported);
            throw new ImportCanceledException(
                new ImportReport { RowsRead = state.RowsRead, RowsImported = state.RowsImported, RowsRejected = state.RowsRejected, Errors = state.Errors, ErrorsTruncated = state.ErrorsTruncated },
                cancellationToken);
        }
    }

    /// <summary>
    /// The reader's options. Line breaks inside quotes are off: no field of the import may hold one (see
    /// <see cref="UnterminatedQuoteRule"/>), so every line break ends a record and a quote that is never closed spoils only
    /// its own line instead of swallowing the lines after it into one field.
    /// </summary>
    private static CsvReaderOptions CsvOptions(Dictionary<long, CsvMalformedReason> malformed) =>
        Files.StrictCsv.Options(MaxRecordBytes, lineBreaksInQuotes: false, record => malformed.TryAdd(record.RecordNumber, record.Reason));

    private async Task<ImportReport> ImportCoreAsync(TextReader csv, ImportMode mode, bool staged, IProgress<long>? rowsDone, IProgress<ImportWriteProgress>? writeProgress, ImportState state, long started, CancellationToken cancellationToken)
    {
        var malformed = new Dictionary<long, CsvMalformedReason>();
        var options = CsvOptions(malformed);
        using var lines = new OverlongLineFilter(csv, MaxRecordBytes); // an over-long line is one bad row, and reading goes on after it
        await using var reader = CsvReader.Create(lines, options, leaveOpen: true);
        var columns = await ReadHeaderAsync(reader, lines, state, cancellationToken);
        if (columns is null)
        {
            return Finish(state, mode, started, committed: false);
        }

        // Three stages overlap: this task reads batch n + 2 while the CPU stage validates and encrypts batch n + 1
        // (Parallel.For) and the writer inserts batch n. The channel holds at most two prepared batches, so
        // memory stays bounded (a few batches of BatchSize rows) however long the file is.
        var prepared = Channel.CreateBounded<PreparedBatch>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writer = Task.Run(
            async () =>
            {
                try
                {
                    return staged
                        ? await StageAndWriteAsync(prepared.Reader, mode, state, rowsDone, writeProgress, stop.Token)
                        : await WriteAsync(prepared.Reader, mode, state, rowsDone, stop.Token);
                }
                catch
                {
                    await stop.CancelAsync(); // unblocks the reader if it waits for room in the channel
                    throw;
                }
            },
            CancellationToken.None);
        try
        {
            var batch = new List<RawRow>(BatchSize);
            while (!writer.IsCompleted && await ReadRecordAsync(reader, state, stop.Token))
            {
                state.RowsRead++;
                var line = reader.LineNumber;
                if (lines.WasReplaced(line))
                {
                    malformed.Remove(reader.RowNumber);
                    batch.Add(new RawRow(line, null, new ImportRowError(line, "row", OverlongLineRule)));
                }
                else if (malformed.Remove(reader.RowNumber, out var reason))
                {
                    var rule = reason is CsvMalformedReason.LineBreakInQuotes or CsvMalformedReason.UnterminatedQuote
                        ? UnterminatedQuoteRule
                        : "must be well-formed CSV (RFC 4180 quoting)";
                    batch.Add(new RawRow(line, null, new ImportRowError(line, "row", rule)));
                }
                else if (reader.FieldCount != columns.HeaderCount)
                {
                    batch.Add(new RawRow(line, null, new ImportRowError(line, "row", $"must have {columns.HeaderCount} fields like the header")));
                }
                else
                {
                    var values = new string[KnownColumns.Count];
                    for (var i = 0; i < values.Length; i++)
                    {
                        values[i] = columns.Index[i] < 0 ? string.Empty : reader.GetString(columns.Index[i]); // an optional column the file leaves out
                    }

                    batch.Add(new RawRow(line, values, null));
                }

                if (batch.Count == BatchSize)
                {
                    await prepared.Writer.WriteAsync(Prepare(batch, stop.Token), stop.Token);
                    batch = new List<RawRow>(BatchSize);
                }
            }

            if (batch.Count > 0 && !writer.IsCompleted)
            {
                await prepared.Writer.WriteAsync(Prepare(batch, stop.Token), stop.Token);
            }

            prepared.Writer.Complete();
        }
        catch (Exception ex)
        {
            // Stop the writer (it rolls back what it has not committed). When the writer failed first, its
            // failure (say, a full disk) is the cause and is what the caller sees; otherwise the reader's.
            prepared.Writer.TryComplete(ex);
            await stop.CancelAsync();
            try
            {
                await writer;
            }
            catch (OperationCanceledException)
            {
            }

            throw;
        }

        var committed = await writer;
        return Finish(state, mode, started, committed);
    }

    private ImportReport Finish(ImportState state, ImportMode mode, long started, bool committed)
    {
        var elapsed = _time.GetElapsedTime(started);
        var report = new ImportReport
        {
            RowsRead = state.RowsRead,
            RowsImported = state.RowsImported,
            RowsRejected = state.RowsRejected,
            Errors = state.Errors,
            ErrorsTruncated = state.ErrorsTruncated,
        };
        if (mode == ImportMode.AllOrNothing && state.RowsRejected > 0 && !committed)
        {
            Log.ImportRejected(_logger, report.RowsRead, report.RowsRejected);
        }

        Log.ImportFinished(_logger, mode, report.RowsRead, report.RowsImported, report.RowsRejected, (long)elapsed.TotalMilliseconds);
        return report;
    }

    private static async Task<HeaderColumns?> ReadHeaderAsync(CsvReader reader, OverlongLineFilter lines, ImportState state, CancellationToken cancellationToken)
    {
        if (!await ReadRecordAsync(reader, state, cancellationToken))
        {
            if (state.TruncatedAtLine is { } line0)
            {
                state.Reject(line0, "row", OversizedRule);
                state.TruncatedAtLine = null;
            }

            state.Add(1, "header", $"the file is empty; expected the header {ImportColumns.ExpectedHeader}");
            return null;
        }

        var line = reader.LineNumber;
        if (lines.WasReplaced(line))
        {
            state.Add(line, "header", $"must be at most {MaxRecordBytes} bytes; expected the header {ImportColumns.ExpectedHeader}");
            return null;
        }

        var expected = KnownColumns;
        var index = new int[expected.Count];
        Array.Fill(index, -1);
        var unknown = new List<int>();
        var duplicate = new List<string>();
        for (var i = 0; i < reader.FieldCount; i++)
        {
            var name = reader.GetString(i).Trim().TrimStart('\uFEFF').Trim().ToLowerInvariant();
            var k = IndexOf(expected, name);
            if (k < 0)
            {
                unknown.Add(i + 1);
            }
            else if (index[k] >= 0)
            {
                duplicate.Add(expected[k]);
            }
            else
            {
                index[k] = i;
            }
        }

        var missing = expected.Where((_, k) => index[k] < 0 && k < ImportColumns.All.Count).ToList(); // optional columns may be left out
        if (missing.Count == 0 && unknown.Count == 0 && duplicate.Count == 0)
        {
            return new HeaderColumns(index, reader.FieldCount);
        }

        // Unknown header cells are reported by position only: a data row pasted as a header would otherwise leak values.
        var parts = new List<string>();
        if (missing.Count > 0)
        {
            parts.Add("missing columns: " + string.Join(", ", missing));
        }

        if (unknown.Count > 0)
        {
            parts.Add("unknown columns at positions: " + string.Join(", ", unknown));
        }

        if (duplicate.Count > 0)
        {
            parts.Add("repeated columns: " + string.Join(", ", duplicate));
        }

        state.Add(line, "header", $"must name exactly the columns {ImportColumns.HeaderLine}, and optionally {string.Join(", ", ImportColumns.Optional)} ({string.Join("; ", parts)})");
        return null;
    }

    private static async Task<bool> ReadRecordAsync(CsvReader reader, ImportState state, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadAsync(cancellationToken);
        }
        catch (CsvFormatException ex)
        {
            // Only an oversized record gets here (malformed data is recovered); the reader cannot go on. The writer
            // reports it after the rows before it (it may still be adding theirs).
            state.TruncatedAtLine = ex.LineNumber > 0 ? ex.LineNumber : 1;
            return false;
        }
    }

    private static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private ValidRow? Validate(string[] values, long line, List<ImportRowError> errors)
    {
        var name = Text(values[0], ImportColumns.Name, MaxNameLength, line, errors);

        var rrnResult = ResidentRegistrationNumbers.Normalize(values[1], _time);
        if (!rrnResult.IsSuccess)
        {
            errors.Add(new(line, ImportColumns.Rrn, FieldRule.RuleOf(rrnResult.Error!, ResidentRegistrationNumbers.Field)));
        }

        var phoneResult = Validation.PhoneNumbers.NormalizeKoreanMobile(values[2]);
        if (!phoneResult.IsSuccess)
        {
            errors.Add(new(line, ImportColumns.Phone, FieldRule.RuleOf(phoneResult.Error!, Validation.PhoneNumbers.Field)));
        }

        var address = Text(values[3], ImportColumns.Address, MaxAddressLength, line, errors);
        var ratePlan = Text(values[4], ImportColumns.RatePlan, MaxRatePlanLength, line, errors);
        if (ratePlan is ['=' or '+' or '-' or '@', ..])
        {
            errors.Add(new(line, ImportColumns.RatePlan, FormulaRule));
            ratePlan = null;
        }

        var start = Date(values[5], ImportColumns.ContractStart, line, errors);
        var end = Date(values[6], ImportColumns.ContractEnd, line, errors);
        if (start is { } s && end is { } e && e < s)
        {
            errors.Add(new(line, ImportColumns.ContractEnd, "must not be before contract_start"));
        }

        var store = values[7].Trim();
        if (!Codes.IsValid(store))
        {
            errors.Add(new(line, ImportColumns.HomeStore, "must be a store code: " + Codes.Rule));
        }
        else if (Codes.LooksLikePersonalNumber(store))
        {
            // The rule staff and terminal store codes follow (StaffAccountRules.CheckCode): a phone number or RRN in
            // the clear home_store column would be personal data outside the vault's encryption.
            errors.Add(new(line, ImportColumns.HomeStore, Codes.NotPersonalNumberRule));
        }

        var familyPlan = values[8].Trim(); // optional (docs/households.md, "Household and family-plan indexes")
        if (familyPlan.Length > 0 && !Households.HouseholdIndex.IsFamilyPlanCode(familyPlan))
        {
            errors.Add(new(line, ImportColumns.FamilyPlan, Households.HouseholdIndex.FamilyPlanRule));
        }

        return errors.Count > 0
            ? null
            : new ValidRow(line, name!, rrnResult.Value, phoneResult.Value, address!, ratePlan!, start!.Value, end!.Value, store, familyPlan.Length > 0 ? familyPlan : null);
    }

    private static string? Text(string raw, string field, int maxLength, long line, List<ImportRowError> errors)
    {
        var value = raw.Trim();
        if (value.Length == 0)
        {
            errors.Add(new(line, field, "is required"));
            return null;
        }

        value = value.Normalize(NormalizationForm.FormC);
        if (value.Length > maxLength)
        {
            errors.Add(new(line, field, $"must be at most {maxLength} characters"));
            return null;
        }

        foreach (var c in value)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                errors.Add(new(line, field, ControlCharacterRule));
                return null;
            }

            if (c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069'))
            {
                errors.Add(new(line, field, BidiControlRule));
                return null;
            }

            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                errors.Add(new(line, field, FormatCharacterRule));
                return null;
            }

            if (c == '\uFFFD')
            {
                // The reader decodes UTF-8 and turns bytes that are not UTF-8 into U+FFFD: storing them would lose the value.
                errors.Add(new(line, field, NotUtf8Rule));
                return null;
            }
        }

        return value;
    }

    private static DateOnly? Date(string raw, string field, long line, List<ImportRowError> errors)
    {
        if (DateOnly.TryParseExact(raw.Trim(), SubscriberDates.Format, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        errors.Add(new(line, field, "must be a date in the form yyyy-MM-dd"));
        return null;
    }

    /// <summary>
    /// The CPU stage: validation (libphonenumber) and encryption dominate its cost and are independent per row, so they
    /// run in parallel. Then, in file order, a row whose phone number an earlier row of the same batch already has
    /// becomes a duplicate-phone error (the earlier row wins, as it does across batches); the bulk path, which inserts
    /// without the unique index, relies on this.
    /// </summary>
    private PreparedBatch Prepare(List<RawRow> batch, CancellationToken cancellationToken)
    {
        var outcomes = new RowOutcome[batch.Count];
        Parallel.For(0, batch.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var raw = batch[i];
            if (raw.Values is null)
            {
                outcomes[i] = new RowOutcome(null, [raw.Error!]);
                return;
            }

            var errors = new List<ImportRowError>(0);
            var valid = Validate(raw.Values, raw.Line, errors);
            outcomes[i] = valid is null ? new RowOutcome(null, errors) : new RowOutcome(Encrypt(valid), null);
        });

        var phones = new HashSet<byte[]>(outcomes.Length, BlindIndexComparer.Instance);
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].Row is { } row && !phones.Add(row.PhoneIndex))
            {
                outcomes[i] = new RowOutcome(null, [new ImportRowError(row.Line, ImportColumns.Phone, DuplicatePhoneRule)]);
            }
        }

        return new PreparedBatch(outcomes, batch[0].Line);
    }

    /// <summary>
    /// The write stage: inserts prepared batches in file order on one connection. <see cref="ImportMode.SkipBadRows"/>
    /// commits each batch; <see cref="ImportMode.AllOrNothing"/> keeps one transaction and commits it only when no row
    /// was rejected (taking the bulk path when the table is empty, see the class remarks). Returns whether anything was
    /// committed at the end.
    /// </summary>
    private async Task<bool> WriteAsync(ChannelReader<PreparedBatch> prepared, ImportMode mode, ImportState state, IProgress<long>? rowsDone, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        object? pooledCacheSize = null;
        if (_database.IsSqlite) // a SQLite pragma; PostgreSQL's buffer cache is the server's (docs/storage.md)
        {
            await using (var cache = connection.Command("PRAGMA cache_size"))
            {
                pooledCacheSize = await cache.ExecuteScalarAsync(cancellationToken);
            }

            await SetCacheSizeAsync(connection, "-" + ImportCacheKiB.ToString(CultureInfo.InvariantCulture));
        }

        InsertCommand? insert = null;
        DbTransaction? transaction = null;
        var bulk = false;
        IReadOnlyList<(string Name, string Sql)> deferred = [];
        object? pooledAutoCheckpoint = null;
        try
        {
            long rowsWritten = 0;
            var keys = new SequenceKeys(0, 0);
            await foreach (var (outcomes, firstLine) in prepared.ReadAllAsync(cancellationToken))
            {
                if (transaction is null)
                {
                    transaction = await connection.BeginTransactionAsync(cancellationToken);
                    keys = await BeginKeysAsync(connection, transaction, firstLine, cancellationToken);
                    if (insert is null)
                    {
                        // Decided once, in the import's first (for all-or-nothing, only) transaction.
                        bulk = mode == ImportMode.AllOrNothing && _database.IsSqlite && keys.TableWasEmpty;
                        if (bulk)
                        {
                            // Without a pending blind-index key the pending-key indexes are appended to (or not touched)
                            // row by row; only the three whose entries land at random places are built after the load.
                            var noPendingKey = _keys.PendingIndexKey is null;
                            deferred = [.. SubscriberIndexes.All.Where(i => !(noPendingKey && SubscriberIndexes.PendingKeyIndexNames.Contains(i.Name)))];
                            await ExecuteAsync(connection, transaction, "PRAGMA cache_size = -" + BulkCacheKiB.ToString(CultureInfo.InvariantCulture), cancellationToken);

                            // SQLite's sorter may use worker threads for the external merge sorts of the index builds after the
                            // load (https://sqlite.org/pragma.html#pragma_threads; off by default). Reset to 0 below for the pooled connection.
                            await ExecuteAsync(connection, transaction, "PRAGMA threads = " + BulkSortThreads.ToString(CultureInfo.InvariantCulture), cancellationToken);

                            // The commit's automatic checkpoint would copy the whole load from the WAL into the database file
                            // inside CommitAsync; it is run explicitly after the commit instead, timed on its own (event 6502).
                            await using (var autoCheckpoint = connection.Command("PRAGMA wal_autocheckpoint"))
                            {
                                autoCheckpoint.Transaction = transaction;
                                pooledAutoCheckpoint = await autoCheckpoint.ExecuteScalarAsync(cancellationToken);
                            }

                            await ExecuteAsync(connection, transaction, "PRAGMA wal_autocheckpoint = 0", cancellationToken);
                            await DropIndexesAsync(connection, transaction, deferred, cancellationToken);
                        }

                        insert = InsertCommand.Create(connection, bulk ? InsertSql : InsertOrSkipSql);
                    }
                }

                insert!.Bind(transaction);
                var createdAt = _time.GetUtcNow().ToUnixTimeMilliseconds();

                // Insert in file order; a row the unique phone index turns away (a subscriber already in the database or in an
                // earlier batch) is reported in file order with every other error of the batch.
                for (var i = 0; i < outcomes.Length; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (outcomes[i].Errors is { } errors)
                    {
                        state.Reject(errors);
                    }
                    else if (insert.Execute(outcomes[i].Row!, keys.SeqOf(outcomes[i].Row!.Line), createdAt) == 0)
                    {
                        state.Reject(outcomes[i].Row!.Line, ImportColumns.Phone, DuplicatePhoneRule);
                    }
                    else
                    {
                        state.PendingImported++;
                    }
                }

                if (mode == ImportMode.SkipBadRows)
                {
                    await transaction.CommitAsync(cancellationToken);
                    state.RowsImported += state.PendingImported; // counted at once: a cancellation from here on keeps this batch
                    state.PendingImported = 0;
                    await transaction.DisposeAsync();
                    transaction = null;
                }

                rowsWritten += outcomes.Length;
                rowsDone?.Report(rowsWritten);
            }

            // Set by the reader before it completed the channel: reported after every row before it, and counted
            // before the all-or-nothing decision below.
            if (state.TruncatedAtLine is { } truncated)
            {
                state.Reject(truncated, "row", OversizedRule);
            }

            if (transaction is null)
            {
                return mode == ImportMode.SkipBadRows && state.RowsImported > 0;
            }

            if (bulk && !await BuildIndexesAsync(connection, transaction, deferred, keys, state, cancellationToken))
            {
                await transaction.RollbackAsync(cancellationToken);
                state.PendingImported = 0;
                return false;
            }

            if (mode == ImportMode.AllOrNothing && state.RowsRejected > 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                state.PendingImported = 0;
                return false;
            }

            var commitStarted = _time.GetTimestamp();
            await transaction.CommitAsync(cancellationToken);
            var commitMs = (long)_time.GetElapsedTime(commitStarted).TotalMilliseconds;
            Log.ImportCommitted(_logger, commitMs);
            state.RowsImported += state.PendingImported;
            state.PendingImported = 0;
            if (bulk)
            {
                await CheckpointAsync(connection);
            }

            return true;
        }
        finally
        {
            if (insert is not null)
            {
                await insert.DisposeAsync();
            }

            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }

            if (bulk)
            {
                await using var threads = connection.Command("PRAGMA threads = 0");
                await threads.ExecuteNonQueryAsync(CancellationToken.None);
            }

            if (pooledAutoCheckpoint is not null)
            {
                await using var restore = connection.Command("PRAGMA wal_autocheckpoint = " + Convert.ToInt64(pooledAutoCheckpoint, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
                await restore.ExecuteNonQueryAsync(CancellationToken.None);
            }

            // Shrinking the cache frees its pages, which the pooled connection would otherwise keep.
            if (pooledCacheSize is not null)
            {
                await SetCacheSizeAsync(connection, Convert.ToInt64(pooledCacheSize, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>
    /// Starts a transaction's keys: on PostgreSQL first locks the table against other writers (readers go on), so that no
    /// concurrent import takes the same <c>seq</c> values (SQLite's write transaction already excludes them), then reads the
    /// largest <c>seq</c>. A row on line <c>l</c> gets <c>max + l − (firstLine − 1)</c>: increasing in file order, so the table
    /// is appended to, and the line can be told back from the key (the bulk path's duplicate report).
    /// </summary>
    private async Task<SequenceKeys> BeginKeysAsync(DbConnection connection, DbTransaction transaction, long firstLine, CancellationToken cancellationToken)
    {
        if (!_database.IsSqlite)
        {
            await using var lockTable = connection.Command("LOCK TABLE subscribers IN EXCLUSIVE MODE");
            lockTable.Transaction = transaction;
            await lockTable.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var max = connection.Command("SELECT MAX(seq) FROM subscribers");
        max.Transaction = transaction;
        var value = await max.ExecuteScalarAsync(cancellationToken);
        var empty = value is null or DBNull;
        return new SequenceKeys(empty ? 0 : Convert.ToInt64(value, CultureInfo.InvariantCulture), firstLine - 1) { TableWasEmpty = empty };
    }

    private static async Task DropIndexesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<(string Name, string Sql)> indexes, CancellationToken cancellationToken)
    {
        foreach (var (name, _) in indexes)
        {
            await using var drop = connection.Command("DROP INDEX " + name);
            drop.Transaction = transaction;
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The end of the bulk path. With no rejected row, builds the unique phone index: if no phone number repeats, it
    /// succeeds and the other indexes follow (returns true; the caller commits). Otherwise (a bad row, or the unique index
    /// failed) lists every row whose phone number an earlier line has, merged in file order into the errors, and returns
    /// false (the caller rolls back, which also restores the indexes dropped at the start).
    /// </summary>
    private async Task<bool> BuildIndexesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<(string Name, string Sql)> deferred, SequenceKeys keys, ImportState state, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        if (state.RowsRejected == 0)
        {
            var unique = true;
            try
            {
                await ExecuteAsync(connection, transaction, SubscriberIndexes.PhoneIndex, cancellationToken);
                var phoneMs = (long)_time.GetElapsedTime(started).TotalMilliseconds;
                Log.BulkIndexBuilt(_logger, SubscriberIndexes.PhoneIndexName, phoneMs);
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex) when (ex.SqliteExtendedErrorCode == SqliteConstraintUnique)
            {
                // A phone number repeats across batches. SQLite undid only the statement; the transaction goes on.
                unique = false;
            }

            if (unique)
            {
                foreach (var (name, sql) in deferred)
                {
                    if (name == SubscriberIndexes.PhoneIndexName)
                    {
                        continue;
                    }

                    var indexStarted = _time.GetTimestamp();
                    await ExecuteAsync(connection, transaction, sql, cancellationToken);
                    var indexMs = (long)_time.GetElapsedTime(indexStarted).TotalMilliseconds;
                    Log.BulkIndexBuilt(_logger, name, indexMs);
                }

                var elapsedMs = (long)_time.GetElapsedTime(started).TotalMilliseconds;
                Log.BulkIndexesBuilt(_logger, state.PendingImported, elapsedMs);
                return true;
            }
        }

        await ExecuteAsync(connection, transaction, "CREATE INDEX ix_subscribers_import_phone ON subscribers (phone_index)", cancellationToken);
        var lines = new List<long>();
        await using (var query = connection.Command(LaterDuplicatesSql))
        {
            query.Transaction = transaction;
            await using var reader = await query.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                lines.Add(keys.LineOf(reader.GetInt64(0)));
            }
        }

        state.RejectInFileOrder(lines, ImportColumns.Phone, DuplicatePhoneRule);
        Log.BulkLoadRejected(_logger, lines.Count);
        return false;
    }

    /// <summary>
    /// After a bulk load has committed: copies the WAL into the database file (<c>PRAGMA wal_checkpoint(PASSIVE)</c>, what
    /// the commit's automatic checkpoint would have done) and logs the frames and milliseconds (event 6502). The import is
    /// durable already, so a failure here is logged (event 6503) and left to the next checkpoint, as SQLite does with a failed
    /// automatic one; it is not cancelled either.
    /// </summary>
    private async Task CheckpointAsync(DbConnection connection)
    {
        var started = _time.GetTimestamp();
        try
        {
            await using var checkpoint = connection.Command("PRAGMA wal_checkpoint(PASSIVE)");
            await using var reader = await checkpoint.ExecuteReaderAsync(CancellationToken.None);
            if (await reader.ReadAsync(CancellationToken.None))
            {
                var frames = reader.GetInt64(1);
                var copied = reader.GetInt64(2);
                var elapsedMs = (long)_time.GetElapsedTime(started).TotalMilliseconds;
                Log.BulkCheckpointed(_logger, frames, copied, elapsedMs);
            }
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            Log.BulkCheckpointFailed(_logger, ex.SqliteExtendedErrorCode);
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(sql);
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task SetCacheSizeAsync(DbConnection connection, string size)
    {
        await using var pragma = connection.Command("PRAGMA cache_size = " + size);
        await pragma.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private EncryptedRow Encrypt(ValidRow row)
    {
        var id = SubscriberId.NewRandom();
        var pending = _keys.PendingIndexKey;
        return new EncryptedRow(
            row.Line,
            id,
            _index.ForPhone(row.Phone),
            _index.ForRrn(row.Rrn),
            _cipher.EncryptString(id, SubscriberFields.Name, row.Name),
            _cipher.EncryptString(id, SubscriberFields.Rrn, row.Rrn),
            _cipher.EncryptString(id, SubscriberFields.Phone, row.Phone),
            _cipher.EncryptString(id, SubscriberFields.Address, row.Address),
            row.RatePlan,
            row.ContractStart.ToString(SubscriberDates.Format, CultureInfo.InvariantCulture),
            row.ContractEnd.ToString(SubscriberDates.Format, CultureInfo.InvariantCulture),
            row.HomeStore,
            pending is null ? null : _index.ForPhone(row.Phone, pending),
            pending is null ? null : _index.ForRrn(row.Rrn, pending),
            _households.ForHousehold(row.Name, row.Address),
            row.FamilyPlan is null ? null : _households.ForFamilyPlan(row.FamilyPlan));
    }

    private sealed record HeaderColumns(int[] Index, int HeaderCount);

    /// <summary>
    /// The <c>seq</c> values of one transaction: line <c>l</c> gets <c>Max + l − LineOffset</c>, where <c>Max</c> is the largest
    /// key when the transaction began and <c>LineOffset</c> the line before its first record.
    /// </summary>
    private readonly record struct SequenceKeys(long Max, long LineOffset)
    {
        public bool TableWasEmpty { get; init; }

        public long SeqOf(long line) => checked(Max + line - LineOffset);

        public long LineOf(long seq) => seq - Max + LineOffset;
    }

    private sealed record RawRow(long Line, string[]? Values, ImportRowError? Error);

    private sealed record RowOutcome(EncryptedRow? Row, List<ImportRowError>? Errors);

    /// <summary>A batch's outcomes in file order, and the line of its first record.</summary>
    private sealed record PreparedBatch(RowOutcome[] Outcomes, long FirstLine);

    /// <summary>Equality of two 32-byte blind indexes; HMAC output is uniform, so its first four bytes serve as the hash.</summary>
    private sealed class BlindIndexComparer : IEqualityComparer<byte[]>
    {
        public static readonly BlindIndexComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(obj);
    }

    private sealed record ValidRow(long Line, string Name, string Rrn, string Phone, string Address, string RatePlan, DateOnly ContractStart, DateOnly ContractEnd, string HomeStore, string? FamilyPlan);

    private sealed record EncryptedRow(
        long Line,
        SubscriberId Id,
        byte[] PhoneIndex,
        byte[] RrnIndex,
        byte[] NameCt,
        byte[] RrnCt,
        byte[] PhoneCt,
        byte[] AddressCt,
        string RatePlan,
        string ContractStart,
        string ContractEnd,
        string HomeStore,
        byte[]? PhoneIndexNext,
        byte[]? RrnIndexNext,
        byte[] HouseholdIndex,
        byte[]? FamilyPlanIndex);

    private sealed class ImportState
    {
        public List<ImportRowError> Errors { get; } = [];

        public bool ErrorsTruncated { get; private set; }

        public long RowsRead { get; set; }

        public long RowsImported { get; set; }

        public long PendingImported { get; set; }

        public long RowsRejected { get; set; }

        /// <summary>Line of an oversized record that stopped the reading, reported once the writer is done.</summary>
        public long? TruncatedAtLine { get; set; }

        /// <summary>Adds an error without counting a rejected row (header problems; field errors, whose row the caller counts once).</summary>
        public void Add(long line, string field, string rule)
        {
            if (Errors.Count < MaxReportedErrors)
            {
                Errors.Add(new ImportRowError(line, field, rule));
            }
            else
            {
                ErrorsTruncated = true;
            }
        }

        /// <summary>Adds every error of one bad row and counts the row once as rejected.</summary>
        public void Reject(List<ImportRowError> rowErrors)
        {
            foreach (var error in rowErrors)
            {
                Add(error.Line, error.Field, error.Rule);
            }

            RowsRejected++;
        }

        /// <summary>Adds an error and counts its row as rejected.</summary>
        public void Reject(long line, string field, string rule)
        {
            Add(line, field, rule);
            RowsRejected++;
        }

        /// <summary>
        /// Counts rows found bad after all others were read (<paramref name="lines"/> ascending) and merges their errors into
        /// <see cref="Errors"/> (in file order) by line, keeping the first <see cref="MaxReportedErrors"/>. When the list was
        /// already cut, only lines before its last entry are merged (later errors were not kept either).
        /// </summary>
        public void RejectInFileOrder(IReadOnlyList<long> lines, string field, string rule)
        {
            RowsRejected += lines.Count;
            var limit = ErrorsTruncated && Errors.Count > 0 ? Errors[^1].Line : long.MaxValue;
            var merged = new List<ImportRowError>(Errors.Count + lines.Count);
            var next = 0;
            foreach (var error in Errors)
            {
                for (; next < lines.Count && lines[next] < error.Line; next++)
                {
                    merged.Add(new ImportRowError(lines[next], field, rule));
                }

                merged.Add(error);
            }

            for (; next < lines.Count && lines[next] < limit; next++)
            {
                merged.Add(new ImportRowError(lines[next], field, rule));
            }

            ErrorsTruncated |= next < lines.Count || merged.Count > MaxReportedErrors;
            Errors.Clear();
            Errors.AddRange(merged.Take(MaxReportedErrors));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Subscriber import started ({Mode}).")]
        public static partial void ImportStarted(ILogger logger, ImportMode mode);

        [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Subscriber import finished ({Mode}): {RowsRead} rows read, {RowsImported} imported, {RowsRejected} rejected in {ElapsedMs} ms.")]
        public static partial void ImportFinished(ILogger logger, ImportMode mode, long rowsRead, long rowsImported, long rowsRejected, long elapsedMs);

        [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "All-or-nothing subscriber import rolled back: {RowsRejected} of {RowsRead} rows were bad; nothing was written.")]
        public static partial void ImportRejected(ILogger logger, long rowsRead, long rowsRejected);

        [LoggerMessage(EventId = 6620, Level = LogLevel.Warning, Message = "Subscriber import cancelled ({Mode}) after {RowsRead} rows read; {RowsKept} rows committed before the cancellation stay, the rest was rolled back.")]
        public static partial void ImportCanceled(ILogger logger, ImportMode mode, long rowsRead, long rowsKept);

        [LoggerMessage(EventId = 6300, Level = LogLevel.Information, Message = "Bulk subscriber import into an empty table: secondary indexes built after {Rows} rows in {ElapsedMs} ms.")]
        public static partial void BulkIndexesBuilt(ILogger logger, long rows, long elapsedMs);

        [LoggerMessage(EventId = 6500, Level = LogLevel.Debug, Message = "Bulk subscriber import: index {Index} built in {ElapsedMs} ms.")]
        public static partial void BulkIndexBuilt(ILogger logger, string index, long elapsedMs);

        [LoggerMessage(EventId = 6501, Level = LogLevel.Debug, Message = "Subscriber import: last transaction committed in {ElapsedMs} ms.")]
        public static partial void ImportCommitted(ILogger logger, long elapsedMs);

        [LoggerMessage(EventId = 6502, Level = LogLevel.Debug, Message = "Bulk subscriber import: checkpoint copied {Copied} of {Frames} WAL frames into the database in {ElapsedMs} ms.")]
        public static partial void BulkCheckpointed(ILogger logger, long frames, long copied, long elapsedMs);

        [LoggerMessage(EventId = 6503, Level = LogLevel.Warning, Message = "Bulk subscriber import committed, but its checkpoint failed (SQLite extended code {Code}); the next checkpoint copies the WAL.")]
        public static partial void BulkCheckpointFailed(ILogger logger, int code);

        [LoggerMessage(EventId = 6504, Level = LogLevel.Information, Message = "Subscriber import beside a server: {Rows} rows written in {Transactions} short transactions in {ElapsedMs} ms.")]
        public static partial void StagedWritten(ILogger logger, long rows, int transactions, long elapsedMs);

        [LoggerMessage(EventId = 6505, Level = LogLevel.Warning, Message = "Subscriber import beside a server stopped; its {Rows} rows written so far were removed again (all-or-nothing).")]
        public static partial void ImportRunRemoved(ILogger logger, long rows);

        [LoggerMessage(EventId = 6506, Level = LogLevel.Error, Message = "Subscriber import beside a server stopped and removing its rows failed ({Exception}); the next import or server start removes them.")]
        public static partial void ImportRunRemovalFailed(ILogger logger, string exception);

        [LoggerMessage(EventId = 6507, Level = LogLevel.Warning, Message = "An all-or-nothing subscriber import that did not finish (its process ended) was rolled back: {Rows} rows removed.")]
        public static partial void ImportRunRecovered(ILogger logger, long rows);

        [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Bulk subscriber import: {Duplicates} rows repeat an earlier row's phone number.")]
        public static partial void BulkLoadRejected(ILogger logger, int duplicates);
    }
}
