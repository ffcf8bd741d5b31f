using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Custodian.Storage;

/// <summary>
/// Group commit for short write transactions on the SQLite backend (<see cref="CustodianDatabase.GroupCommit"/>): the
/// work of every caller that arrives while a transaction is being written is run in the next one, so that many small
/// writes (a consent code's check, its issue) share one write lock and one <c>fsync</c> instead of taking SQLite's one
/// write lock and syncing the WAL each.
/// </summary>
/// <remarks>
/// <para>Why: SQLite has one writer per database file. When every request ran its own autocommit <c>UPDATE</c>
/// (<c>synchronous=FULL</c>: one WAL <c>fsync</c> per commit, 0.5–1.5 ms on the bench's disk), the writes queued behind
/// each other and behind the ledger's group commit, each waiter polling in SQLite's busy handler (sleeps of 1, 2, 5, 10,
/// 15, 20, 25 ms, …), and guarded unmask fell to about 1,500/s (bench/README.md, "Consent codes: one write transaction
/// per batch").</para>
/// <para>How: callers queue their work; one caller at a time becomes the writer (no thread is kept between batches) and,
/// on a thread-pool thread, takes up to <see cref="MaxBatchSize"/> queued items, opens a pooled connection, waits for this
/// process's turn at the write lock (<see cref="CustodianDatabase.EnterWriteTurn"/>, shared with the access ledger's
/// writer, so the lock is handed over without sleeping), starts
/// <c>BEGIN IMMEDIATE</c> (the write lock first, so every read of the work sees the newest committed state and nothing
/// can change it before the commit; the wait for another process's lock is bounded by the connection's
/// <c>busy_timeout</c> of 5 s, docs/storage.md), runs each item inside its own <c>SAVEPOINT</c>, and commits. Only
/// after the commit (durable on return, <c>synchronous=FULL</c>) are the callers' tasks completed with their results.
/// </para>
/// <para>Fail closed: an item that throws is rolled back to its savepoint and its caller gets the exception, the rest
/// of the batch goes on; when the transaction cannot be begun or committed (lock not granted, disk full, I/O error),
/// every caller of the batch gets the exception and nothing of the batch is kept. Work must be synchronous, short and
/// touch only the transaction it is given. Thread-safe.</para>
/// </remarks>
public sealed class SqliteGroupCommit
{
    /// <summary>The most work items written in one transaction: 256.</summary>
    public const int MaxBatchSize = 256;

    // The connection's busy_timeout (StorageDialect.ConnectionSetup): longer than that the SQLite lock would not wait either.
    private static readonly TimeSpan TurnTimeout = TimeSpan.FromSeconds(5);

    private readonly CustodianDatabase _db;
    private readonly ConcurrentQueue<WorkItem> _queue = new();
    private int _writing;

    internal SqliteGroupCommit(CustodianDatabase db)
    {
        _db = db;
    }

    /// <summary>
    /// Runs <paramref name="work"/> in the next write transaction and returns its result once that transaction is
    /// committed.
    /// </summary>
    /// <typeparam name="T">The work's result.</typeparam>
    /// <param name="work">Synchronous work on the transaction (create commands with <c>transaction.Command(sql, parameters)</c>, <see cref="DbExtensions"/>); it runs on the writer's thread.</param>
    /// <param name="cancellationToken">Stops waiting; work already queued may still be committed, so the caller must treat cancellation as a refusal.</param>
    /// <returns>The work's result, after the commit.</returns>
    /// <exception cref="DbException">When the transaction could not be begun or committed, or the work's own statements failed (the caller fails closed).</exception>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled first.</exception>
    public Task<T> RunAsync<T>(Func<DbTransaction, T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        cancellationToken.ThrowIfCancellationRequested();
        var item = new WorkItem<T>(work);
        _queue.Enqueue(item);
        if (Interlocked.CompareExchange(ref _writing, 1, 0) == 0)
        {
            _ = Task.Run(Drain, CancellationToken.None);
        }

        return item.Completion.Task.WaitAsync(cancellationToken);
    }

    private void Drain()
    {
        var batch = new List<WorkItem>(MaxBatchSize);
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatchSize && _queue.TryDequeue(out var item))
            {
                batch.Add(item);
            }

            if (batch.Count == 0)
            {
                // Hand the writer role back, then take it again if work arrived in between (its caller saw it taken).
                Volatile.Write(ref _writing, 0);
                if (_queue.IsEmpty || Interlocked.CompareExchange(ref _writing, 1, 0) != 0)
                {
                    return;
                }

                continue;
            }

            Write(batch);
        }
    }

    private void Write(List<WorkItem> batch)
    {
        try
        {
            using var connection = (SqliteConnection)_db.Open();
            using var turn = _db.EnterWriteTurn(TurnTimeout);
            using var tx = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
            foreach (var item in batch)
            {
                tx.Save("work");
                try
                {
                    item.Run(tx);
                }
                catch (Exception ex)
                {
                    item.Fail(ex);
                    tx.Rollback("work"); // throws when the transaction itself is gone: the whole batch is refused below
                }

                tx.Release("work");
            }

            tx.Commit();
        }
        catch (Exception ex)
        {
            foreach (var item in batch)
            {
                item.Fail(ex);
            }

            return;
        }

        foreach (var item in batch)
        {
            item.Complete();
        }
    }

    private abstract class WorkItem
    {
        public abstract void Run(DbTransaction tx);

        public abstract void Complete();

        public abstract void Fail(Exception ex);
    }

    private sealed class WorkItem<T>(Func<DbTransaction, T> work) : WorkItem
    {
        private T _result = default!;
        private bool _failed;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run(DbTransaction tx) => _result = work(tx);

        public override void Complete()
        {
            if (!_failed)
            {
                Completion.TrySetResult(_result);
            }
        }

        public override void Fail(Exception ex)
        {
            _failed = true;
            Completion.TrySetException(ex);
        }
    }
}
