using System.Text.Json;

namespace Custodian.Ledger.Tests.Merkle;

/// <summary>RFC 6962 / RFC 9162 reference vectors from transparency-dev/merkle (shared/testdata/merkle-rfc6962).</summary>
public sealed class MerkleTreeTests
{
    private static readonly JsonDocument Vectors = TestData.Load("merkle-rfc6962/rfc6962-reference-vectors.json");

    private static JsonElement V => Vectors.RootElement;

    private static byte[][] Leaves => V.GetProperty("leaf_inputs_hex").EnumerateArray().Select(e => TestData.Hex(e.GetString()!)).ToArray();

    private static byte[][] LeafHashes => Leaves.Select(l => MerkleTree.HashLeaf(l)).ToArray();

    private static List<byte[]> Hashes(JsonElement array) => array.EnumerateArray().Select(e => TestData.Hex(e.GetString()!)).ToList();

    [Fact]
    public void Empty_root_is_sha256_of_nothing()
    {
        var expected = V.GetProperty("hasher_vectors")[0].GetProperty("expected_hex").GetString();
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", expected);
        Assert.Equal(expected, Convert.ToHexStringLower(MerkleTree.EmptyRoot));
        Assert.Equal(expected, Convert.ToHexStringLower(MerkleTree.ComputeRoot([])));
        Assert.Equal(expected, Convert.ToHexStringLower(new CompactRange().GetRoot()));
    }

    [Fact]
    public void Hasher_vectors()
    {
        var h = V.GetProperty("hasher_vectors");
        Assert.Equal(h[1].GetProperty("expected_hex").GetString(), Convert.ToHexStringLower(MerkleTree.HashLeaf([])));
        Assert.Equal(h[2].GetProperty("expected_hex").GetString(), Convert.ToHexStringLower(MerkleTree.HashLeaf("L123456"u8)));
        Assert.Equal("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56", h[2].GetProperty("expected_hex").GetString());
        Assert.Equal(h[3].GetProperty("expected_hex").GetString(), Convert.ToHexStringLower(MerkleTree.HashChildren("N123"u8, "N456"u8)));
        Assert.Equal("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb", h[3].GetProperty("expected_hex").GetString());
    }

    [Fact]
    public void Leaf_hashes_match()
    {
        var expected = V.GetProperty("leaf_hashes_hex").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.Equal(8, expected.Length);
        Assert.Equal(expected, LeafHashes.Select(Convert.ToHexStringLower).ToArray());
    }

