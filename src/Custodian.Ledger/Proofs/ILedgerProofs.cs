namespace Custodian.Ledger;

/// <summary>
/// Serves RFC 9162 §2.1 proofs over the committed ledger: roots of earlier sizes, inclusion proofs
/// (§2.1.3) and consistency proofs (§2.1.4). Every hash is 32 bytes of SHA-256.
/// </summary>
public interface ILedgerProofs
{
    /// <summary>The newest committed tree head (size, root, commit time).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>Size 0 with root <c>SHA-256("")</c> when the ledger is empty.</returns>
    Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken = default);

    /// <summary>The root MTH(D[0:treeSize]) of the first <paramref name="treeSize"/> committed leaves.</summary>
    /// <param name="treeSize">0 ≤ size ≤ the committed size.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The 32-byte root; <c>SHA-256("")</c> for size 0.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the size is negative or beyond the committed size.</exception>
    Task<byte[]> GetRootAsync(long treeSize, CancellationToken cancellationToken = default);

    /// <summary>The audit path PATH(m, D[0:treeSize]) (RFC 9162 §2.1.3.1) of leaf <paramref name="leafIndex"/>.</summary>
    /// <param name="leafIndex">0 ≤ index &lt; <paramref name="treeSize"/>.</param>
    /// <param name="treeSize">1 ≤ size ≤ the committed size.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The sibling hashes from the leaf up to the root (empty for a one-leaf tree).</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the index or size is out of range.</exception>
    Task<IReadOnlyList<byte[]>> GetInclusionProofAsync(long leafIndex, long treeSize, CancellationToken cancellationToken = default);

    /// <summary>The consistency proof PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1).</summary>
    /// <param name="size1">1 ≤ size1 ≤ size2 (a proof from the empty tree is not defined).</param>
    /// <param name="size2">size2 ≤ the committed size.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The proof nodes; empty when the sizes are equal.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When a size is out of range.</exception>
    Task<IReadOnlyList<byte[]>> GetConsistencyProofAsync(long size1, long size2, CancellationToken cancellationToken = default);
}
