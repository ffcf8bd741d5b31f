namespace Custodian.Ledger.Tests.Proofs;

/// <summary>
/// <see cref="TiledRangeRoots"/> against the reference <see cref="MerkleTree"/> (which reproduces the
/// RFC 6962 vectors) over in-memory tiles built with <see cref="CompactRange"/>'s subtree callback.
/// Stride 2 stores levels 2, 4, 6, … so a few hundred leaves cross many tile levels; stride 8 is the
/// ledger's layout.
/// </summary>
public sealed class TiledRangeRootsTests
{
    [Fact]
    public void Stride_2_matches_the_reference_for_every_size_index_and_pair_up_to_200_leaves()
    {
        var leaves = Leaves(200);
        var reference = new Reference(leaves);
        var tiles = new Tiles(leaves, stride: 2);
        for (var n = 1; n <= leaves.Count; n++)
        {
            Assert.Equal(reference.Root(n), tiles.New().RangeRoot(0, n));
            for (long m = 0; m < n; m++)
            {
                Assert.Equal(MerkleTree.InclusionProof(m, n, reference.RangeRoot), MerkleTree.InclusionProof(m, n, tiles.New().RangeRoot));
            }

            for (long m = 1; m <= n; m++)
            {
                Assert.Equal(MerkleTree.ConsistencyProof(m, n, reference.RangeRoot), MerkleTree.ConsistencyProof(m, n, tiles.New().RangeRoot));
            }
        }
    }

    [Fact]
    public void Stride_8_matches_the_reference_across_tile_boundaries_and_partial_tiles()
    {
        var leaves = Leaves(2_100);
        var reference = new Reference(leaves);
        var tiles = new Tiles(leaves, stride: 8);
        for (var n = 1; n <= leaves.Count; n++)
        {
            Assert.Equal(reference.Root(n), tiles.New().RangeRoot(0, n));
            foreach (var m in new long[] { 0, n / 2, (n * 7L) / 13, n - 1 })
            {
                Assert.Equal(MerkleTree.InclusionProof(m, n, reference.RangeRoot), MerkleTree.InclusionProof(m, n, tiles.New().RangeRoot));
            }

            foreach (var m in new long[] { 1, 255, 256, 257, n / 3 + 1, n })
            {
                if (m <= n)
                {
                    Assert.Equal(MerkleTree.ConsistencyProof(m, n, reference.RangeRoot), MerkleTree.ConsistencyProof(m, n, tiles.New().RangeRoot));
                }
            }
        }

        foreach (var n in new[] { 256, 257, 513, 2_100 })
        {
            for (long m = 0; m < n; m++)
            {
                Assert.Equal(MerkleTree.InclusionProof(m, n, reference.RangeRoot), MerkleTree.InclusionProof(m, n, tiles.New().RangeRoot));
            }
        }
    }

    [Fact]
    public void A_proof_reads_one_tile_per_level_it_touches()
    {
        var leaves = Leaves(2_100);
        var tiles = new Tiles(leaves, stride: 8);

        // Leaf 1,000 in a tree of 2,048: siblings at heights 0–7 come from leaf tile 3, heights 8–10 from level-8 tile 0.
        var roots = tiles.New();
        MerkleTree.InclusionProof(1_000, 2_048, roots.RangeRoot);
        Assert.Equal(2, roots.TilesLoaded);
    }

    [Fact]
    public void Missing_stored_nodes_are_recomputed_from_the_level_below()
    {
        var leaves = Leaves(1_500);
        var reference = new Reference(leaves);
        var tiles = new Tiles(leaves, stride: 8, keep: (level, index) => level == 0 || index % 2 == 1);
        foreach (var n in new[] { 256, 512, 1_000, 1_500 })
        {
            Assert.Equal(reference.Root(n), tiles.New().RangeRoot(0, n));
            Assert.Equal(MerkleTree.InclusionProof(3, n, reference.RangeRoot), MerkleTree.InclusionProof(3, n, tiles.New().RangeRoot));
        }
    }

    [Fact]
    public void A_missing_leaf_hash_is_an_error_and_bad_arguments_are_refused()
    {
        var leaves = Leaves(10);
        var tiles = new Tiles(leaves, stride: 8);
        Assert.Throws<InvalidOperationException>(() => tiles.New().RangeRoot(0, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => tiles.New().RangeRoot(3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => tiles.New().RangeRoot(-1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TiledRangeRoots(0, (_, _) => []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TiledRangeRoots(17, (_, _) => []));
        Assert.Throws<InvalidOperationException>(() => new TiledRangeRoots(8, (_, _) => new byte[]?[3]).RangeRoot(0, 1));
    }

    [Fact]
    public void Compact_range_reports_every_completed_subtree_with_its_hash()
    {
        var leaves = Leaves(9);
        var seen = new List<(int, long, string)>();
        var range = new CompactRange();
        foreach (var leaf in leaves)
        {
            range.Append(leaf, (height, index, hash) => seen.Add((height, index, Convert.ToHexStringLower(hash))));
        }

        string Hex(int start, int end) => Convert.ToHexStringLower(MerkleTree.ComputeRoot(leaves.Skip(start).Take(end - start)));
        Assert.Equal(
            [(1, 0L, Hex(0, 2)), (1, 1L, Hex(2, 4)), (2, 0L, Hex(0, 4)), (1, 2L, Hex(4, 6)), (1, 3L, Hex(6, 8)), (2, 1L, Hex(4, 8)), (3, 0L, Hex(0, 8))],
            seen);
        Assert.Equal(MerkleTree.ComputeRoot(leaves), range.GetRoot());
    }

    internal static List<byte[]> Leaves(int count) =>
        Enumerable.Range(0, count).Select(i => MerkleTree.HashLeaf(BitConverter.GetBytes(i))).ToList();

    /// <summary>The reference: <see cref="MerkleTree.ComputeRoot(IEnumerable{byte[]})"/> over the sub-list, memoised (proofs repeat ranges).</summary>
    internal sealed class Reference(List<byte[]> leaves)
    {
        private readonly Dictionary<(long, long), byte[]> _memo = [];

        public byte[] Root(long n) => RangeRoot(0, n);

        public byte[] RangeRoot(long start, long end)
        {
            if (!_memo.TryGetValue((start, end), out var root))
            {
                root = MerkleTree.ComputeRoot(leaves.Skip((int)start).Take((int)(end - start)));
                _memo[(start, end)] = root;
            }

            return root;
        }
    }

    private sealed class Tiles
    {
        private readonly List<byte[]> _leaves;
        private readonly int _stride;
        private readonly Dictionary<(int, long), byte[]> _stored = [];

        public Tiles(List<byte[]> leaves, int stride, Func<int, long, bool>? keep = null)
        {
            _leaves = leaves;
            _stride = stride;
            var range = new CompactRange();
            foreach (var leaf in leaves)
            {
                range.Append(leaf, (height, index, hash) =>
                {
                    if (height % stride == 0 && (keep?.Invoke(height, index) ?? true))
                    {
                        _stored[(height, index)] = hash.ToArray();
                    }
                });
            }
        }

        public TiledRangeRoots New() => new(_stride, Load);

        private byte[]?[] Load(int level, long tile)
        {
            var width = 1 << _stride;
            var hashes = new byte[]?[width];
            for (var j = 0; j < width; j++)
            {
                var index = (tile * width) + j;
                hashes[j] = level == 0
                    ? index < _leaves.Count ? _leaves[(int)index] : null
                    : _stored.GetValueOrDefault((level, index));
            }

            return hashes;
        }
    }
}
