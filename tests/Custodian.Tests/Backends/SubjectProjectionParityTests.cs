using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Tests.Backends;

/// <summary>
/// The subject index as a post-commit projection (migration ledger-004, docs/ledger-format.md §3) on both backends: the
/// writer writes no subject rows, <see cref="LedgerSubjectProjector"/> adds them with the watermark (concurrent
/// projectors project each entry once), reads by subject are exact across the watermark, and the verifier refuses a
/// row above the watermark and a watermark beyond the size. Entry i names subscriber 1000 + i and, when even, 7.
/// </summary>
public sealed class SubjectProjectionParityTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Projection_reads_and_verification_agree_across_the_watermark(TestBackend backend)
    {
        await using var f = await LedgerOnBackend.CreateAsync(backend);
        for (var i = 0; i < 30; i++)
        {
            await f.Ledger.AppendAsync(i % 2 == 0 ? LedgerOnBackend.Entry(i, 1_000 + i, 7) : LedgerOnBackend.Entry(i, 1_000 + i));
        }

        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));
        var reached = await Task.WhenAll(
            new LedgerSubjectProjector(f.Db, NullLogger<LedgerSubjectProjector>.Instance).CatchUpAsync(),
            new LedgerSubjectProjector(f.Db, NullLogger<LedgerSubjectProjector>.Instance).CatchUpAsync());
        Assert.Equal(30, reached.Max());
        Assert.Equal(45, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));

        for (var i = 30; i < 36; i++)
        {
            await f.Ledger.AppendAsync(i % 2 == 0 ? LedgerOnBackend.Entry(i, 1_000 + i, 7) : LedgerOnBackend.Entry(i, 1_000 + i));
        }

        var reader = (IAccessLedgerReader)f.Ledger;
        Assert.Equal([34L, 32, 30, 28, 26], (await reader.ReadBySubjectAsync(new SubscriberId(7), null, 5)).Select(e => e.Sequence));
        Assert.Equal([33L], (await reader.ReadBySubjectAsync(new SubscriberId(1_033), null, 5)).Select(e => e.Sequence));
        Assert.Equal([29L], (await reader.ReadBySubjectAsync(new SubscriberId(1_029), null, 5)).Select(e => e.Sequence));
        Assert.Equal(18, (await reader.ReadBySubjectAsync(new SubscriberId(7), null, 1_000)).Count);

        var valid = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(valid.IsValid, valid.Message);
        Assert.Equal(36, valid.TreeSize);

        await f.ExecuteAsync("INSERT INTO ledger_subjects (subscriber_id, seq) VALUES (1031, 31)");
        var above = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.Equal((VerificationFailures.ProjectionMismatch, 31L), (above.Reason!, above.FirstBadSequence!.Value));

        // A watermark raised over unprojected entries claims rows they do not have: the first one is reported.
        await f.ExecuteAsync("DELETE FROM ledger_subjects WHERE seq = 31");
        await f.ExecuteAsync("UPDATE ledger_subject_watermark SET next_seq = 36");
        var raised = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.Equal((VerificationFailures.ProjectionMismatch, 30L), (raised.Reason!, raised.FirstBadSequence!.Value));

        await f.ExecuteAsync("UPDATE ledger_subject_watermark SET next_seq = 30");
        Assert.Equal(36, await f.ProjectSubjectsAsync());
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
        await f.ExecuteAsync("UPDATE ledger_subject_watermark SET next_seq = 37");
        var beyond = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.Equal((VerificationFailures.ProjectionMismatch, 36L), (beyond.Reason!, beyond.FirstBadSequence!.Value));
    }
}
