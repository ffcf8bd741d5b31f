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

        var proofs = new SqliteLedgerProofs(f.Db, ledger);
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
}
