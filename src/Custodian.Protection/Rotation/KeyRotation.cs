using System.Data.Common;
using System.Globalization;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Protection.Subscribers;
using Custodian.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Protection.Rotation;

/// <summary>
/// Key rotation without downtime, over the <c>subscribers</c> table.
/// <list type="number">
/// <item><b>Data keys.</b> <see cref="ProtectionKeyring.RotateDataKey()"/> makes a new data key current
/// for new writes. <see cref="ReencryptAsync"/> then rewrites every row still under an older key, in
/// batches of <see cref="BatchSize"/> rows, each batch one transaction that also stores the job's
/// checkpoint (last subscriber id done) in <c>protection_jobs</c>: a job killed at any point resumes
/// after the last committed batch, and rewriting is idempotent. Each row is replaced only if it is
/// unchanged since it was read (optimistic check), with all four fields in one statement, so a
/// concurrent reader always sees a whole row under one key; readers in other processes learn the new
/// key through <see cref="ProtectionKeyring.Refresh"/>. When no row uses an older data key, the key
/// is retired (<see cref="RetireUnusedDataKeysAsync"/>). Ciphertext columns of other tables registered as
/// <see cref="SealedColumn"/>s (the SMS outbox's bodies) are re-encrypted after the subscribers, and counted before a key
/// is retired, so no row of theirs is left under a retired key.</item>
/// <item><b>Blind-index key.</b> <see cref="ProtectionKeyring.BeginBlindIndexRotation()"/> adds a
/// pending index key; <see cref="RebuildBlindIndexAsync"/> fills <c>phone_index_next</c> and
/// <c>rrn_index_next</c> under it in the background while searches consult both columns under both
/// keys, then promotes the new columns in one transaction and completes the rotation. Search never
/// misses a subscriber in between.</item>
/// </list>
/// Decrypts only inside Protection, to re-encrypt or re-index; nothing is logged but counts and key ids.
/// One job of each kind at a time (a second concurrent run is harmless but wasteful).
/// </summary>
public sealed partial class KeyRotation
{
    /// <summary>Rows per re-encryption or re-indexing transaction.</summary>
    public const int BatchSize = 500;

    /// <summary>Name of the re-encryption job's row in <c>protection_jobs</c>.</summary>
    public const string ReencryptJobName = "reencrypt";

