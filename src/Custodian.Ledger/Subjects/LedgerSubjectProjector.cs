using System.Data;
using System.Data.Common;
using System.Globalization;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Custodian.Ledger;

/// <summary>
/// The subject-index projection (docs/ledger-format.md §3 and §5, docs/storage.md): fills <c>ledger_subjects</c>
/// (one row per distinct subject of each entry) from the committed entries' payloads after commit, in sequence order,
/// and records the next sequence to project in <c>ledger_subject_watermark</c> (migration <c>ledger-004</c>) in the same
/// transaction as the rows it covers, so a restart continues exactly where the last committed step ended. The
/// ledger's commit path (SQLite, PostgreSQL and the JetStream projection) no longer writes subject rows (issue 4: they
/// cost ~4 KB written per entry on random B-tree pages; bench/README.md). Same shape as the incident-scoping
/// projection (<c>IncidentScopeProjector</c>, docs/incidents.md "Scoping projection").
/// </summary>
/// <remarks>
/// <para>
/// Readers stay exact without waiting for it: every read by subject (<see cref="IAccessLedgerReader.ReadBySubjectAsync"/>,
/// the review's subject filter) takes the projected rows below the watermark and decodes the unprojected tail
/// (sequence ≥ watermark) from <c>ledger_entries</c> (<see cref="LedgerSubjectIndex"/>).
/// </para>
/// <para>
/// A step first reads its plan without any write lock (the run of committed entries from the watermark, their subject
/// rows, how many retention erased), then writes in one transaction holding the projection's write exclusion (SQLite
/// <c>BEGIN IMMEDIATE</c> after this process's write turn, busy timeout 5 s; PostgreSQL <c>SELECT … FOR UPDATE</c> on the
/// watermark row, lock timeout 5 s) only if, under it, the watermark and the run's erased count are unchanged; otherwise
/// it rolls back and plans again. So the write lock the ledger's commits need is held for the inserts alone, and several
/// projectors (API nodes, the server and a CLI verb) may run at once: each step starts from the watermark the previous one
/// committed and the insert ignores rows already present (idempotent). A step projects at most <see cref="BatchSize"/> entries and only
/// a contiguous run starting at the watermark (a run with a gap is cut at its first gap and retried later). Entries
/// erased by retention (docs/ledger-format.md §13) get no rows; retention's PostgreSQL path takes the watermark row
/// <c>FOR SHARE</c> so an erasure and a step never interleave. A payload that does not decode stops the projection at
/// that entry (the step fails with <see cref="FormatException"/>, is logged and retried; run <c>custodian ledger verify</c>).
/// </para>
/// <para>Portable SQL on both backends; never decrypts; logs sequence numbers and counts only. Thread-safe.</para>
/// </remarks>
/// <param name="db">The database holding the ledger tables (<see cref="LedgerMigrations"/> applied, including <c>ledger-004</c>).</param>
/// <param name="logger">Logger (sequence numbers and counts only).</param>
public sealed class LedgerSubjectProjector(CustodianDatabase db, ILogger<LedgerSubjectProjector> logger)
{
    /// <summary>
    /// Most entries projected in one transaction: 512. On SQLite a step's write (its inserts and commit, not its read)
    /// holds the database's write lock and this process's write turn, which the ledger's group commit also needs, so a
    /// commit can wait one step's write: 4,096-entry steps that also read under the lock gave an open-loop guarded p99
    /// of 176 ms with 81 commit gaps ≥ 20 ms in 12 s (bench/README.md, 2026-12-03).
    /// </summary>
    public const int BatchSize = 512;

    // Subject rows per multi-row INSERT (two parameters each: 512, under SQLite's and PostgreSQL's limits).
    private const int RowsPerInsert = 256;

    /// <summary>How long a step waits for another projector's (or, on SQLite, the ledger writer's) lock: 5 seconds.</summary>
    private const int LockTimeoutSeconds = 5;

