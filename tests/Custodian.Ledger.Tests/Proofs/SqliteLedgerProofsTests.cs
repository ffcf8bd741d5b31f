namespace Custodian.Ledger.Tests.Proofs;

public sealed class SqliteLedgerProofsTests
{
    [Fact]
    public async Task Proofs_from_storage_verify_against_the_stored_heads()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger();
        var heads = new List<TreeHead>();
        for (var i = 0; i < 13; i++)
        {
            await ledger.AppendAsync(LedgerFixture.Entry(i, i + 1));
            heads.Add(await ledger.GetTreeHeadAsync());
        }

        var proofs = new LedgerProofs(f.Db, ledger);
        Assert.Equal(13, (await proofs.GetTreeHeadAsync()).Size);
        Assert.Equal(MerkleTree.EmptyRoot, await proofs.GetRootAsync(0));
        foreach (var head in heads)
        {
            Assert.Equal(head.Root.ToArray(), await proofs.GetRootAsync(head.Size));
            for (long leaf = 0; leaf < head.Size; leaf++)
            {
                var leafHash = await f.BlobAsync("SELECT leaf_hash FROM ledger_entries WHERE seq = @s", ("@s", leaf));
                var path = await proofs.GetInclusionProofAsync(leaf, head.Size);
                Assert.True(MerkleTree.VerifyInclusion(leaf, head.Size, leafHash, path, head.Root.Span));
            }

            foreach (var later in heads.Where(h => h.Size >= head.Size))
            {
                var proof = await proofs.GetConsistencyProofAsync(head.Size, later.Size);
                Assert.True(MerkleTree.VerifyConsistency(head.Size, later.Size, head.Root.Span, later.Root.Span, proof));
            }
        }

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => proofs.GetInclusionProofAsync(13, 13));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => proofs.GetRootAsync(14));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => proofs.GetConsistencyProofAsync(0, 5));
    }

    [Fact]
    public async Task Proofs_from_the_subtree_store_equal_the_reference_across_tiles_and_partial_tiles()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger();

        // Batches of uneven sizes, so level-8 subtrees complete inside, at the end of and across batches.
        var sizes = new[] { 1, 7, 255, 1, 300, 256, 511, 2, 600, 667 };
        var next = 0;
        foreach (var size in sizes)
        {
            await ledger.AppendRangeAsync(Enumerable.Range(next, size).Select(i => LedgerFixture.Entry(i, i + 1)).ToArray());
            next += size;
        }

        Assert.Equal(2_600, next);
        Assert.Equal(162, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subtrees WHERE level = 4"));
        Assert.Equal(10, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subtrees WHERE level = 8"));
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subtrees WHERE level NOT IN (4, 8)"));

        var leaves = new List<byte[]>();
        for (var i = 0; i < next; i++)
        {
            leaves.Add(await f.BlobAsync("SELECT leaf_hash FROM ledger_entries WHERE seq = @s", ("@s", (long)i)));
        }

        var reference = new TiledRangeRootsTests.Reference(leaves);
        var proofs = new LedgerProofs(f.Db, ledger);
        for (var n = 1; n <= next; n++)
        {
            Assert.Equal(reference.Root(n), await proofs.GetRootAsync(n));
            foreach (var m in new long[] { n - 1, (n * 7L) / 13 })
            {
                Assert.Equal(MerkleTree.InclusionProof(m, n, reference.RangeRoot), await proofs.GetInclusionProofAsync(m, n));
            }

            Assert.Equal(MerkleTree.ConsistencyProof(Math.Min(n, 256), n, reference.RangeRoot), await proofs.GetConsistencyProofAsync(Math.Min(n, 256), n));
        }

        for (long m = 0; m < next; m++)
        {
            Assert.Equal(MerkleTree.InclusionProof(m, next, reference.RangeRoot), await proofs.GetInclusionProofAsync(m, next));
            Assert.Equal(MerkleTree.ConsistencyProof(m + 1, next, reference.RangeRoot), await proofs.GetConsistencyProofAsync(m + 1, next));
        }
    }

    [Fact]
    public async Task A_ledger_without_subtree_rows_is_reported_then_backfilled_when_a_writer_starts()
    {
        await using var f = await LedgerFixture.CreateAsync();
        await using (var first = f.NewLedger())
        {
            await first.AppendRangeAsync(Enumerable.Range(0, 1_000).Select(i => LedgerFixture.Entry(i, i + 1)).ToArray());
        }

        // As after migration ledger-002 on a ledger written by ledger-001 code: the table is empty.
        var expected = await f.BlobAsync("SELECT hash FROM ledger_subtrees WHERE level = 8 AND idx = 2");
        await f.ExecuteAsync("DELETE FROM ledger_subtrees");
        var before = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.Equal(VerificationFailures.SubtreeMismatch, before.Reason);
        Assert.Equal(0, before.FirstBadSequence);

        // The writer backfills before its first batch; the append returning proves it ran.
        var ledger = f.NewLedger();
        await ledger.AppendAsync(LedgerFixture.Entry(1_000, 5));
        Assert.Equal((1_001 / 16) + (1_001 / 256), await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subtrees"));
        Assert.Equal(expected, await f.BlobAsync("SELECT hash FROM ledger_subtrees WHERE level = 8 AND idx = 2"));
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);

        var proofs = new LedgerProofs(f.Db, ledger);
        var head = await proofs.GetTreeHeadAsync();
        var path = await proofs.GetInclusionProofAsync(600, head.Size);
        Assert.True(MerkleTree.VerifyInclusion(600, head.Size, await f.BlobAsync("SELECT leaf_hash FROM ledger_entries WHERE seq = 600"), path, head.Root.Span));
    }
}
