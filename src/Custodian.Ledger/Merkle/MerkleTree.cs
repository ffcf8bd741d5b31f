using System.Buffers;
using System.Security.Cryptography;

namespace Custodian.Ledger;

/// <summary>
/// The Merkle tree hash of RFC 9162 §2.1 (identical to RFC 6962 §2.1) with SHA-256: leaf hashes
/// <c>SHA-256(0x00 ‖ leaf)</c> (§2.1.1), interior nodes <c>SHA-256(0x01 ‖ left ‖ right)</c>,
/// the root of the empty tree <c>SHA-256("")</c>, inclusion proofs (§2.1.3) and consistency
/// proofs (§2.1.4) with their verifiers. Every member is a pure function and thread-safe.
/// </summary>
/// <remarks>
/// The verifiers follow the RFC 9162 algorithms (§2.1.3.2, §2.1.4.2) and the rules of the
/// reference implementation transparency-dev/merkle: a leaf hash must be exactly 32 bytes, the leaf
/// index must be below the tree size, a consistency proof from the empty tree is always rejected,
/// and equal tree sizes need an empty proof and equal roots.
/// </remarks>
public static class MerkleTree
{
    /// <summary>Size of every hash in bytes (SHA-256).</summary>
    public const int HashSize = 32;

    /// <summary>Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).</summary>
    public const byte LeafPrefix = 0x00;

    /// <summary>Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).</summary>
    public const byte NodePrefix = 0x01;

    private const int StackLimit = 512;

    private static readonly byte[] EmptyRootBytes = SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>The root of the empty tree, <c>SHA-256("")</c> = <c>e3b0c442…b855</c> (RFC 9162 §2.1.1). A fresh copy each call.</summary>
    public static byte[] EmptyRoot => (byte[])EmptyRootBytes.Clone();

    /// <summary>Computes the leaf hash <c>SHA-256(0x00 ‖ leaf)</c> (RFC 9162 §2.1.1).</summary>
    /// <param name="leaf">The leaf's bytes (any length, including empty).</param>
    /// <returns>The 32-byte hash.</returns>
    public static byte[] HashLeaf(ReadOnlySpan<byte> leaf)
    {
        var hash = new byte[HashSize];
        HashLeaf(leaf, hash);
        return hash;
    }

    /// <summary>Computes the leaf hash <c>SHA-256(0x00 ‖ leaf)</c> into <paramref name="destination"/>.</summary>
    /// <param name="leaf">The leaf's bytes.</param>
    /// <param name="destination">At least 32 bytes; the first 32 receive the hash.</param>
    /// <exception cref="ArgumentException">When <paramref name="destination"/> is shorter than 32 bytes.</exception>
    public static void HashLeaf(ReadOnlySpan<byte> leaf, Span<byte> destination) => HashPrefixed(LeafPrefix, leaf, [], destination);

    /// <summary>Computes the interior node hash <c>SHA-256(0x01 ‖ left ‖ right)</c> (RFC 9162 §2.1.1).</summary>
    /// <param name="left">The left child's hash (normally 32 bytes; other lengths are hashed as given).</param>
    /// <param name="right">The right child's hash.</param>
    /// <returns>The 32-byte hash.</returns>
    public static byte[] HashChildren(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var hash = new byte[HashSize];
        HashChildren(left, right, hash);
        return hash;
    }

    /// <summary>Computes <c>SHA-256(0x01 ‖ left ‖ right)</c> into <paramref name="destination"/>, which may overlap either input.</summary>
    /// <param name="left">The left child's hash.</param>
    /// <param name="right">The right child's hash.</param>
    /// <param name="destination">At least 32 bytes.</param>
    /// <exception cref="ArgumentException">When <paramref name="destination"/> is shorter than 32 bytes.</exception>
    public static void HashChildren(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination) =>
        HashPrefixed(NodePrefix, left, right, destination);

    /// <summary>
    /// The Merkle tree hash MTH (RFC 9162 §2.1.1) of a list of leaf hashes; the empty list gives
    /// <see cref="EmptyRoot"/>. Runs in O(n) time and O(log n) memory.
    /// </summary>
    /// <param name="leafHashes">The leaf hashes (each 32 bytes), in leaf order.</param>
    /// <returns>The 32-byte root.</returns>
    public static byte[] ComputeRoot(IEnumerable<byte[]> leafHashes)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        var range = new CompactRange();
        foreach (var leaf in leafHashes)
        {
            range.Append(leaf);
        }

