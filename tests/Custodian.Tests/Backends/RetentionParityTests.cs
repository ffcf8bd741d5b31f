using Custodian.Ledger;
using Custodian.Ledger.Retention;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Tests.Backends;

/// <summary>
/// Ledger retention (docs/ledger-format.md §13) on both backends: SQLite erases inside the erasure entry's commit,
/// PostgreSQL right after it in a transaction of its own (docs/storage.md); the outcome is the same. The ledger has 30
/// entries one second apart; the clock is moved to two years and 15 seconds after the first, so entries 0–14 are due.
/// </summary>
public sealed class RetentionParityTests
{
    private const int Size = 30;

    [Fact]
    public async Task Retention_erases_the_same_entries_on_both_backends_appends_one_erasure_entry_and_the_ledger_verifies_with_the_same_root()
    {
        var roots = new List<byte[]>();
        foreach (var backend in new[] { TestBackend.Sqlite, TestBackend.Postgres })
        {
            await using var f = await CreateAsync(backend);
            var retention = Retention(f);

            var dryRun = await retention.RunAsync(dryRun: true);
            Assert.Equal((15L, 0), (dryRun.Entries, dryRun.Erasures.Count));

            var result = await retention.RunAsync();

            var erasure = Assert.Single(result.Erasures);
            Assert.Equal((15L, (long)Size, 0L, 15L, 15), (result.Entries, erasure.Sequence, erasure.Record.From, erasure.Record.To, erasure.Erased));
            Assert.Equal(LedgerOnBackend.Start.AddSeconds(15), result.Cutoff);
            Assert.Equal(15, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by = @by AND account IS NULL AND store IS NULL", ("@by", (long)Size)));
            Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq < 15"));
            Assert.Equal(15, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq >= 15"));

            var verified = await new LedgerVerifier(f.Db).VerifyAsync();
            Assert.True(verified.IsValid, verified.Message);
            Assert.Equal(Size + 1, verified.TreeSize);
            roots.Add(verified.Root.ToArray());

            var again = await retention.RunAsync(); // idempotent: nothing due, nothing appended
            Assert.Equal((0L, 0), (again.Entries, again.Erasures.Count));
            Assert.Equal(Size + 1, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries"));
        }

        Assert.Equal(roots[0], roots[1]);
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task A_due_payload_that_no_longer_decodes_is_refused_before_anything_is_appended_or_erased(TestBackend backend)
    {
        await using var f = await CreateAsync(backend);
        var garbage = "{not a ledger entry"u8.ToArray();
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = @p, leaf_hash = @h WHERE seq = 3", ("@p", garbage), ("@h", MerkleTree.HashLeaf(garbage)));

        await Assert.ThrowsAsync<LedgerUnavailableException>(() => Retention(f).RunAsync());

        Assert.Equal(Size, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries"));
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by IS NOT NULL"));
        var verified = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.Equal((VerificationFailures.UndecodablePayload, 3L), (verified.Reason!, verified.FirstBadSequence!.Value));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Entries_erased_before_the_subject_projection_reaches_them_get_no_rows_and_the_ledger_verifies(TestBackend backend)
    {
        await using var f = await CreateAsync(backend, project: false);

        var result = await Retention(f).RunAsync();

        Assert.Equal(15L, result.Entries);
        Assert.Equal(Size + 1, await f.ProjectSubjectsAsync());
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq < 15"));
        Assert.Equal(15, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq >= 15"));
        var verified = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(verified.IsValid, verified.Message);
    }

    [Fact]
    public async Task Two_concurrent_runs_on_postgres_erase_each_entry_once_and_the_ledger_verifies()
    {
        await using var f = await CreateAsync(TestBackend.Postgres);

        var runs = await Task.WhenAll(Retention(f).RunAsync(), Retention(f).RunAsync());

        Assert.Equal(15L, runs.Sum(r => r.Entries));
        Assert.Equal(15, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by IS NOT NULL"));
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq < 15"));
        var verified = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(verified.IsValid, verified.Message);
        Assert.Equal(Size + runs.Sum(r => r.Erasures.Count), verified.TreeSize);
    }

    private static LedgerRetention Retention(LedgerOnBackend f) => new(f.Db, f.Ledger, f.Time, NullLogger<LedgerRetention>.Instance);

    private static async Task<LedgerOnBackend> CreateAsync(TestBackend backend, bool project = true)
    {
        var f = await LedgerOnBackend.CreateAsync(backend);
        for (var i = 0; i < Size; i++)
        {
            await f.Ledger.AppendAsync(LedgerOnBackend.Entry(i, 1_000 + i));
        }

        if (project)
        {
            Assert.Equal(Size, await f.ProjectSubjectsAsync());
        }

        // 2025-01-06 + 730 days is 2027-01-06: two calendar years; 15 s more puts the cutoff after entry 14.
        f.Time.Advance(TimeSpan.FromDays(730) + TimeSpan.FromSeconds(15));
        return f;
    }
}
