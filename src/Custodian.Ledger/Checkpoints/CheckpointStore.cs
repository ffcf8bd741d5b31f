using System.Data.Common;
using System.Text;
using Custodian.Storage;

namespace Custodian.Ledger.Checkpoints;

/// <summary>
/// Tables of signed checkpoints, received cosignatures and configured witnesses
/// (docs/ledger-format.md, "Checkpoints"). <c>ledger_checkpoints</c>: one row per signed tree size
/// (root, signing time in Unix ms, the log-signed note). <c>ledger_cosignatures</c>: one row per
/// (tree size, witness key), the newest cosignature line. <c>ledger_witnesses</c>: the verifier keys
/// whose cosignatures the server accepts.
/// </summary>
public sealed class CheckpointMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new Migration(
            "checkpoint-001",
            """
            CREATE TABLE ledger_checkpoints (
                tree_size INTEGER PRIMARY KEY,
                root BLOB NOT NULL,
                time_ms INTEGER NOT NULL,
                note TEXT NOT NULL
            );
            CREATE TABLE ledger_cosignatures (
                tree_size INTEGER NOT NULL,
                witness TEXT NOT NULL,
                key_id INTEGER NOT NULL,
                timestamp_s INTEGER NOT NULL,
                line TEXT NOT NULL,
                received_ms INTEGER NOT NULL,
                PRIMARY KEY (tree_size, witness, key_id)
            );
            CREATE TABLE ledger_witnesses (
                name TEXT NOT NULL,
                key_id INTEGER NOT NULL,
                verifier_key TEXT NOT NULL,
                added_ms INTEGER NOT NULL,
                PRIMARY KEY (name, key_id)
            );
            """),
    ];
}

/// <summary>A stored checkpoint.</summary>
/// <param name="Size">Tree size.</param>
/// <param name="Root">32-byte root.</param>
/// <param name="Time">When the server signed it.</param>
/// <param name="Note">The log-signed note (without cosignatures).</param>
/// <param name="Cosignatures">Number of cosignatures held for it.</param>
public sealed record StoredCheckpoint(long Size, byte[] Root, DateTimeOffset Time, string Note, int Cosignatures);

/// <summary>Reads and writes the checkpoint tables. Thread-safe; every call opens its own connection.</summary>
/// <param name="db">The database.</param>
public sealed class CheckpointStore(CustodianDatabase db)
{
    private const string Columns = "c.tree_size, c.root, c.time_ms, c.note, (SELECT COUNT(*) FROM ledger_cosignatures s WHERE s.tree_size = c.tree_size)";

    /// <summary>Stores a newly signed checkpoint; a second one for the same size is ignored.</summary>
    /// <param name="checkpoint">The body.</param>
    /// <param name="note">The log-signed note text.</param>
    /// <param name="time">Signing time.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when stored, false when the size already had one.</returns>
    public async Task<bool> AddAsync(Checkpoint checkpoint, string note, DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "INSERT INTO ledger_checkpoints (tree_size, root, time_ms, note) VALUES (@size, @root, @time, @note) ON CONFLICT (tree_size) DO NOTHING",
            ("@size", checkpoint.Size),
            ("@root", checkpoint.Root),
            ("@time", time.ToUnixTimeMilliseconds()),
            ("@note", note));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>The checkpoint of the largest size, or null when none was signed.</summary>
    /// <param name="minimumCosignatures">Only checkpoints holding at least this many cosignatures (0 for any).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public Task<StoredCheckpoint?> GetLatestAsync(int minimumCosignatures = 0, CancellationToken cancellationToken = default) =>
        QuerySingleAsync(
            $"SELECT {Columns} FROM ledger_checkpoints c WHERE (SELECT COUNT(*) FROM ledger_cosignatures s WHERE s.tree_size = c.tree_size) >= @min ORDER BY c.tree_size DESC LIMIT 1",
            cancellationToken,
            ("@min", minimumCosignatures));

    /// <summary>The checkpoint of exactly <paramref name="size"/>, or null.</summary>
    /// <param name="size">Tree size.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public Task<StoredCheckpoint?> GetAsync(long size, CancellationToken cancellationToken = default) =>
        QuerySingleAsync($"SELECT {Columns} FROM ledger_checkpoints c WHERE c.tree_size = @size", cancellationToken, ("@size", size));