        return range.GetRoot();
    }

    /// <summary>The root of the first <paramref name="treeSize"/> leaves of <paramref name="leafHashes"/>.</summary>
    /// <param name="leafHashes">At least <paramref name="treeSize"/> leaf hashes.</param>
    /// <param name="treeSize">0 ≤ size ≤ <c>leafHashes.Count</c>.</param>
    /// <returns>The 32-byte root.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="treeSize"/> is outside the list.</exception>
    public static byte[] ComputeRoot(IReadOnlyList<byte[]> leafHashes, long treeSize)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(treeSize, leafHashes.Count);
        return treeSize == 0 ? EmptyRoot : RangeRoot(leafHashes, 0, treeSize);
    }

    /// <summary>
    /// The inclusion proof (audit path) PATH(m, D[n]) of RFC 9162 §2.1.3.1 for leaf
    /// <paramref name="leafIndex"/> in the tree of the first <paramref name="treeSize"/> leaves.
    /// </summary>
    /// <param name="leafIndex">Zero-based leaf index, 0 ≤ index &lt; <paramref name="treeSize"/>.</param>
    /// <param name="treeSize">Tree size, ≤ <c>leafHashes.Count</c>.</param>
    /// <param name="leafHashes">The leaf hashes in order.</param>
    /// <returns>The sibling hashes from the leaf up to the root (empty for a one-leaf tree).</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the index or size is out of range.</exception>
    public static IReadOnlyList<byte[]> InclusionProof(long leafIndex, long treeSize, IReadOnlyList<byte[]> leafHashes)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(treeSize, leafHashes.Count);
        return InclusionProof(leafIndex, treeSize, (start, end) => RangeRoot(leafHashes, start, end));
    }

    /// <summary>
    /// The inclusion proof PATH(m, D[n]) (RFC 9162 §2.1.3.1) built from a source of subtree roots,
    /// for trees too large to hold in memory.
    /// </summary>
    /// <param name="leafIndex">Zero-based leaf index, 0 ≤ index &lt; <paramref name="treeSize"/>.</param>
    /// <param name="treeSize">Tree size, ≥ 1.</param>
    /// <param name="rangeRoot">Returns MTH of the leaves [start, end) (end &gt; start); called O(log n) times.</param>
    /// <returns>The sibling hashes from the leaf up to the root.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the index or size is out of range.</exception>
    public static IReadOnlyList<byte[]> InclusionProof(long leafIndex, long treeSize, Func<long, long, byte[]> rangeRoot)
    {
        ArgumentNullException.ThrowIfNull(rangeRoot);
        ArgumentOutOfRangeException.ThrowIfNegative(leafIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leafIndex, treeSize);
        var proof = new List<byte[]>();
        Path(leafIndex, 0, treeSize, rangeRoot, proof);
        proof.Reverse();
        return proof;
    }

    /// <summary>
    /// The consistency proof PROOF(m, D[n]) of RFC 9162 §2.1.4.1 between the tree of the first
    /// <paramref name="size1"/> leaves and the tree of the first <paramref name="size2"/> leaves.
    /// </summary>
    /// <param name="size1">The older size, 1 ≤ size1 ≤ size2 (a proof from the empty tree is not defined).</param>
    /// <param name="size2">The newer size, ≤ <c>leafHashes.Count</c>.</param>
    /// <param name="leafHashes">The leaf hashes in order.</param>
    /// <returns>The proof nodes; empty when the sizes are equal.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When a size is out of range.</exception>
    public static IReadOnlyList<byte[]> ConsistencyProof(long size1, long size2, IReadOnlyList<byte[]> leafHashes)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size2, leafHashes.Count);
        return ConsistencyProof(size1, size2, (start, end) => RangeRoot(leafHashes, start, end));
    }

    /// <summary>The consistency proof PROOF(m, D[n]) (RFC 9162 §2.1.4.1) built from a source of subtree roots.</summary>
    /// <param name="size1">The older size, 1 ≤ size1 ≤ size2.</param>
    /// <param name="size2">The newer size.</param>
    /// <param name="rangeRoot">Returns MTH of the leaves [start, end) (end &gt; start); called O(log n) times.</param>
    /// <returns>The proof nodes; empty when the sizes are equal.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When a size is out of range.</exception>
    public static IReadOnlyList<byte[]> ConsistencyProof(long size1, long size2, Func<long, long, byte[]> rangeRoot)
    {
        ArgumentNullException.ThrowIfNull(rangeRoot);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size1, size2);
        var proof = new List<byte[]>();
        if (size1 < size2)
        {
            SubProof(size1, 0, size2, true, rangeRoot, proof);
        }

        return proof;
    }

    /// <summary>
    /// Verifies an inclusion proof with the algorithm of RFC 9162 §2.1.3.2.
    /// </summary>
    /// <param name="leafIndex">Zero-based leaf index.</param>
    /// <param name="treeSize">Tree size the proof is for.</param>
    /// <param name="leafHash">The leaf's hash; must be exactly 32 bytes.</param>
    /// <param name="proof">The audit path, each node 32 bytes.</param>
    /// <param name="root">The expected root of the tree of <paramref name="treeSize"/> leaves.</param>
    /// <returns>True when the proof shows the leaf at that index in that tree; false otherwise (including bad arguments: index ≥ size, wrong hash lengths).</returns>
    public static bool VerifyInclusion(long leafIndex, long treeSize, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (leafIndex < 0 || leafIndex >= treeSize || leafHash.Length != HashSize || root.Length != HashSize)
        {
            return false;
        }

        var fn = leafIndex;
        var sn = treeSize - 1;
        Span<byte> r = stackalloc byte[HashSize];
        leafHash.CopyTo(r);
        foreach (var p in proof)
        {
            if (p is null || p.Length != HashSize || sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                HashChildren(p, r, r);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                HashChildren(r, p, r);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && CryptographicOperations.FixedTimeEquals(r, root);
    }

    /// <summary>
    /// Verifies a consistency proof with the algorithm of RFC 9162 §2.1.4.2.
    /// </summary>
    /// <param name="size1">The older tree size; 0 is always rejected (a proof from the empty tree is meaningless).</param>
    /// <param name="size2">The newer tree size; must be ≥ <paramref name="size1"/>.</param>
    /// <param name="root1">Root of the older tree, 32 bytes.</param>
    /// <param name="root2">Root of the newer tree, 32 bytes.</param>
    /// <param name="proof">The proof nodes, each 32 bytes; must be empty when the sizes are equal, and non-empty otherwise.</param>
    /// <returns>True when the newer tree extends the older one; false otherwise.</returns>
    public static bool VerifyConsistency(long size1, long size2, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2, IReadOnlyList<byte[]> proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (size1 <= 0 || size2 < size1 || root1.Length != HashSize || root2.Length != HashSize)
        {
            return false;
        }

        if (size1 == size2)
        {
            return proof.Count == 0 && CryptographicOperations.FixedTimeEquals(root1, root2);
        }

        if (proof.Count == 0 || proof.Any(p => p is null || p.Length != HashSize))
        {
            return false;
        }

        // Step 2: when size1 is an exact power of two, the first hash is root1 itself.
        var nodes = (size1 & (size1 - 1)) == 0 ? proof.Prepend(root1.ToArray()).ToList() : proof.ToList();

        var fn = size1 - 1;
        var sn = size2 - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        Span<byte> fr = stackalloc byte[HashSize];
        Span<byte> sr = stackalloc byte[HashSize];
        nodes[0].CopyTo(fr);
        nodes[0].CopyTo(sr);
        for (var i = 1; i < nodes.Count; i++)
        {
            var c = nodes[i];
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                HashChildren(c, fr, fr);
                HashChildren(c, sr, sr);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                HashChildren(sr, c, sr);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0
            && CryptographicOperations.FixedTimeEquals(fr, root1)
            && CryptographicOperations.FixedTimeEquals(sr, root2);
    }

    /// <summary>The largest power of two strictly less than <paramref name="n"/> (n ≥ 2), the split point k of RFC 9162 §2.1.1.</summary>
    internal static long SplitPoint(long n) => 1L << (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(n - 1)));

    private static byte[] RangeRoot(IReadOnlyList<byte[]> leafHashes, long start, long end)
    {
        var n = end - start;
        if (n == 1)
        {
            return leafHashes[checked((int)start)];
        }

        var k = SplitPoint(n);
        return HashChildren(RangeRoot(leafHashes, start, start + k), RangeRoot(leafHashes, start + k, end));
    }

    // PATH(m, D[start:end]) with m relative to start, nodes appended root-side first (reversed by the caller).
    private static void Path(long m, long start, long end, Func<long, long, byte[]> rangeRoot, List<byte[]> proof)
    {
        var n = end - start;
        if (n == 1)
        {
            return;
        }

        var k = SplitPoint(n);
        if (m < k)
        {
            proof.Add(rangeRoot(start + k, end));
            Path(m, start, start + k, rangeRoot, proof);
        }
        else
        {
            proof.Add(rangeRoot(start, start + k));
            Path(m - k, start + k, end, rangeRoot, proof);
        }
    }

    // SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1, nodes appended in proof order.
    private static void SubProof(long m, long start, long end, bool whole, Func<long, long, byte[]> rangeRoot, List<byte[]> proof)
    {
        var n = end - start;
        if (m == n)
        {
            if (!whole)
            {
                proof.Add(rangeRoot(start, end));
            }

            return;
        }

        var k = SplitPoint(n);
        if (m <= k)
        {
            SubProof(m, start, start + k, whole, rangeRoot, proof);
            proof.Add(rangeRoot(start + k, end));
        }
        else
        {
            SubProof(m - k, start + k, end, false, rangeRoot, proof);
            proof.Add(rangeRoot(start, start + k));
        }
    }

    private static void HashPrefixed(byte prefix, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> destination)
    {
        if (destination.Length < HashSize)
        {
            throw new ArgumentException($"The destination must hold {HashSize} bytes.", nameof(destination));
        }

        if (Sha256Direct.Instance is { } direct)
        {
            direct.Hash(prefix, a, b, destination);
            return;
        }

        var length = 1 + a.Length + b.Length;
        byte[]? rented = null;
        Span<byte> buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            buffer[0] = prefix;
            a.CopyTo(buffer[1..]);
            b.CopyTo(buffer[(1 + a.Length)..]);
            SHA256.HashData(buffer[..length], destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
