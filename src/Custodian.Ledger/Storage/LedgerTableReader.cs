using System.Data.Common;
using System.Runtime.CompilerServices;
using Custodian.Identity;
using Custodian.Storage;

namespace Custodian.Ledger;

/// <summary>
/// The read side of the ledger tables (<c>ledger_entries</c>, <c>ledger_subjects</c>, <c>ledger_tree_heads</c>;
/// docs/ledger-format.md), in SQL both backends run: shared by <see cref="SqliteAccessLedger"/> and
/// <see cref="Postgres.PostgresAccessLedger"/>, which differ only in how they write. Entries erased by retention
/// (docs/ledger-format.md §13) are never returned. Thread-safe; each page is its own short read.
/// </summary>
/// <param name="db">The database holding the ledger tables.</param>
internal sealed class LedgerTableReader(CustodianDatabase db)
{
    /// <summary>Entries per page: 1,024.</summary>
    private const long ReadPageSize = 1_024;

    /// <summary>The newest tree head; size 0 with root <c>SHA-256("")</c> and no time when the ledger is empty.</summary>
    public async Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT tree_size, root, time_ms FROM ledger_tree_heads ORDER BY tree_size DESC LIMIT 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new TreeHead(reader.GetInt64(0), (byte[])reader.GetValue(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)))
            : new TreeHead(0, MerkleTree.EmptyRoot, null);
    }

    /// <summary>Entries from <paramref name="fromSequence"/> on, in pages; entries committed meanwhile are included.</summary>
    /// <exception cref="FormatException">When a stored payload cannot be decoded.</exception>
    public IAsyncEnumerable<CommittedEntry> ReadAsync(long fromSequence, CancellationToken cancellationToken) =>
        ReadPagesAsync(Math.Max(0, fromSequence), null, cancellationToken);

    /// <summary>Entries recorded at or after <paramref name="since"/> (Unix milliseconds compared), in pages.</summary>
    /// <exception cref="FormatException">When a stored payload cannot be decoded.</exception>
    public async IAsyncEnumerable<CommittedEntry> ReadSinceAsync(DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var sinceMs = since.ToUnixTimeMilliseconds();
        long first;
        await using (var connection = await db.OpenAsync(cancellationToken))
        await using (var command = connection.Command("SELECT MIN(seq) FROM ledger_entries WHERE time_ms >= @since", ("@since", sinceMs)))
        {
            var value = await command.ExecuteScalarAsync(cancellationToken);
            if (value is null or DBNull)
            {
                yield break;
            }

            first = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
        }

        await foreach (var entry in ReadPagesAsync(first, sinceMs, cancellationToken))
        {
            yield return entry;
        }
    }

    /// <summary>
    /// The newest entries naming <paramref name="subject"/> before sequence <paramref name="before"/>, newest first, exact
    /// whatever the subject projection's lag (<see cref="LedgerSubjectIndex"/>): first the unprojected tail (sequence ≥ the
    /// watermark) decoded from <c>ledger_entries</c> newest first in pages of 1,024, stopping once <paramref name="limit"/>
    /// entries are found; then, for the rest, the <c>ledger_subjects</c> rows below the watermark. The tail costs one
    /// payload scan per unprojected entry (about one second of appends while <see cref="LedgerSubjectProjector"/> runs).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="limit"/> is outside 1–1000.</exception>
    /// <exception cref="FormatException">When a stored payload cannot be decoded.</exception>
    public async Task<IReadOnlyList<CommittedEntry>> ReadBySubjectAsync(SubscriberId subject, long? before, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1_000);
        var bound = before ?? long.MaxValue;
        long watermark;
        await using (var connection = await db.OpenAsync(cancellationToken))
        {
            watermark = await LedgerSubjectIndex.ReadWatermarkAsync(connection, null, cancellationToken);
        }

        var found = new List<CommittedEntry>();
        var upper = bound;
        while (upper > watermark && found.Count < limit)
        {
            var page = await ReadRawPageAsync(watermark, upper, cancellationToken);
            foreach (var (seq, payload, leafHash) in page)
            {
                if (found.Count < limit && LedgerSubjectIndex.Names(payload, subject.Value))
                {
                    found.Add(new CommittedEntry(seq, leafHash, LeafCodec.Decode(payload)));
                }
            }

            if (page.Count < ReadPageSize)
            {
                break;
            }

            upper = page[^1].Seq;
        }

        if (found.Count >= limit)
        {
            return found;
        }

        found.AddRange(await ReadPageAsync(
            """
            SELECT e.seq, e.payload, e.leaf_hash
            FROM ledger_subjects s JOIN ledger_entries e ON e.seq = s.seq
            WHERE s.subscriber_id = @subject AND s.seq < @before AND e.erased_by IS NULL
            ORDER BY s.seq DESC
            LIMIT @limit
            """,
            [("@subject", subject.Value), ("@before", Math.Min(bound, watermark)), ("@limit", (long)(limit - found.Count))],
            cancellationToken));
        return found;
    }

    // One page of the unprojected tail [from, upper), newest first, without decoding (erased entries skipped).
    private async Task<List<(long Seq, byte[] Payload, byte[] LeafHash)>> ReadRawPageAsync(long from, long upper, CancellationToken cancellationToken)
    {
        var page = new List<(long, byte[], byte[])>();
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT seq, payload, leaf_hash FROM ledger_entries WHERE seq >= @from AND seq < @upper AND erased_by IS NULL ORDER BY seq DESC LIMIT @limit",
            ("@from", from), ("@upper", upper), ("@limit", ReadPageSize));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (reader.GetValue(1) is not byte[] payload || reader.GetValue(2) is not byte[] leafHash)
            {
                throw new FormatException("A stored ledger entry has no payload or leaf hash.");
            }

            page.Add((reader.GetInt64(0), payload, leafHash));
        }

        return page;
    }

    // Pages from `next` on (and, with sinceMs, recorded at or after it), each its own read so a slow consumer holds no snapshot.
    private async IAsyncEnumerable<CommittedEntry> ReadPagesAsync(long next, long? sinceMs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var page = sinceMs is { } ms
                ? await ReadPageAsync(
                    "SELECT seq, payload, leaf_hash FROM ledger_entries WHERE seq >= @from AND time_ms >= @since AND erased_by IS NULL ORDER BY seq LIMIT @limit",
                    [("@from", next), ("@since", ms), ("@limit", ReadPageSize)],
                    cancellationToken)
                : await ReadPageAsync(
                    "SELECT seq, payload, leaf_hash FROM ledger_entries WHERE seq >= @from AND erased_by IS NULL ORDER BY seq LIMIT @limit",
                    [("@from", next), ("@limit", ReadPageSize)],
                    cancellationToken);
            foreach (var entry in page)
            {
                yield return entry;
            }

            if (page.Count < ReadPageSize)
            {
                yield break;
            }

            next = page[^1].Sequence + 1;
        }
    }

    private async Task<IReadOnlyList<CommittedEntry>> ReadPageAsync(string sql, (string, object?)[] parameters, CancellationToken cancellationToken)
    {
        var page = new List<CommittedEntry>();
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add(ReadEntry(reader));
        }

        return page;
    }

    private static CommittedEntry ReadEntry(DbDataReader reader)
    {
        if (reader.GetValue(1) is not byte[] payload || reader.GetValue(2) is not byte[] leafHash)
        {
            throw new FormatException("A stored ledger entry has no payload or leaf hash.");
        }

        return new CommittedEntry(reader.GetInt64(0), leafHash, LeafCodec.Decode(payload));
    }
}
