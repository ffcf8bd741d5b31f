using Custodian.Identity;
using Custodian.Ledger.Retention;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Ledger.Tests.Retention;

/// <summary>
/// Retention on a real SQLite ledger with fake time. Ten entries one minute apart from
/// <see cref="LedgerFixture.Start"/> (subjects 100..109), then the clock moves to two years and five
/// minutes later: entries 0–4 are before the cutoff, 5–9 are not (entry 5 is exactly at it).
/// </summary>
public sealed class LedgerRetentionTests
{
    private static readonly DateTimeOffset Later = LedgerFixture.Start.AddYears(2).AddMinutes(5);

    [Fact]
    public async Task Old_entries_lose_payload_and_subjects_while_roots_and_proofs_stay()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = await SeedAsync(f);
        var proofs = new LedgerProofs(f.Db, ledger);
        var rootBefore = await proofs.GetRootAsync(10);
        var proofsBefore = new List<IReadOnlyList<byte[]>>();
        for (long i = 0; i < 10; i++)
        {
            proofsBefore.Add(await proofs.GetInclusionProofAsync(i, 10));
        }

        var result = await Retention(f, ledger).RunAsync();

        Assert.False(result.DryRun);
        Assert.Equal(5, result.Entries);
        Assert.Equal(LedgerFixture.Start.AddMinutes(5), result.Cutoff);
        var erasure = Assert.Single(result.Erasures);
        Assert.Equal(10, erasure.Sequence);
        Assert.Equal(new RetentionErasureRecord(0, 5, LedgerFixture.Start.AddMinutes(5).ToUnixTimeMilliseconds()), erasure.Record);
        Assert.Equal(5, erasure.Erased);

        // Erased: empty payload, staff columns and subject rows gone, marker set; seq, time, task and leaf hash kept.
        Assert.Equal(5, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by = 10 AND length(payload) = 0 AND account IS NULL AND terminal IS NULL AND store IS NULL"));
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq < 5"));
        Assert.Equal(5, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq >= 5 AND seq < 10"));
        Assert.Equal(LedgerFixture.Start.AddMinutes(2).ToUnixTimeMilliseconds(), await f.ScalarAsync("SELECT time_ms FROM ledger_entries WHERE seq = 2"));
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by IS NOT NULL AND seq >= 5"));

        // Every root and proof is unchanged; the erasure entry is leaf 10.
        Assert.Equal(rootBefore, await proofs.GetRootAsync(10));
        for (long i = 0; i < 10; i++)
        {
            Assert.Equal(proofsBefore[(int)i], await proofs.GetInclusionProofAsync(i, 10));
            var leafHash = await f.BlobAsync("SELECT leaf_hash FROM ledger_entries WHERE seq = @s", ("@s", i));
            var path = await proofs.GetInclusionProofAsync(i, 11);
            var root = await proofs.GetRootAsync(11);
            Assert.True(MerkleTree.VerifyInclusion(i, 11, leafHash, path, root));
        }

        var root11 = await proofs.GetRootAsync(11);
        var consistency = await proofs.GetConsistencyProofAsync(10, 11);
        Assert.True(MerkleTree.VerifyConsistency(10, 11, rootBefore, root11, consistency));

        var verified = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(verified.IsValid, verified.Reason);
        Assert.Equal(11, verified.TreeSize);

        // Readers skip erased entries; the erasure entry is an ordinary entry.
        var read = await ToListAsync(ledger.ReadAsync(0));
        Assert.Equal([5L, 6, 7, 8, 9, 10], read.Select(e => e.Sequence));
        var recorded = read[^1].Entry;
        Assert.Equal(AccessTask.RetentionErasure, recorded.Task);
        Assert.Equal(LedgerRetention.SystemAccount, recorded.Account);
        Assert.Equal($"seq:0-5;cutoff:{LedgerFixture.Start.AddMinutes(5).ToUnixTimeMilliseconds()}", recorded.Target);
        Assert.Empty(await ledger.ReadBySubjectAsync(new SubscriberId(102), null, 10));
        Assert.Single(await ledger.ReadBySubjectAsync(new SubscriberId(107), null, 10));
        Assert.Equal([10L], (await ToListAsync(ledger.ReadSinceAsync(LedgerFixture.Start))).Select(e => e.Sequence).Where(s => s < 5 || s == 10).ToList());
    }

    [Fact]
    public async Task Running_again_erases_nothing_and_appends_nothing()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = await SeedAsync(f);
        var retention = Retention(f, ledger);
        await retention.RunAsync();

        var again = await retention.RunAsync();

        Assert.Equal(0, again.Entries);
        Assert.Empty(again.Erasures);
        Assert.Equal(11, await ledger.GetSizeAsync());

        // A year later the erasure entry itself is past the cutoff but is never erased: it authorises the others.
        f.Time.SetUtcNow(Later.AddYears(3));
        var third = await retention.RunAsync();
        Assert.Equal(5, third.Entries);
        Assert.Equal(new RetentionErasureRecord(5, 10, f.Time.GetUtcNow().AddYears(-2).ToUnixTimeMilliseconds()), Assert.Single(third.Erasures).Record);
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE task = 'retention-erasure' AND erased_by IS NOT NULL"));
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
    }

