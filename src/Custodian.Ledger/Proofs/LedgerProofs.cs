using Custodian.Storage;

namespace Custodian.Ledger;

/// <summary>
/// <see cref="ILedgerProofs"/> over the ledger tables on either backend (SQLite or PostgreSQL), computed from stored hashes of complete
/// subtrees: the leaf hashes (<c>ledger_entries.leaf_hash</c>) and the subtree hashes at levels
/// 4, 8, 12, … (<c>ledger_subtrees</c>, written by the ledger writer in each commit; see
/// <see cref="TiledRangeRoots"/> and docs/ledger-format.md §15). A root or proof for any tree size
/// reads at most one tile (≤ 16 rows) per stored level that its nodes fall in, and does at most
/// 15 hash operations per tile: O(log n) reads. Each call reads one database snapshot
/// (<see cref="CustodianDatabase.BeginSnapshotAsync"/>). Thread-safe.
/// </summary>
public sealed class LedgerProofs : ILedgerProofs
{
    private readonly CustodianDatabase _db;
    private readonly Func<CancellationToken, Task<TreeHead>> _treeHead;

    /// <summary>Creates the proof source over the SQLite ledger in <paramref name="db"/>.</summary>
    /// <param name="db">The database holding the ledger tables.</param>
    /// <param name="ledger">The ledger (for the newest tree head).</param>
    public LedgerProofs(CustodianDatabase db, SqliteAccessLedger ledger)
        : this(db, (ledger ?? throw new ArgumentNullException(nameof(ledger))).GetTreeHeadAsync)
    {
    }

    /// <summary>Creates the proof source over the PostgreSQL ledger in <paramref name="db"/>.</summary>
    /// <param name="db">The database holding the ledger tables.</param>
    /// <param name="ledger">The ledger (for the newest tree head).</param>
    public LedgerProofs(CustodianDatabase db, Postgres.PostgresAccessLedger ledger)
        : this(db, (ledger ?? throw new ArgumentNullException(nameof(ledger))).GetTreeHeadAsync)
    {
    }

    /// <summary>Creates the proof source over the ledger tables projected from the JetStream event log (docs/events.md).</summary>
    /// <param name="db">The database holding the ledger tables.</param>
    /// <param name="projection">The projection (for the newest tree head).</param>
    public LedgerProofs(CustodianDatabase db, Projection.LedgerProjection projection)
        : this(db, (projection ?? throw new ArgumentNullException(nameof(projection))).GetTreeHeadAsync)
    {
    }

    private LedgerProofs(CustodianDatabase db, Func<CancellationToken, Task<TreeHead>> treeHead)
    {
        ArgumentNullException.ThrowIfNull(db);
        _db = db;
        _treeHead = treeHead;
    }

    /// <inheritdoc />
    public Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken = default) => _treeHead(cancellationToken);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">When a leaf hash the root needs is missing (the database was altered; run <see cref="LedgerVerifier"/>).</exception>
    public Task<byte[]> GetRootAsync(long treeSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        return WithTilesAsync(treeSize, roots => treeSize == 0 ? MerkleTree.EmptyRoot : roots.RangeRoot(0, treeSize), cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">When a leaf hash the proof needs is missing (the database was altered; run <see cref="LedgerVerifier"/>).</exception>
    public async Task<IReadOnlyList<byte[]>> GetInclusionProofAsync(long leafIndex, long treeSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leafIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leafIndex, treeSize);
        return await WithTilesAsync(treeSize, roots => MerkleTree.InclusionProof(leafIndex, treeSize, roots.RangeRoot), cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">When a leaf hash the proof needs is missing (the database was altered; run <see cref="LedgerVerifier"/>).</exception>
    public async Task<IReadOnlyList<byte[]>> GetConsistencyProofAsync(long size1, long size2, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size1, size2);
        return await WithTilesAsync(size2, roots => MerkleTree.ConsistencyProof(size1, size2, roots.RangeRoot), cancellationToken);
    }

    // Runs `compute` against one read snapshot: checks treeSize against the newest head, then
    // serves tiles from ledger_entries (level 0) and ledger_subtrees (levels 4, 8, 12, …).
    private async Task<T> WithTilesAsync<T>(long treeSize, Func<TiledRangeRoots, T> compute, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var tx = await _db.BeginSnapshotAsync(connection, cancellationToken);
        await using (var head = connection.Command("SELECT COALESCE(MAX(tree_size), 0) FROM ledger_tree_heads"))
        {
            head.Transaction = tx;
            var size = Convert.ToInt64(await head.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
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
                // SQLite columns are dynamically typed: anything but an integer position and a blob is "not stored".
                if (reader.GetValue(0) is long position && reader.GetValue(1) is byte[] hash)
                {
                    hashes[position - first] = hash;
                }
            }

            return hashes;
        }

        return compute(new TiledRangeRoots(TiledRangeRoots.LedgerStride, LoadTile));
    }
}
