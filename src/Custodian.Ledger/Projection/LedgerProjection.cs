using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using Custodian.Identity;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Custodian.Ledger.Projection;

/// <summary>
/// The ledger tables (<see cref="LedgerMigrations"/>) as a projection of an external total order — the JetStream event log
/// (docs/events.md): entries arrive as canonical payloads (<see cref="LeafCodec"/>) with their position in that order,
/// and are written at exactly that position, so the table, the RFC 9162 Merkle tree, the stored subtree hashes and the
/// tree heads are the same as the embedded writers (<see cref="SqliteAccessLedger"/>, <see cref="Postgres.PostgresAccessLedger"/>)
/// produce for the same entries. Also the read side (<see cref="IAccessLedgerReader"/>) over those tables.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="ApplyAsync"/> is idempotent, so several projectors (API nodes, CLI verbs) may apply the same positions: it
/// runs in one transaction holding the backend's writer exclusion (SQLite <c>BEGIN IMMEDIATE</c>; PostgreSQL
/// <c>LOCK TABLE ledger_tree_heads IN EXCLUSIVE MODE</c> with <see cref="LedgerOptions.LockTimeout"/>), reads the tail,
/// checks that the stored frontier reproduces the stored root, checks that positions already stored hold the same leaf
/// hashes, and inserts the rest (without subject rows: <see cref="LedgerSubjectProjector"/> adds those after commit,
/// docs/ledger-format.md §3). A position beyond the tail (a gap) or a stored position with another leaf hash is
/// refused with <see cref="LedgerProjectionException"/>: the table no longer mirrors the log.
/// </para>
/// <para>Portable SQL on either backend (docs/storage.md). Thread-safe.</para>
/// </remarks>
public sealed class LedgerProjection : IAccessLedgerReader
{
    private readonly CustodianDatabase _db;
    private readonly LedgerTableReader _tables;
    private readonly TimeProvider _time;
    private readonly LedgerOptions _options;
    private readonly ILogger<LedgerProjection> _logger;

    /// <summary>Creates the projection over the ledger tables of <paramref name="db"/> (apply <see cref="LedgerMigrations"/> first).</summary>
    /// <param name="db">The database, SQLite or PostgreSQL.</param>
    /// <param name="time">Clock for tree-head times.</param>
    /// <param name="logger">Logger (counts and sequence numbers only).</param>
    /// <param name="options">Settings (<see cref="LedgerOptions.LockTimeout"/> is used); null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">When an option is out of range.</exception>
    public LedgerProjection(CustodianDatabase db, TimeProvider time, ILogger<LedgerProjection> logger, LedgerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _db = db;
        _tables = new LedgerTableReader(db);
        _time = time;
        _logger = logger;
        _options = options ?? new LedgerOptions();
        _options.Validate();
    }