    [Fact]
    public void Every_complete_subtree_hash_matches()
    {
        var levels = V.GetProperty("node_hashes_by_level_hex");
        var level = LeafHashes.ToList();
        Assert.Equal(levels.GetProperty("level_0_leaves").EnumerateArray().Select(e => e.GetString()), level.Select(Convert.ToHexStringLower));
        foreach (var name in new[] { "level_1", "level_2", "level_3" })
        {
            level = Enumerable.Range(0, level.Count / 2).Select(i => MerkleTree.HashChildren(level[2 * i], level[(2 * i) + 1])).ToList();
            Assert.Equal(levels.GetProperty(name).EnumerateArray().Select(e => e.GetString()), level.Select(Convert.ToHexStringLower));
        }

        Assert.Single(level);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Root_of_each_size_matches_by_every_method(int size)
    {
        var expected = V.GetProperty("root_hashes_by_tree_size_hex").GetProperty(size.ToString(System.Globalization.CultureInfo.InvariantCulture)).GetString();
        Assert.Equal(expected, Convert.ToHexStringLower(MerkleTree.ComputeRoot(LeafHashes, size)));
        Assert.Equal(expected, Convert.ToHexStringLower(MerkleTree.ComputeRoot(LeafHashes.Take(size))));

        var range = new CompactRange();
        foreach (var leaf in LeafHashes.Take(size))
        {
            range.Append(leaf);
        }

        Assert.Equal(size, range.Size);
        Assert.Equal(expected, Convert.ToHexStringLower(range.GetRoot()));
        Assert.Equal(System.Numerics.BitOperations.PopCount((uint)size), range.Nodes.Count);

        var restored = CompactRange.FromBytes(size, range.ToBytes());
        Assert.Equal(expected, Convert.ToHexStringLower(restored.GetRoot()));
    }

    [Fact]
    public void Every_root_vector_is_covered()
    {
        Assert.Equal(9, V.GetProperty("root_hashes_by_tree_size_hex").EnumerateObject().Count());
        Assert.Equal(7, V.GetProperty("inclusion_proofs").GetArrayLength());
        Assert.Equal(5, V.GetProperty("consistency_proofs").GetArrayLength());
    }

    public static TheoryData<int> InclusionCases => new(Enumerable.Range(0, 7));

    [Theory]
    [MemberData(nameof(InclusionCases))]
    public void Inclusion_proof_vector_is_reproduced_and_verifies(int i)
    {
        var c = V.GetProperty("inclusion_proofs")[i];
        var index = c.GetProperty("leaf_index_0_based").GetInt64();
        var size = c.GetProperty("tree_size").GetInt64();
        var leafHash = TestData.Hex(c.GetProperty("leaf_hash_hex").GetString()!);
        var root = TestData.Hex(c.GetProperty("root_hex").GetString()!);
        var expected = Hashes(c.GetProperty("proof_hex"));

        Assert.Equal(c.GetProperty("leaf_hash_hex").GetString(), Convert.ToHexStringLower(MerkleTree.HashLeaf(TestData.Hex(c.GetProperty("leaf_input_hex").GetString()!))));
        Assert.Equal(c.GetProperty("root_hex").GetString(), Convert.ToHexStringLower(MerkleTree.ComputeRoot(LeafHashes, size)));

        var proof = MerkleTree.InclusionProof(index, size, LeafHashes);
        Assert.Equal(expected.Select(Convert.ToHexStringLower), proof.Select(Convert.ToHexStringLower));
        Assert.True(MerkleTree.VerifyInclusion(index, size, leafHash, expected, root));
    }

    [Theory]
    [MemberData(nameof(InclusionCases))]
    public void Tampered_inclusion_proofs_are_rejected(int i)
    {
        var c = V.GetProperty("inclusion_proofs")[i];
        var index = c.GetProperty("leaf_index_0_based").GetInt64();
        var size = c.GetProperty("tree_size").GetInt64();
        var leafHash = TestData.Hex(c.GetProperty("leaf_hash_hex").GetString()!);
        var root = TestData.Hex(c.GetProperty("root_hex").GetString()!);
        var proof = Hashes(c.GetProperty("proof_hex"));

        // Wrong leaf, wrong root, wrong index, wrong size, index ≥ size.
        Assert.False(MerkleTree.VerifyInclusion(index, size, Flip(leafHash, 0), proof, root));
        Assert.False(MerkleTree.VerifyInclusion(index, size, leafHash, proof, Flip(root, 31)));
        Assert.False(MerkleTree.VerifyInclusion(index ^ 1, size, leafHash, proof, root));
        // (A different size claim with the same path shape, e.g. 5 → 6, is not rejected by the
        // proof itself: the root binds the size. So only shape-changing sizes are tried.)
        Assert.False(MerkleTree.VerifyInclusion(index, (size * 2) + 1, leafHash, proof, root));
        Assert.False(MerkleTree.VerifyInclusion(size, size, leafHash, proof, root));
        Assert.False(MerkleTree.VerifyInclusion(-1, size, leafHash, proof, root));

        // Leaf hash not 32 bytes (upstream rule), root not 32 bytes.
        Assert.False(MerkleTree.VerifyInclusion(index, size, leafHash.AsSpan(0, 31), proof, root));
        Assert.False(MerkleTree.VerifyInclusion(index, size, [.. leafHash, 0], proof, root));
        Assert.False(MerkleTree.VerifyInclusion(index, size, leafHash, proof, root.AsSpan(0, 31)));

        // Extra node at either end.
        Assert.False(MerkleTree.VerifyInclusion(index, size, leafHash, [.. proof, leafHash], root));
        Assert.False(MerkleTree.VerifyInclusion(index, size, leafHash, [leafHash, .. proof], root));

        for (var k = 0; k < proof.Count; k++)
        {
            // A flipped bit in any node, a dropped node, a truncated node.
            var flipped = proof.ToList();
            flipped[k] = Flip(proof[k], 7);
            Assert.False(MerkleTree.VerifyInclusion(index, size, leafHash, flipped, root));

            var dropped = proof.ToList();
            dropped.RemoveAt(k);
            Assert.False(MerkleTree.VerifyInclusion(index, size, leafHash, dropped, root));

            var shortNode = proof.ToList();
            shortNode[k] = proof[k][..31];
            Assert.False(MerkleTree.VerifyInclusion(index, size, leafHash, shortNode, root));
        }
    }

    public static TheoryData<int> ConsistencyCases => new(Enumerable.Range(0, 5));

    [Theory]
    [MemberData(nameof(ConsistencyCases))]
    public void Consistency_proof_vector_is_reproduced_and_verifies(int i)
    {
        var c = V.GetProperty("consistency_proofs")[i];
        var size1 = c.GetProperty("size1").GetInt64();
        var size2 = c.GetProperty("size2").GetInt64();
        var root1 = TestData.Hex(c.GetProperty("root1_hex").GetString()!);
        var root2 = TestData.Hex(c.GetProperty("root2_hex").GetString()!);
        var expected = Hashes(c.GetProperty("proof_hex"));

        Assert.Equal(c.GetProperty("root1_hex").GetString(), Convert.ToHexStringLower(MerkleTree.ComputeRoot(LeafHashes, size1)));
        Assert.Equal(c.GetProperty("root2_hex").GetString(), Convert.ToHexStringLower(MerkleTree.ComputeRoot(LeafHashes, size2)));

        var proof = MerkleTree.ConsistencyProof(size1, size2, LeafHashes);
        Assert.Equal(expected.Select(Convert.ToHexStringLower), proof.Select(Convert.ToHexStringLower));
        Assert.True(MerkleTree.VerifyConsistency(size1, size2, root1, root2, expected));
    }

    [Theory]
    [MemberData(nameof(ConsistencyCases))]
    public void Tampered_consistency_proofs_are_rejected(int i)
    {
        var c = V.GetProperty("consistency_proofs")[i];
        var size1 = c.GetProperty("size1").GetInt64();
        var size2 = c.GetProperty("size2").GetInt64();
        var root1 = TestData.Hex(c.GetProperty("root1_hex").GetString()!);
        var root2 = TestData.Hex(c.GetProperty("root2_hex").GetString()!);
        var proof = Hashes(c.GetProperty("proof_hex"));

        Assert.False(MerkleTree.VerifyConsistency(size1, size2, Flip(root1, 3), root2, proof));
        Assert.False(MerkleTree.VerifyConsistency(size1, size2, root1, Flip(root2, 3), proof));
        if (size1 != size2)
        {
            Assert.False(MerkleTree.VerifyConsistency(size2, size1, root2, root1, proof));
        }
        else
        {
            Assert.False(MerkleTree.VerifyConsistency(size1, size2, root1, root2, [root1]));
        }

        Assert.False(MerkleTree.VerifyConsistency(size1, size2, root1, root2, [.. proof, root1]));
        Assert.False(MerkleTree.VerifyConsistency(0, size2, MerkleTree.EmptyRoot, root2, proof));
        for (var k = 0; k < proof.Count; k++)
        {
            var flipped = proof.ToList();
            flipped[k] = Flip(proof[k], 11);
            Assert.False(MerkleTree.VerifyConsistency(size1, size2, root1, root2, flipped));

            var dropped = proof.ToList();
            dropped.RemoveAt(k);
            Assert.False(MerkleTree.VerifyConsistency(size1, size2, root1, root2, dropped));
        }
    }

    [Fact]
    public void Consistency_verifier_follows_the_upstream_rules()
    {
        var roots = Enumerable.Range(0, 9).Select(n => MerkleTree.ComputeRoot(LeafHashes, n)).ToArray();
        var empty = MerkleTree.EmptyRoot;

        // From size 0: always an error, even 0 → 0.
        Assert.False(MerkleTree.VerifyConsistency(0, 0, empty, empty, []));
        Assert.False(MerkleTree.VerifyConsistency(0, 8, empty, roots[8], []));

        // Equal sizes: empty proof and equal roots.
        Assert.True(MerkleTree.VerifyConsistency(5, 5, roots[5], roots[5], []));
        Assert.False(MerkleTree.VerifyConsistency(5, 5, roots[5], roots[6], []));
        Assert.False(MerkleTree.VerifyConsistency(5, 5, roots[5], roots[5], [roots[5]]));

        // size1 < size2 needs a non-empty proof; size1 > size2 is rejected.
        Assert.False(MerkleTree.VerifyConsistency(4, 8, roots[4], roots[8], []));
        var proof = MerkleTree.ConsistencyProof(6, 8, LeafHashes);
        Assert.True(MerkleTree.VerifyConsistency(6, 8, roots[6], roots[8], proof));
        Assert.False(MerkleTree.VerifyConsistency(8, 6, roots[8], roots[6], proof));

        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.ConsistencyProof(0, 4, LeafHashes));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.ConsistencyProof(5, 4, LeafHashes));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.InclusionProof(4, 4, LeafHashes));
        Assert.Empty(MerkleTree.ConsistencyProof(3, 3, LeafHashes));
    }

    [Fact]
    public void Generated_proofs_verify_for_every_position_of_trees_up_to_70_leaves()
    {
        // Beyond the 8-leaf vectors: our proofs (checked above against the reference) must verify
        // with our verifiers for every index and size pair, and roots must agree across methods.
        var leaves = Enumerable.Range(0, 70).Select(i => MerkleTree.HashLeaf(System.Text.Encoding.ASCII.GetBytes($"leaf-{i}"))).ToArray();
        var range = new CompactRange();
        var roots = new List<byte[]> { MerkleTree.EmptyRoot };
        foreach (var leaf in leaves)
        {
            range.Append(leaf);
            roots.Add(range.GetRoot());
        }

        for (var n = 1; n <= leaves.Length; n++)
        {
            Assert.Equal(roots[n], MerkleTree.ComputeRoot(leaves, n));
            for (var m = 0; m < n; m++)
            {
                Assert.True(MerkleTree.VerifyInclusion(m, n, leaves[m], MerkleTree.InclusionProof(m, n, leaves), roots[n]));
            }

            for (var m = 1; m <= n; m++)
            {
                var proof = MerkleTree.ConsistencyProof(m, n, leaves);
                Assert.True(MerkleTree.VerifyConsistency(m, n, roots[m], roots[n], proof));
                if (m < n)
                {
                    Assert.False(MerkleTree.VerifyConsistency(m, n, roots[m], roots[n - 1], proof));
                }
            }
        }
    }

    [Fact]
    public void Compact_range_rejects_bad_input()
    {
        Assert.Throws<ArgumentException>(() => new CompactRange().Append(new byte[31]));
        Assert.Throws<FormatException>(() => CompactRange.FromBytes(3, new byte[32]));
        Assert.Throws<FormatException>(() => CompactRange.FromBytes(0, new byte[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CompactRange.FromBytes(-1, []));
    }

    private static byte[] Flip(byte[] bytes, int index)
    {
        var copy = (byte[])bytes.Clone();
        copy[index % copy.Length] ^= 0x01;
        return copy;
    }
}
