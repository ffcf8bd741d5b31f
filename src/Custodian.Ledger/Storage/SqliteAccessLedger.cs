using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace Custodian.Ledger;

/// <summary>
/// The access ledger on <see cref="CustodianDatabase"/> (SQLite), with group commit.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="AppendAsync"/> encodes and hashes the entry on the caller's thread and queues it. One
/// writer loop, on a dedicated background thread (not the thread pool), takes everything queued (up to <see cref="LedgerOptions.MaxBatchSize"/> entries) and
/// writes it in one <c>BEGIN IMMEDIATE</c> transaction: it reads the current tail (newest tree head
/// and its frontier) inside the transaction — so other processes such as the CLI may append to the
/// same file — inserts the entries (not their subject rows: <see cref="LedgerSubjectProjector"/> adds those after
/// commit, docs/ledger-format.md §3), the hashes of the subtrees of levels 4, 8,
/// 12, … that the batch completes (<c>ledger_subtrees</c>, for <see cref="LedgerProofs"/>) and
/// one tree head, and commits (<c>synchronous=FULL</c>: durable on return). The transaction holds the process's
/// write turn (<see cref="CustodianDatabase.EnterWriteTurn"/>), which the database's other group commit (consent
/// codes, <see cref="CustodianDatabase.GroupCommit"/>) also takes, so the two hand SQLite's write lock to each other
/// without polling for it. Only after the commit are the
/// callers' tasks completed and the entries published to <see cref="IAccessEventStream"/> in
/// sequence order. WAL checkpoints run mostly on a background connection
/// (<see cref="LedgerOptions.CheckpointInterval"/>); the writer's own auto-checkpoint is the backstop.
/// </para>
/// <para>
/// Fail closed: when the commit fails (database locked beyond <see cref="LedgerOptions.LockTimeout"/>,
/// disk full, I/O error, inconsistent tail), every caller of that batch gets
/// <see cref="LedgerUnavailableException"/> and nothing is published. Sequence numbers stay gap-free
/// because the next batch reads the tail again; the writer carries on with the next batch.
/// </para>
/// <para>Entries appended by another process are not published by this instance. Thread-safe.</para>
/// </remarks>
public sealed class SqliteAccessLedger : IAccessLedger, IAccessLedgerReader, IAsyncDisposable
{
    private readonly LedgerTableReader _tables;

    private readonly CustodianDatabase _db;
    private readonly IAccessEventStream _events;
    private readonly TimeProvider _time;
    private readonly ILogger<SqliteAccessLedger> _logger;
    private readonly LedgerOptions _options;
    private readonly Channel<Pending[]> _queue;
    private readonly Task _writer;
    private readonly Task _checkpointer;
    private readonly CancellationTokenSource _stopCheckpointer = new();
    private int _disposed;
    private WriterConnection? _connection;

    /// <summary>Creates the ledger and starts its writer. The tables must exist (apply <see cref="LedgerMigrations"/> first).</summary>
    /// <param name="db">The database.</param>
    /// <param name="events">Where committed entries are published, in sequence order.</param>
    /// <param name="time">Clock for tree-head times.</param>
    /// <param name="logger">Logger (counts and sequence numbers only).</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">When an option is out of range.</exception>
    public SqliteAccessLedger(CustodianDatabase db, IAccessEventStream events, TimeProvider time, ILogger<SqliteAccessLedger> logger, LedgerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _db = db;
        _tables = new LedgerTableReader(db);
        _events = events;
        _time = time;
        _logger = logger;
        _options = options ?? new LedgerOptions();
        _options.Validate();
        _queue = Channel.CreateBounded<Pending[]>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writer = StartWriterThread();
        _checkpointer = _options.CheckpointInterval > TimeSpan.Zero ? Task.Run(RunCheckpointerAsync) : Task.CompletedTask;
    }

