using System.Data.Common;
using Custodian.Storage;

namespace Custodian.Monitoring.Workers;

/// <summary>
/// A partition's stored progress (table <c>monitor_partitions</c>, migration <c>monitoring-002</c>).
/// </summary>
/// <param name="Partition">The partition name (<c>c00</c>–<c>c63</c>, <c>t00</c>–<c>t63</c>, the aggregate partition <c>a00</c>).</param>
/// <param name="LastStreamSequence">The last stream sequence (ledger sequence + 1) whose effects are stored; 0 before the first.</param>
/// <param name="Processed">How many of the partition's entries have been processed in total (each once).</param>
/// <param name="Owner">The worker that last acquired the partition.</param>
/// <param name="Epoch">The fencing epoch: incremented by every acquisition, 1 for the first.</param>
public sealed record PartitionProgress(string Partition, long LastStreamSequence, long Processed, string Owner, long Epoch);

/// <summary>
/// Progress and fencing of the sharded monitor's partitions in the shared storage (SQLite or PostgreSQL; docs/events.md,
/// "Monitor workers"). A worker <see cref="AcquireAsync">acquires</see> a partition, which increments its epoch; every
/// later <see cref="CommitAsync(string, long, long, long, CancellationToken)">commit</see> names that epoch and is refused once another worker has acquired the
/// partition since (the fencing token), so a paused or partitioned worker cannot move progress it no longer owns.
/// </summary>
/// <remarks>Portable SQL; each method is one statement or one short transaction. Thread-safe.</remarks>
/// <param name="db">The shared database; <see cref="MonitoringMigrations"/> must have been applied.</param>
/// <param name="time">Clock for <c>updated_ms</c>.</param>
public sealed class PartitionProgressStore(CustodianDatabase db, TimeProvider time)
{
    private readonly CustodianDatabase _db = db ?? throw new ArgumentNullException(nameof(db));
    private readonly TimeProvider _time = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>
    /// The storage this store writes to, for messages: the SQLite file's path, or on PostgreSQL the server and database
    /// without credentials (<see cref="CustodianDatabase.Path"/>, e.g. <c>postgres host:port/database as user</c>).
    /// </summary>
    public string Storage => _db.Path;

    /// <summary>
    /// Takes <paramref name="partitions"/> for <paramref name="owner"/> in one transaction: creates missing rows and
    /// increments each partition's epoch, fencing out any previous owner.
    /// </summary>
    /// <param name="partitions">The partition names.</param>
    /// <param name="owner">The worker's identifier.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The progress after the acquisition (the new epochs and where processing resumes), in the order given.</returns>
    /// <exception cref="DbException">When the database fails (nothing is acquired).</exception>
    public async Task<IReadOnlyList<PartitionProgress>> AcquireAsync(IReadOnlyList<string> partitions, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        ArgumentNullException.ThrowIfNull(owner);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var acquired = new List<PartitionProgress>(partitions.Count);
        foreach (var partition in partitions)
        {
            await using (var insert = connection.Command(
                "INSERT INTO monitor_partitions (partition_name, last_stream_sequence, processed, owner, epoch, updated_ms) VALUES (@p, 0, 0, @o, 0, @t) ON CONFLICT (partition_name) DO NOTHING",
                ("@p", partition), ("@o", owner), ("@t", now)))
            {
                insert.Transaction = transaction;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var update = connection.Command(
                "UPDATE monitor_partitions SET epoch = epoch + 1, owner = @o, updated_ms = @t WHERE partition_name = @p RETURNING last_stream_sequence, processed, epoch",
                ("@p", partition), ("@o", owner), ("@t", now));
            update.Transaction = transaction;
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new InvalidOperationException("The partition row vanished while it was acquired.");
            }

            acquired.Add(new PartitionProgress(partition, reader.GetInt64(0), reader.GetInt64(1), owner, reader.GetInt64(2)));
        }

        await transaction.CommitAsync(cancellationToken);
        return acquired;
    }

