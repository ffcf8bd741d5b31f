using Custodian.Identity;

namespace Custodian.Ledger.Tests.Verification;

/// <summary>
/// The verifier checks canonical payloads on their bytes (CanonicalScan) and decodes everything else
/// with <see cref="LeafCodec.Decode"/> (docs/ledger-format.md §5, "How it runs"). These tests hold
/// entries on both paths: escaped strings, duplicate subjects, every optional property, and forged
/// payloads the fast path must not accept. One entry per batch (a head after every entry).
/// </summary>
public sealed class FastPathVerificationTests
{
    [Fact]
    public async Task Entries_with_escapes_duplicates_and_every_property_verify()
    {
        await using var f = await CreateAsync();
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(6, result.TreeSize);

        // Duplicate subjects have one row each.
        Assert.Equal(2, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq = 1"));
    }

    [Fact]
    public async Task Edited_column_of_an_entry_with_escapes_is_a_projection_mismatch()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("UPDATE ledger_entries SET account = 'C0002' WHERE seq = 2");
        await AssertFailsAsync(f, VerificationFailures.ProjectionMismatch, 2);
    }

    [Theory]
    [InlineData("time_ms = time_ms + 1")]
    [InlineData("task = 'search'")]
    [InlineData("outcome = 'denied'")]
    [InlineData("terminal = NULL")]
    [InlineData("store = CAST('S001' AS BLOB)")]
    [InlineData("account = 'C00000'")]
    public async Task Edited_column_of_a_canonical_entry_is_a_projection_mismatch(string set)
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync($"UPDATE ledger_entries SET {set} WHERE seq = 0");
        await AssertFailsAsync(f, VerificationFailures.ProjectionMismatch, 0);
    }

    [Theory]
    [InlineData("{\"v\":1,\"time\":1736123400000,\"task\":\"nope\",\"outcome\":\"allowed\"}")]
    [InlineData("{\"v\":1,\"time\":1736123400000,\"task\":\"view\",\"outcome\":\"maybe\"}")]
    [InlineData("{\"v\":1,\"time\":1736123400000,\"task\":\"view\",\"outcome\":\"allowed\",\"role\":\"boss\"}")]
    [InlineData("{\"v\":1,\"time\":1736123400000,\"task\":\"view\",\"outcome\":\"allowed\",\"subjects\":[0]}")]
    [InlineData("{\"v\":1,\"time\":1736123400000,\"task\":\"view\",\"outcome\":\"allowed\",\"subjects\":[-4]}")]
    [InlineData("{\"v\":1,\"time\":1736123400000,\"task\":\"view\",\"outcome\":\"allowed\",\"subjects\":[99999999999999999999]}")]
    [InlineData("{\"v\":1,\"time\":1736123400000,\"task\":\"view\",\"outcome\":\"allowed\",\"nope\":1}")]
    [InlineData("{\"v\":1,\"time\":1736123400000,\"task\":\"view\",\"outcome\":\"allowed\",\"account\":\"a\u0001\"}")]
    [InlineData("{\"v\":2,\"time\":1736123400000,\"task\":\"view\",\"outcome\":\"allowed\"}")]
    public async Task Forged_payload_with_recomputed_hash_is_undecodable(string json)
    {
        await using var f = await CreateAsync();
        await ForgeAsync(f, 3, System.Text.Encoding.UTF8.GetBytes(json));
        await AssertFailsAsync(f, VerificationFailures.UndecodablePayload, 3);
    }

    [Fact]
    public async Task Invalid_utf8_in_a_string_with_recomputed_hash_is_undecodable()
    {
        await using var f = await CreateAsync();
        var payload = "{\"v\":1,\"time\":1736123400000,\"task\":\"view\",\"outcome\":\"allowed\",\"account\":\"C\u00ff\"}"u8.ToArray();
        payload[^3] = 0xFF; // U+00FF is C3 BF: C3 FF is not UTF-8
        await ForgeAsync(f, 3, payload);
        await AssertFailsAsync(f, VerificationFailures.UndecodablePayload, 3);
    }

    [Fact]
    public async Task Decodable_payload_off_the_canonical_form_is_checked_by_the_decoder()
    {
        // Same values as entry 3, with whitespace and another property order: decodable, so the
        // columns agree and only the tree (its head's root) shows the change.
        await using var f = await CreateAsync();
        var entry = LeafCodec.Decode(await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = 3"));
        var json = $"{{ \"outcome\":\"allowed\", \"v\":1, \"task\":\"sign-in\", \"time\":{entry.Time.ToUnixTimeMilliseconds()}, \"account\":\"C0003\", \"role\":\"clerk\", \"terminal\":\"T-1\", \"store\":\"S001\", \"ip\":\"10.0.0.1\" }}";
        await ForgeAsync(f, 3, System.Text.Encoding.UTF8.GetBytes(json));
        await AssertFailsAsync(f, VerificationFailures.RootMismatch, 3);

        // With a column that disagrees, the decoder's comparison names the entry.
        await f.ExecuteAsync("UPDATE ledger_entries SET terminal = 'T-2' WHERE seq = 3");
        await AssertFailsAsync(f, VerificationFailures.ProjectionMismatch, 3);
    }

    private static async Task ForgeAsync(LedgerFixture f, long seq, byte[] payload) =>
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p, leaf_hash = @h WHERE seq = @s", ("@p", payload), ("@h", MerkleTree.HashLeaf(payload)), ("@s", seq));

    private static async Task AssertFailsAsync(LedgerFixture f, string reason, long firstBad)
    {
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.False(result.IsValid);
        Assert.Equal(reason, result.Reason);
        Assert.Equal(firstBad, result.FirstBadSequence);
        Assert.Equal(firstBad, result.TreeSize);
    }

    private static async Task<LedgerFixture> CreateAsync()
    {
        var f = await LedgerFixture.CreateAsync();
        await using var ledger = f.NewLedger();
        AccessEntry[] entries =
        [
            LedgerFixture.Entry(0, 5),
            LedgerFixture.Entry(1, 7, 8, 7) with { Role = StaffRole.StoreManager, UnmaskedFields = ["phone"], Reason = "고객 요청 확인" },
            LedgerFixture.Entry(2, 9) with { Account = "C\"0002\"", Reason = "line\nbreak\\ and \u001f", Target = "t", ErrorCode = "e" },
            LedgerFixture.Entry(3),
            LedgerFixture.Entry(4, long.MaxValue) with { Outcome = AccessOutcome.Denied, Terminal = null, Store = null },
            LedgerFixture.Entry(5, 1, 2, 3) with { Account = null, Role = null, Purpose = "은행 업무 <&>" },
        ];
        foreach (var entry in entries)
        {
            await ledger.AppendAsync(entry);
        }

        Assert.Equal(6, await f.ProjectSubjectsAsync());
        return f;
    }
}