    /// <summary>
    /// Appends <paramref name="entry"/> durably, then publishes it. Completes once the batch holding
    /// the entry is committed.
    /// </summary>
    /// <param name="entry">The entry; its time is recorded to the millisecond.</param>
    /// <param name="cancellationToken">Stops waiting. An entry already queued may still be recorded; the caller must treat cancellation as a refused read.</param>
    /// <returns>The committed entry: its gap-free sequence number, leaf hash and the entry as recorded (time in UTC, millisecond precision).</returns>
    /// <exception cref="LedgerUnavailableException">When the entry could not be made durable, or the ledger is disposed.</exception>
    /// <exception cref="ArgumentException">When the entry cannot be encoded (see <see cref="LeafCodec.Encode"/>).</exception>
    public async ValueTask<CommittedEntry> AppendAsync(AccessEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var pending = Pending.Create(entry);
        await EnqueueAsync([pending], cancellationToken);
        return await pending.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Appends several entries in one transaction: they get contiguous sequence numbers in list order
    /// and are committed all or none. For bulk events (an import). Lists longer than
    /// <see cref="LedgerOptions.MaxBatchSize"/> are still written as one transaction.
    /// </summary>
    /// <param name="entries">The entries, at least one.</param>
    /// <param name="cancellationToken">Stops waiting (the entries may still be recorded).</param>
    /// <returns>The committed entries in order.</returns>
    /// <exception cref="LedgerUnavailableException">When the entries could not be made durable, or the ledger is disposed.</exception>
    /// <exception cref="ArgumentException">When the list is empty or an entry cannot be encoded.</exception>
    public async ValueTask<IReadOnlyList<CommittedEntry>> AppendRangeAsync(IReadOnlyList<AccessEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            throw new ArgumentException("At least one entry is needed.", nameof(entries));
        }

        var pending = entries.Select(Pending.Create).ToArray();
        await EnqueueAsync(pending, cancellationToken);
        var result = new CommittedEntry[pending.Length];
        for (var i = 0; i < pending.Length; i++)
        {
            result[i] = await pending[i].Completion.Task.WaitAsync(cancellationToken);
        }

        return result;
    }

    /// <summary>
    /// Appends <paramref name="entry"/> through the writer like <see cref="AppendAsync"/>, and runs
    /// <paramref name="withinCommit"/> inside the same transaction right after the entry is inserted,
    /// with the entry's sequence number: both are committed or neither. Used by retention so that an
    /// erasure and the entry recording it cannot be separated by a crash. The entry is written in a
    /// batch of its own.
    /// </summary>
    /// <param name="entry">The entry.</param>
    /// <param name="withinCommit">Work on the writer's transaction; an exception rolls the batch back and surfaces as <see cref="LedgerUnavailableException"/>.</param>
    /// <param name="cancellationToken">Stops waiting (the entry and the work may still be committed).</param>
    /// <returns>The committed entry.</returns>
    /// <exception cref="LedgerUnavailableException">When nothing was committed.</exception>
    internal async ValueTask<CommittedEntry> AppendWithinCommitAsync(AccessEntry entry, Action<SqliteTransaction, long> withinCommit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(withinCommit);
        var pending = Pending.Create(entry);
        pending.WithinCommit = withinCommit;
        await EnqueueAsync([pending], cancellationToken);
        return await pending.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<long> GetSizeAsync(CancellationToken cancellationToken = default) =>
        (await GetTreeHeadAsync(cancellationToken)).Size;

    /// <summary>The newest tree head: the size and root after the last committed batch (by any process).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The head; size 0 with root <c>SHA-256("")</c> and no time when the ledger is empty.</returns>
    public Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken = default) =>
        _tables.GetTreeHeadAsync(cancellationToken);

    /// <inheritdoc />
    /// <exception cref="FormatException">When a stored payload cannot be decoded (the database was altered; run <see cref="LedgerVerifier"/>).</exception>
    /// <remarks>Reads in pages of 1,024 entries, each its own short read, so a slow consumer does not hold a database snapshot; entries committed during the enumeration are included. Entries erased by retention (docs/ledger-format.md §13) are skipped: they have no payload; their leaf hashes stay available to <see cref="ILedgerProofs"/>.</remarks>
    public IAsyncEnumerable<CommittedEntry> ReadAsync(long fromSequence, CancellationToken cancellationToken = default) =>
        _tables.ReadAsync(fromSequence, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="FormatException">When a stored payload cannot be decoded (the database was altered; run <see cref="LedgerVerifier"/>).</exception>
    /// <remarks>Compares the recorded entry time (Unix milliseconds) with <paramref name="since"/>; pages like <see cref="ReadAsync"/>. Entries erased by retention are skipped.</remarks>
    public IAsyncEnumerable<CommittedEntry> ReadSinceAsync(DateTimeOffset since, CancellationToken cancellationToken = default) =>
        _tables.ReadSinceAsync(since, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="limit"/> is outside 1–1000.</exception>
    /// <exception cref="FormatException">When a stored payload cannot be decoded (the database was altered; run <see cref="LedgerVerifier"/>).</exception>
    /// <remarks>Entries erased by retention are never returned (their subject rows are deleted with the payload), so a subscriber's history ends at the retention period.</remarks>
    public Task<IReadOnlyList<CommittedEntry>> ReadBySubjectAsync(SubscriberId subject, long? before, int limit, CancellationToken cancellationToken = default) =>
        _tables.ReadBySubjectAsync(subject, before, limit, cancellationToken);

    /// <summary>
    /// Stops accepting entries, commits everything already queued, and stops the writer. Later
    /// appends throw <see cref="LedgerUnavailableException"/>. Safe to call more than once.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            await _writer;
            return;
        }

        _queue.Writer.TryComplete();
        await _writer;
        await _stopCheckpointer.CancelAsync();
        await _checkpointer;
        _stopCheckpointer.Dispose();
    }