    /// <summary>
    /// Writes <paramref name="payloads"/> at positions <paramref name="firstSequence"/>, <paramref name="firstSequence"/>+1, …
    /// in one transaction; positions already stored (by another projector) are checked, not written again.
    /// </summary>
    /// <param name="firstSequence">The ledger sequence (zero-based leaf index) of the first payload; at most the current size.</param>
    /// <param name="payloads">Canonical payloads (<see cref="LeafCodec.Encode"/>), in order; at least one.</param>
    /// <param name="cancellationToken">Cancels the write (nothing is committed then).</param>
    /// <returns>Every given position as committed (leaf hash and decoded entry), in order, including those already stored.</returns>
    /// <exception cref="LedgerProjectionException">When <paramref name="firstSequence"/> lies beyond the stored size (a gap), a stored position holds another leaf hash, the stored tail is inconsistent, or a payload cannot be decoded.</exception>
    /// <exception cref="DbException">When the database fails (unreachable, lock not granted in time, disk full); nothing is committed.</exception>
    public async Task<IReadOnlyList<CommittedEntry>> ApplyAsync(long firstSequence, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        ArgumentOutOfRangeException.ThrowIfNegative(firstSequence);
        if (payloads.Count == 0)
        {
            throw new ArgumentException("At least one payload is needed.", nameof(payloads));
        }

        var decoded = new CommittedEntry[payloads.Count];
        for (var i = 0; i < payloads.Count; i++)
        {
            decoded[i] = FromEvent(firstSequence + i, payloads[i]);
        }

        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var tx = await BeginExclusiveAsync(connection, cancellationToken);
        var (size, root, frontier) = await ReadTailAsync(connection, tx, cancellationToken);
        if (firstSequence > size)
        {
            throw new LedgerProjectionException(string.Create(CultureInfo.InvariantCulture, $"The ledger holds {size} entries but the next event is at sequence {firstSequence}: the table does not mirror the event log."), size);
        }

        var range = CompactRange.FromBytes(size, frontier);
        if (!CryptographicOperations.FixedTimeEquals(range.GetRoot(), root))
        {
            throw new LedgerProjectionException("The ledger's stored tail is inconsistent (its frontier does not reproduce its root); projection is refused until the ledger is verified.", size);
        }

        var stored = (int)Math.Min(size - firstSequence, decoded.Length);
        if (stored > 0)
        {
            await CheckStoredAsync(connection, tx, decoded.AsSpan(0, stored).ToArray(), cancellationToken);
        }

        if (stored == decoded.Length)
        {
            await tx.RollbackAsync(cancellationToken);
            return decoded;
        }

        var subtrees = new List<(int Level, long Index, byte[] Hash)>();
        void Collect(int height, long index, ReadOnlySpan<byte> hash)
        {
            if (height % TiledRangeRoots.LedgerStride == 0)
            {
                subtrees.Add((height, index, hash.ToArray()));
            }
        }

        var writes = new List<(string Sql, (string, object?)[] Parameters)>();
        for (var i = stored; i < decoded.Length; i++)
        {
            var c = decoded[i];
            var e = c.Entry;
            writes.Add((
                "INSERT INTO ledger_entries (seq, time_ms, task, outcome, account, terminal, store, payload, leaf_hash) VALUES (@seq, @time, @task, @outcome, @account, @terminal, @store, @payload, @leaf)",
                [("@seq", c.Sequence), ("@time", e.Time.ToUnixTimeMilliseconds()), ("@task", e.Task.ToName()), ("@outcome", LeafCodec.OutcomeName(e.Outcome)),
                 ("@account", e.Account), ("@terminal", e.Terminal), ("@store", e.Store), ("@payload", payloads[i].ToArray()), ("@leaf", c.LeafHash.ToArray())]));
            range.Append(c.LeafHash.Span, Collect);
        }

        foreach (var (level, index, hash) in subtrees)
        {
            writes.Add(("INSERT INTO ledger_subtrees (level, idx, hash) VALUES (@level, @idx, @hash)", [("@level", (long)level), ("@idx", index), ("@hash", hash)]));
        }

        if (size > 0)
        {
            writes.Add(("UPDATE ledger_tree_heads SET frontier = NULL WHERE tree_size = @size", [("@size", size)]));
        }

        writes.Add((
            "INSERT INTO ledger_tree_heads (tree_size, root, time_ms, frontier) VALUES (@size, @root, @time, @frontier)",
            [("@size", range.Size), ("@root", range.GetRoot()), ("@time", _time.GetUtcNow().ToUnixTimeMilliseconds()), ("@frontier", range.ToBytes())]));
        await ExecuteAsync(connection, tx, writes, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Log.Applied(_logger, decoded.Length - stored, decoded[stored].Sequence, decoded[^1].Sequence);
        return decoded;
    }

    /// <summary>
    /// What an event of the log is as a ledger entry: the leaf (SHA-256 of 0x00 ‖ <paramref name="payload"/>, RFC 9162) and
    /// the entry decoded from the payload as published (<see cref="LeafCodec.Decode"/>). The one conversion that both
    /// <see cref="ApplyAsync"/> and <see cref="CompareWithLogAsync"/> use.
    /// </summary>
    /// <param name="sequence">The event's ledger sequence (zero-based leaf index; the JetStream stream sequence minus one).</param>
    /// <param name="payload">The event's payload as published.</param>
    /// <returns>The committed entry at <paramref name="sequence"/>.</returns>
    /// <exception cref="LedgerProjectionException">When the payload is not a canonical ledger entry (the message names the sequence only).</exception>
    public static CommittedEntry FromEvent(long sequence, ReadOnlyMemory<byte> payload)
    {
        AccessEntry entry;
        try
        {
            entry = LeafCodec.Decode(payload.Span);
        }
        catch (FormatException ex)
        {
            throw new LedgerProjectionException($"The event at ledger sequence {sequence.ToString(CultureInfo.InvariantCulture)} is not a ledger entry; the projection stops there.", sequence, ex);
        }

        return new CommittedEntry(sequence, MerkleTree.HashLeaf(payload.Span), entry);
    }

    /// <summary>
    /// Compares the ledger tables with the event log they are projected from, entry by entry by leaf hash, over
    /// [<paramref name="logStart"/>, min(<paramref name="logSize"/>, <paramref name="tableSize"/>)), reading the tables in
    /// batches of <paramref name="batchSize"/> rows (docs/events.md, "Comparing the tables with the stream").
    /// </summary>
    /// <param name="tableSize">The tables' size as verified (the newest tree head's size, <see cref="LedgerVerifier"/>); at least 0.</param>
    /// <param name="logStart">The ledger sequence of the log's first event still held (0 unless the log's head was purged); 0 to <paramref name="logSize"/>.</param>
    /// <param name="logSize">The log's size: its last ledger sequence + 1 (the JetStream stream's last sequence); at least 0.</param>
    /// <param name="log">
    /// The log's events from <paramref name="logStart"/> on, in order, each as its ledger sequence and payload as published;
    /// read only as far as the compared range needs (then disposed), so it may be unbounded.
    /// </param>
    /// <param name="batchSize">Table rows read per query, 1–100,000; default 1,000 (memory is bounded by it and by what <paramref name="log"/> prefetches).</param>
    /// <param name="cancellationToken">Cancels the comparison.</param>
    /// <returns>
    /// The outcome: the number of entries compared and either no difference or the first differing sequence with its
    /// reason — a leaf hash that differs, an event that is not a ledger entry, a position the log no longer has (deleted), a
    /// position the tables lack, or (after everything compared matched) the tables holding entries beyond the log's size.
    /// The log being ahead of the tables is not a difference (<see cref="LogComparison.Lag"/>).
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException">When a size or <paramref name="batchSize"/> is out of range.</exception>
    /// <exception cref="DbException">When the database fails.</exception>
    public async Task<LogComparison> CompareWithLogAsync(long tableSize, long logStart, long logSize, IAsyncEnumerable<(long Sequence, ReadOnlyMemory<byte> Payload)> log, int batchSize = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfNegative(tableSize);
        ArgumentOutOfRangeException.ThrowIfNegative(logSize);
        ArgumentOutOfRangeException.ThrowIfNegative(logStart);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(logStart, logSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, 100_000);

        var end = Math.Min(logSize, tableSize);
        var next = logStart;
        LogComparison Result(long? at, LogDifference difference) => new(tableSize, logStart, logSize, Math.Max(0, Math.Min(next, end) - logStart), at, difference);

        if (next < end)
        {
            await using var events = log.GetAsyncEnumerator(cancellationToken);
            var rows = new byte[]?[batchSize];
            while (next < end)
            {
                var chunkStart = next;
                var chunkEnd = Math.Min(next + batchSize, end);
                Array.Clear(rows);
                await using (var connection = await _db.OpenAsync(cancellationToken))
                await using (var command = connection.Command("SELECT seq, leaf_hash FROM ledger_entries WHERE seq >= @from AND seq < @to ORDER BY seq", ("@from", chunkStart), ("@to", chunkEnd)))
                await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        rows[reader.GetInt64(0) - chunkStart] = reader.IsDBNull(1) ? [] : (byte[])reader.GetValue(1);
                    }
                }

                while (next < chunkEnd)
                {
                    if (!await events.MoveNextAsync())
                    {
                        return Result(next, LogDifference.MissingFromLog); // the log ends early: its tail was deleted
                    }

                    var (sequence, payload) = events.Current;
                    if (sequence != next)
                    {
                        return Result(next, LogDifference.MissingFromLog); // the log skips this position: deleted
                    }

                    CommittedEntry committed;
                    try
                    {
                        committed = FromEvent(sequence, payload);
                    }
                    catch (LedgerProjectionException)
                    {
                        return Result(next, LogDifference.NotALedgerEntry);
                    }

                    if (rows[next - chunkStart] is not { } stored)
                    {
                        return Result(next, LogDifference.MissingFromTables);
                    }

                    if (!CryptographicOperations.FixedTimeEquals(stored, committed.LeafHash.Span))
                    {
                        return Result(next, LogDifference.LeafHashDiffers);
                    }

                    next++;
                }
            }
        }

