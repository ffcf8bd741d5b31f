using Custodian.Identity;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Ledger.Tests.Subjects;

/// <summary>
/// The subject index as a post-commit projection (issue 4, migration ledger-004, docs/ledger-format.md §3): the writer
/// writes no <c>ledger_subjects</c> rows, <see cref="LedgerSubjectProjector"/> adds them with the watermark, readers
/// by subject are exact whatever the watermark, and the verifier refuses rows at or above it.
/// </summary>
public sealed class LedgerSubjectProjectorTests
{
    [Fact]
    public async Task The_writer_writes_no_subject_rows_and_the_projector_adds_exactly_the_distinct_subjects_once()
    {
        await using var f = await LedgerFixture.CreateAsync();
        await using (var ledger = f.NewLedger())
        {
            await ledger.AppendAsync(LedgerFixture.Entry(0, 7, 8, 7));
            await ledger.AppendAsync(LedgerFixture.Entry(1));
            await ledger.AppendAsync(LedgerFixture.Entry(2, 9));
        }

        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));
        Assert.Equal(0, await f.ScalarAsync("SELECT next_seq FROM ledger_subject_watermark WHERE id = 1"));

        Assert.Equal(3, await f.ProjectSubjectsAsync());
        Assert.Equal(3, await f.ScalarAsync("SELECT next_seq FROM ledger_subject_watermark WHERE id = 1"));
        Assert.Equal(3, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE subscriber_id = 7 AND seq = 0"));
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE subscriber_id = 8 AND seq = 0"));
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE subscriber_id = 9 AND seq = 2"));

        // Idempotent, and restart-safe: a new projector continues from the committed watermark.
        Assert.Equal(3, await f.ProjectSubjectsAsync());
        Assert.Equal(3, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
    }

    [Fact]
    public async Task Steps_are_at_most_a_batch_and_concurrent_projectors_project_each_entry_once()
    {
        await using var f = await LedgerFixture.CreateAsync();
        const int count = (2 * LedgerSubjectProjector.BatchSize) + 100;
        await using (var ledger = f.NewLedger())
        {
            await ledger.AppendRangeAsync(Enumerable.Range(0, count).Select(i => LedgerFixture.Entry(i, 1 + (i % 50))).ToArray());
        }

        var projector = new LedgerSubjectProjector(f.Db, NullLogger<LedgerSubjectProjector>.Instance);
        Assert.Equal(LedgerSubjectProjector.BatchSize, await projector.CatchUpAsync(target: 1));
        var reached = await Task.WhenAll(projector.CatchUpAsync(), new LedgerSubjectProjector(f.Db, NullLogger<LedgerSubjectProjector>.Instance).CatchUpAsync());

        Assert.Equal(count, reached.Max());
        Assert.Equal(count, await projector.GetWatermarkAsync());
        Assert.Equal(count, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
    }

    [Fact]
    public async Task A_step_waits_for_the_process_write_turn_and_runs_as_soon_as_it_is_passed_on()
    {
        await using var f = await LedgerFixture.CreateAsync();
        await using (var ledger = f.NewLedger())
        {
            await ledger.AppendAsync(LedgerFixture.Entry(0, 7));
        }

        var projector = new LedgerSubjectProjector(f.Db, NullLogger<LedgerSubjectProjector>.Instance);
        Task<long> step;
        using (var turn = f.Db.EnterWriteTurn(TimeSpan.Zero))
        {
            Assert.True(turn.Granted);
            step = projector.CatchUpAsync();
            await Task.Delay(300); // ordering, not speed: the step must not start while the turn is held
            Assert.False(step.IsCompleted);
            Assert.Equal(0, await f.ScalarAsync("SELECT next_seq FROM ledger_subject_watermark WHERE id = 1"));
        }

        Assert.Equal(1, await step);
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE subscriber_id = 7 AND seq = 0"));
    }

    [Fact]
    public async Task An_erasure_between_a_steps_read_and_its_write_is_seen_under_the_lock_and_the_step_plans_again()
    {
        await using var f = await LedgerFixture.CreateAsync();
        await using (var ledger = f.NewLedger())
        {
            await ledger.AppendAsync(LedgerFixture.Entry(0, 7));
            await ledger.AppendAsync(LedgerFixture.Entry(1, 8));
            await ledger.AppendAsync(LedgerFixture.Entry(2, 9));
        }

        var projector = new LedgerSubjectProjector(f.Db, NullLogger<LedgerSubjectProjector>.Instance);
        Task<long> step;
        using (var turn = f.Db.EnterWriteTurn(TimeSpan.Zero))
        {
            Assert.True(turn.Granted);
            step = projector.CatchUpAsync();
            await Task.Delay(300); // ordering, not speed: the step has read its plan (entry 1 kept) and waits for the turn

            // What retention does to an entry due for erasure, done while the step waits.
            await f.ExecuteAsync("UPDATE ledger_entries SET payload = x'', account = NULL, terminal = NULL, store = NULL, erased_by = 2 WHERE seq = 1");
        }

        Assert.Equal(3, await step);
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE subscriber_id = 7 AND seq = 0"));
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE seq = 1"));
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects WHERE subscriber_id = 9 AND seq = 2"));
        Assert.Equal(2, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));
        Assert.Equal(3, await f.ScalarAsync("SELECT next_seq FROM ledger_subject_watermark WHERE id = 1"));
    }

    [Fact]
    public async Task Read_by_subject_is_exact_across_the_projected_rows_and_the_unprojected_tail()
    {
        await using var f = await LedgerFixture.CreateAsync();
        await using var ledger = f.NewLedger();
        for (var i = 0; i < 10; i++)
        {
            await ledger.AppendAsync(i % 2 == 0 ? LedgerFixture.Entry(i, 7, 3) : LedgerFixture.Entry(i, 3));
        }

        Assert.Equal(10, await f.ProjectSubjectsAsync());
        for (var i = 10; i < 20; i++)
        {
            await ledger.AppendAsync(i % 2 == 0 ? LedgerFixture.Entry(i, 3, 7) : LedgerFixture.Entry(i, 3));
        }

        var subject = new SubscriberId(7);
        Assert.Equal([18L, 16, 14, 12, 10, 8, 6, 4, 2, 0], (await ledger.ReadBySubjectAsync(subject, null, 100)).Select(e => e.Sequence));
        Assert.Equal([18L, 16, 14], (await ledger.ReadBySubjectAsync(subject, null, 3)).Select(e => e.Sequence));
        Assert.Equal([10L, 8, 6, 4], (await ledger.ReadBySubjectAsync(subject, 12, 4)).Select(e => e.Sequence));
        Assert.Equal([6L, 4], (await ledger.ReadBySubjectAsync(subject, 8, 2)).Select(e => e.Sequence));
        Assert.Equal("C0016", (await ledger.ReadBySubjectAsync(subject, 17, 1))[0].Entry.Account);
        Assert.Empty(await ledger.ReadBySubjectAsync(new SubscriberId(99), null, 100));

        // Nothing projected at all (watermark 0, as on a server whose projector has not run yet): the same answers.
        await f.ExecuteAsync("DELETE FROM ledger_subjects");
        await f.ExecuteAsync("UPDATE ledger_subject_watermark SET next_seq = 0");
        Assert.Equal([18L, 16, 14, 12, 10, 8, 6, 4, 2, 0], (await ledger.ReadBySubjectAsync(subject, null, 100)).Select(e => e.Sequence));
        Assert.Equal(20, (await ledger.ReadBySubjectAsync(new SubscriberId(3), null, 1_000)).Count);
    }

    [Fact]
    public async Task A_partly_projected_ledger_verifies()
    {
        await using var f = await CreateAsync(projected: 20, unprojected: 5);
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(25, result.TreeSize);
    }

    [Fact]
    public async Task A_correct_subject_row_above_the_watermark_is_a_projection_mismatch_at_its_entry()
    {
        await using var f = await CreateAsync(projected: 20, unprojected: 5);
        await f.ExecuteAsync("INSERT INTO ledger_subjects (subscriber_id, seq) VALUES (1022, 22)"); // what the projector would write, but not with the watermark
        await AssertFailsAsync(f, firstBad: 22);
    }

    [Fact]
    public async Task A_subject_row_at_the_watermark_is_a_projection_mismatch()
    {
        await using var f = await CreateAsync(projected: 20, unprojected: 5);
        await f.ExecuteAsync("INSERT INTO ledger_subjects (subscriber_id, seq) VALUES (1020, 20)");
        await AssertFailsAsync(f, firstBad: 20);
    }

    [Fact]
    public async Task A_missing_subject_row_below_the_watermark_is_a_projection_mismatch()
    {
        await using var f = await CreateAsync(projected: 20, unprojected: 5);
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 19");
        await AssertFailsAsync(f, firstBad: 19);
    }

    [Fact]
    public async Task A_changed_subject_row_below_the_watermark_is_a_projection_mismatch()
    {
        await using var f = await CreateAsync(projected: 20, unprojected: 5);
        await f.ExecuteAsync("UPDATE ledger_subjects SET subscriber_id = 1003 WHERE seq = 4");
        await AssertFailsAsync(f, firstBad: 4);
    }

    [Fact]
    public async Task A_watermark_beyond_the_ledger_size_is_a_projection_mismatch_at_the_size()
    {
        await using var f = await CreateAsync(projected: 25, unprojected: 0);
        await f.ExecuteAsync("UPDATE ledger_subject_watermark SET next_seq = 26");
        await AssertFailsAsync(f, firstBad: 25);
    }

    [Fact]
    public async Task Lowering_the_watermark_under_existing_rows_is_a_projection_mismatch()
    {
        await using var f = await CreateAsync(projected: 25, unprojected: 0);
        await f.ExecuteAsync("UPDATE ledger_subject_watermark SET next_seq = 10"); // rows 10..24 are now above it
        await AssertFailsAsync(f, firstBad: 10);
    }

    [Fact]
    public async Task Migration_ledger_004_starts_the_watermark_at_the_size_of_an_existing_ledger()
    {
        await using var f = await LedgerFixture.CreateAsync();
        await f.ExecuteAsync("DROP TABLE ledger_subject_watermark");
        await f.ExecuteAsync("DELETE FROM schema_migrations WHERE id = 'ledger-004'");
        await using (var ledger = f.NewLedger())
        {
            await ledger.AppendRangeAsync(Enumerable.Range(0, 7).Select(i => LedgerFixture.Entry(i, 1_000 + i)).ToArray());
        }

        await f.Db.MigrateAsync(new LedgerMigrations().Migrations, f.Time);

        Assert.Equal(7, await f.ScalarAsync("SELECT next_seq FROM ledger_subject_watermark WHERE id = 1"));
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM schema_migrations WHERE id = 'ledger-004'"));
    }

    // Entry i names subscriber 1000 + i; the first `projected` entries are projected, the rest not.
    private static async Task<LedgerFixture> CreateAsync(int projected, int unprojected)
    {
        var f = await LedgerFixture.CreateAsync();
        await using var ledger = f.NewLedger();
        await ledger.AppendRangeAsync(Enumerable.Range(0, projected).Select(i => LedgerFixture.Entry(i, 1_000 + i)).ToArray());
        Assert.Equal(projected, await f.ProjectSubjectsAsync());
        if (unprojected > 0)
        {
            await ledger.AppendRangeAsync(Enumerable.Range(projected, unprojected).Select(i => LedgerFixture.Entry(i, 1_000 + i)).ToArray());
        }

        Assert.Equal(projected, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));
        return f;
    }

    private static async Task AssertFailsAsync(LedgerFixture f, long firstBad)
    {
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.False(result.IsValid);
        Assert.Equal(VerificationFailures.ProjectionMismatch, result.Reason);
        Assert.Equal(firstBad, result.FirstBadSequence);
    }
}
