using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Storage;
using Microsoft.Extensions.Logging;

namespace Custodian.Ledger.Postgres;

/// <summary>
/// The access ledger on a PostgreSQL <see cref="CustodianDatabase"/>, with group commit: the same tables
/// (<see cref="LedgerMigrations"/>), leaf encoding (<see cref="LeafCodec"/>), RFC 9162 Merkle tree, tree heads with
/// their compact-range frontier and stored subtree hashes (levels 4, 8, 12, …) as <see cref="SqliteAccessLedger"/>,
/// so the same entries give the same roots and <see cref="LedgerProofs"/> serves the same proofs.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="AppendAsync"/> encodes and hashes the entry on the caller's thread and queues it. One writer loop takes
/// everything queued (up to <see cref="LedgerOptions.MaxBatchSize"/> entries) and writes it in one transaction that
/// first takes <c>LOCK TABLE ledger_tree_heads IN EXCLUSIVE MODE</c> (writers on other processes or API nodes wait;
/// readers do not), reads the tail, checks that the stored frontier reproduces the stored root, inserts entries,
/// completed subtree hashes and one tree head in one round trip (<see cref="DbBatch"/>) and commits (subject rows are
/// added after commit by <see cref="LedgerSubjectProjector"/>, docs/ledger-format.md §3).
/// Durability is the server's: with PostgreSQL's defaults (<c>fsync=on</c>, <c>synchronous_commit=on</c>) a commit
/// has reached the server's WAL on disk when it returns. Only then are the callers released and the entries published
/// to <see cref="IAccessEventStream"/> in sequence order.
/// </para>
/// <para>
/// Fail closed: when the commit fails (server unreachable, lock not granted within
/// <see cref="LedgerOptions.LockTimeout"/>, inconsistent tail), every caller of that batch gets
/// <see cref="LedgerUnavailableException"/> and nothing is published; sequence numbers stay gap-free because the next
/// batch reads the tail again. Entries appended by another process are not published by this instance. Thread-safe.
/// </para>
/// </remarks>
public sealed class PostgresAccessLedger : IAccessLedger, IAccessLedgerReader, IAsyncDisposable
{
    private readonly LedgerTableReader _tables;

    private readonly CustodianDatabase _db;
    private readonly IAccessEventStream _events;
    private readonly TimeProvider _time;
    private readonly ILogger<PostgresAccessLedger> _logger;
    private readonly LedgerOptions _options;
    private readonly Channel<Pending[]> _queue;
    private readonly Task _writer;
    private int _disposed;

    /// <summary>Creates the ledger and starts its writer. The tables must exist (apply <see cref="LedgerMigrations"/> first).</summary>
    /// <param name="db">A PostgreSQL database (<see cref="CustodianDatabase.ForPostgres"/>).</param>
    /// <param name="events">Where committed entries are published, in sequence order.</param>
    /// <param name="time">Clock for tree-head times.</param>
    /// <param name="logger">Logger (counts and sequence numbers only).</param>
    /// <param name="options">Settings; null for the defaults. <see cref="LedgerOptions.CheckpointInterval"/> (a SQLite WAL setting) is not used.</param>
    /// <exception cref="ArgumentException">When <paramref name="db"/> is the SQLite file.</exception>
    /// <exception cref="ArgumentOutOfRangeException">When an option is out of range.</exception>
    public PostgresAccessLedger(CustodianDatabase db, IAccessEventStream events, TimeProvider time, ILogger<PostgresAccessLedger> logger, LedgerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        if (db.IsSqlite)
        {
            throw new ArgumentException("The PostgreSQL ledger needs a PostgreSQL database.", nameof(db));
        }

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
        _writer = Task.Run(RunWriterAsync);
    }

    /// <summary>Appends <paramref name="entry"/> durably, then publishes it. Completes once the batch holding the entry is committed.</summary>
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

    /// <inheritdoc />
    public async ValueTask<long> GetSizeAsync(CancellationToken cancellationToken = default) =>
        (await GetTreeHeadAsync(cancellationToken)).Size;