    /// <summary>
    /// How long the keyring changes of <see cref="ReencryptAsync"/>, <see cref="RetireUnusedDataKeysAsync"/> and
    /// <see cref="RebuildBlindIndexAsync"/> (retiring data keys, completing an index rotation) wait for the cross-process
    /// keyring lock that a backup or a CA rotation may hold; then they fail with an <see cref="IOException"/> naming the wait
    /// (<see cref="ProtectionKeyring.WithLockAsync{T}(Func{Task{T}}, TimeSpan)"/>), that key unchanged.
    /// </summary>
    /// <value>More than zero, at most one hour (<c>custodian keys reencrypt --lock-timeout</c>, whole seconds). The default is
    /// <see cref="ProtectionKeyring.DefaultLockTimeout"/> (30 seconds).</value>
    /// <exception cref="ArgumentOutOfRangeException">Set to zero, a negative span or more than one hour.</exception>
    public TimeSpan KeyringLockTimeout
    {
        get => _keyringLockTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, TimeSpan.FromHours(1));
            _keyringLockTimeout = value;
        }
    }

    private TimeSpan _keyringLockTimeout = ProtectionKeyring.DefaultLockTimeout;
    private readonly CustodianDatabase _database;
    private readonly ProtectionKeyring _keys;
    private readonly FieldCipher _cipher;
    private readonly BlindIndex _index;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SealedColumn[] _sealed;

    /// <summary>Creates the rotation service.</summary>
    /// <param name="database">The database (migrated with <see cref="ProtectionMigrations"/>, and with the tables of <paramref name="sealedColumns"/>).</param>
    /// <param name="keys">The keyring.</param>
    /// <param name="time">Clock for job stamps and the retire grace period.</param>
    /// <param name="logger">Optional logger (events 3301–3309); counts and key ids only.</param>
    /// <param name="sealedColumns">Ciphertext columns outside <c>subscribers</c> to re-encrypt and count (the service
    /// container's registered ones; none by default).</param>
    public KeyRotation(CustodianDatabase database, ProtectionKeyring keys, TimeProvider time, ILogger<KeyRotation>? logger = null, IEnumerable<SealedColumn>? sealedColumns = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(time);
        _database = database;
        _keys = keys;
        _cipher = new FieldCipher(keys);
        _index = new BlindIndex(keys);
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _sealed = sealedColumns?.ToArray() ?? [];
    }

    /// <summary>
    /// Counts subscriber rows per data key id, read from the ciphertext headers (no decryption). A row
    /// counts once for each distinct key among its four fields (normally one).
    /// </summary>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>Key id → rows, ascending by key id; keys without rows are absent.</returns>
    public async Task<IReadOnlyDictionary<uint, long>> CountRowsByKeyAsync(CancellationToken cancellationToken = default)
    {
        var counts = new SortedDictionary<uint, long>();
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT name_ct, rrn_ct, phone_ct, address_ct FROM subscribers");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new uint[4];
        while (await reader.ReadAsync(cancellationToken))
        {
            for (var i = 0; i < 4; i++)
            {
                ids[i] = FieldCipher.KeyIdOf((byte[])reader.GetValue(i));
            }

            for (var i = 0; i < 4; i++)
            {
                if (Array.IndexOf(ids, ids[i], 0, i) < 0)
                {
                    counts[ids[i]] = counts.GetValueOrDefault(ids[i]) + 1;
                }
            }
        }

        return counts;
    }

    /// <summary>Rows whose index under the pending blind-index key is filled, and all rows.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>(rows indexed under the pending key, total rows); the first is 0 when no index rotation is in progress.</returns>
    public async Task<(long Indexed, long Total)> CountBlindIndexProgressAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COUNT(phone_index_next), COUNT(*) FROM subscribers");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>
    /// Rewrites every row not under the current data key (resuming a checkpointed run), then retires
    /// data keys no row uses. Safe to run while the server reads and writes; safe to kill and rerun.
    /// </summary>
    /// <param name="progress">Receives (rows examined, total rows) after each batch.</param>
    /// <param name="cancellationToken">Stops after the current batch's commit (the checkpoint stays; rerun to resume).</param>
    /// <returns>What was done.</returns>
    /// <exception cref="OperationCanceledException">When cancelled.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">When a stored field fails authentication (tampered or under a key the keyring no longer holds).</exception>
    public async Task<ReencryptionReport> ReencryptAsync(IProgress<RotationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        _keys.Refresh();
        var target = _keys.CurrentDataKeyId;
        long rewritten = 0;
        var total = await CountAsync(cancellationToken);
        var (cursor, done, resumed) = await LoadCheckpointAsync(target, cancellationToken);
        Log.ReencryptionStarted(_logger, target, resumed, done);
        while (true)
        {
            var batch = await ReadBatchAsync(cursor, cancellationToken);
            if (batch.Count == 0)
            {
                break;
            }

            var updates = new List<(StoredRow Old, byte[][] New)>();
            foreach (var row in batch)
            {
                if (row.Fields.Any(f => FieldCipher.KeyIdOf(f) != target))
                {
                    updates.Add((row, Reencrypt(row)));
                }
            }

            cursor = batch[^1].Id;
            done += batch.Count;
            rewritten += await CommitBatchAsync(updates, cursor, target, done, cancellationToken);
            progress?.Report(new RotationProgress(done, Math.Max(total, done)));
            cancellationToken.ThrowIfCancellationRequested();
            if (_keys.CurrentDataKeyId != target)
            {
                // Rotated again meanwhile: the rows before the cursor stay on the older target; restart for the new one.
                _keys.Refresh();
                target = _keys.CurrentDataKeyId;
                cursor = 0;
                done = 0;
            }
        }

        foreach (var column in _sealed)
        {
            await ReencryptSealedColumnAsync(column, cancellationToken);
        }

        await DeleteCheckpointAsync(cancellationToken);
        var retired = await RetireUnusedDataKeysAsync(cancellationToken);
        Log.ReencryptionFinished(_logger, target, rewritten, retired.Count);
        return new ReencryptionReport(target, done, rewritten, resumed, retired);
    }

    /// <summary>
    /// Retires every data key other than the current one that no row uses. Waits first until the current
    /// key has been current for twice <see cref="ProtectionKeyring.RefreshInterval"/>, so every process
    /// sharing the keyring has stopped encrypting under older keys; the count then runs inside a write
    /// transaction so a concurrent import either committed before it (and is counted) or starts after.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait and the count.</param>
    /// <returns>The retired key ids, ascending (empty when none could be retired).</returns>
    public async Task<IReadOnlyList<uint>> RetireUnusedDataKeysAsync(CancellationToken cancellationToken = default)
    {
        _keys.Refresh();
        if (_keys.DataKeyIds.All(id => id == _keys.CurrentDataKeyId))
        {
            return [];
        }

        var current = _keys.Entries.Single(e => e.Id == _keys.CurrentDataKeyId);
        var settled = current.CreatedAt + (2 * ProtectionKeyring.RefreshInterval);
        var wait = settled - _time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken);
        }

        var retired = new List<uint>();
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // A write first, so that this transaction holds the write lock while it counts and retires.
        await using (var touch = connection.Command("DELETE FROM protection_jobs WHERE name = @name", ("@name", "retire-lock")))
        {
            touch.Transaction = transaction;
            await touch.ExecuteNonQueryAsync(cancellationToken);
        }

        var used = new HashSet<uint>();
        await using (var scan = connection.Command("SELECT name_ct, rrn_ct, phone_ct, address_ct FROM subscribers"))
        {
            scan.Transaction = transaction;
            await using var reader = await scan.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                for (var i = 0; i < 4; i++)
                {
                    used.Add(FieldCipher.KeyIdOf((byte[])reader.GetValue(i)));
                }
            }
        }

        foreach (var column in _sealed)
        {
            await using var scan = connection.Command($"SELECT {column.CiphertextColumn} FROM {column.Table}");
            scan.Transaction = transaction;
            await using var reader = await scan.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                used.Add(FieldCipher.KeyIdOf((byte[])reader.GetValue(0)));
            }
        }

        foreach (var id in _keys.DataKeyIds.Where(id => id != _keys.CurrentDataKeyId && !used.Contains(id)).ToList())
        {
            if (_keys.RetireDataKey(id, KeyringLockTimeout))
            {
                retired.Add(id);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return retired;
    }

    /// <summary>
    /// Rebuilds the blind index under the pending index key (see <see cref="ProtectionKeyring.BeginBlindIndexRotation()"/>):
    /// fills <c>phone_index_next</c>/<c>rrn_index_next</c> batch by batch (resumable: rows already filled
    /// are skipped), promotes them to <c>phone_index</c>/<c>rrn_index</c> in one transaction once every row
    /// is filled, and completes the keyring rotation. Searches find every subscriber throughout.
    /// </summary>
    /// <param name="progress">Receives (rows indexed, total rows) after each batch.</param>
    /// <param name="cancellationToken">Stops after the current batch (rerun to resume).</param>
    /// <returns>The rows indexed by this run, or null when no index rotation was pending.</returns>
    /// <exception cref="OperationCanceledException">When cancelled.</exception>
    public async Task<long?> RebuildBlindIndexAsync(IProgress<RotationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        _keys.Refresh();
        if (_keys.PendingIndexKey is not { } pending)
        {
            return null;
        }

        Log.IndexRebuildStarted(_logger, pending.Id);
        long indexed = 0;
        while (true)
        {
            var (filled, total) = await CountBlindIndexProgressAsync(cancellationToken);
            progress?.Report(new RotationProgress(filled, total));
            var batch = await ReadUnindexedBatchAsync(cancellationToken);
            if (batch.Count == 0)
            {
                if (await TryPromoteAsync(cancellationToken))
                {
                    break;
                }

                continue;
            }

            indexed += await IndexBatchAsync(batch, pending, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
        }

        _keys.CompleteBlindIndexRotation(KeyringLockTimeout);
        var (_, rows) = await CountBlindIndexProgressAsync(cancellationToken);
        progress?.Report(new RotationProgress(rows, rows));
        Log.IndexRebuildFinished(_logger, pending.Id, indexed);
        return indexed;
    }

    private byte[][] Reencrypt(StoredRow row)
    {
        var id = new SubscriberId(row.Id);
        var result = new byte[4][];
        for (var i = 0; i < 4; i++)
        {
            var plain = _cipher.Decrypt(id, FieldNames[i], row.Fields[i]);
            try
            {
                result[i] = _cipher.Encrypt(id, FieldNames[i], plain);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(plain);
            }
        }

        return result;
    }

    /// <summary>
    /// Rewrites the rows of <paramref name="column"/> not under the current data key, in batches of <see cref="BatchSize"/> by
    /// key order, each batch one transaction; a row changed since it was read is left (a later run rewrites it). No
    /// checkpoint: a rerun scans the column again, skipping rows already under the current key.
    /// </summary>
    private async Task ReencryptSealedColumnAsync(SealedColumn column, CancellationToken cancellationToken)
    {
        var cursor = string.Empty;
        while (true)
        {
            var target = _keys.CurrentDataKeyId;
            var updates = new List<(string Key, byte[] Old, byte[] New)>();
            var read = 0;
            await using (var connection = await _database.OpenAsync(cancellationToken))
            await using (var command = connection.Command(
                $"SELECT {column.KeyColumn}, {column.SubscriberColumn}, {column.CiphertextColumn} FROM {column.Table} WHERE {column.KeyColumn} > @cursor ORDER BY {column.KeyColumn} LIMIT @limit",
                ("@cursor", cursor),
                ("@limit", BatchSize)))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    read++;
                    cursor = reader.GetString(0);
                    var old = (byte[])reader.GetValue(2);
                    if (FieldCipher.KeyIdOf(old) == target)
                    {
                        continue;
                    }

                    var id = new SubscriberId(reader.GetInt64(1));
                    var field = column.FieldName(cursor);
                    var plain = _cipher.Decrypt(id, field, old);
                    try
                    {
                        updates.Add((cursor, old, _cipher.Encrypt(id, field, plain)));
                    }
                    finally
                    {
                        System.Security.Cryptography.CryptographicOperations.ZeroMemory(plain);
                    }
                }
            }

            if (updates.Count > 0)
            {
                await using var connection = await _database.OpenAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
                foreach (var (key, old, fresh) in updates)
                {
                    await using var update = connection.Command(
                        $"UPDATE {column.Table} SET {column.CiphertextColumn} = @new WHERE {column.KeyColumn} = @key AND {column.CiphertextColumn} = @old",
                        ("@new", fresh),
                        ("@key", key),
                        ("@old", old));
                    update.Transaction = transaction;
                    await update.ExecuteNonQueryAsync(CancellationToken.None);
                }

                await transaction.CommitAsync(CancellationToken.None);
            }

            if (read < BatchSize)
            {
                return;
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private static readonly string[] FieldNames = [SubscriberFields.Name, SubscriberFields.Rrn, SubscriberFields.Phone, SubscriberFields.Address];

    private async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COUNT(*) FROM subscribers");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private async Task<(long Cursor, long Done, bool Resumed)> LoadCheckpointAsync(uint target, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT cursor_id, target_key_id, rows_done FROM protection_jobs WHERE name = @name", ("@name", ReencryptJobName));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken) && reader.GetInt64(1) == target)
        {
            return (reader.GetInt64(0), reader.GetInt64(2), true);
        }

        return (0, 0, false);
    }

    private async Task DeleteCheckpointAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("DELETE FROM protection_jobs WHERE name = @name", ("@name", ReencryptJobName));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<List<StoredRow>> ReadBatchAsync(long cursor, CancellationToken cancellationToken)
    {
        var rows = new List<StoredRow>(BatchSize);
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT id, name_ct, rrn_ct, phone_ct, address_ct FROM subscribers WHERE id > @cursor ORDER BY id LIMIT @limit",
            ("@cursor", cursor),
            ("@limit", BatchSize));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new StoredRow(reader.GetInt64(0), [(byte[])reader.GetValue(1), (byte[])reader.GetValue(2), (byte[])reader.GetValue(3), (byte[])reader.GetValue(4)]));
        }

        return rows;
    }

    private async Task<long> CommitBatchAsync(List<(StoredRow Old, byte[][] New)> updates, long cursor, uint target, long done, CancellationToken cancellationToken)
    {
        long changed = 0;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
        foreach (var (old, fresh) in updates)
        {
            await using var update = connection.Command(
                "UPDATE subscribers SET name_ct = @name, rrn_ct = @rrn, phone_ct = @phone, address_ct = @address " +
                "WHERE id = @id AND name_ct = @old_name AND rrn_ct = @old_rrn AND phone_ct = @old_phone AND address_ct = @old_address",
                ("@name", fresh[0]),
                ("@rrn", fresh[1]),
                ("@phone", fresh[2]),
                ("@address", fresh[3]),
                ("@id", old.Id),
                ("@old_name", old.Fields[0]),
                ("@old_rrn", old.Fields[1]),
                ("@old_phone", old.Fields[2]),
                ("@old_address", old.Fields[3]));
            update.Transaction = transaction;
            changed += await update.ExecuteNonQueryAsync(CancellationToken.None);
        }

        await using (var checkpoint = connection.Command(
            "INSERT INTO protection_jobs (name, cursor_id, target_key_id, rows_done, started_at, updated_at) VALUES (@name, @cursor, @target, @done, @now, @now) " +
            "ON CONFLICT (name) DO UPDATE SET cursor_id = excluded.cursor_id, target_key_id = excluded.target_key_id, rows_done = excluded.rows_done, updated_at = excluded.updated_at",
            ("@name", ReencryptJobName),
            ("@cursor", cursor),
            ("@target", (long)target),
            ("@done", done),
            ("@now", now)))
        {
            checkpoint.Transaction = transaction;
            await checkpoint.ExecuteNonQueryAsync(CancellationToken.None);
        }

        await transaction.CommitAsync(CancellationToken.None);
        return changed;
    }

    private async Task<List<StoredRow>> ReadUnindexedBatchAsync(CancellationToken cancellationToken)
    {
        var rows = new List<StoredRow>(BatchSize);
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT id, rrn_ct, phone_ct FROM subscribers WHERE phone_index_next IS NULL ORDER BY id LIMIT @limit",
            ("@limit", BatchSize));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new StoredRow(reader.GetInt64(0), [(byte[])reader.GetValue(1), (byte[])reader.GetValue(2)]));
        }

        return rows;
    }

    private async Task<long> IndexBatchAsync(List<StoredRow> batch, IndexKey pending, CancellationToken cancellationToken)
    {
        long changed = 0;
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
        foreach (var row in batch)
        {
            var id = new SubscriberId(row.Id);
            var rrn = _cipher.DecryptString(id, SubscriberFields.Rrn, row.Fields[0]);
            var phone = _cipher.DecryptString(id, SubscriberFields.Phone, row.Fields[1]);
            await using var update = connection.Command(
                "UPDATE subscribers SET phone_index_next = @phone, rrn_index_next = @rrn WHERE id = @id AND phone_index_next IS NULL",
                ("@phone", _index.ForPhone(phone, pending)),
                ("@rrn", _index.ForRrn(rrn, pending)),
                ("@id", row.Id));
            update.Transaction = transaction;
            changed += await update.ExecuteNonQueryAsync(CancellationToken.None);
        }

        await transaction.CommitAsync(CancellationToken.None);
        return changed;
    }

    /// <summary>Promotes the next-index columns when every row has them; false when a row was added meanwhile without one.</summary>
    private async Task<bool> TryPromoteAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var touch = connection.Command("DELETE FROM protection_jobs WHERE name = @name", ("@name", "index-promote-lock")))
        {
            touch.Transaction = transaction;
            await touch.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var check = connection.Command("SELECT COUNT(*) FROM subscribers WHERE phone_index_next IS NULL OR rrn_index_next IS NULL"))
        {
            check.Transaction = transaction;
            if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }
        }

        await using (var promote = connection.Command(
            "UPDATE subscribers SET phone_index = phone_index_next, rrn_index = rrn_index_next, phone_index_next = NULL, rrn_index_next = NULL"))
        {
            promote.Transaction = transaction;
            await promote.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private sealed record StoredRow(long Id, byte[][] Fields);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Re-encryption to data key {DataKeyId} started (resumed: {Resumed}, rows already done: {RowsDone}).")]
        public static partial void ReencryptionStarted(ILogger logger, uint dataKeyId, bool resumed, long rowsDone);

        [LoggerMessage(EventId = 3302, Level = LogLevel.Information, Message = "Re-encryption to data key {DataKeyId} finished: {RowsRewritten} rows rewritten, {KeysRetired} keys retired.")]
        public static partial void ReencryptionFinished(ILogger logger, uint dataKeyId, long rowsRewritten, int keysRetired);

        [LoggerMessage(EventId = 3303, Level = LogLevel.Information, Message = "Blind-index rebuild under key {BlindIndexKeyId} started.")]
        public static partial void IndexRebuildStarted(ILogger logger, uint blindIndexKeyId);

        [LoggerMessage(EventId = 3304, Level = LogLevel.Information, Message = "Blind-index rebuild under key {BlindIndexKeyId} finished: {RowsIndexed} rows indexed by this run; the key is current.")]
        public static partial void IndexRebuildFinished(ILogger logger, uint blindIndexKeyId, long rowsIndexed);
    }
}

/// <summary>Progress of a rotation job.</summary>
/// <param name="RowsDone">Rows examined (re-encryption) or indexed under the pending key (index rebuild).</param>
/// <param name="RowsTotal">Rows in the table when last counted.</param>
public readonly record struct RotationProgress(long RowsDone, long RowsTotal);

/// <summary>The outcome of <see cref="KeyRotation.ReencryptAsync"/>.</summary>
/// <param name="TargetKeyId">The data key every row is now under.</param>
/// <param name="RowsExamined">Rows examined in this job (counting those examined before a resumed run's restart).</param>
/// <param name="RowsRewritten">Rows this run rewrote.</param>
/// <param name="Resumed">Whether this run resumed a checkpoint left by an interrupted run.</param>
/// <param name="RetiredKeyIds">Data keys retired at the end (no row used them).</param>
public sealed record ReencryptionReport(uint TargetKeyId, long RowsExamined, long RowsRewritten, bool Resumed, IReadOnlyList<uint> RetiredKeyIds);
