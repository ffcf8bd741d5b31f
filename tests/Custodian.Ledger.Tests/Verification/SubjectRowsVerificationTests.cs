namespace Custodian.Ledger.Tests.Verification;

/// <summary>
/// The subject-row check (one keyed-hash sum per block of 65,536 sequences, then an exact search in
/// a block that differs). Unless said otherwise the ledger has 1,100 entries in batches of 100
/// (heads at 100, 200, …), entry i naming subscriber i + 1.
/// </summary>
public sealed class SubjectRowsVerificationTests
{
    [Fact]
    public async Task An_extra_subject_row_for_an_entry_is_a_projection_mismatch_at_that_entry()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("INSERT INTO ledger_subjects (subscriber_id, seq) VALUES (999999, 250)");
        await AssertFailsAsync(f, firstBad: 250, goodHeadSize: 200);
    }

    [Fact]
    public async Task A_subject_row_of_a_sequence_without_entry_is_a_projection_mismatch_at_that_sequence()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("INSERT INTO ledger_subjects (subscriber_id, seq) VALUES (7, 5000)");
        await AssertFailsAsync(f, firstBad: 5_000, goodHeadSize: 1_100);
    }

    [Fact]
    public async Task A_missing_subject_row_is_reported_before_a_later_root_mismatch()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 150");
        var payload = await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = 700");
        var at = payload.AsSpan().IndexOf("C0700"u8);
        "C0999"u8.CopyTo(payload.AsSpan(at));
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p, leaf_hash = @h, account = 'C0999' WHERE seq = 700", ("@p", payload), ("@h", MerkleTree.HashLeaf(payload)));

        await AssertFailsAsync(f, firstBad: 150, goodHeadSize: 100);
    }

    [Fact]
    public async Task A_missing_subject_row_in_a_complete_block_is_found_exactly()
    {
        await using var f = await LedgerFixture.CreateAsync();
        await using (var ledger = f.NewLedger())
        {
            await ledger.AppendRangeAsync(Enumerable.Range(0, 1_000).Select(i => LedgerFixture.Entry(i, i + 1, 7)).ToArray());
            await ledger.AppendRangeAsync(Enumerable.Range(1_000, 69_000).Select(i => LedgerFixture.Entry(i, i + 1)).ToArray());
        }

        Assert.Equal(70_000, await f.ProjectSubjectsAsync());

        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 40000");
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 66000");
        await AssertFailsAsync(f, firstBad: 40_000, goodHeadSize: 1_000);
    }

    private static async Task<LedgerFixture> CreateAsync()
    {
        var f = await LedgerFixture.CreateAsync();
        await using var ledger = f.NewLedger();
        for (var batch = 0; batch < 11; batch++)
        {
            await ledger.AppendRangeAsync(Enumerable.Range(batch * 100, 100).Select(i => LedgerFixture.Entry(i, i + 1)).ToArray());
        }

        Assert.Equal(1_100, await f.ProjectSubjectsAsync());
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
        return f;
    }

    private static async Task AssertFailsAsync(LedgerFixture f, long firstBad, long goodHeadSize)
    {
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.False(result.IsValid);
        Assert.Equal(VerificationFailures.ProjectionMismatch, result.Reason);
        Assert.Equal(firstBad, result.FirstBadSequence);
        Assert.Equal(goodHeadSize, result.TreeSize);
    }
}
