using System.Globalization;
using Custodian.Storage;

namespace Custodian.Ledger.Postgres;

/// <summary>
/// <see cref="ILedgerProofs"/> over the PostgreSQL ledger, from the same stored hashes as the SQLite one: leaf hashes
/// (<c>ledger_entries.leaf_hash</c>) and subtree hashes at levels 4, 8, 12, … (<c>ledger_subtrees</c>), combined by
/// <see cref="TiledRangeRoots"/> (docs/ledger-format.md §15): O(log n) reads per root or proof. Each call reads one
/// snapshot (<c>REPEATABLE READ READ ONLY</c>). Thread-safe.
/// </summary>
public sealed class PostgresLedgerProofs : ILedgerProofs
{
    private readonly CustodianDatabase _db;
    private readonly PostgresAccessLedger _ledger;

    /// <summary>Creates the proof source.</summary>
    /// <param name="db">The PostgreSQL database holding the ledger tables.</param>
    /// <param name="ledger">The ledger (for the newest tree head).</param>
    public PostgresLedgerProofs(CustodianDatabase db, PostgresAccessLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(ledger);
        _db = db;
        _ledger = ledger;
    }

    /// <inheritdoc />
    public Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken = default) => _ledger.GetTreeHeadAsync(cancellationToken);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">When a hash the root needs is missing (the database was altered).</exception>
    public Task<byte[]> GetRootAsync(long treeSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        return WithTilesAsync(treeSize, roots => treeSize == 0 ? MerkleTree.EmptyRoot : roots.RangeRoot(0, treeSize), cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">When a hash the proof needs is missing (the database was altered).</exception>
    public async Task<IReadOnlyList<byte[]>> GetInclusionProofAsync(long leafIndex, long treeSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leafIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leafIndex, treeSize);
        return await WithTilesAsync(treeSize, roots => MerkleTree.InclusionProof(leafIndex, treeSize, roots.RangeRoot), cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">When a hash the proof needs is missing (the database was altered).</exception>
    public async Task<IReadOnlyList<byte[]>> GetConsistencyProofAsync(long size1, long size2, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size1, size2);
        return await WithTilesAsync(size2, roots => MerkleTree.ConsistencyProof(size1, size2, roots.RangeRoot), cancellationToken);
    }

    // TiledRangeRoots loads tiles synchronously; the tiles a computation needs are few (≤ one per stored level touched), so
    // each is read with a synchronous query on the snapshot transaction.
    private async Task<T> WithTilesAsync<T>(long treeSize, Func<TiledRangeRoots, T> compute, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var tx = await _db.BeginSnapshotAsync(connection, cancellationToken);
        await using (var head = connection.Command("SELECT COALESCE(MAX(tree_size), 0) FROM ledger_tree_heads"))
        {
            head.Transaction = tx;
            var size = Convert.ToInt64(await head.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(treeSize, size);
        }

        const int width = 1 << TiledRangeRoots.LedgerStride;
        await using var leaves = connection.Command("SELECT seq, leaf_hash FROM ledger_entries WHERE seq >= @from AND seq < @to", ("@from", 0L), ("@to", 0L));
        leaves.Transaction = tx;
        await using var subtrees = connection.Command("SELECT idx, hash FROM ledger_subtrees WHERE level = @level AND idx >= @from AND idx < @to", ("@level", 0L), ("@from", 0L), ("@to", 0L));
        subtrees.Transaction = tx;

        byte[]?[] LoadTile(int level, long tile)
        {
            var first = tile * width;
            var command = level == 0 ? leaves : subtrees;
            var p = 0;
            if (level != 0)
            {
                command.Parameters[p++].Value = (long)level;
            }

            command.Parameters[p++].Value = first;
            command.Parameters[p].Value = first + width;
            var hashes = new byte[]?[width];
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (reader.GetValue(1) is byte[] hash)
                {
                    hashes[reader.GetInt64(0) - first] = hash;
                }
            }

            return hashes;
        }

        return compute(new TiledRangeRoots(TiledRangeRoots.LedgerStride, LoadTile));
    }
}