    /// <summary>The newest tree head: the size and root after the last committed batch (by any process).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The head; size 0 with root <c>SHA-256("")</c> and no time when the ledger is empty.</returns>
    public Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken = default) =>
        _tables.GetTreeHeadAsync(cancellationToken);

    /// <inheritdoc />
    /// <exception cref="FormatException">When a stored payload cannot be decoded (the database was altered).</exception>
    /// <remarks>Reads in pages of 1,024 entries, each its own short query; entries erased by retention are skipped.</remarks>
    public IAsyncEnumerable<CommittedEntry> ReadAsync(long fromSequence, CancellationToken cancellationToken = default) =>
        _tables.ReadAsync(fromSequence, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="FormatException">When a stored payload cannot be decoded (the database was altered).</exception>
    /// <remarks>Compares the recorded entry time (Unix milliseconds) with <paramref name="since"/>; pages like <see cref="ReadAsync"/>.</remarks>
    public IAsyncEnumerable<CommittedEntry> ReadSinceAsync(DateTimeOffset since, CancellationToken cancellationToken = default) =>
        _tables.ReadSinceAsync(since, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="limit"/> is outside 1–1000.</exception>
    /// <exception cref="FormatException">When a stored payload cannot be decoded (the database was altered).</exception>
    public Task<IReadOnlyList<CommittedEntry>> ReadBySubjectAsync(SubscriberId subject, long? before, int limit, CancellationToken cancellationToken = default) =>
        _tables.ReadBySubjectAsync(subject, before, limit, cancellationToken);

    /// <summary>Stops accepting entries, commits everything already queued, and stops the writer. Safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _queue.Writer.TryComplete();
        await _writer;
    }

    private async ValueTask EnqueueAsync(Pending[] item, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            throw new LedgerUnavailableException("The access ledger is shut down; the entry was not recorded.");
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

    private async Task RunWriterAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>(_options.MaxBatchSize);
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (reader.TryPeek(out var item) && (batch.Count == 0 || batch.Count + item.Length <= _options.MaxBatchSize))
            {
                reader.TryRead(out _);
                batch.AddRange(item);
            }

            CommittedEntry[] committed;
            try
            {
                committed = await CommitAsync(batch);
            }
            catch (Exception ex)
            {
                // Never let the writer die: the callers of this batch are refused (fail closed).
                Log.BatchFailed(_logger, batch.Count, ex);
                var refusal = ex as LedgerUnavailableException
                    ?? new LedgerUnavailableException("The access ledger could not record the entry durably; the read must be refused.", ex);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(refusal);
                }

                continue;
            }

            Log.BatchCommitted(_logger, committed.Length, committed[0].Sequence, committed[^1].Sequence);
            foreach (var entry in committed)
            {
                try
                {
                    await _events.PublishAsync(entry, CancellationToken.None);
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

        Log.WriterStopped(_logger);
    }

    private async Task<CommittedEntry[]> CommitAsync(List<Pending> batch)
    {
        await using var connection = await _db.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted);
        var lockMs = (long)_options.LockTimeout.TotalMilliseconds;
        await ExecuteAsync(connection, tx, $"SET LOCAL lock_timeout = {lockMs.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        await ExecuteAsync(connection, tx, "LOCK TABLE ledger_tree_heads IN EXCLUSIVE MODE");

        long headSize = 0;
        var headRoot = MerkleTree.EmptyRoot;
        byte[] frontier = [];
        await using (var head = connection.Command("SELECT tree_size, root, frontier FROM ledger_tree_heads ORDER BY tree_size DESC LIMIT 1"))
        {
            head.Transaction = tx;
            await using var reader = await head.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                headSize = reader.GetInt64(0);
                headRoot = (byte[])reader.GetValue(1);
                frontier = reader.IsDBNull(2) ? [] : (byte[])reader.GetValue(2);
            }
        }

        await using (var count = connection.Command("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries"))
        {
            count.Transaction = tx;
            var entryCount = Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
            if (entryCount != headSize)
            {
                Log.TailInconsistent(_logger, headSize, entryCount);
                throw new LedgerUnavailableException("The access ledger's tail is inconsistent; appends are refused until it is verified.");
            }
        }

        var range = CompactRange.FromBytes(headSize, frontier);
        if (!CryptographicOperations.FixedTimeEquals(range.GetRoot(), headRoot))
        {
            Log.TailInconsistent(_logger, headSize, headSize);
            throw new LedgerUnavailableException("The access ledger's tail is inconsistent; appends are refused until it is verified.");
        }

        var subtrees = new List<(int Level, long Index, byte[] Hash)>();
        void Collect(int height, long index, ReadOnlySpan<byte> hash)
        {
            if (height % TiledRangeRoots.LedgerStride == 0)
            {
                subtrees.Add((height, index, hash.ToArray()));
            }
        }

        await using var write = connection.CreateBatch();
        write.Transaction = tx;
        var committed = new CommittedEntry[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var p = batch[i];
            var seq = headSize + i;
            Add(write, "INSERT INTO ledger_entries (seq, time_ms, task, outcome, account, terminal, store, payload, leaf_hash) VALUES (@seq, @time, @task, @outcome, @account, @terminal, @store, @payload, @leaf)",
                ("@seq", seq), ("@time", p.TimeMs), ("@task", p.Entry.Task.ToName()), ("@outcome", p.Entry.Outcome == AccessOutcome.Allowed ? "allowed" : "denied"),
                ("@account", p.Entry.Account), ("@terminal", p.Entry.Terminal), ("@store", p.Entry.Store), ("@payload", p.Payload), ("@leaf", p.LeafHash));
            range.Append(p.LeafHash, Collect);
            committed[i] = new CommittedEntry(seq, p.LeafHash, p.Entry);
        }

        foreach (var (level, index, hash) in subtrees)
        {
            Add(write, "INSERT INTO ledger_subtrees (level, idx, hash) VALUES (@level, @idx, @hash)", ("@level", (long)level), ("@idx", index), ("@hash", hash));
        }

        if (headSize > 0)
        {
            Add(write, "UPDATE ledger_tree_heads SET frontier = NULL WHERE tree_size = @size", ("@size", headSize));
        }

        Add(write, "INSERT INTO ledger_tree_heads (tree_size, root, time_ms, frontier) VALUES (@size, @root, @time, @frontier)",
            ("@size", range.Size), ("@root", range.GetRoot()), ("@time", _time.GetUtcNow().ToUnixTimeMilliseconds()), ("@frontier", range.ToBytes()));
        await write.ExecuteNonQueryAsync();
        await tx.CommitAsync();
        return committed;
    }

    private static void Add(DbBatch batch, string sql, params (string Name, object? Value)[] parameters)
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

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction tx, string sql)
    {
        await using var command = connection.Command(sql);
        command.Transaction = tx;
        await command.ExecuteNonQueryAsync();
    }

    // An entry queued for the writer, encoded and hashed on the caller's thread.
    private sealed class Pending
    {
        private Pending(AccessEntry entry, byte[] payload)
        {
            Entry = entry;
            Payload = payload;
            LeafHash = MerkleTree.HashLeaf(payload);
            TimeMs = entry.Time.ToUnixTimeMilliseconds();
        }

        public AccessEntry Entry { get; }

        public byte[] Payload { get; }

        public byte[] LeafHash { get; }

        public long TimeMs { get; }

        public TaskCompletionSource<CommittedEntry> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static Pending Create(AccessEntry entry)
        {
            var payload = LeafCodec.Encode(entry);
            var ms = entry.Time.ToUnixTimeMilliseconds();
            if (entry.Time.Offset != TimeSpan.Zero || entry.Time.UtcTicks % TimeSpan.TicksPerMillisecond != 0)
            {
                entry = entry with { Time = DateTimeOffset.FromUnixTimeMilliseconds(ms) };
            }

            return new Pending(entry, payload);
        }
    }
}