    private async ValueTask EnqueueAsync(Pending[] item, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            throw new LedgerUnavailableException("The access ledger is shut down; the entry was not recorded.");
        }

        if (_queue.Writer.TryWrite(item))
        {
            return;
        }

        try
        {
            await _queue.Writer.WriteAsync(item, cancellationToken);
        }
        catch (ChannelClosedException ex)
        {
            throw new LedgerUnavailableException("The access ledger is shut down; the entry was not recorded.", ex);
        }
    }

    // The writer runs on a thread of its own, not on the thread pool: woken straight by the enqueuer's signal, it never
    // waits in the pool's global queue behind the request work items whose entries it holds (bench/README.md, "The
    // open loop's tail"). It blocks only on the channel, the write turn and the commit's fsync.
    private Task StartWriterThread()
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                RunWriter();
                stopped.TrySetResult();
            }
            catch (Exception ex)
            {
                stopped.TrySetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "Custodian ledger writer",
        };
        thread.Start();
        return stopped.Task;
    }

    private static bool WaitToRead(ChannelReader<Pending[]> reader)
    {
        var wait = reader.WaitToReadAsync();
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    private void RunWriter()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>(_options.MaxBatchSize);
        PrepareSubtrees();
        while (WaitToRead(reader))
        {
            batch.Clear();
            // An entry with work inside the commit (retention erasure) is written in a batch of its own,
            // so that a failure of that work refuses no one else's read.
            while (reader.TryPeek(out var item) && (batch.Count == 0 || (batch.Count + item.Length <= _options.MaxBatchSize && item[0].WithinCommit is null && batch[0].WithinCommit is null)))
            {
                reader.TryRead(out _);
                batch.AddRange(item);
            }

            try
            {
                WriteBatch(batch);
            }
            catch (Exception ex)
            {
                // Never let the writer die: callers of this batch that are not yet released are refused.
                Log.BatchFailed(_logger, batch.Count, ex);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(new LedgerUnavailableException("The access ledger could not record the entry durably; the read must be refused.", ex));
                }
            }
        }

        _connection?.Dispose();
        _connection = null;
        Log.WriterStopped(_logger);
    }

    private void WriteBatch(List<Pending> batch)
    {
        CommittedEntry[] committed;
        try
        {
            committed = Commit(batch);
        }
        catch (Exception ex)
        {
            Log.BatchFailed(_logger, batch.Count, ex);
            _connection?.Dispose();
            _connection = null;
            var refusal = ex as LedgerUnavailableException
                ?? new LedgerUnavailableException("The access ledger could not record the entry durably; the read must be refused.", ex);
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(refusal);
            }

            return;
        }

        Log.BatchCommitted(_logger, committed.Length, committed[0].Sequence, committed[^1].Sequence, committed[^1].Sequence + 1);

        // Durable: publish in sequence order, then release the callers.
        foreach (var entry in committed)
        {
            try
            {
                var published = _events.PublishAsync(entry, CancellationToken.None);
                if (!published.IsCompletedSuccessfully)
                {
                    published.AsTask().GetAwaiter().GetResult();
                }
            }
            catch (Exception ex)
            {
                Log.PublishFailed(_logger, entry.Sequence, ex);
            }
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Completion.TrySetResult(committed[i]);
        }
    }

    private CommittedEntry[] Commit(List<Pending> batch)
    {
        _connection ??= WriterConnection.Open(_db, _options.LockTimeout);
        var c = _connection;
        using var turn = _db.EnterWriteTurn(_options.LockTimeout); // handed over by this process's other writers without sleeping
        using var tx = c.Connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
        c.Enlist(tx);

        var (headSize, headRoot, frontier) = ReadTail(c);
        var range = CompactRange.FromBytes(headSize, frontier);
        if (!CryptographicOperations.FixedTimeEquals(range.GetRoot(), headRoot))
        {
            Log.FrontierMismatch(_logger, headSize);
            throw new LedgerUnavailableException("The access ledger's tail is inconsistent; appends are refused until it is verified.");
        }

        if (!c.SubtreesChecked)
        {
            BackfillSubtrees(c, headSize);
            c.SubtreesChecked = true;
        }

        var committed = new CommittedEntry[batch.Count];
        c.CompletedSubtrees.Clear();
        for (var i = 0; i < batch.Count; i++)
        {
            var p = batch[i];
            var seq = headSize + i;
            c.InsertEntry(seq, p);

            p.WithinCommit?.Invoke(tx, seq); // retention: the erasure the entry records, in the same transaction

            range.Append(p.LeafHash, c.CollectSubtree);
            committed[i] = new CommittedEntry(seq, p.LeafHash, p.Entry);
        }

        // The subtree hashes completed by this batch (levels 4, 8, 12, …) commit with the entries.
        foreach (var (level, index, hash) in c.CompletedSubtrees)
        {
            c.InsertSubtree(level, index, hash);
        }

        if (headSize > 0)
        {
            c.ClearFrontier(headSize);
        }

        c.InsertHead(range.Size, range.GetRoot(), _time.GetUtcNow().ToUnixTimeMilliseconds(), range.ToBytes());
        tx.Commit();
        return committed;
    }

    // Once per writer connection, inside the write transaction: a ledger created before migration
    // ledger-002 (or one whose subtree rows were deleted) gets its missing subtree hashes computed
    // from the stored leaf hashes. Existing rows are never overwritten (a forged row stays for the
    // verifier to report). O(size) once; afterwards each commit keeps the table complete.
    // At start-up, so that a ledger migrated to ledger-002 gets its subtree hashes (and can be
    // verified) without waiting for an append: a read first, the write lock only if rows are missing.
    // A failure (e.g. the lock held by another process) is logged; the first commit tries again.
    private void PrepareSubtrees()
    {
        try
        {
            _connection ??= WriterConnection.Open(_db, _options.LockTimeout);
            var c = _connection;
            using (var head = c.SelectHead.ExecuteReader())
            {
                if (c.CountSubtrees() == ExpectedSubtrees(head.Read() ? head.GetInt64(0) : 0))
                {
                    c.SubtreesChecked = true;
                    return;
                }
            }

            using var tx = c.Connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
            c.Enlist(tx);
            var (headSize, _, _) = ReadTail(c);
            BackfillSubtrees(c, headSize);
            tx.Commit();
            c.SubtreesChecked = true;
        }
        catch (Exception ex)
        {
            Log.SubtreesNotPrepared(_logger, ex);
            _connection?.Dispose();
            _connection = null;
        }
    }

    private static long ExpectedSubtrees(long treeSize)
    {
        long expected = 0;
        for (var level = TiledRangeRoots.LedgerStride; level < 63; level += TiledRangeRoots.LedgerStride)
        {
            expected += treeSize >> level;
        }

        return expected;
    }

    private void BackfillSubtrees(WriterConnection c, long headSize)
    {
        var expected = ExpectedSubtrees(headSize);
        var stored = c.CountSubtrees();
        if (stored == expected)
        {
            return;
        }

        Log.SubtreesBackfilled(_logger, stored, expected, headSize);
        var range = new CompactRange();
        var completed = c.CompletedSubtrees;
        completed.Clear();
        foreach (var leaf in c.ReadLeafHashes(headSize))
        {
            range.Append(leaf, c.CollectSubtree);
        }

        foreach (var (level, index, hash) in completed)
        {
            c.InsertSubtree(level, index, hash, ifMissing: true);
        }

        completed.Clear();
    }

    // Copies committed WAL frames into the database file off the commit path, so that the writer's
    // own auto-checkpoint (kept as a backstop, every 16,384 pages) finds little left to copy inside
    // a commit (bench/README.md: an experiment with background checkpoints halved the latency
    // tail). PASSIVE never blocks the writer or readers.
    private async Task RunCheckpointerAsync()
    {
        var token = _stopCheckpointer.Token;
        try
        {
            while (true)
            {
                await Task.Delay(_options.CheckpointInterval, _time, token);
                try
                {
                    await using var connection = await _db.OpenAsync(token);
                    await using var command = connection.Command("PRAGMA wal_checkpoint(PASSIVE)");
                    await command.ExecuteNonQueryAsync(token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.CheckpointFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private (long Size, byte[] Root, byte[] Frontier) ReadTail(WriterConnection c)
    {
        long headSize = 0;
        byte[] root = MerkleTree.EmptyRoot;
        byte[] frontier = [];
        using (var reader = c.SelectHead.ExecuteReader())
        {
            if (reader.Read())
            {
                headSize = reader.GetInt64(0);
                root = (byte[])reader.GetValue(1);
                frontier = reader.IsDBNull(2) ? [] : (byte[])reader.GetValue(2);
            }
        }

        var entryCount = c.SelectEntryCount.ExecuteScalar() is long last ? last : 0;
        if (entryCount != headSize)
        {
            Log.TailInconsistent(_logger, headSize, entryCount);
            throw new LedgerUnavailableException("The access ledger's tail is inconsistent; appends are refused until it is verified.");
        }

        return (headSize, root, frontier);
    }

    // An entry queued for the writer, with everything the writer needs already computed on the
    // caller's thread (encoding, leaf hash, UTF-8 column values) so the single writer only does I/O.
    private sealed class Pending
    {
        private static readonly Dictionary<AccessTask, byte[]> TaskNames =
            Enum.GetValues<AccessTask>().ToDictionary(t => t, t => System.Text.Encoding.UTF8.GetBytes(t.ToName()));

        private static readonly byte[] Allowed = "allowed"u8.ToArray();
        private static readonly byte[] Denied = "denied"u8.ToArray();

        private Pending(AccessEntry entry, byte[] payload)
        {
            Entry = entry;
            Payload = payload;
            LeafHash = MerkleTree.HashLeaf(payload);
            TimeMs = entry.Time.ToUnixTimeMilliseconds();
            TaskUtf8 = TaskNames[entry.Task];
            OutcomeUtf8 = entry.Outcome == AccessOutcome.Allowed ? Allowed : Denied;
            AccountUtf8 = Utf8(entry.Account);
            TerminalUtf8 = Utf8(entry.Terminal);
            StoreUtf8 = Utf8(entry.Store);
        }

        public byte[] TaskUtf8 { get; }

        public byte[] OutcomeUtf8 { get; }

        public byte[]? AccountUtf8 { get; }

        public byte[]? TerminalUtf8 { get; }

        public byte[]? StoreUtf8 { get; }

        public AccessEntry Entry { get; }

        public byte[] Payload { get; }

        public byte[] LeafHash { get; }

        public long TimeMs { get; }

        public TaskCompletionSource<CommittedEntry> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Work run inside the writer's transaction right after this entry is inserted, with its sequence number; null for ordinary entries.</summary>
        public Action<SqliteTransaction, long>? WithinCommit { get; set; }

        public static Pending Create(AccessEntry entry)
        {
            ArgumentNullException.ThrowIfNull(entry);
            var payload = LeafCodec.Encode(entry);
            var ms = entry.Time.ToUnixTimeMilliseconds();
            if (entry.Time.Offset != TimeSpan.Zero || entry.Time.UtcTicks % TimeSpan.TicksPerMillisecond != 0)
            {
                entry = entry with { Time = DateTimeOffset.FromUnixTimeMilliseconds(ms) };
            }

            return new Pending(entry, payload);
        }

        private static byte[]? Utf8(string? value) => value is null ? null : System.Text.Encoding.UTF8.GetBytes(value);
    }

    // The writer's own connection and its prepared statements, reused across batches until a failure.
    // The two per-entry inserts are SQLite statements prepared once and bound by position through
    // SQLitePCL (the provider under Microsoft.Data.Sqlite): this halves the writer's CPU time per
    // entry compared with SqliteCommand, whose per-execution overhead dominates a one-row insert.
    // The SQL text itself stays portable.
    private sealed class WriterConnection : IDisposable
    {
        private const int WriterCacheKib = 65_536;
        private const int WriterCheckpointPages = 16_384;

        private readonly sqlite3_stmt _insertEntry;
        private readonly SqliteCommand _clearFrontier;
        private readonly SqliteCommand _insertHead;
        private readonly sqlite3_stmt _insertSubtree;
        private readonly SqliteCommand _insertSubtreeIfMissing;
        private readonly SqliteCommand _countSubtrees;
        private readonly SqliteCommand _readLeafHashes;

        private WriterConnection(SqliteConnection connection)
        {
            Connection = connection;
            SelectHead = Create("SELECT tree_size, root, frontier FROM ledger_tree_heads ORDER BY tree_size DESC LIMIT 1");
            SelectEntryCount = Create("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries");
            _clearFrontier = Create("UPDATE ledger_tree_heads SET frontier = NULL WHERE tree_size = @size", "@size");
            _insertHead = Create(
                "INSERT INTO ledger_tree_heads (tree_size, root, time_ms, frontier) VALUES (@size, @root, @time, @frontier)",
                "@size", "@root", "@time", "@frontier");
            _insertSubtreeIfMissing = Create("INSERT INTO ledger_subtrees (level, idx, hash) VALUES (@level, @idx, @hash) ON CONFLICT DO NOTHING", "@level", "@idx", "@hash");
            _countSubtrees = Create("SELECT COUNT(*) FROM ledger_subtrees");
            _readLeafHashes = Create("SELECT leaf_hash FROM ledger_entries WHERE seq < @size ORDER BY seq", "@size");
            CollectSubtree = (height, index, hash) =>
            {
                if (height % TiledRangeRoots.LedgerStride == 0)
                {
                    CompletedSubtrees.Add((height, index, hash.ToArray()));
                }
            };
            _insertEntry = Prepare(
                "INSERT INTO ledger_entries (seq, time_ms, task, outcome, account, terminal, store, payload, leaf_hash) VALUES (@seq, @time, @task, @outcome, @account, @terminal, @store, @payload, @leaf)");
            try
            {
                _insertSubtree = Prepare("INSERT INTO ledger_subtrees (level, idx, hash) VALUES (@level, @idx, @hash)");
            }
            catch
            {
                _insertEntry.Dispose();
                throw;
            }
        }

        public SqliteConnection Connection { get; }

        public SqliteCommand SelectHead { get; }

        public SqliteCommand SelectEntryCount { get; }

        /// <summary>True once this connection has checked (and if needed backfilled) ledger_subtrees.</summary>
        public bool SubtreesChecked { get; set; }

        /// <summary>Subtrees of levels 4, 8, 12, … completed by the appends of the current batch: (level, index, hash).</summary>
        public List<(int Level, long Index, byte[] Hash)> CompletedSubtrees { get; } = [];

        /// <summary>Adds completed subtrees of a stored level to <see cref="CompletedSubtrees"/>.</summary>
        public SubtreeCompleted CollectSubtree { get; }

        public static WriterConnection Open(CustodianDatabase db, TimeSpan lockTimeout)
        {
            var connection = (SqliteConnection)db.Open();
            try
            {
                var seconds = (int)Math.Ceiling(lockTimeout.TotalSeconds);
                connection.DefaultTimeout = seconds; // bounds Microsoft.Data.Sqlite's own retry on SQLITE_BUSY

                // A larger page cache keeps the subject index's hot pages in memory; fewer, larger
                // WAL checkpoints write each index page once for many batches instead of once per batch.
                // The auto-checkpoint stays on as a backstop even with background checkpoints: a
                // PASSIVE checkpoint on another connection rarely catches up with a busy writer, so
                // the WAL would never restart and grow without bound (measured: -30 % appends/s).
                // Run by the writer between transactions it completes and the WAL restarts; with the
                // background checkpointer ahead of it, it only copies what is left.
                Execute(connection, $"PRAGMA busy_timeout = {seconds * 1000}; PRAGMA cache_size = -{WriterCacheKib}; PRAGMA wal_autocheckpoint = {WriterCheckpointPages}");
                return new WriterConnection(connection);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        public void Enlist(SqliteTransaction tx)
        {
            SelectHead.Transaction = tx;
            SelectEntryCount.Transaction = tx;
            _clearFrontier.Transaction = tx;
            _insertHead.Transaction = tx;
            _insertSubtreeIfMissing.Transaction = tx;
            _countSubtrees.Transaction = tx;
            _readLeafHashes.Transaction = tx;
        }

        public void InsertSubtree(int level, long index, byte[] hash, bool ifMissing = false)
        {
            if (!ifMissing)
            {
                raw.sqlite3_bind_int64(_insertSubtree, 1, level);
                raw.sqlite3_bind_int64(_insertSubtree, 2, index);
                raw.sqlite3_bind_blob(_insertSubtree, 3, hash);
                Step(_insertSubtree);
                return;
            }

            var command = _insertSubtreeIfMissing;
            var parameters = command.Parameters;
            parameters[0].Value = (long)level;
            parameters[1].Value = index;
            parameters[2].Value = hash;
            command.ExecuteNonQuery();
        }

        public long CountSubtrees() => Convert.ToInt64(_countSubtrees.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);

        public IEnumerable<byte[]> ReadLeafHashes(long size)
        {
            _readLeafHashes.Parameters[0].Value = size;
            using var reader = _readLeafHashes.ExecuteReader();
            while (reader.Read())
            {
                yield return reader.GetValue(0) as byte[] ?? throw new LedgerUnavailableException("A stored leaf hash is missing; appends are refused until the ledger is verified.");
            }
        }

        public void InsertEntry(long seq, Pending p)
        {
            var s = _insertEntry;
            raw.sqlite3_bind_int64(s, 1, seq);
            raw.sqlite3_bind_int64(s, 2, p.TimeMs);
            raw.sqlite3_bind_text(s, 3, p.TaskUtf8);
            raw.sqlite3_bind_text(s, 4, p.OutcomeUtf8);
            BindText(s, 5, p.AccountUtf8);
            BindText(s, 6, p.TerminalUtf8);
            BindText(s, 7, p.StoreUtf8);
            raw.sqlite3_bind_blob(s, 8, p.Payload);
            raw.sqlite3_bind_blob(s, 9, p.LeafHash);
            Step(s);
        }

        public void ClearFrontier(long size)
        {
            _clearFrontier.Parameters[0].Value = size;
            _clearFrontier.ExecuteNonQuery();
        }

        public void InsertHead(long size, byte[] root, long timeMs, byte[] frontier)
        {
            var parameters = _insertHead.Parameters;
            parameters[0].Value = size;
            parameters[1].Value = root;
            parameters[2].Value = timeMs;
            parameters[3].Value = frontier;
            _insertHead.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _insertEntry.Dispose(); // finalizes: the handle goes back to the shared pool
            _insertSubtree.Dispose();
            try
            {
                // Restore SQLite's defaults on the pooled handle.
                Execute(Connection, "PRAGMA cache_size = -2000; PRAGMA wal_autocheckpoint = 1000");
            }
            catch (SqliteException)
            {
                // The connection is broken (the reason it is being disposed); the pool discards broken handles.
            }

            SelectHead.Dispose();
            SelectEntryCount.Dispose();
            _clearFrontier.Dispose();
            _insertHead.Dispose();
            _insertSubtreeIfMissing.Dispose();
            _countSubtrees.Dispose();
            _readLeafHashes.Dispose();
            Connection.Dispose();
        }

        private static void BindText(sqlite3_stmt statement, int index, byte[]? value)
        {
            if (value is null)
            {
                raw.sqlite3_bind_null(statement, index);
            }
            else
            {
                raw.sqlite3_bind_text(statement, index, value);
            }
        }

        private static void Execute(SqliteConnection connection, string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        private sqlite3_stmt Prepare(string sql)
        {
            var rc = raw.sqlite3_prepare_v2(Connection.Handle, sql, out var statement);
            if (rc != raw.SQLITE_OK)
            {
                var error = new SqliteException(raw.sqlite3_errmsg(Connection.Handle).utf8_to_string(), rc, raw.sqlite3_extended_errcode(Connection.Handle));
                statement?.Dispose();
                throw error;
            }

            return statement;
        }

        private void Step(sqlite3_stmt statement)
        {
            var rc = raw.sqlite3_step(statement);
            if (rc != raw.SQLITE_DONE)
            {
                var error = new SqliteException(raw.sqlite3_errmsg(Connection.Handle).utf8_to_string(), rc, raw.sqlite3_extended_errcode(Connection.Handle));
                raw.sqlite3_reset(statement);
                throw error;
            }

            raw.sqlite3_reset(statement);
        }

        private SqliteCommand Create(string sql, params string[] parameterNames)
        {
            var command = Connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameterNames)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            return command;
        }
    }
}
