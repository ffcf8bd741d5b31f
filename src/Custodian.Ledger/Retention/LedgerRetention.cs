using System.Data.Common;
using System.Globalization;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Custodian.Ledger.Retention;

/// <summary>
/// Erases the payloads of access-ledger entries older than the retention period while keeping their
/// sequence numbers, times and leaf hashes, so every root, checkpoint and proof stays valid
/// (docs/ledger-format.md §13). The erasure is itself an entry: one <see cref="AccessTask.RetentionErasure"/>
/// entry per run of at most <see cref="RetentionOptions.MaxEntriesPerErasure"/> entries, whose target is a
/// <see cref="RetentionErasureRecord"/> (range and cutoff), appended through the ledger writer.
/// </summary>
/// <remarks>
/// <para>
/// Crash safety on SQLite: the erasure of a range and the entry recording it are written in <b>one</b>
/// transaction (the writer runs the erasure inside the commit of the entry, <see cref="SqliteAccessLedger"/>),
/// so a crash leaves either both or neither. With any other writer (<see cref="Postgres.PostgresAccessLedger"/>)
/// the entry is appended first and the range erased afterwards in a transaction of its own: a crash in
/// between leaves an erasure entry that erased nothing (the ledger still verifies; the next run erases the
/// range under a new entry), never a payload erased without the entry authorising it. Running again is
/// idempotent: erased entries are skipped, and a run with nothing to erase appends nothing.
/// </para>
/// <para>
/// What is erased: the payload (replaced by a zero-length blob), the query copies <c>account</c>,
/// <c>terminal</c> and <c>store</c>, and the entry's <c>ledger_subjects</c> rows (none yet when the entry is above
/// the subject projection's watermark: <see cref="LedgerSubjectProjector"/> gives erased entries no rows). What stays: <c>seq</c>,
/// <c>leaf_hash</c>, <c>time_ms</c> (the verifier needs it to check the entry was older than the cutoff;
/// a millisecond timestamp names no one), and <c>task</c>/<c>outcome</c> (categories that name no one,
/// kept for statistics). RetentionErasure entries themselves are never erased: they hold no personal
/// data and they are the authority for every erased entry.
/// </para>
/// <para>Thread-safe; concurrent runs (the server's daily run and the CLI) do not erase an entry twice.</para>
/// </remarks>
public sealed class LedgerRetention
{
    /// <summary>The account recorded on RetentionErasure entries.</summary>
    public const string SystemAccount = "system";

    private static readonly string ErasureTaskName = AccessTask.RetentionErasure.ToName();

    /// <summary>
    /// SQL condition keeping access-rights records until the (older) access-rights cutoff <c>@rightsCutoff</c>; the task
    /// names are the code's own constants (<see cref="AccessTasks.RecordsAccessRights"/>), never input.
    /// </summary>
    private static readonly string RightsKept = "(task NOT IN ("
        + string.Join(", ", Enum.GetValues<AccessTask>().Where(t => t.RecordsAccessRights()).Select(t => "'" + t.ToName() + "'"))
        + ") OR time_ms < @rightsCutoff)";

    private readonly CustodianDatabase _db;
    private readonly IAccessLedger _ledger;
    private readonly TimeProvider _time;
    private readonly ILogger<LedgerRetention> _logger;
    private readonly RetentionOptions _options;

    /// <summary>Creates the retention job.</summary>
    /// <param name="db">The database holding the ledger (migrations <c>ledger-001</c> and <c>ledger-003</c> applied).</param>
    /// <param name="ledger">
    /// The ledger writer the erasure entries are appended through, writing to <paramref name="db"/>:
    /// <see cref="SqliteAccessLedger"/> erases inside the entry's commit; any other writer (PostgreSQL) appends the
    /// entry first and the erasure follows in its own transaction.
    /// </param>
    /// <param name="time">The clock the cutoff is computed from.</param>
    /// <param name="logger">Logger (counts and sequence numbers only).</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">When an option is out of range.</exception>
    public LedgerRetention(CustodianDatabase db, IAccessLedger ledger, TimeProvider time, ILogger<LedgerRetention> logger, RetentionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _db = db;
        _ledger = ledger;
        _time = time;
        _logger = logger;
        _options = options ?? new RetentionOptions();
        _options.Validate();
    }

    /// <summary>The settings in use.</summary>
    public RetentionOptions Options => _options;

