using System.Numerics;

namespace Custodian.Ledger;

/// <summary>
/// The right frontier of a Merkle tree (RFC 9162 §2.1): the roots of the perfect subtrees that
/// make up the leaves [0, n), one per set bit of n, largest (leftmost) first. Holds O(log n)
/// hashes, appends a leaf in amortised O(1) hash operations and yields the tree root in O(log n),
/// so a ledger can keep its root up to date per append and a verifier can recompute roots while
/// streaming any number of leaves in constant memory. Not thread-safe.
/// </summary>
public sealed class CompactRange
{
    private readonly List<byte[]> _nodes = [];

    /// <summary>Creates the frontier of the empty tree.</summary>
    public CompactRange()
    {
    }

    /// <summary>Number of leaves appended so far (the tree size).</summary>
    public long Size { get; private set; }

    /// <summary>The subtree roots, largest first; there are <c>PopCount(Size)</c> of them, each 32 bytes.</summary>
    public IReadOnlyList<byte[]> Nodes => _nodes;

    /// <summary>
    /// Restores a frontier saved with <see cref="ToBytes"/>.
    /// </summary>
    /// <param name="size">The tree size the frontier is for, ≥ 0.</param>
    /// <param name="frontier">The concatenated subtree roots: exactly <c>PopCount(size) × 32</c> bytes.</param>
    /// <returns>The restored frontier.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="size"/> is negative.</exception>
    /// <exception cref="FormatException">When the length of <paramref name="frontier"/> does not fit <paramref name="size"/>.</exception>
    public static CompactRange FromBytes(long size, ReadOnlySpan<byte> frontier)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var count = BitOperations.PopCount((ulong)size);
        if (frontier.Length != count * MerkleTree.HashSize)
        {
            throw new FormatException($"A frontier for tree size {size} must be {count * MerkleTree.HashSize} bytes, not {frontier.Length}.");
        }

        var range = new CompactRange { Size = size };
        for (var i = 0; i < count; i++)
        {
            range._nodes.Add(frontier.Slice(i * MerkleTree.HashSize, MerkleTree.HashSize).ToArray());
        }

        return range;
    }

    /// <summary>Appends one leaf hash.</summary>
    /// <param name="leafHash">The leaf's hash (<see cref="MerkleTree.HashLeaf(ReadOnlySpan{byte})"/>), exactly 32 bytes.</param>
    /// <exception cref="ArgumentException">When the hash is not 32 bytes.</exception>
    public void Append(ReadOnlySpan<byte> leafHash) => Append(leafHash, null);

    /// <summary>
    /// Appends one leaf hash and reports every perfect subtree the append completes (the merges of
    /// the binary counter), smallest first: a subtree of height <c>h</c> ≥ 1 and index <c>i</c>
    /// covers the leaves [i·2ʰ, (i+1)·2ʰ). Used to keep the stored subtree hashes of
    /// <c>ledger_subtrees</c> (docs/ledger-format.md §15) and to check them.
    /// </summary>
    /// <param name="leafHash">The leaf's hash, exactly 32 bytes.</param>
    /// <param name="completed">Called once per completed subtree of height ≥ 1; null for none. The span is only valid during the call.</param>
    /// <exception cref="ArgumentException">When the hash is not 32 bytes.</exception>
    public void Append(ReadOnlySpan<byte> leafHash, SubtreeCompleted? completed)
    {
        if (leafHash.Length != MerkleTree.HashSize)
        {
            throw new ArgumentException($"A leaf hash must be {MerkleTree.HashSize} bytes.", nameof(leafHash));
        }

        var node = leafHash.ToArray();
        // Each trailing 1-bit of the size is a perfect subtree of the same height as the new
        // node's: merge them, as a binary counter carries.
        var height = 0;
        for (var size = Size; (size & 1) == 1; size >>= 1)
        {
            var left = _nodes[^1];
            _nodes.RemoveAt(_nodes.Count - 1);
            MerkleTree.HashChildren(left, node, node);
            height++;

            // The new leaf (index Size) is the last of the merged subtree: its index is Size >> height.
            completed?.Invoke(height, Size >> height, node);
        }

        _nodes.Add(node);
        Size++;
    }

    /// <summary>The root MTH of the leaves appended so far (<see cref="MerkleTree.EmptyRoot"/> when none), 32 bytes.</summary>
    public byte[] GetRoot()
    {
        if (_nodes.Count == 0)
        {
            return MerkleTree.EmptyRoot;
        }

        var root = (byte[])_nodes[^1].Clone();
        for (var i = _nodes.Count - 2; i >= 0; i--)
        {
            MerkleTree.HashChildren(_nodes[i], root, root);
        }

        return root;
    }

    /// <summary>The frontier as bytes, for storage: the subtree roots concatenated, largest first (<c>PopCount(Size) × 32</c> bytes).</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[_nodes.Count * MerkleTree.HashSize];
        for (var i = 0; i < _nodes.Count; i++)
        {
            _nodes[i].CopyTo(bytes, i * MerkleTree.HashSize);
        }

        return bytes;
    }

    /// <summary>A deep copy.</summary>
    public CompactRange Clone()
    {
        var copy = new CompactRange { Size = Size };
        foreach (var node in _nodes)
        {
            copy._nodes.Add((byte[])node.Clone());
        }

        return copy;
    }
}

/// <summary>Receives a perfect subtree completed by <see cref="CompactRange.Append(ReadOnlySpan{byte}, SubtreeCompleted?)"/>.</summary>
/// <param name="height">The subtree's height, ≥ 1 (it covers 2^height leaves).</param>
/// <param name="index">Its index among the subtrees of that height: it covers leaves [index·2^height, (index+1)·2^height).</param>
/// <param name="hash">Its 32-byte Merkle tree hash (RFC 9162 §2.1.1); valid only during the call.</param>
public delegate void SubtreeCompleted(int height, long index, ReadOnlySpan<byte> hash);
