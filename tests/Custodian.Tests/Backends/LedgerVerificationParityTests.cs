using Custodian.Ledger;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Backends;

/// <summary>
/// <see cref="LedgerVerifier"/> on both backends: the same ledger verifies with the same root, and each kind of
/// tampering (the cases of tests/Custodian.Ledger.Tests/Verification, done with portable SQL) is found at the same
/// first bad sequence with the same reason and the same verified prefix. Unless said otherwise the ledger has 20
/// entries appended one at a time, so there is a tree head after every entry (sizes 1..20) and one level-4 subtree
/// (leaves 0–15).
/// </summary>
public sealed class LedgerVerificationParityTests
{
    private const int Size = 20;

    /// <summary>Every tampering case on both backends: (backend, case).</summary>
    public static TheoryData<TestBackend, string> Cases
    {
        get
        {
            var data = new TheoryData<TestBackend, string>();
            foreach (var backend in new[] { TestBackend.Sqlite, TestBackend.Postgres })
            {
                foreach (var name in Tampering.Keys)
                {
                    data.Add(backend, name);
                }
            }

            return data;
        }
    }

    // Case → (tampering, expected reason, first bad sequence, verified prefix).
    private static readonly Dictionary<string, (Func<LedgerOnBackend, Task> Tamper, string Reason, long FirstBad, long GoodHead)> Tampering = new()
    {
        ["flipped-payload-byte"] = (async f =>
        {
            var payload = await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = 7");
            payload[payload.Length / 2] ^= 0x20;
            await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p WHERE seq = 7", ("@p", payload));
        }, VerificationFailures.LeafHashMismatch, 7, 7),
        ["deleted-entry"] = (f => f.ExecuteAsync("DELETE FROM ledger_entries WHERE seq = 11"), VerificationFailures.SequenceGap, 11, 11),
        ["cut-tail"] = (async f =>
        {
            await f.ExecuteAsync("DELETE FROM ledger_entries WHERE seq >= 16");
            await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq >= 16");
        }, VerificationFailures.Truncated, 16, 16),
        ["edited-payload-recomputed-hash"] = (async f =>
        {
            var payload = await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = 5");
            var at = payload.AsSpan().IndexOf("in-store-service"u8);
            "marketing-survey"u8.CopyTo(payload.AsSpan(at));
            await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p, leaf_hash = @h WHERE seq = 5", ("@p", payload), ("@h", MerkleTree.HashLeaf(payload)));
        }, VerificationFailures.RootMismatch, 5, 5),
        ["garbage-payload"] = (async f =>
        {
            var garbage = "{not a ledger entry"u8.ToArray();
            await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p, leaf_hash = @h WHERE seq = 3", ("@p", garbage), ("@h", MerkleTree.HashLeaf(garbage)));
        }, VerificationFailures.UndecodablePayload, 3, 3),
        ["edited-query-column"] = (f => f.ExecuteAsync("UPDATE ledger_entries SET account = 'C9999' WHERE seq = 6"), VerificationFailures.ProjectionMismatch, 6, 6),
        ["deleted-subject-row"] = (f => f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 12"), VerificationFailures.ProjectionMismatch, 12, 12),
        ["extra-subject-row"] = (f => f.ExecuteAsync("INSERT INTO ledger_subjects (subscriber_id, seq) VALUES (999999, 9)"), VerificationFailures.ProjectionMismatch, 9, 9),
        ["subject-row-without-entry"] = (f => f.ExecuteAsync("INSERT INTO ledger_subjects (subscriber_id, seq) VALUES (7, 5000)"), VerificationFailures.ProjectionMismatch, 5000, 20),
        ["deleted-heads"] = (f => f.ExecuteAsync("DELETE FROM ledger_tree_heads WHERE tree_size > 17"), VerificationFailures.MissingTreeHead, 17, 17),
        ["forged-root"] = (f => f.ExecuteAsync("UPDATE ledger_tree_heads SET root = @r WHERE tree_size = 14", ("@r", new byte[32])), VerificationFailures.RootMismatch, 13, 13),
        ["flipped-subtree-hash"] = (async f =>
        {
            var hash = await f.BlobAsync("SELECT hash FROM ledger_subtrees WHERE level = 4 AND idx = 0");
            hash[5] ^= 1;
            await f.ExecuteAsync("UPDATE ledger_subtrees SET hash = @h WHERE level = 4 AND idx = 0", ("@h", hash));
        }, VerificationFailures.SubtreeMismatch, 0, 16),
        ["payload-erased-without-authority"] = (f => f.ExecuteAsync(
            "UPDATE ledger_entries SET payload = @empty, account = NULL, terminal = NULL, store = NULL, erased_by = 19 WHERE seq = 2",
            ("@empty", Array.Empty<byte>())), VerificationFailures.UnauthorisedErasure, 2, 2),
    };

    [Fact]
    public async Task An_untouched_ledger_verifies_on_both_with_the_stored_root_which_is_the_same_on_both()
    {
        var roots = new List<byte[]>();
        foreach (var backend in new[] { TestBackend.Sqlite, TestBackend.Postgres })
        {
            await using var f = await CreateAsync(backend);
            var progress = new List<long>();

            var result = await new LedgerVerifier(f.Db).VerifyAsync(new SyncProgress(progress.Add));

            Assert.True(result.IsValid, result.Message);
            Assert.Equal((Size, Size), (result.TreeSize, result.EntriesChecked));
            Assert.Equal(await f.BlobAsync("SELECT root FROM ledger_tree_heads WHERE tree_size = 20"), result.Root.ToArray());
            Assert.Equal([20L], progress);
            roots.Add(result.Root.ToArray());
        }

        Assert.Equal(roots[0], roots[1]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_kind_of_tampering_is_found_at_the_same_entry_on_both_backends(TestBackend backend, string tampering)
    {
        await using var f = await CreateAsync(backend);
        var (tamper, reason, firstBad, goodHead) = Tampering[tampering];
        await tamper(f);

        var result = await new LedgerVerifier(f.Db).VerifyAsync();

        Assert.False(result.IsValid);
        Assert.Equal((reason, firstBad, goodHead), (result.Reason!, result.FirstBadSequence!.Value, result.TreeSize));
        Assert.False(string.IsNullOrEmpty(result.Message));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task A_ledger_of_several_chunks_written_in_batches_verifies_and_a_late_edit_is_found(TestBackend backend)
    {
        // 9,000 entries: three chunks of the verifier's pipeline (4,096 rows each), heads after each batch.
        await using var f = await LedgerOnBackend.CreateAsync(backend);
        const int count = 9_000;
        for (var i = 0; i < count; i += 500)
        {
            await Task.WhenAll(Enumerable.Range(i, 500).Select(j => f.Ledger.AppendAsync(LedgerOnBackend.Entry(j, 1_000 + (j % 97), 5_000 + (j % 13))).AsTask()));
        }

        Assert.Equal(count, await f.ProjectSubjectsAsync());

        var valid = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(valid.IsValid, valid.Message);
        Assert.Equal(count, valid.TreeSize);
        Assert.Equal(await f.BlobAsync("SELECT root FROM ledger_tree_heads WHERE tree_size = 9000"), valid.Root.ToArray());

        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 8500");
        var invalid = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.False(invalid.IsValid);
        Assert.Equal((VerificationFailures.ProjectionMismatch, 8_500L), (invalid.Reason!, invalid.FirstBadSequence!.Value));
    }

    private static async Task<LedgerOnBackend> CreateAsync(TestBackend backend)
    {
        var f = await LedgerOnBackend.CreateAsync(backend);
        for (var i = 0; i < Size; i++)
        {
            await f.Ledger.AppendAsync(LedgerOnBackend.Entry(i, 1_000 + i));
        }

        Assert.Equal(Size, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_tree_heads"));
        Assert.Equal(Size, await f.ProjectSubjectsAsync());
        return f;
    }

    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
