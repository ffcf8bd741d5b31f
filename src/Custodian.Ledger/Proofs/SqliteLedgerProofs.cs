using Custodian.Storage;

namespace Custodian.Ledger;

/// <summary>
/// <see cref="ILedgerProofs"/> over the SQLite ledger, computed from the stored leaf hashes
/// (<c>ledger_entries.leaf_hash</c>). This first version reads the leaf hashes of the requested
/// tree size into memory for each call: O(size) time and 32 bytes × size of memory.
/// </summary>
public sealed class SqliteLedgerProofs : ILedgerProofs
{
    private readonly CustodianDatabase _db;
    private readonly SqliteAccessLedger _ledger;

    /// <summary>Creates the proof source over <paramref name="db"/>.</summary>
    /// <param name="db">The database holding the ledger tables.</param>
    /// <param name="ledger">The ledger (for the newest tree head).</param>
    public SqliteLedgerProofs(CustodianDatabase db, SqliteAccessLedger ledger)
    {
        _db = db;
        _ledger = ledger;
    }

    /// <inheritdoc />
    public Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken = default) => _ledger.GetTreeHeadAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<byte[]> GetRootAsync(long treeSize, CancellationToken cancellationToken = default)
    {
        var leaves = await LoadAsync(treeSize, cancellationToken);
        return MerkleTree.ComputeRoot(leaves, treeSize);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<byte[]>> GetInclusionProofAsync(long leafIndex, long treeSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leafIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leafIndex, treeSize);
        var leaves = await LoadAsync(treeSize, cancellationToken);
        return MerkleTree.InclusionProof(leafIndex, treeSize, leaves);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<byte[]>> GetConsistencyProofAsync(long size1, long size2, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size1, size2);
        var leaves = await LoadAsync(size2, cancellationToken);
        return MerkleTree.ConsistencyProof(size1, size2, leaves);
    }

    private async Task<List<byte[]>> LoadAsync(long treeSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        var head = await _ledger.GetTreeHeadAsync(cancellationToken);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(treeSize, head.Size);
        var leaves = new List<byte[]>(checked((int)treeSize));
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT leaf_hash FROM ledger_entries WHERE seq < @size ORDER BY seq", ("@size", treeSize));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            leaves.Add((byte[])reader.GetValue(0));
        }

        if (leaves.Count != treeSize)
        {
            throw new InvalidOperationException("The ledger has fewer stored leaves than its tree head; run `custodian ledger verify`.");
        }

        return leaves;
    }
}
