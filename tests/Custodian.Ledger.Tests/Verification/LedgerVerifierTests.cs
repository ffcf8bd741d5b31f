namespace Custodian.Ledger.Tests.Verification;

/// <summary>
/// Tampering with the stored ledger, each case naming the exact first bad position. Unless said
/// otherwise the ledger has 20 entries appended one at a time, so there is a tree head after
/// every entry (sizes 1..20).
/// </summary>
public sealed class LedgerVerifierTests
{
    private const int Size = 20;

    [Fact]
    public async Task Untouched_ledger_is_valid_with_the_stored_root()
    {
        await using var f = await CreateAsync();
        var progress = new ListProgress();

        var result = await new LedgerVerifier(f.Db).VerifyAsync(progress);

        Assert.True(result.IsValid);
        Assert.Equal(Size, result.TreeSize);
        Assert.Equal(Size, result.EntriesChecked);
        Assert.Null(result.FirstBadSequence);
        Assert.Null(result.Reason);
        Assert.Equal(await f.BlobAsync("SELECT root FROM ledger_tree_heads WHERE tree_size = 20"), result.Root.ToArray());
        Assert.Equal([20L], progress.Values);
    }

    [Fact]
    public async Task Empty_ledger_is_valid()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(result.IsValid);
        Assert.Equal(0, result.TreeSize);
        Assert.Equal(MerkleTree.EmptyRoot, result.Root.ToArray());
    }

    [Fact]
    public async Task Flipped_byte_in_a_payload_is_a_leaf_hash_mismatch_at_that_entry()
    {
        await using var f = await CreateAsync();
        var payload = await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = 7");
        payload[payload.Length / 2] ^= 0x20;
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p WHERE seq = 7", ("@p", payload));

        await AssertFailsAsync(f, VerificationFailures.LeafHashMismatch, firstBad: 7, goodHeadSize: 7);
    }

    [Fact]
    public async Task Deleted_entry_is_a_sequence_gap_at_that_position()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("DELETE FROM ledger_entries WHERE seq = 11");

        await AssertFailsAsync(f, VerificationFailures.SequenceGap, firstBad: 11, goodHeadSize: 11);
    }

    [Fact]
    public async Task Swapped_payloads_are_a_leaf_hash_mismatch_at_the_earlier_entry()
    {
        await using var f = await CreateAsync();
        var p4 = await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = 4");
        var p9 = await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = 9");
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p WHERE seq = 4", ("@p", p9));
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p WHERE seq = 9", ("@p", p4));

        await AssertFailsAsync(f, VerificationFailures.LeafHashMismatch, firstBad: 4, goodHeadSize: 4);
    }

    [Fact]
    public async Task Cut_tail_is_truncated_at_the_first_missing_entry()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("DELETE FROM ledger_entries WHERE seq >= 16");
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq >= 16");

        await AssertFailsAsync(f, VerificationFailures.Truncated, firstBad: 16, goodHeadSize: 16);

        // Fail closed: the writer refuses to append on a tail that disagrees with its head.
        await using var ledger = f.NewLedger();
        await Assert.ThrowsAsync<LedgerUnavailableException>(async () => await ledger.AppendAsync(LedgerFixture.Entry(99)));
    }

    [Fact]
    public async Task Edited_payload_with_recomputed_leaf_hash_is_a_root_mismatch_after_the_last_good_head()
    {
        await using var f = await CreateAsync();
        await RewriteWithRecomputedHashAsync(f, 13, "in-store-service"u8.ToArray(), "marketing-survey"u8.ToArray());

        // A head after every entry: the head of size 13 (entries 0..12) still matches, the head of size 14 does not.
        var result = await AssertFailsAsync(f, VerificationFailures.RootMismatch, firstBad: 13, goodHeadSize: 13);
        Assert.Equal(await f.BlobAsync("SELECT root FROM ledger_tree_heads WHERE tree_size = 13"), result.Root.ToArray());
    }

    [Fact]
    public async Task With_batched_heads_the_first_bad_position_is_the_first_entry_after_the_last_good_head()
    {
        await using var f = await LedgerFixture.CreateAsync();
        await using (var ledger = f.NewLedger())
        {
            for (var i = 0; i < 5; i++)
            {
                await ledger.AppendAsync(LedgerFixture.Entry(i, 500 + i));
            }

            await ledger.AppendRangeAsync(Enumerable.Range(5, 10).Select(i => LedgerFixture.Entry(i, 500 + i)).ToArray()); // one head: size 15
            for (var i = 15; i < 20; i++)
            {
                await ledger.AppendAsync(LedgerFixture.Entry(i, 500 + i));
            }
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L, 15L, 16L, 17L, 18L, 19L, 20L], await HeadSizesAsync(f));
        await RewriteWithRecomputedHashAsync(f, 9, "in-store-service"u8.ToArray(), "marketing-survey"u8.ToArray());

        // Entry 9 was changed, but no head sits between 5 and 15: the evidence only shows that
        // something in 5..14 differs from what the head of size 15 committed to.
        var result = await AssertFailsAsync(f, VerificationFailures.RootMismatch, firstBad: 5, goodHeadSize: 5);
        Assert.Equal(await f.BlobAsync("SELECT root FROM ledger_tree_heads WHERE tree_size = 5"), result.Root.ToArray());
        Assert.Equal(15, result.EntriesChecked);
    }

    [Fact]
    public async Task Garbage_payload_with_recomputed_hash_is_undecodable_at_that_entry()
    {
        await using var f = await CreateAsync();
        var garbage = "{\"v\":1}"u8.ToArray();
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p, leaf_hash = @h WHERE seq = 3", ("@p", garbage), ("@h", MerkleTree.HashLeaf(garbage)));

        await AssertFailsAsync(f, VerificationFailures.UndecodablePayload, firstBad: 3, goodHeadSize: 3);
    }

    [Fact]
    public async Task Edited_query_column_is_a_projection_mismatch_at_that_entry()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("UPDATE ledger_entries SET account = 'C9999' WHERE seq = 6");

        await AssertFailsAsync(f, VerificationFailures.ProjectionMismatch, firstBad: 6, goodHeadSize: 6);
    }

    [Fact]
    public async Task Payload_stored_as_text_is_a_leaf_hash_mismatch_not_a_crash()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = CAST(payload AS TEXT) WHERE seq = 2");

        await AssertFailsAsync(f, VerificationFailures.LeafHashMismatch, firstBad: 2, goodHeadSize: 2);
    }

    [Fact]
    public async Task Query_column_of_another_type_is_a_projection_mismatch()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("UPDATE ledger_entries SET store = 1 WHERE seq = 8");

        await AssertFailsAsync(f, VerificationFailures.ProjectionMismatch, firstBad: 8, goodHeadSize: 8);
    }

    [Fact]
    public async Task Deleted_subject_row_hiding_an_access_is_a_projection_mismatch_at_that_entry()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 12");

        await AssertFailsAsync(f, VerificationFailures.ProjectionMismatch, firstBad: 12, goodHeadSize: 12);
    }

    [Fact]
    public async Task Entries_beyond_the_newest_head_are_reported()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("DELETE FROM ledger_tree_heads WHERE tree_size > 17");

        await AssertFailsAsync(f, VerificationFailures.MissingTreeHead, firstBad: 17, goodHeadSize: 17);
    }

    [Fact]
    public async Task Forged_frontier_is_reported_and_the_writer_refuses_to_continue_from_it()
    {
        await using var f = await CreateAsync();
        var frontier = await f.BlobAsync("SELECT frontier FROM ledger_tree_heads WHERE tree_size = 20");
        Assert.Equal(2 * MerkleTree.HashSize, frontier.Length); // 20 = 16 + 4: two subtree roots
        frontier[40] ^= 1;
        await f.ExecuteAsync("UPDATE ledger_tree_heads SET frontier = @f WHERE tree_size = 20", ("@f", frontier));

        await AssertFailsAsync(f, VerificationFailures.FrontierMismatch, firstBad: 20, goodHeadSize: 20);
        await using var ledger = f.NewLedger();
        await Assert.ThrowsAsync<LedgerUnavailableException>(async () => await ledger.AppendAsync(LedgerFixture.Entry(99)));
    }

    [Fact]
    public async Task Only_the_newest_head_keeps_a_frontier()
    {
        await using var f = await CreateAsync();
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_tree_heads WHERE frontier IS NOT NULL"));
        Assert.Equal(20, await f.ScalarAsync("SELECT tree_size FROM ledger_tree_heads WHERE frontier IS NOT NULL"));
    }

    [Fact]
    public async Task Progress_is_reported_every_65536_entries_and_at_the_end()
    {
        await using var f = await LedgerFixture.CreateAsync();
        await using (var ledger = f.NewLedger())
        {
            await ledger.AppendRangeAsync(Enumerable.Range(0, 70_000).Select(i => LedgerFixture.Entry(i)).ToArray());
        }

        var progress = new ListProgress();
        var result = await new LedgerVerifier(f.Db).VerifyAsync(progress);
        Assert.True(result.IsValid);
        Assert.Equal([65_536L, 70_000L], progress.Values);
    }

    [Fact]
    public async Task Verification_can_be_cancelled()
    {
        await using var f = await CreateAsync();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new LedgerVerifier(f.Db).VerifyAsync(null, cts.Token));
    }

    private static async Task<LedgerFixture> CreateAsync()
    {
        var f = await LedgerFixture.CreateAsync();
        await using var ledger = f.NewLedger();
        for (var i = 0; i < Size; i++)
        {
            await ledger.AppendAsync(LedgerFixture.Entry(i, 1_000 + i));
        }

        Assert.Equal(Enumerable.Range(1, Size).Select(i => (long)i), await HeadSizesAsync(f));
        return f;
    }

    private static async Task<List<long>> HeadSizesAsync(LedgerFixture f)
    {
        var sizes = new List<long>();
        await using var connection = await f.Db.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT tree_size FROM ledger_tree_heads ORDER BY tree_size";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            sizes.Add(reader.GetInt64(0));
        }

        return sizes;
    }

    // An attacker with write access: changes a value inside the payload (not a projected column)
    // and stores the matching leaf hash, so the entry looks intact on its own.
    private static async Task RewriteWithRecomputedHashAsync(LedgerFixture f, long seq, byte[] from, byte[] to)
    {
        var payload = await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = @s", ("@s", seq));
        var at = payload.AsSpan().IndexOf(from);
        Assert.True(at >= 0);
        Assert.Equal(from.Length, to.Length);
        to.CopyTo(payload, at);
        Assert.Equal("marketing-survey", LeafCodec.Decode(payload).Purpose);
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p, leaf_hash = @h WHERE seq = @s", ("@p", payload), ("@h", MerkleTree.HashLeaf(payload)), ("@s", seq));
    }

    private static async Task<VerificationResult> AssertFailsAsync(LedgerFixture f, string reason, long firstBad, long goodHeadSize)
    {
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.False(result.IsValid);
        Assert.Equal(reason, result.Reason);
        Assert.Equal(firstBad, result.FirstBadSequence);
        Assert.Equal(goodHeadSize, result.TreeSize);
        Assert.False(string.IsNullOrEmpty(result.Message));
        return result;
    }

    private sealed class ListProgress : IProgress<long>
    {
        public List<long> Values { get; } = [];

        public void Report(long value) => Values.Add(value);
    }
}
