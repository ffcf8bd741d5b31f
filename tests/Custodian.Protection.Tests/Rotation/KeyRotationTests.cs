using System.Collections.Concurrent;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Protection.Rotation;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Tests.Support;

namespace Custodian.Protection.Tests.Rotation;

public sealed class KeyRotationTests
{
    [Fact]
    public async Task Reads_from_several_tasks_never_fail_during_rotation_and_reencryption_and_every_row_ends_on_the_new_key()
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 2_000);
        var ids = await Population.IdsAsync(env.Database);

        // The readers use their own keyring instance, as the server process would.
        var readerKeys = ProtectionKeyring.LoadOrCreate(env.Directory.Combine("keys"), env.Time, TestEnvironment.MasterKey);
        var vault = new SubscriberVault(env.Database, readerKeys);
        var before = new Dictionary<SubscriberId, SubscriberRecord>();
        foreach (var id in ids)
        {
            before[id] = (await vault.DecryptAsync(id))!;
        }

        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<string>();
        long reads = 0;
        var readers = Enumerable.Range(0, 4).Select(n => Task.Run(async () =>
        {
            var random = new Random(n);
            do
            {
                var id = ids[random.Next(ids.Count)];
                try
                {
                    if (await vault.DecryptAsync(id) != before[id])
                    {
                        failures.Enqueue($"{id}: different record");
                    }
                }
                catch (Exception ex)
                {
                    failures.Enqueue($"{id}: {ex.GetType().Name}");
                }

                Interlocked.Increment(ref reads);
            }
            while (!stop.IsCancellationRequested);
        })).ToList();

        // Interleave for sure: before the rotation and after every committed batch, wait until the readers have read more.
        void LetReadersRun()
        {
            var target = Interlocked.Read(ref reads) + 50;
            SpinWait.SpinUntil(() => Interlocked.Read(ref reads) >= target, TimeSpan.FromSeconds(30));
        }

        LetReadersRun();
        var readsBefore = Interlocked.Read(ref reads);
        var newKey = env.Keys.RotateDataKey();
        env.Time.Advance(TimeSpan.FromSeconds(3));
        var rotation = new KeyRotation(env.Database, env.Keys, env.Time);
        var report = await rotation.ReencryptAsync(new InlineProgress<RotationProgress>(_ => LetReadersRun()));
        var readsDuringJob = Interlocked.Read(ref reads) - readsBefore;
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Empty(failures);
        Assert.True(readsDuringJob >= 4 * 50, $"only {readsDuringJob} reads during the job");
        Assert.Equal(4u, newKey);
        Assert.Equal((4u, 2_000L, 2_000L, false), (report.TargetKeyId, report.RowsExamined, report.RowsRewritten, report.Resumed));
        Assert.Equal([1u], report.RetiredKeyIds);
        Assert.Equal(new Dictionary<uint, long> { [4] = 2_000 }, await rotation.CountRowsByKeyAsync());
        Assert.Equal([4u], env.Keys.DataKeyIds.ToArray());
        Assert.NotNull(env.Keys.Entries.Single(e => e.Id == 1).RetiredAt);
        foreach (var id in ids)
        {
            Assert.Equal(before[id], await vault.DecryptAsync(id));
        }

        Assert.Equal(0, await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM protection_jobs"));
    }

    [Fact]
    public async Task A_reencryption_killed_midway_resumes_from_its_checkpoint_after_restart()
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 1_200);
        env.Keys.RotateDataKey();
        env.Time.Advance(TimeSpan.FromSeconds(3));

        using var kill = new CancellationTokenSource();
        var first = new KeyRotation(env.Database, env.Keys, env.Time);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            first.ReencryptAsync(new InlineProgress<RotationProgress>(p => kill.Cancel()), kill.Token));

        Assert.Equal(new Dictionary<uint, long> { [1] = 700, [4] = 500 }, await first.CountRowsByKeyAsync());
        Assert.Equal(500, await Population.ScalarAsync(env.Database, "SELECT rows_done FROM protection_jobs WHERE name = 'reencrypt'"));
        Assert.Equal([1u, 4u], env.Keys.DataKeyIds.ToArray());

        // "Restart": a new keyring instance and job, as a new process would have.
        var keys = ProtectionKeyring.LoadOrCreate(env.Directory.Combine("keys"), env.Time, TestEnvironment.MasterKey);
        var progress = new List<RotationProgress>();
        var report = await new KeyRotation(env.Database, keys, env.Time).ReencryptAsync(new InlineProgress<RotationProgress>(progress.Add));

        Assert.True(report.Resumed);
        Assert.Equal(700, report.RowsRewritten);
        Assert.Equal(1_200, report.RowsExamined);
        Assert.Equal([new RotationProgress(1_000, 1_200), new RotationProgress(1_200, 1_200)], progress);
        Assert.Equal(new Dictionary<uint, long> { [4] = 1_200 }, await first.CountRowsByKeyAsync());
        Assert.Equal([1u], report.RetiredKeyIds);
    }

    [Fact]
    public async Task A_key_is_not_retired_while_a_row_still_uses_it()
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 10);
        env.Keys.RotateDataKey();
        env.Time.Advance(TimeSpan.FromSeconds(3));
        var rotation = new KeyRotation(env.Database, env.Keys, env.Time);

        Assert.Empty(await rotation.RetireUnusedDataKeysAsync());
        Assert.Equal([1u, 4u], env.Keys.DataKeyIds.ToArray());
        Assert.Throws<ArgumentException>(() => env.Keys.RetireDataKey(4));
    }

    [Fact]
    public async Task Rerunning_a_finished_reencryption_rewrites_nothing()
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 50);
        var report = await new KeyRotation(env.Database, env.Keys, env.Time).ReencryptAsync();

        Assert.Equal((1u, 50L, 0L, false), (report.TargetKeyId, report.RowsExamined, report.RowsRewritten, report.Resumed));
        Assert.Empty(report.RetiredKeyIds);
    }

    [Fact]
    public async Task Blind_index_rotation_keeps_every_subscriber_searchable_midway_and_after()
    {
        using var env = await TestEnvironment.CreateAsync();
        var people = await Population.ImportAsync(env, 1_200);
        var staleKeys = ProtectionKeyring.LoadOrCreate(env.Directory.Combine("keys"), env.Time, TestEnvironment.MasterKey);
        var staleVault = new SubscriberVault(env.Database, staleKeys);
        var vault = new SubscriberVault(env.Database, env.Keys);
        var expected = new Dictionary<string, SubscriberId>();
        foreach (var p in people)
        {
            expected[p.Phone] = Assert.Single(await vault.FindByPhoneAsync(p.Phone));
        }

        var pending = env.Keys.BeginBlindIndexRotation();
        using var pause = new CancellationTokenSource();
        var rotation = new KeyRotation(env.Database, env.Keys, env.Time);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            rotation.RebuildBlindIndexAsync(new InlineProgress<RotationProgress>(p => { if (p.RowsDone > 0) { pause.Cancel(); } }), pause.Token));
        Assert.Equal((500L, 1_200L), await rotation.CountBlindIndexProgressAsync());

        // Midway: both the rotating instance and one that has not seen the rotation find everyone.
        await AssertAllFoundAsync(vault, people, expected);
        await AssertAllFoundAsync(staleVault, people, expected);

        // A subscriber imported midway gets both indexes.
        var late = await Support.Csv.ImportAsync(env, Custodian.Protection.Import.ImportMode.AllOrNothing, Support.Csv.Header, "이영희,9001012345678,010-9999-0001,서울특별시 마포구 합정동 1,5G 슬림,2026-01-01,2027-12-31,S001");
        Assert.Equal(1, late.RowsImported);
        Assert.Equal((501L, 1_201L), await rotation.CountBlindIndexProgressAsync());

        var indexed = await new KeyRotation(env.Database, env.Keys, env.Time).RebuildBlindIndexAsync();

        Assert.Equal(700, indexed);
        Assert.Equal(pending, env.Keys.BlindIndexKeyId);
        Assert.Null(env.Keys.PendingBlindIndexKeyId);
        Assert.NotNull(env.Keys.Entries.Single(e => e.Id == 2).RetiredAt);
        Assert.Equal(0, await Population.ScalarAsync(env.Database, "SELECT COUNT(*) FROM subscribers WHERE phone_index_next IS NOT NULL OR rrn_index_next IS NOT NULL"));
        await AssertAllFoundAsync(vault, people, expected);
        await AssertAllFoundAsync(staleVault, people, expected);
        Assert.Single(await vault.FindByPhoneAsync("+821099990001"));
        Assert.Single(await vault.FindByRrnAsync("9001012345678"));
        Assert.Equal(new BlindIndex(env.Keys).ForPhone(people[0].Phone), await IndexOfAsync(env, expected[people[0].Phone]));
        Assert.Null(await new KeyRotation(env.Database, env.Keys, env.Time).RebuildBlindIndexAsync());
    }

    private static async Task AssertAllFoundAsync(SubscriberVault vault, List<Custodian.Protection.Sample.SampleSubscriber> people, Dictionary<string, SubscriberId> expected)
    {
        foreach (var p in people)
        {
            Assert.Equal([expected[p.Phone]], await vault.FindByPhoneAsync(p.Phone));
            Assert.Contains(expected[p.Phone], await vault.FindByRrnAsync(p.Rrn));
        }
    }

    private static async Task<byte[]> IndexOfAsync(TestEnvironment env, SubscriberId id)
    {
        await using var connection = await env.Database.OpenAsync();
        await using var command = Custodian.Storage.DbExtensions.Command(connection, "SELECT phone_index FROM subscribers WHERE id = @id", ("@id", id.Value));
        return (byte[])(await command.ExecuteScalarAsync())!;
    }
}