    /// <summary>
    /// Records that the partition's entries up to <paramref name="lastStreamSequence"/> are processed and their effects
    /// stored, adding <paramref name="processedDelta"/> to its count — only while <paramref name="epoch"/> is still the
    /// partition's epoch and <paramref name="lastStreamSequence"/> moves forward.
    /// </summary>
    /// <param name="partition">The partition name.</param>
    /// <param name="epoch">The epoch returned by <see cref="AcquireAsync"/>.</param>
    /// <param name="lastStreamSequence">The new last stream sequence (greater than the stored one).</param>
    /// <param name="processedDelta">Entries processed since the previous commit, ≥ 0.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when recorded; false when fenced (another worker acquired the partition): the caller must stop working on it.</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public Task<bool> CommitAsync(string partition, long epoch, long lastStreamSequence, long processedDelta, CancellationToken cancellationToken = default) =>
        CommitAsync(partition, epoch, lastStreamSequence, processedDelta, null, cancellationToken);

    /// <summary>
    /// As <see cref="CommitAsync(string, long, long, long, CancellationToken)"/>, and in the same transaction — only when
    /// the progress moved, i.e. the epoch is still current — runs <paramref name="alsoStore"/> (the aggregate partition
    /// stores its principals' risk this way, so that a fenced owner stores nothing and the progress never runs ahead of it).
    /// </summary>
    /// <param name="partition">The partition name.</param>
    /// <param name="epoch">The epoch returned by <see cref="AcquireAsync"/>.</param>
    /// <param name="lastStreamSequence">The new last stream sequence (greater than the stored one).</param>
    /// <param name="processedDelta">Entries processed since the previous commit, ≥ 0.</param>
    /// <param name="alsoStore">Further writes on the commit's connection and transaction, or null.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when recorded; false when fenced (nothing written): the caller must stop working on the partition.</returns>
    /// <exception cref="DbException">When the database fails (nothing is written).</exception>
    public async Task<bool> CommitAsync(string partition, long epoch, long lastStreamSequence, long processedDelta, Func<DbConnection, DbTransaction, CancellationToken, Task>? alsoStore, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentOutOfRangeException.ThrowIfNegative(processedDelta);
        return await FencedAsync(
            "UPDATE monitor_partitions SET last_stream_sequence = @s, processed = processed + @d, updated_ms = @t WHERE partition_name = @p AND epoch = @e AND last_stream_sequence < @s",
            [("@p", partition), ("@e", epoch), ("@s", lastStreamSequence), ("@d", processedDelta), ("@t", _time.GetUtcNow().ToUnixTimeMilliseconds())],
            alsoStore,
            cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="alsoStore"/> in a transaction that also touches the partition's row, only while
    /// <paramref name="epoch"/> is current AND the stored progress is exactly <paramref name="lastStreamSequence"/> — the
    /// progress the writes reflect — without moving it (the aggregate partition stores its baseline's open days this way
    /// between batches and at a stop, so that a fenced owner stores nothing and the stored counts are never ahead of or
    /// behind the progress).
    /// </summary>
    /// <param name="partition">The partition name.</param>
    /// <param name="epoch">The epoch returned by <see cref="AcquireAsync"/>.</param>
    /// <param name="lastStreamSequence">The last stream sequence the caller committed (or acquired at).</param>
    /// <param name="alsoStore">The writes, on the transaction's connection and transaction.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when written; false when fenced or the progress differs (nothing written).</returns>
    /// <exception cref="DbException">When the database fails (nothing is written).</exception>
    public async Task<bool> StoreAtProgressAsync(string partition, long epoch, long lastStreamSequence, Func<DbConnection, DbTransaction, CancellationToken, Task> alsoStore, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(alsoStore);
        return await FencedAsync(
            "UPDATE monitor_partitions SET updated_ms = @t WHERE partition_name = @p AND epoch = @e AND last_stream_sequence = @s",
            [("@p", partition), ("@e", epoch), ("@s", lastStreamSequence), ("@t", _time.GetUtcNow().ToUnixTimeMilliseconds())],
            alsoStore,
            cancellationToken);
    }

    /// <summary>
    /// The fenced transaction of <see cref="CommitAsync(string, long, long, long, Func{DbConnection, DbTransaction, CancellationToken, Task}?, CancellationToken)"/>
    /// and <see cref="StoreAtProgressAsync"/>: in one transaction, runs <paramref name="fence"/> (an <c>UPDATE</c> of the
    /// partition's row whose <c>WHERE</c> names the epoch and the progress expected); when it changed exactly one row, runs
    /// <paramref name="alsoStore"/> (when given) on the same connection and transaction and commits; otherwise rolls back.
    /// </summary>
    /// <param name="fence">The fencing <c>UPDATE</c> (portable SQL, SQLite and PostgreSQL).</param>
    /// <param name="parameters">Its parameters.</param>
    /// <param name="alsoStore">Further writes, only when the fence held; or null.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when committed; false when the fence changed no row (nothing written).</returns>
    /// <exception cref="DbException">When the database fails (nothing is written).</exception>
    private async Task<bool> FencedAsync(string fence, (string Name, object? Value)[] parameters, Func<DbConnection, DbTransaction, CancellationToken, Task>? alsoStore, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var update = connection.Command(fence, parameters);
        update.Transaction = transaction;
        if (await update.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        if (alsoStore is not null)
        {
            await alsoStore(connection, transaction, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Whether <paramref name="epoch"/> is still the partition's epoch (checked before acting on a finding).</summary>
    /// <param name="partition">The partition name.</param>
    /// <param name="epoch">The epoch returned by <see cref="AcquireAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>True while no other worker has acquired the partition.</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public async Task<bool> IsCurrentAsync(string partition, long epoch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partition);
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var select = connection.Command("SELECT epoch FROM monitor_partitions WHERE partition_name = @p", ("@p", partition));
        return await select.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull && Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) == epoch;
    }

    /// <summary>The partition's last processed stream sequence; 0 when it never processed anything.</summary>
    /// <param name="partition">The partition name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The stream sequence (ledger sequence + 1).</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public async Task<long> GetLastStreamSequenceAsync(string partition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partition);
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var select = connection.Command("SELECT last_stream_sequence FROM monitor_partitions WHERE partition_name = @p", ("@p", partition));
        return await select.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>The last processed stream sequence of each of <paramref name="partitions"/>, in one query; 0 for a partition that never processed anything.</summary>
    /// <param name="partitions">1–8 partition names.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The stream sequences (ledger sequence + 1), in the order given.</returns>
    /// <exception cref="ArgumentException">When there are no names or more than 8.</exception>
    /// <exception cref="DbException">When the database fails.</exception>
    public async Task<long[]> GetLastStreamSequencesAsync(IReadOnlyList<string> partitions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        if (partitions.Count is < 1 or > 8)
        {
            throw new ArgumentException("Between 1 and 8 partitions.", nameof(partitions));
        }

        var names = string.Join(", ", Enumerable.Range(0, partitions.Count).Select(i => "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var select = connection.Command(
            $"SELECT partition_name, last_stream_sequence FROM monitor_partitions WHERE partition_name IN ({names})",
            [.. partitions.Select((p, i) => ("@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), (object?)p))]);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var result = new long[partitions.Count];
        while (await reader.ReadAsync(cancellationToken))
        {
            var name = reader.GetString(0);
            var value = reader.GetInt64(1);
            for (var i = 0; i < partitions.Count; i++)
            {
                if (string.Equals(partitions[i], name, StringComparison.Ordinal))
                {
                    result[i] = value;
                }
            }
        }

        return result;
    }

    /// <summary>Every partition's progress, ordered by name (partitions never acquired are absent).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The rows.</returns>
    /// <exception cref="DbException">When the database fails.</exception>
    public async Task<IReadOnlyList<PartitionProgress>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var select = connection.Command("SELECT partition_name, last_stream_sequence, processed, owner, epoch FROM monitor_partitions ORDER BY partition_name");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var rows = new List<PartitionProgress>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new PartitionProgress(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), reader.GetInt64(4)));
        }

        return rows;
    }
}