    [Fact]
    public async Task Dry_run_counts_and_changes_nothing()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = await SeedAsync(f);

        var result = await Retention(f, ledger).RunAsync(dryRun: true);

        Assert.True(result.DryRun);
        Assert.Equal(5, result.Entries);
        Assert.Empty(result.Erasures);
        Assert.Equal(10, await ledger.GetSizeAsync());
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by IS NOT NULL OR length(payload) = 0"));
    }

    [Fact]
    public async Task Ranges_are_split_at_the_configured_size_and_all_verify()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = await SeedAsync(f);

        var result = await Retention(f, ledger, new RetentionOptions { MaxEntriesPerErasure = 2 }).RunAsync();

        Assert.Equal(5, result.Entries);
        Assert.Equal([(0L, 2L), (2L, 4L), (4L, 5L)], result.Erasures.Select(e => (e.Record.From, e.Record.To)));
        Assert.Equal([10L, 11, 12], result.Erasures.Select(e => e.Sequence));
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
    }

    [Fact]
    public async Task Payload_emptied_by_hand_is_an_unauthorised_erasure_at_that_entry()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = await SeedAsync(f);
        await Retention(f, ledger).RunAsync();
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = x'', account = NULL, terminal = NULL, store = NULL WHERE seq = 7");

        var result = await new LedgerVerifier(f.Db).VerifyAsync();

        Assert.False(result.IsValid);
        Assert.Equal(VerificationFailures.UnauthorisedErasure, result.Reason);
        Assert.Equal(7, result.FirstBadSequence);
    }

    [Fact]
    public async Task Erasure_marker_pointing_at_an_erasure_that_does_not_cover_the_entry_is_unauthorised()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = await SeedAsync(f);
        await Retention(f, ledger).RunAsync(); // covers [0, 5)

        // Entry 6 is outside the range (and after the cutoff): pointing it at erasure entry 10 does not authorise it.
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 6");
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = x'', account = NULL, terminal = NULL, store = NULL, erased_by = 10 WHERE seq = 6");
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.Equal((VerificationFailures.UnauthorisedErasure, 6L), (result.Reason, result.FirstBadSequence));

        // Pointing at an entry that is not a RetentionErasure entry neither.
        await f.ExecuteAsync("UPDATE ledger_entries SET erased_by = 9 WHERE seq = 6");
        result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.Equal((VerificationFailures.UnauthorisedErasure, 6L), (result.Reason, result.FirstBadSequence));
    }

    [Fact]
    public async Task Entries_erased_before_they_are_projected_get_no_subject_rows()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = await SeedAsync(f, project: false);

        var result = await Retention(f, ledger).RunAsync();

        Assert.Equal(5, result.Entries);
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));
        Assert.Equal(11, await f.ProjectSubjectsAsync()); // the erasure entry is 10
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq < 5"));
        Assert.Equal(5, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq >= 5"));
        Assert.Empty(await ledger.ReadBySubjectAsync(new Identity.SubscriberId(102), null, 10));
        Assert.Equal([7L], (await ledger.ReadBySubjectAsync(new Identity.SubscriberId(107), null, 10)).Select(e => e.Sequence));
        var verified = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(verified.IsValid, verified.Message);
    }

    [Fact]
    public async Task A_failed_erasure_leaves_neither_the_erasure_nor_its_entry()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = await SeedAsync(f);

        // A payload due for erasure no longer decodes (altered): the erasure inside the commit fails, so the
        // writer rolls back the whole transaction, including the RetentionErasure entry.
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = x'7b7d' WHERE seq = 3");
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => Retention(f, ledger).RunAsync());

        Assert.Equal(10, await ledger.GetSizeAsync());
        Assert.Equal(10, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries"));
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by IS NOT NULL OR length(payload) = 0"));
        Assert.Equal(10, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));

        // The writer carries on.
        await ledger.AppendAsync(LedgerFixture.Entry(50));
        Assert.Equal(11, await ledger.GetSizeAsync());
    }

    [Theory]
    [InlineData("2028-02-29T12:00:00Z", 2, "2026-02-28T12:00:00Z")]
    [InlineData("2026-11-30T07:25:16.123Z", 2, "2024-11-30T07:25:16.123Z")]
    [InlineData("2026-11-30T00:00:00Z", 5, "2021-11-30T00:00:00Z")]
    public void Cutoff_is_calendar_years_before_now_in_utc(string now, int years, string expected)
    {
        var parsed = DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), LedgerRetention.CutoffAt(parsed.ToOffset(TimeSpan.FromHours(9)), years));
    }

    [Theory]
    [InlineData(1, 10, 60)]
    [InlineData(2, 0, 60)]
    [InlineData(2, 10, 0)]
    public void Out_of_range_options_are_refused(int years, int max, int intervalSeconds)
    {
        var options = new RetentionOptions { Years = years, MaxEntriesPerErasure = max, Interval = TimeSpan.FromSeconds(intervalSeconds) };
        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }

    [Fact]
    public async Task The_service_runs_the_job_every_interval_on_the_injected_clock()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = await SeedAsync(f, LedgerFixture.Start.AddYears(2).AddMinutes(-1)); // nothing due yet
        using var service = new RetentionService(Retention(f, ledger), f.Time, NullLogger<RetentionService>.Instance);
        await service.StartAsync(CancellationToken.None);

        // ExecuteAsync runs on its own thread and creates its timer there: keep advancing the fake clock a day
        // at a time until the run has happened (every entry is older than two years after the first day).
        for (var day = 0; day < 300 && await ledger.GetSizeAsync() < 11; day++)
        {
            f.Time.Advance(TimeSpan.FromDays(1));
            await Task.Delay(100);
        }

        await service.StopAsync(CancellationToken.None);
        Assert.Equal(11, await ledger.GetSizeAsync());
        Assert.Equal(10, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by = 10"));
    }

    private static LedgerRetention Retention(LedgerFixture f, SqliteAccessLedger ledger, RetentionOptions? options = null) =>
        new(f.Db, ledger, f.Time, NullLogger<LedgerRetention>.Instance, options);

    private static async Task<SqliteAccessLedger> SeedAsync(LedgerFixture f, DateTimeOffset? then = null, bool project = true)
    {
        var ledger = f.NewLedger();
        for (var i = 0; i < 10; i++)
        {
            await ledger.AppendAsync(LedgerFixture.Entry(i, 100 + i) with { Time = LedgerFixture.Start.AddMinutes(i) });
        }

        if (project)
        {
            Assert.Equal(10, await f.ProjectSubjectsAsync());
        }

        f.Time.SetUtcNow(then ?? Later);
        return ledger;
    }

    private static async Task<List<CommittedEntry>> ToListAsync(IAsyncEnumerable<CommittedEntry> source)
    {
        var list = new List<CommittedEntry>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