    /// <summary>
    /// The cutoff now: the current UTC time minus <see cref="RetentionOptions.Years"/> calendar years
    /// (<see cref="DateTimeOffset.AddYears"/>: same month, day and time of day; 29 February becomes 28 February),
    /// truncated to the millisecond. Entries strictly before it are due for erasure.
    /// </summary>
    public DateTimeOffset GetCutoff() => CutoffAt(_time.GetUtcNow(), _options.Years);

    /// <summary>The cutoff at <paramref name="now"/>: <paramref name="now"/> in UTC minus <paramref name="years"/> calendar years, truncated to the millisecond (see <see cref="GetCutoff"/>).</summary>
    /// <param name="now">Any offset; converted to UTC first.</param>
    /// <param name="years">The retention period in years.</param>
    /// <returns>The cutoff, offset zero.</returns>
    public static DateTimeOffset CutoffAt(DateTimeOffset now, int years) =>
        DateTimeOffset.FromUnixTimeMilliseconds(now.ToUniversalTime().AddYears(-years).ToUnixTimeMilliseconds());

    /// <summary>Erases every entry older than the cutoff, in ranges of at most <see cref="RetentionOptions.MaxEntriesPerErasure"/> entries.</summary>
    /// <param name="dryRun">When true, only counts what would be erased; appends and changes nothing.</param>
    /// <param name="cancellationToken">Stops between ranges (a range already handed to the writer may still be committed).</param>
    /// <returns>The cutoff, the number of entries erased (or due, for a dry run) and the erasure entries appended.</returns>
    /// <exception cref="LedgerUnavailableException">When an erasure could not be committed (nothing of that range changed; e.g. a payload no longer decodes: run <c>custodian ledger verify</c>).</exception>
    /// <exception cref="DbException">When the database cannot be read.</exception>
    public async Task<RetentionResult> RunAsync(bool dryRun = false, CancellationToken cancellationToken = default)
    {
        var cutoff = GetCutoff();
        var cutoffMs = cutoff.ToUnixTimeMilliseconds();
        var rightsCutoffMs = Math.Min(cutoffMs, CutoffAt(_time.GetUtcNow(), _options.AccessRightsYears).ToUnixTimeMilliseconds());
        if (dryRun)
        {
            await using var connection = await _db.OpenAsync(cancellationToken);
            await using var count = connection.Command(
                "SELECT COUNT(*) FROM ledger_entries WHERE erased_by IS NULL AND time_ms < @cutoff AND task <> @erasure AND " + RightsKept,
                ("@cutoff", cutoffMs),
                ("@erasure", ErasureTaskName),
                ("@rightsCutoff", rightsCutoffMs));
            var due = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            return new RetentionResult(cutoff, due, true, []);
        }

        var erasures = new List<RetentionErasure>();
        long total = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var candidates = await FindCandidatesAsync(cutoffMs, rightsCutoffMs, cancellationToken);
            if (candidates.Count == 0)
            {
                break;
            }

            var record = new RetentionErasureRecord(candidates[0], candidates[^1] + 1, cutoffMs);
            var entry = new AccessEntry
            {
                Time = _time.GetUtcNow(),
                Task = AccessTask.RetentionErasure,
                Outcome = AccessOutcome.Allowed,
                Account = SystemAccount,
                Target = record.ToString(),
                Reason = string.Create(CultureInfo.InvariantCulture, $"retention period {_options.Years} years (PIPA safety standard Art. 8(1)): payloads of entries before the cutoff erased"),
            };
            var erased = 0;
            CommittedEntry committed;
            try
            {
                if (_ledger is SqliteAccessLedger sqlite)
                {
                    committed = await sqlite.AppendWithinCommitAsync(entry, (tx, seq) => erased = Erase(tx, record, seq, rightsCutoffMs), cancellationToken);
                }
                else
                {
                    // Refuse before appending anything when a payload due for erasure no longer decodes.
                    await CheckDecodableAsync(record, rightsCutoffMs, cancellationToken);
                    committed = await _ledger.AppendAsync(entry, cancellationToken);
                    erased = await EraseAfterAppendAsync(record, committed.Sequence, rightsCutoffMs);
                }
            }
            catch (LedgerUnavailableException ex)
            {
                RetentionLog.ErasureFailed(_logger, record.From, record.To, ex);
                throw;
            }

            RetentionLog.Erased(_logger, erased, record.From, record.To, committed.Sequence, cutoffMs);
            erasures.Add(new RetentionErasure(committed.Sequence, record, erased));
            total += erased;
            if (candidates.Count < _options.MaxEntriesPerErasure)
            {
                break;
            }
        }

