namespace Custodian.Ledger;

/// <summary>
/// Computes Merkle tree hashes MTH(D[start:end]) (RFC 9162 §2.1.1) of a large tree from stored
/// hashes of complete subtrees, so that a root, inclusion or consistency proof needs O(log n) reads
/// instead of all n leaf hashes. The layout follows the tiles of C2SP tlog-tiles: the hashes of
/// level 0 (the leaf hashes) and of every level that is a multiple of <see cref="Stride"/> are
/// stored; a node at any other height is recomputed from at most 2^(stride−1) stored nodes of the
/// level below it, all of which lie in one tile (2^stride consecutive nodes of one level). One
/// instance serves one request: it caches the tiles it loads and is not thread-safe.
/// </summary>
/// <remarks>
/// A stored node that is missing (a ledger migrated from format <c>ledger-001</c> before its first
/// append, see docs/ledger-format.md §15) is recomputed from the level below, down to the leaves,
/// so results are always correct; only the cost grows. Stored hashes are trusted here: whether they
/// agree with the leaves is checked by <see cref="LedgerVerifier"/> (<c>subtree-mismatch</c>).
/// </remarks>
public sealed class TiledRangeRoots
{
    /// <summary>
    /// The level stride of the ledger's stored subtree hashes: levels 4, 8, 12, … (tiles of 16 hashes).
    /// C2SP tlog-tiles uses height 8 (256-hash tiles) because each tile is a file fetched over HTTP; in a
    /// database a row is cheap and the hashing is not: with stride 4 a proof recomputes at most 11
    /// nodes per level band instead of 247, and reads 16 rows per tile instead of 256, for n/15 stored
    /// rows instead of n/255 (measured in bench/README.md, "Ledger").
    /// </summary>
    public const int LedgerStride = 4;

    private readonly Func<int, long, byte[]?[]> _loadTile;
    private readonly Dictionary<(int Level, long Tile), byte[]?[]> _tiles = [];

    /// <summary>Creates the calculator over a tile source.</summary>
    /// <param name="stride">Levels stored besides the leaves: every multiple of this, 1–16 (the ledger uses <see cref="LedgerStride"/>).</param>
    /// <param name="loadTile">
    /// Returns the tile (level, t): the hashes of nodes [t·2^stride, (t+1)·2^stride) of that level,
    /// an array of exactly 2^stride entries with null where a node is not stored. Level 0 are the leaf
    /// hashes. Called at most once per tile per instance.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="stride"/> is outside 1–16.</exception>
    public TiledRangeRoots(int stride, Func<int, long, byte[]?[]> loadTile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stride, 16);
        ArgumentNullException.ThrowIfNull(loadTile);
        Stride = stride;
        _loadTile = loadTile;
    }

    /// <summary>The level stride given to the constructor.</summary>
    public int Stride { get; }

    /// <summary>Number of tiles loaded so far (a measure of the reads a request needed).</summary>
    public int TilesLoaded => _tiles.Count;

    /// <summary>MTH(D[start:end]) by the recursive definition of RFC 9162 §2.1.1, with every perfect aligned subtree taken from storage.</summary>
    /// <param name="start">First leaf, ≥ 0.</param>
    /// <param name="end">One past the last leaf, &gt; <paramref name="start"/>; all leaves below it must be stored.</param>
    /// <returns>The 32-byte hash.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the range is empty or negative.</exception>
    /// <exception cref="InvalidOperationException">When a needed leaf hash is not stored or is not 32 bytes.</exception>
    public byte[] RangeRoot(long start, long end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(end, start);
        var n = end - start;
        if ((n & (n - 1)) == 0 && start % n == 0)
        {
            var height = System.Numerics.BitOperations.Log2((ulong)n);
            return Node(height, start >> height);
        }

        var k = MerkleTree.SplitPoint(n);
        return MerkleTree.HashChildren(RangeRoot(start, start + k), RangeRoot(start + k, end));
    }

    /// <summary>The hash of the perfect subtree of <paramref name="height"/> covering leaves [index·2^height, (index+1)·2^height).</summary>
    private byte[] Node(int height, long index)
    {
        if (height == 0)
        {
            return Tile(0, index) ?? throw new InvalidOperationException("A leaf hash the proof needs is not stored; run `custodian ledger verify`.");
        }

        if (height % Stride == 0 && Tile(height, index) is { } stored)
        {
            return stored;
        }

        // Recompute from the nearest stored level below: 2^(height − level) nodes of one tile
        // (or, for a stored level whose node is missing, 2^stride nodes of the level below).
        var level = height % Stride == 0 ? height - Stride : height - (height % Stride);
        var count = 1 << (height - level);
        var first = index << (height - level);
        var nodes = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            nodes[i] = Node(level, first + i);
        }

        for (var width = count; width > 1; width /= 2)
        {
            for (var i = 0; i < width / 2; i++)
            {
                nodes[i] = MerkleTree.HashChildren(nodes[2 * i], nodes[(2 * i) + 1]);
            }
        }

        return nodes[0];
    }

    private byte[]? Tile(int level, long index)
    {
        var tile = index >> Stride;
        if (!_tiles.TryGetValue((level, tile), out var hashes))
        {
            hashes = _loadTile(level, tile);
            if (hashes.Length != 1 << Stride)
            {
                throw new InvalidOperationException("A tile source returned a tile of the wrong width.");
            }

            _tiles.Add((level, tile), hashes);
        }

        var hash = hashes[index & ((1L << Stride) - 1)];
        return hash is { Length: MerkleTree.HashSize } ? hash : null;
    }
}