    /// <summary>
    /// The checkpoint a receipt for <paramref name="sequence"/> uses: the newest cosigned checkpoint whose
    /// size exceeds the sequence, else the newest log-signed one; null when none covers it yet.
    /// </summary>
    /// <param name="sequence">The entry's sequence.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<StoredCheckpoint?> GetCoveringAsync(long sequence, CancellationToken cancellationToken = default) =>
        await GetLatestAsync(1, cancellationToken) is { } cosigned && cosigned.Size > sequence
            ? cosigned
            : await GetLatestAsync(0, cancellationToken) is { } latest && latest.Size > sequence ? latest : null;

    /// <summary>All stored checkpoints with size ≤ <paramref name="maxSize"/>, smallest first.</summary>
    /// <param name="maxSize">Largest size wanted.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<IReadOnlyList<StoredCheckpoint>> ListAsync(long maxSize, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {Columns} FROM ledger_checkpoints c WHERE c.tree_size <= @max ORDER BY c.tree_size", ("@max", maxSize));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<StoredCheckpoint>();
        while (await reader.ReadAsync(cancellationToken))
        {
            if (Read(reader) is { } c)
            {
                list.Add(c);
            }
        }

        return list;
    }

    /// <summary>The checkpoint note with every cosignature line held for its size appended (witness name order).</summary>
    /// <param name="checkpoint">A stored checkpoint.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The full signed note text.</returns>
    public async Task<string> ComposeAsync(StoredCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var builder = new StringBuilder(checkpoint.Note);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT line FROM ledger_cosignatures WHERE tree_size = @size ORDER BY witness, key_id", ("@size", checkpoint.Size));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            builder.Append(reader.GetString(0)).Append('\n');
        }

        return builder.ToString();
    }

    /// <summary>Stores a verified cosignature, replacing an older one of the same witness key for the same size.</summary>
    /// <param name="size">Tree size cosigned.</param>
    /// <param name="signature">The verified signature line.</param>
    /// <param name="timestamp">Its timestamp, POSIX seconds.</param>
    /// <param name="received">When the server received it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task AddCosignatureAsync(long size, NoteSignature signature, long timestamp, DateTimeOffset received, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signature);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            INSERT INTO ledger_cosignatures (tree_size, witness, key_id, timestamp_s, line, received_ms) VALUES (@size, @witness, @id, @ts, @line, @received)
            ON CONFLICT (tree_size, witness, key_id) DO UPDATE SET timestamp_s = excluded.timestamp_s, line = excluded.line, received_ms = excluded.received_ms
            WHERE excluded.timestamp_s > ledger_cosignatures.timestamp_s
            """,
            ("@size", size),
            ("@witness", signature.KeyName),
            ("@id", (long)signature.KeyId),
            ("@ts", timestamp),
            ("@line", signature.Line),
            ("@received", received.ToUnixTimeMilliseconds()));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Adds (or keeps) a witness whose cosignatures the server accepts.</summary>
    /// <param name="key">The witness's verifier key (algorithm 0x04).</param>
    /// <param name="time">When it was added.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when added, false when it was already there.</returns>
    public async Task<bool> AddWitnessAsync(NoteVerifierKey key, DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "INSERT INTO ledger_witnesses (name, key_id, verifier_key, added_ms) VALUES (@name, @id, @key, @time) ON CONFLICT (name, key_id) DO NOTHING",
            ("@name", key.KeyName),
            ("@id", (long)key.KeyId),
            ("@key", key.ToString()),
            ("@time", time.ToUnixTimeMilliseconds()));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Removes exactly the configured witness key <paramref name="key"/>: name, key ID and the whole verifier key must
    /// match, so another key of the same name (a rotated key) or a key sharing a prefix stays configured.
    /// </summary>
    /// <param name="key">The witness's full verifier key, as added.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when the key was configured and is removed; false when it was not configured.</returns>
    public async Task<bool> RemoveWitnessAsync(NoteVerifierKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "DELETE FROM ledger_witnesses WHERE name = @name AND key_id = @id AND verifier_key = @key",
            ("@name", key.KeyName),
            ("@id", (long)key.KeyId),
            ("@key", key.ToString()));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>The configured witnesses' verifier keys, by name.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<IReadOnlyList<NoteVerifierKey>> ListWitnessesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT verifier_key FROM ledger_witnesses ORDER BY name, key_id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<NoteVerifierKey>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = NoteVerifierKey.Parse(reader.GetString(0));
            if (key.IsSuccess)
            {
                list.Add(key.Value);
            }
        }

        return list;
    }

    private static StoredCheckpoint? Read(DbDataReader reader) =>
        reader.GetValue(1) is byte[] root && reader.GetValue(3) is string note
            ? new StoredCheckpoint(reader.GetInt64(0), root, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), note, reader.GetInt32(4))
            : null;

    private async Task<StoredCheckpoint?> QuerySingleAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }
}