        return new RetentionResult(cutoff, total, false, erasures);
    }

    // Runs on the writer's transaction, right after the erasure entry (sequence erasureSeq) is inserted.
    private static int Erase(SqliteTransaction tx, RetentionErasureRecord record, long erasureSeq, long rightsCutoffMs)
    {
        var connection = tx.Connection!;
        var due = new List<(long Seq, IReadOnlyList<Identity.SubscriberId> Subjects)>();
        using (var select = SelectDue(connection, record, rightsCutoffMs))
        {
            select.Transaction = tx;
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                // A payload that no longer decodes was altered: refuse to erase (the erasure would hide it).
                var payload = reader.GetValue(1) as byte[] ?? throw new FormatException("A ledger entry due for erasure has no payload; run 'custodian ledger verify'.");
                due.Add((reader.GetInt64(0), LeafCodec.Decode(payload).Subjects));
            }
        }

        using var deleteSubject = connection.Command("DELETE FROM ledger_subjects WHERE subscriber_id = @subject AND seq = @seq", ("@subject", 0L), ("@seq", 0L));
        using var erase = connection.Command(
            "UPDATE ledger_entries SET payload = @empty, account = NULL, terminal = NULL, store = NULL, erased_by = @by WHERE seq = @seq",
            ("@empty", Array.Empty<byte>()),
            ("@by", erasureSeq),
            ("@seq", 0L));
        deleteSubject.Transaction = tx;
        erase.Transaction = tx;
        foreach (var (seq, subjects) in due)
        {
            foreach (var subject in subjects)
            {
                deleteSubject.Parameters[0].Value = subject.Value;
                deleteSubject.Parameters[1].Value = seq;
                deleteSubject.ExecuteNonQuery();
            }

            erase.Parameters[2].Value = seq;
            erase.ExecuteNonQuery();
        }

        return due.Count;
    }

    // The due rows of a range (seq, payload), for the erasure. SQL shared by both paths.
    private static DbCommand SelectDue(DbConnection connection, RetentionErasureRecord record, long rightsCutoffMs) => connection.Command(
        "SELECT seq, payload FROM ledger_entries WHERE seq >= @from AND seq < @to AND erased_by IS NULL AND time_ms < @cutoff AND task <> @erasure AND " + RightsKept + " ORDER BY seq",
        ("@from", record.From),
        ("@to", record.To),
        ("@cutoff", record.CutoffMs),
        ("@erasure", ErasureTaskName),
        ("@rightsCutoff", rightsCutoffMs));

    // Without the SQLite writer: every payload due in the range must decode before the erasure entry is appended.
    private async Task CheckDecodableAsync(RetentionErasureRecord record, long rightsCutoffMs, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var select = SelectDue(connection, record, rightsCutoffMs);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            try
            {
                _ = LeafCodec.Decode(reader.GetValue(1) as byte[] ?? throw new FormatException("no payload"));
            }
            catch (FormatException ex)
            {
                throw new LedgerUnavailableException("A ledger entry due for erasure no longer decodes; nothing was erased. Run 'custodian ledger verify'.", ex);
            }
        }
    }

    // Without the SQLite writer: erases the due entries of the range in one transaction after the erasure entry
    // (sequence erasureSeq) was committed. Each row is claimed by its own conditional UPDATE (erased_by IS NULL), so a
    // concurrent run on another connection or node erases it at most once: on PostgreSQL the second UPDATE waits for
    // the first to commit and then no longer matches (READ COMMITTED re-checks the condition, PostgreSQL
    // documentation §13.2.1).
    private async Task<int> EraseAfterAppendAsync(RetentionErasureRecord record, long erasureSeq, long rightsCutoffMs)
    {
        try
        {
            await using var connection = await _db.OpenAsync(CancellationToken.None);
            await using var tx = await connection.BeginTransactionAsync(CancellationToken.None);
            if (!_db.IsSqlite)
            {
                // The subject projection (LedgerSubjectProjector) locks this row FOR UPDATE in each step: holding it
                // FOR SHARE until commit means a step never reads an entry as kept and writes its rows after this
                // erasure deleted them (on SQLite both take the database's write lock).
                await using var share = connection.Command("SELECT next_seq FROM ledger_subject_watermark WHERE id = 1 FOR SHARE");
                share.Transaction = tx;
                await share.ExecuteScalarAsync(CancellationToken.None);
            }

            var due = new List<(long Seq, IReadOnlyList<Identity.SubscriberId> Subjects)>();
            await using (var select = SelectDue(connection, record, rightsCutoffMs))
            {
                select.Transaction = tx;
                await using var reader = await select.ExecuteReaderAsync(CancellationToken.None);
                while (await reader.ReadAsync(CancellationToken.None))
                {
                    var payload = reader.GetValue(1) as byte[] ?? throw new FormatException("A ledger entry due for erasure has no payload; run 'custodian ledger verify'.");
                    due.Add((reader.GetInt64(0), LeafCodec.Decode(payload).Subjects));
                }
            }

            await using var erase = connection.Command(
                "UPDATE ledger_entries SET payload = @empty, account = NULL, terminal = NULL, store = NULL, erased_by = @by WHERE seq = @seq AND erased_by IS NULL",
                ("@empty", Array.Empty<byte>()),
                ("@by", erasureSeq),
                ("@seq", 0L));
            await using var deleteSubject = connection.Command("DELETE FROM ledger_subjects WHERE subscriber_id = @subject AND seq = @seq", ("@subject", 0L), ("@seq", 0L));
            erase.Transaction = tx;
            deleteSubject.Transaction = tx;
            var erased = 0;
            foreach (var (seq, subjects) in due)
            {
                erase.Parameters[2].Value = seq;
                if (await erase.ExecuteNonQueryAsync(CancellationToken.None) == 0)
                {
                    continue; // erased by a concurrent run meanwhile
                }

                foreach (var subject in subjects)
                {
                    deleteSubject.Parameters[0].Value = subject.Value;
                    deleteSubject.Parameters[1].Value = seq;
                    await deleteSubject.ExecuteNonQueryAsync(CancellationToken.None);
                }

                erased++;
            }

            await tx.CommitAsync(CancellationToken.None);
            return erased;
        }
        catch (Exception ex) when (ex is DbException or FormatException or TimeoutException)
        {
            RetentionLog.EraseAfterAppendFailed(_logger, record.From, record.To, erasureSeq, ex);
            throw new LedgerUnavailableException("The erasure entry was appended but the erasure could not be committed; the next run erases the range under a new entry.", ex);
        }
    }

    private async Task<List<long>> FindCandidatesAsync(long cutoffMs, long rightsCutoffMs, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT seq FROM ledger_entries WHERE erased_by IS NULL AND time_ms < @cutoff AND task <> @erasure AND " + RightsKept + " ORDER BY seq LIMIT @limit",
            ("@cutoff", cutoffMs),
            ("@erasure", ErasureTaskName),
            ("@rightsCutoff", rightsCutoffMs),
            ("@limit", _options.MaxEntriesPerErasure));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var seqs = new List<long>();
        while (await reader.ReadAsync(cancellationToken))
        {
            seqs.Add(reader.GetInt64(0));
        }

        return seqs;
    }
}

/// <summary>The outcome of <see cref="LedgerRetention.RunAsync"/>.</summary>
/// <param name="Cutoff">Entries strictly before this time (UTC) were due.</param>
/// <param name="Entries">Entries erased; for a dry run, entries that would be erased.</param>
/// <param name="DryRun">Whether nothing was changed.</param>
/// <param name="Erasures">The RetentionErasure entries appended, in order; empty for a dry run or when nothing was due.</param>
public sealed record RetentionResult(DateTimeOffset Cutoff, long Entries, bool DryRun, IReadOnlyList<RetentionErasure> Erasures);

/// <summary>One RetentionErasure entry appended by a run.</summary>
/// <param name="Sequence">The erasure entry's sequence number.</param>
/// <param name="Record">The range and cutoff it records.</param>
/// <param name="Erased">How many entries of the range it erased (fewer than the range's length when it holds erasure entries, entries at or after the cutoff, or entries another run erased first).</param>
public sealed record RetentionErasure(long Sequence, RetentionErasureRecord Record, int Erased);
