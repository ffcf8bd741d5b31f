namespace Custodian.Ledger.Tests.Verification;

/// <summary>
/// Tampering with the stored subtree hashes (<c>ledger_subtrees</c>, migration ledger-002). The
/// ledger has 1,100 entries in batches of 100, so tree heads at 100, 200, …, 1,100, level-4
/// subtrees 0–67 (one per 16 leaves) and level-8 subtrees 0–3 (complete at 256, 512, 768, 1,024).
/// </summary>
public sealed class SubtreeVerificationTests
{
    [Fact]
    public async Task Untouched_ledger_with_subtrees_is_valid()
    {
        await using var f = await CreateAsync();
        Assert.Equal(68, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subtrees WHERE level = 4"));
        Assert.Equal(4, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subtrees WHERE level = 8"));
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
    }

    [Fact]
    public async Task Flipped_byte_in_a_subtree_hash_is_a_subtree_mismatch_at_its_first_leaf()
    {
        await using var f = await CreateAsync();
        var hash = await f.BlobAsync("SELECT hash FROM ledger_subtrees WHERE level = 8 AND idx = 2");
        hash[5] ^= 1;
        await f.ExecuteAsync("UPDATE ledger_subtrees SET hash = @h WHERE level = 8 AND idx = 2", ("@h", hash));

        // Subtree 2 completes at leaf 768; the next head (800) proves the entries, so the subtree row is what changed.
        await AssertFailsAsync(f, firstBad: 512, goodHeadSize: 800);
    }

    [Fact]
    public async Task Deleted_subtree_row_is_a_subtree_mismatch()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("DELETE FROM ledger_subtrees WHERE level = 8 AND idx = 1");
        await AssertFailsAsync(f, firstBad: 256, goodHeadSize: 600);
    }

    [Fact]
    public async Task Extra_subtree_rows_are_a_subtree_mismatch()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("INSERT INTO ledger_subtrees (level, idx, hash) VALUES (8, 4, @h)", ("@h", new byte[32]));
        await AssertFailsAsync(f, firstBad: 1_024, goodHeadSize: 1_100);

        await f.ExecuteAsync("DELETE FROM ledger_subtrees WHERE idx = 4");
        await f.ExecuteAsync("INSERT INTO ledger_subtrees (level, idx, hash) VALUES (2, 3, @h)", ("@h", new byte[32]));

        // A level-2 row is never produced: found when level-4 subtree 0 completes (leaf 16), reported at the next good head.
        await AssertFailsAsync(f, firstBad: 12, goodHeadSize: 100);
    }

    [Fact]
    public async Task Edited_entry_with_recomputed_hash_stays_a_root_mismatch_not_a_subtree_one()
    {
        await using var f = await CreateAsync();
        var payload = await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = 300");
        var at = payload.AsSpan().IndexOf("C0300"u8);
        "C0999"u8.CopyTo(payload.AsSpan(at));
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p, leaf_hash = @h, account = 'C0999' WHERE seq = 300", ("@p", payload), ("@h", MerkleTree.HashLeaf(payload)));

        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.Equal(VerificationFailures.RootMismatch, result.Reason);
        Assert.Equal(300, result.FirstBadSequence);
        Assert.Equal(300, result.TreeSize);
    }

    private static async Task<LedgerFixture> CreateAsync()
    {
        var f = await LedgerFixture.CreateAsync();
        await using var ledger = f.NewLedger();
        for (var batch = 0; batch < 11; batch++)
        {
            await ledger.AppendRangeAsync(Enumerable.Range(batch * 100, 100).Select(i => LedgerFixture.Entry(i, i + 1)).ToArray());
        }

        return f;
    }

    private static async Task AssertFailsAsync(LedgerFixture f, long firstBad, long goodHeadSize)
    {
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.False(result.IsValid);
        Assert.Equal(VerificationFailures.SubtreeMismatch, result.Reason);
        Assert.Equal(firstBad, result.FirstBadSequence);
        Assert.Equal(goodHeadSize, result.TreeSize);
    }
}
