using System.Globalization;
using Custodian.Storage;

namespace Custodian.Siem.Export;

/// <summary>A destination's cursor.</summary>
/// <param name="Sink">The destination (<see cref="ISiemSink.Id"/>).</param>
/// <param name="NextSequence">The next ledger sequence to send; every lower one has been delivered at least once.</param>
/// <param name="Exported">Events sent to this destination in total (skipped tasks not counted; resent batches counted again).</param>
/// <param name="UpdatedAt">When the cursor last advanced (UTC, millisecond precision).</param>
public sealed record SiemCursor(string Sink, long NextSequence, long Exported, DateTimeOffset UpdatedAt);

/// <summary>
/// Persists export cursors in <c>siem_cursors</c> (<see cref="SiemMigrations"/>). A cursor only moves forward:
/// an advance to a lower sequence than the stored one is ignored, so two exporters racing on one destination
/// can resend but never skip. Thread-safe; each call opens its own pooled connection.
/// </summary>
/// <param name="db">The database; <see cref="SiemMigrations"/> must have been applied.</param>
/// <param name="time">Clock for <see cref="SiemCursor.UpdatedAt"/>.</param>
public sealed class SiemCursorStore(CustodianDatabase db, TimeProvider time)
{
    /// <summary>Longest destination ID stored, in characters.</summary>
    public const int MaxSinkLength = 200;

    private readonly CustodianDatabase _db = db ?? throw new ArgumentNullException(nameof(db));
    private readonly TimeProvider _time = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>The next sequence to send to <paramref name="sink"/>: 0 when it has no cursor yet.</summary>
    public async Task<long> GetNextAsync(string sink, CancellationToken cancellationToken = default)
    {
        Check(sink);
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT next_seq FROM siem_cursors WHERE sink = @sink", ("@sink", sink));
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? 0 : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    /// <summary>Moves <paramref name="sink"/>'s cursor to <paramref name="nextSequence"/> (never backwards) and adds <paramref name="exported"/> to its count.</summary>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="nextSequence"/> or <paramref name="exported"/> is negative.</exception>
    public async Task AdvanceAsync(string sink, long nextSequence, long exported, CancellationToken cancellationToken = default)
    {
        Check(sink);
        ArgumentOutOfRangeException.ThrowIfNegative(nextSequence);
        ArgumentOutOfRangeException.ThrowIfNegative(exported);
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var upsert = connection.Command(
            "INSERT INTO siem_cursors (sink, next_seq, exported, updated_ms) VALUES (@sink, @next, @exported, @now) "
            + "ON CONFLICT (sink) DO UPDATE SET next_seq = CASE WHEN excluded.next_seq > siem_cursors.next_seq THEN excluded.next_seq ELSE siem_cursors.next_seq END, " // portable: scalar MAX(a, b) is SQLite-only
            + "exported = siem_cursors.exported + excluded.exported, updated_ms = excluded.updated_ms",
            ("@sink", sink),
            ("@next", nextSequence),
            ("@exported", exported),
            ("@now", _time.GetUtcNow().ToUnixTimeMilliseconds()));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every cursor, ordered by destination.</summary>
    public async Task<IReadOnlyList<SiemCursor>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT sink, next_seq, exported, updated_ms FROM siem_cursors ORDER BY sink");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<SiemCursor>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new SiemCursor(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        }

        return list;
    }

    private static void Check(string sink)
    {
        ArgumentException.ThrowIfNullOrEmpty(sink);
        if (sink.Length > MaxSinkLength)
        {
            throw new ArgumentException($"The sink ID must be at most {MaxSinkLength} characters.", nameof(sink));
        }
    }
}