    /// <summary>The watermark: the next ledger sequence not projected yet (every entry below it has its subject rows).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The watermark, 0 for an empty ledger (or a missing watermark row).</returns>
    /// <exception cref="DbException">When the database cannot be read.</exception>
    public async Task<long> GetWatermarkAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        return await LedgerSubjectIndex.ReadWatermarkAsync(connection, null, cancellationToken);
    }

    /// <summary>
    /// Projects committed entries, one transaction per at most <see cref="BatchSize"/> entries, until the watermark
    /// reaches <paramref name="target"/> or no further contiguous entry is committed.
    /// </summary>
    /// <param name="target">Stop once the watermark is at least this sequence; null to project everything committed now.</param>
    /// <param name="cancellationToken">Cancels between and within steps (a step not committed leaves nothing behind).</param>
    /// <returns>The watermark reached: every entry below it has its subject rows.</returns>
    /// <exception cref="DbException">When the database fails (unreachable, write lock not granted in time, disk full); steps committed before stay.</exception>
    /// <exception cref="FormatException">When a payload to project does not decode (steps committed before stay).</exception>
    public async Task<long> CatchUpAsync(long? target = null, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var (watermark, projected) = await StepAsync(cancellationToken);
            if (projected == RaceLost)
            {
                continue; // another projector or a retention erasure moved first: plan again from what is committed now
            }

            if (projected == 0 || (target is { } t && watermark >= t) || projected < BatchSize)
            {
                return watermark;
            }

            await Task.Yield(); // lets a writer woken by the step's turn take it before the next step asks again
        }
    }

    // StepAsync's "projected" when the plan made outside the lock no longer held under it.
    private const long RaceLost = -1;

    private async Task<(long Watermark, long Projected)> StepAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        if (connection is SqliteConnection file)
        {
            file.DefaultTimeout = LockTimeoutSeconds; // bounds Microsoft.Data.Sqlite's own retry on SQLITE_BUSY
        }

        // 1. The plan, read without the write lock (WAL readers and PostgreSQL readers do not block the ledger's commits):
        //    the committed run from the watermark on, its subject rows, and how many of its entries retention erased.
        var from = await LedgerSubjectIndex.ReadWatermarkAsync(connection, null, cancellationToken);
        var plan = await ReadRunAsync(connection, from, cancellationToken);
        if (plan.End == from)
        {
            return (from, 0);
        }

        // 2. The write, under the write exclusion, only if the plan still holds. On SQLite this process's write turn comes
        //    first, so the ledger's group commit waiting for it is woken when this step commits instead of sleeping in
        //    SQLite's busy handler; holding the lock only for the inserts keeps its waits short (bench/README.md, 2026-12-04).
        using var turn = await db.EnterWriteTurnAsync(TimeSpan.FromSeconds(LockTimeoutSeconds), cancellationToken);
        await using var tx = connection is SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: false) // BEGIN IMMEDIATE: one step at a time per file
            : await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        if (!db.IsSqlite)
        {
            await using var timeout = connection.Command("SET LOCAL lock_timeout = " + (LockTimeoutSeconds * 1000).ToString(CultureInfo.InvariantCulture));
            timeout.Transaction = tx;
            await timeout.ExecuteNonQueryAsync(cancellationToken);
        }

        // Another projector may have advanced the watermark, and retention may have erased entries of the run since the
        // read (erasure only ever adds: an equal count is the same set). Retention's PostgreSQL path holds the watermark row
        // FOR SHARE until it commits, so this FOR UPDATE waits for it and the count below sees its erasures.
        var locked = await LedgerSubjectIndex.ReadWatermarkAsync(connection, tx, cancellationToken, forUpdate: !db.IsSqlite);
        if (locked != from || await CountErasedAsync(connection, tx, from, plan.End, cancellationToken) != plan.Erased)
        {
            await tx.RollbackAsync(cancellationToken);
            return (locked, RaceLost);
        }

        await InsertAsync(connection, tx, plan.Rows, cancellationToken);

        await using (var advance = connection.Command(
            "INSERT INTO ledger_subject_watermark (id, next_seq) VALUES (1, @to) ON CONFLICT (id) DO UPDATE SET next_seq = @to",
            ("@to", plan.End)))
        {
            advance.Transaction = tx;
            await advance.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        Log.SubjectsProjected(logger, plan.End - from, plan.Rows.Count, from, plan.End);
        return (plan.End, plan.End - from);
    }

    // The committed run of at most BatchSize entries from `from` (entries are committed in sequence order under the
    // writer's exclusion, so what is visible is a prefix; a gap, a PostgreSQL commit not visible yet, cuts the run), its
    // (subject, seq) rows in index order, and the number of its entries erased by retention (they get no rows).
    private async Task<(long End, long Erased, List<(long Subject, long Seq)> Rows)> ReadRunAsync(DbConnection connection, long from, CancellationToken cancellationToken)
    {
        var rows = new List<(long Subject, long Seq)>();
        var scratch = new List<long>();
        var end = from;
        var erased = 0L;
        await using (var select = connection.Command(
            "SELECT seq, payload, erased_by FROM ledger_entries WHERE seq >= @from AND seq < @to ORDER BY seq",
            ("@from", from), ("@to", from + BatchSize)))
        {
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var seq = reader.GetInt64(0);
                if (seq != end)
                {
                    Log.SubjectProjectionGap(logger, end);
                    break;
                }

                end++;
                if (!reader.IsDBNull(2))
                {
                    erased++;
                    continue; // erased by retention: its subject rows are gone with its payload
                }

                var payload = reader.GetValue(1) as byte[] ?? throw new FormatException("A stored ledger entry has no payload; run 'custodian ledger verify'.");
                foreach (var subject in LedgerSubjectIndex.DistinctSubjects(payload, scratch))
                {
                    rows.Add((subject, seq));
                }
            }
        }

        rows.Sort(); // index order: each insert lands next to the previous one
        return (end, erased, rows);
    }

    private static async Task<long> CountErasedAsync(DbConnection connection, DbTransaction tx, long from, long end, CancellationToken cancellationToken)
    {
        await using var count = connection.Command(
            "SELECT COUNT(*) FROM ledger_entries WHERE seq >= @from AND seq < @to AND erased_by IS NOT NULL",
            ("@from", from), ("@to", end));
        count.Transaction = tx;
        return Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private static async Task InsertAsync(DbConnection connection, DbTransaction tx, List<(long Subject, long Seq)> rows, CancellationToken cancellationToken)
    {
        DbCommand? full = null;
        try
        {
            for (var start = 0; start < rows.Count; start += RowsPerInsert)
            {
                var n = Math.Min(RowsPerInsert, rows.Count - start);
                var command = n == RowsPerInsert ? full ??= Prepare(connection, tx, n) : Prepare(connection, tx, n);
                for (var i = 0; i < n; i++)
                {
                    command.Parameters[2 * i].Value = rows[start + i].Subject;
                    command.Parameters[(2 * i) + 1].Value = rows[start + i].Seq;
                }

                await command.ExecuteNonQueryAsync(cancellationToken);
                if (command != full)
                {
                    await command.DisposeAsync();
                }
            }
        }
        finally
        {
            if (full is not null)
            {
                await full.DisposeAsync();
            }
        }
    }

    private static DbCommand Prepare(DbConnection connection, DbTransaction tx, int rows)
    {
        var sql = new System.Text.StringBuilder("INSERT INTO ledger_subjects (subscriber_id, seq) VALUES ");
        var parameters = new (string, object?)[rows * 2];
        for (var i = 0; i < rows; i++)
        {
            var s = "@s" + i.ToString(CultureInfo.InvariantCulture);
            var q = "@q" + i.ToString(CultureInfo.InvariantCulture);
            sql.Append(i == 0 ? "(" : ", (").Append(s).Append(", ").Append(q).Append(')');
            parameters[2 * i] = (s, 0L);
            parameters[(2 * i) + 1] = (q, 0L);
        }

        sql.Append(" ON CONFLICT DO NOTHING");
        var command = connection.Command(sql.ToString(), parameters);
        command.Transaction = tx;
        return command;
    }
}