        return tableSize > logSize ? Result(Math.Max(logSize, logStart), LogDifference.BeyondLog) : Result(null, LogDifference.None);
    }

    /// <summary>The newest tree head: the size and root after the last applied batch (by any process).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The head; size 0 with root <c>SHA-256("")</c> and no time when the ledger is empty.</returns>
    public Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken = default) => _tables.GetTreeHeadAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask<long> GetSizeAsync(CancellationToken cancellationToken = default) => (await GetTreeHeadAsync(cancellationToken)).Size;

    /// <inheritdoc />
    /// <exception cref="FormatException">When a stored payload cannot be decoded.</exception>
    public IAsyncEnumerable<CommittedEntry> ReadAsync(long fromSequence, CancellationToken cancellationToken = default) => _tables.ReadAsync(fromSequence, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="FormatException">When a stored payload cannot be decoded.</exception>
    public IAsyncEnumerable<CommittedEntry> ReadSinceAsync(DateTimeOffset since, CancellationToken cancellationToken = default) => _tables.ReadSinceAsync(since, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="limit"/> is outside 1–1000.</exception>
    /// <exception cref="FormatException">When a stored payload cannot be decoded.</exception>
    public Task<IReadOnlyList<CommittedEntry>> ReadBySubjectAsync(SubscriberId subject, long? before, int limit, CancellationToken cancellationToken = default) =>
        _tables.ReadBySubjectAsync(subject, before, limit, cancellationToken);

    private async Task<DbTransaction> BeginExclusiveAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (connection is SqliteConnection sqlite)
        {
            return sqlite.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: the file's write lock, as SqliteAccessLedger takes it
        }

        var tx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        try
        {
            var lockMs = ((long)_options.LockTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            await ExecuteAsync(connection, tx, [($"SET LOCAL lock_timeout = {lockMs}", []), ("LOCK TABLE ledger_tree_heads IN EXCLUSIVE MODE", [])], cancellationToken);
            return tx;
        }
        catch
        {
            await tx.DisposeAsync();
            throw;
        }
    }

    private async Task<(long Size, byte[] Root, byte[] Frontier)> ReadTailAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken)
    {
        long size = 0;
        var root = MerkleTree.EmptyRoot;
        byte[] frontier = [];
        await using (var head = connection.Command("SELECT tree_size, root, frontier FROM ledger_tree_heads ORDER BY tree_size DESC LIMIT 1"))
        {
            head.Transaction = tx;
            await using var reader = await head.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                size = reader.GetInt64(0);
                root = (byte[])reader.GetValue(1);
                frontier = reader.IsDBNull(2) ? [] : (byte[])reader.GetValue(2);
            }
        }

        await using var count = connection.Command("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries");
        count.Transaction = tx;
        var entries = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        if (entries != size)
        {
            Log.TailInconsistent(_logger, size, entries);
            throw new LedgerProjectionException("The ledger's stored tail is inconsistent (the newest tree head does not match the entries); projection is refused until the ledger is verified.", size);
        }

        return (size, root, frontier);
    }

    private async Task CheckStoredAsync(DbConnection connection, DbTransaction tx, CommittedEntry[] expected, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(
            "SELECT seq, leaf_hash FROM ledger_entries WHERE seq >= @from AND seq <= @to ORDER BY seq",
            ("@from", expected[0].Sequence),
            ("@to", expected[^1].Sequence));
        command.Transaction = tx;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var i = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var seq = reader.GetInt64(0);
            if (i >= expected.Length || seq != expected[i].Sequence || reader.GetValue(1) is not byte[] leaf || !CryptographicOperations.FixedTimeEquals(leaf, expected[i].LeafHash.Span))
            {
                Log.Diverged(_logger, seq);
                throw new LedgerProjectionException(string.Create(CultureInfo.InvariantCulture, $"The ledger entry at sequence {seq} differs from the event log's; the table does not mirror the log."), seq);
            }

            i++;
        }

        if (i != expected.Length)
        {
            throw new LedgerProjectionException("The ledger is missing entries below its tree head; projection is refused until the ledger is verified.", expected[i].Sequence);
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction tx, List<(string Sql, (string, object?)[] Parameters)> statements, CancellationToken cancellationToken)
    {
        if (connection.CanCreateBatch)
        {
            // PostgreSQL: one round trip for the whole batch.
            await using var batch = connection.CreateBatch();
            batch.Transaction = tx;
            foreach (var (sql, parameters) in statements)
            {
                var command = batch.CreateBatchCommand();
                command.CommandText = sql;
                foreach (var (name, value) in parameters)
                {
                    var p = command.CreateParameter();
                    p.ParameterName = name;
                    p.Value = value ?? DBNull.Value;
                    command.Parameters.Add(p);
                }

                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
            return;
        }

        foreach (var (sql, parameters) in statements)
        {
            await using var command = connection.Command(sql, parameters);
            command.Transaction = tx;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}

/// <summary>How the ledger tables first differ from the event log (<see cref="LedgerProjection.CompareWithLogAsync"/>).</summary>
public enum LogDifference
{
    /// <summary>No difference over the compared range, and the tables hold nothing beyond the log.</summary>
    None,

    /// <summary>The table's leaf hash at this sequence is not the leaf of the log's event there.</summary>
    LeafHashDiffers,

    /// <summary>The log's event at this sequence is not a canonical ledger entry (<see cref="LeafCodec.Decode"/> refuses it).</summary>
    NotALedgerEntry,

    /// <summary>The log no longer has an event at this sequence although it lies inside its range (a deleted message).</summary>
    MissingFromLog,

    /// <summary>The tables have no row at this sequence below their size (<see cref="LedgerVerifier"/> reports that too).</summary>
    MissingFromTables,

    /// <summary>Everything compared matched, but the tables hold entries from this sequence on that the log never had.</summary>
    BeyondLog,
}

/// <summary>The outcome of <see cref="LedgerProjection.CompareWithLogAsync"/>. Sequences are zero-based ledger sequences (stream sequence − 1).</summary>
/// <param name="TableSize">The tables' size compared (entries).</param>
/// <param name="LogStart">The log's first held ledger sequence; entries of the tables below it were not compared.</param>
/// <param name="LogSize">The log's size (last ledger sequence + 1).</param>
/// <param name="Compared">Entries compared and found equal, from <paramref name="LogStart"/> on.</param>
/// <param name="FirstDifference">The first sequence where tables and log differ; null when they do not.</param>
/// <param name="Difference">What differs there; <see cref="LogDifference.None"/> when nothing does.</param>
public sealed record LogComparison(long TableSize, long LogStart, long LogSize, long Compared, long? FirstDifference, LogDifference Difference)
{
    /// <summary>Whether the tables mirror the log up to their size.</summary>
    public bool IsMatch => FirstDifference is null;

    /// <summary>Entries the log holds beyond the tables (the projector has yet to write them); 0 when the tables are not behind.</summary>
    public long Lag => Math.Max(0, LogSize - TableSize);

    /// <summary>Entries of the tables below <see cref="LogStart"/>: no longer in the log, so not compared.</summary>
    public long NotCompared => Math.Min(LogStart, TableSize);

    /// <summary>The difference as a short phrase without any entry content, e.g. <c>leaf hash differs from the stream's</c>; empty for none.</summary>
    public string Reason => Difference switch
    {
        LogDifference.LeafHashDiffers => "the tables' leaf hash differs from the stream's entry",
        LogDifference.NotALedgerEntry => "the stream's message is not a ledger entry",
        LogDifference.MissingFromLog => "the stream no longer has this entry (a deleted message)",
        LogDifference.MissingFromTables => "the tables have no entry at this sequence",
        LogDifference.BeyondLog => string.Create(CultureInfo.InvariantCulture, $"the tables hold {TableSize - LogSize} {(TableSize - LogSize == 1 ? "entry" : "entries")} from here on that the stream never had (stream size {LogSize}, tables {TableSize})"),
        _ => string.Empty,
    };
}

/// <summary>The ledger tables no longer mirror the event log they are projected from (docs/events.md, "Failure behaviour").</summary>
public sealed class LedgerProjectionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LedgerProjectionException()
        : base("The ledger tables do not mirror the event log.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line naming the sequence and the rule.</param>
    public LedgerProjectionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line naming the sequence and the rule.</param>
    /// <param name="innerException">The cause.</param>
    public LedgerProjectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a known position.</summary>
    /// <param name="message">One line naming the sequence and the rule.</param>
    /// <param name="sequence">The first ledger sequence (zero-based) where the tables and the event log part: see <see cref="Sequence"/>; at least 0.</param>
    /// <param name="innerException">The cause, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequence"/> is negative.</exception>
    public LedgerProjectionException(string message, long sequence, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        Sequence = sequence;
    }

    /// <summary>
    /// The first ledger sequence (zero-based leaf index) where the tables and the event log part, or null when not known:
    /// a stored entry differing from the log's (the sequence log event 6003 names), the first missing position of a gap or
    /// below the tree head, an event that is not a ledger entry, or the stored size when the stored tail is inconsistent.
    /// </summary>
    public long? Sequence { get; }
}
