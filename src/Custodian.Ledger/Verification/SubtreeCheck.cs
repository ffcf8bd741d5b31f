using System.Data.Common;
using System.Security.Cryptography;

namespace Custodian.Ledger;

/// <summary>
/// The verifier's check of <c>ledger_subtrees</c> (docs/ledger-format.md §5, §15): the stored subtree
/// hashes, read in the order the leaves complete them, must be exactly the subtrees of levels 4, 8,
/// 12, … that the recomputed tree completes — same level, index and hash, none missing, none extra.
/// Records the first disagreement as a position (the first leaf the bad subtree covers); the
/// verifier decides when to report it. Not thread-safe.
/// </summary>
internal sealed class SubtreeCheck
{
    /// <summary>
    /// Stored rows in completion order: a node (level, idx) is complete once (idx + 1) · 2^level leaves exist; smaller
    /// levels first. Portable: PostgreSQL shifts a BIGINT only by an INTEGER, and raises an error where SQLite computes
    /// something, so a row outside the ranges the ledger writes (level 1–62, 0 ≤ idx &lt; 2^62) sorts first, as −1,
    /// where the check reports it instead of the query failing.
    /// </summary>
    public const string Query = "SELECT level, idx, hash FROM ledger_subtrees ORDER BY CASE WHEN level BETWEEN 1 AND 62 AND idx >= 0 AND idx < 4611686018427387904 THEN (idx + 1) << CAST(level AS INTEGER) ELSE -1 END, level";

    private readonly DbDataReader _stored;
    private bool _hasRow;

    private SubtreeCheck(DbDataReader stored, bool hasRow)
    {
        _stored = stored;
        _hasRow = hasRow;
        OnCompleted = Expect;
    }

    /// <summary>Position of the first disagreement (the first leaf covered by the bad subtree); null while all agree.</summary>
    public long? FirstBad { get; private set; }

    /// <summary>The callback to pass to <see cref="CompactRange.Append(ReadOnlySpan{byte}, SubtreeCompleted?)"/>.</summary>
    public SubtreeCompleted OnCompleted { get; }

    /// <summary>Starts the check over a reader of <see cref="Query"/>.</summary>
    public static async Task<SubtreeCheck> StartAsync(DbDataReader stored, CancellationToken cancellationToken) =>
        new(stored, await stored.ReadAsync(cancellationToken));

    /// <summary>After the last entry: stored rows that no complete subtree accounts for are extra.</summary>
    public void Finish()
    {
        if (FirstBad is null && _hasRow)
        {
            FirstBad = StoredPosition();
        }
    }

    private void Expect(int height, long index, ReadOnlySpan<byte> hash)
    {
        if (FirstBad is not null || height % TiledRangeRoots.LedgerStride != 0)
        {
            return;
        }

        if (!_hasRow)
        {
            FirstBad = index << height; // missing row
            return;
        }

        // Columns are dynamically typed: a forged row may hold anything.
        if (_stored.GetValue(0) is not long level || _stored.GetValue(1) is not long idx || level is < 1 or > 62 || idx < 0 || idx >= (long.MaxValue >> (int)level))
        {
            FirstBad = Math.Min(index << height, StoredPosition());
            return;
        }

        // A stored row that completes before this subtree was never produced by the tree: extra.
        var storedKey = (idx + 1) << (int)level;
        var computedKey = (index + 1) << height;
        if (storedKey < computedKey || (storedKey == computedKey && level < height))
        {
            FirstBad = StoredPosition();
            return;
        }

        if (level != height || idx != index)
        {
            FirstBad = index << height; // missing row
            return;
        }

        if (_stored.GetValue(2) is not byte[] stored || !CryptographicOperations.FixedTimeEquals(stored, hash))
        {
            FirstBad = index << height; // wrong hash
            return;
        }

        _hasRow = _stored.Read();
    }

    private long StoredPosition() =>
        _stored.GetValue(0) is long level && _stored.GetValue(1) is long idx && level is >= 1 and <= 62 && idx >= 0 && idx < (long.MaxValue >> (int)level)
            ? idx << (int)level
            : 0;
}
