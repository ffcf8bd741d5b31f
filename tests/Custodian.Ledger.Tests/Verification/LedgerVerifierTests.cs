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
    public async Task Two_whole_rows_reordered_with_their_leaf_hashes_are_a_root_mismatch_at_the_earlier_position()
    {
        await using var f = await CreateAsync();

        // Each row stays self-consistent (payload, leaf hash, query columns and subject rows move
        // together), so only a tree head can tell: the head of size 5 committed to the old order.
        await SwapRowsAsync(f, 4, 9);

        var result = await AssertFailsAsync(f, VerificationFailures.RootMismatch, firstBad: 4, goodHeadSize: 4);
        Assert.Equal(5, result.EntriesChecked);
    }

    [Fact]
    public async Task Deleted_entry_with_the_later_ones_renumbered_is_a_root_mismatch_at_that_position()
    {
        await using var f = await CreateAsync();

        // No gap is left: entries 12..19 become 11..18. The heads still commit to the old contents.
        await f.ExecuteAsync("DELETE FROM ledger_entries WHERE seq = 11");
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 11");
        for (var seq = 12; seq < Size; seq++)
        {
            await f.ExecuteAsync("UPDATE ledger_entries SET seq = @to WHERE seq = @from", ("@to", seq - 1), ("@from", seq));
            await f.ExecuteAsync("UPDATE ledger_subjects SET seq = @to WHERE seq = @from", ("@to", seq - 1), ("@from", seq));
        }

        await AssertFailsAsync(f, VerificationFailures.RootMismatch, firstBad: 11, goodHeadSize: 11);
    }

    [Fact]
    public async Task Edited_entry_with_recomputed_leaf_hash_and_recomputed_head_of_its_batch_is_caught_at_the_next_head()
    {
        await using var f = await CreateAsync();
        await RewriteWithRecomputedHashAsync(f, 13, "in-store-service"u8.ToArray(), "marketing-survey"u8.ToArray());

        // The attacker also recomputes the head of the edited entry's batch (size 14), but not the later ones.
        await f.ExecuteAsync("UPDATE ledger_tree_heads SET root = @r WHERE tree_size = 14", ("@r", await RootFromStoredLeavesAsync(f, 14)));

        // The forged head of size 14 matches the edited entries, so the verifier trusts the prefix up to
        // it; the head of size 15 does not. From the database alone this is indistinguishable from an
        // edit of entry 14 (head 14 genuine, head 15 not), so the first position the evidence proves
        // bad is 14, the first entry after the last head that reproduced. Entry 13 itself is named
        // only against a checkpoint (a signed head held outside the database) of a size above 13.
        var result = await AssertFailsAsync(f, VerificationFailures.RootMismatch, firstBad: 14, goodHeadSize: 14);
        Assert.Equal(15, result.EntriesChecked);
    }

    [Fact]
    public async Task Edited_entry_with_every_later_head_recomputed_verifies_only_a_checkpoint_can_catch_it()
    {
        await using var f = await CreateAsync();
        var before = await new LedgerVerifier(f.Db).VerifyAsync();
        await RewriteWithRecomputedHashAsync(f, 13, "in-store-service"u8.ToArray(), "marketing-survey"u8.ToArray());
        for (var size = 14; size <= Size; size++)
        {
            await f.ExecuteAsync("UPDATE ledger_tree_heads SET root = @r WHERE tree_size = @s", ("@r", await RootFromStoredLeavesAsync(f, size)), ("@s", size));
        }

        var frontier = new CompactRange();
        foreach (var leaf in await LeafHashesAsync(f, Size))
        {
            frontier.Append(leaf);
        }

        await f.ExecuteAsync("UPDATE ledger_tree_heads SET frontier = @f WHERE tree_size = @s", ("@f", frontier.ToBytes()), ("@s", Size));
        await RebuildSubtreesAsync(f, Size); // a thorough forger also recomputes the stored subtree hashes (ledger-002)

        // The documented limit (docs/ledger-format.md §5, "What it cannot see"): a consistent rewrite
        // of the entries and every later head verifies. The only trace is that the root of size 20
        // differs from the one a checkpoint signed before the rewrite.
        var after = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(after.IsValid);
        Assert.Equal(Size, after.TreeSize);
        Assert.NotEqual(before.RootHex, after.RootHex);
    }

    [Fact]
    public async Task Tail_cut_together_with_its_heads_verifies_only_a_checkpoint_can_catch_it()
    {
        await using var f = await CreateAsync();
        var before = await new LedgerVerifier(f.Db).VerifyAsync();
        var frontier = new CompactRange();
        foreach (var leaf in await LeafHashesAsync(f, 16))
        {
            frontier.Append(leaf);
        }

        await f.ExecuteAsync("DELETE FROM ledger_entries WHERE seq >= 16");
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq >= 16");
        await f.ExecuteAsync("DELETE FROM ledger_tree_heads WHERE tree_size > 16");
        await f.ExecuteAsync("UPDATE ledger_tree_heads SET frontier = @f WHERE tree_size = 16", ("@f", frontier.ToBytes()));

        // Left at 20, the subject watermark still shows that entries 16..19 were projected (ledger-004).
        var watermarkLeft = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.Equal((VerificationFailures.ProjectionMismatch, 16L), (watermarkLeft.Reason!, watermarkLeft.FirstBadSequence!.Value));
        await f.ExecuteAsync("UPDATE ledger_subject_watermark SET next_seq = 16");

        // A shorter, self-consistent ledger: only a checkpoint of size 20 shows that 16..19 existed.
        var after = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(after.IsValid);
        Assert.Equal(16, after.TreeSize);
        Assert.Equal(Size, before.TreeSize);
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
        Assert.Equal(Size, await f.ProjectSubjectsAsync());
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

    // Swaps two whole rows: payload, leaf hash, query columns and subject rows move together.
    private static async Task SwapRowsAsync(LedgerFixture f, long a, long b)
    {
        foreach (var table in new[] { "ledger_entries", "ledger_subjects" })
        {
            await f.ExecuteAsync($"UPDATE {table} SET seq = -1 WHERE seq = @a", ("@a", a));
            await f.ExecuteAsync($"UPDATE {table} SET seq = @a WHERE seq = @b", ("@a", a), ("@b", b));
            await f.ExecuteAsync($"UPDATE {table} SET seq = @b WHERE seq = -1", ("@b", b));
        }
    }

    private static async Task<List<byte[]>> LeafHashesAsync(LedgerFixture f, long size)
    {
        var leaves = new List<byte[]>();
        await using var connection = await f.Db.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT leaf_hash FROM ledger_entries WHERE seq < @size ORDER BY seq";
        command.Parameters.Add(new Microsoft.Data.Sqlite.SqliteParameter("@size", size));
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            leaves.Add((byte[])reader.GetValue(0));
        }

        return leaves;
    }

    // What an attacker who recomputes heads would store: the RFC 9162 root of the (edited) stored leaves.
    // Replaces ledger_subtrees with the subtree hashes (levels 4, 8, …) of the stored leaf hashes, as a forger would.
    private static async Task RebuildSubtreesAsync(LedgerFixture f, long size)
    {
        var subtrees = new List<(int Level, long Index, byte[] Hash)>();
        var range = new CompactRange();
        foreach (var leaf in await LeafHashesAsync(f, size))
        {
            range.Append(leaf, (height, index, hash) =>
            {
                if (height % TiledRangeRoots.LedgerStride == 0)
                {
                    subtrees.Add((height, index, hash.ToArray()));
                }
            });
        }

        await f.ExecuteAsync("DELETE FROM ledger_subtrees");
        foreach (var (level, index, hash) in subtrees)
        {
            await f.ExecuteAsync("INSERT INTO ledger_subtrees (level, idx, hash) VALUES (@l, @i, @h)", ("@l", (long)level), ("@i", index), ("@h", hash));
        }
    }

    private static async Task<byte[]> RootFromStoredLeavesAsync(LedgerFixture f, long size)
    {
        var range = new CompactRange();
        foreach (var leaf in await LeafHashesAsync(f, size))
        {
            range.Append(leaf);
        }

        return range.GetRoot();
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
