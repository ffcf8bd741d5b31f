using System.Diagnostics;
using Custodian.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit.Abstractions;

namespace Custodian.Ledger.Tests.Storage;

public sealed class SqliteAccessLedgerTests(ITestOutputHelper output)
{
    private static readonly LedgerOptions ShortLock = new() { LockTimeout = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task Empty_ledger_has_size_zero_and_the_empty_root()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger();
        var head = await ledger.GetTreeHeadAsync();
        Assert.Equal(0, head.Size);
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", head.RootHex);
        Assert.Null(head.Time);
        Assert.Equal(0, await ledger.GetSizeAsync());
        Assert.Empty(await ToListAsync(ledger.ReadAsync(0)));
    }

    [Fact]
    public async Task Append_returns_sequence_leaf_hash_and_recorded_entry_and_publishes_it()
    {
        await using var f = await LedgerFixture.CreateAsync();
        using var subscription = f.Events.Subscribe("test");
        var ledger = f.NewLedger();
        var entry = LedgerFixture.Entry(0, 77) with { Time = new DateTimeOffset(2025, 1, 6, 9, 30, 0, TimeSpan.FromHours(9)).AddTicks(4_321) };

        var committed = await ledger.AppendAsync(entry);

        Assert.Equal(0, committed.Sequence);
        var payload = LeafCodec.Encode(entry);
        Assert.Equal(MerkleTree.HashLeaf(payload), committed.LeafHash.ToArray());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(entry.Time.ToUnixTimeMilliseconds()), committed.Entry.Time);
        Assert.Equal(TimeSpan.Zero, committed.Entry.Time.Offset);
        Assert.Equal("C0000", committed.Entry.Account);

        Assert.True(subscription.Reader.TryRead(out var published));
        Assert.Same(committed, published);

        var stored = Assert.Single(await ToListAsync(ledger.ReadAsync(0)));
        Assert.Equal(0, stored.Sequence);
        Assert.Equal(committed.LeafHash.ToArray(), stored.LeafHash.ToArray());
        Assert.Equal(payload, LeafCodec.Encode(stored.Entry));
        Assert.Equal(payload, await f.BlobAsync("SELECT payload FROM ledger_entries WHERE seq = 0"));

        var head = await ledger.GetTreeHeadAsync();
        Assert.Equal(1, head.Size);
        Assert.Equal(committed.LeafHash.ToArray(), head.Root.ToArray()); // a one-leaf tree's root is its leaf hash
        Assert.Equal(f.Time.GetUtcNow(), head.Time);
    }

    [Fact]
    public async Task Two_thousand_concurrent_appends_get_sequences_0_to_1999_each_once_and_are_published_in_order()
    {
        await using var f = await LedgerFixture.CreateAsync();
        using var subscription = f.Events.Subscribe("test");
        var ledger = f.NewLedger();

        var tasks = Enumerable.Range(0, 2_000)
            .Select(i => Task.Run(async () => (Caller: i, Committed: await ledger.AppendAsync(LedgerFixture.Entry(i, i + 1)))))
            .ToArray();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(Enumerable.Range(0, 2_000).Select(i => (long)i), results.Select(r => r.Committed.Sequence).Order());
        foreach (var (caller, committed) in results)
        {
            Assert.Equal($"C{caller:0000}", committed.Entry.Account); // each caller got its own entry back
            Assert.Equal(new SubscriberId(caller + 1), Assert.Single(committed.Entry.Subjects));
        }

        var published = new List<CommittedEntry>();
        while (subscription.Reader.TryRead(out var e))
        {
            published.Add(e);
        }

        Assert.Equal(Enumerable.Range(0, 2_000).Select(i => (long)i), published.Select(e => e.Sequence));
        var bySequence = results.ToDictionary(r => r.Committed.Sequence, r => r.Committed);
        Assert.All(published, e => Assert.Same(bySequence[e.Sequence], e));

        var stored = await ToListAsync(ledger.ReadAsync(0));
        Assert.Equal(published.Select(e => e.Sequence), stored.Select(e => e.Sequence));
        Assert.Equal(published.Select(e => e.Entry.Account), stored.Select(e => e.Entry.Account));

        var head = await ledger.GetTreeHeadAsync();
        Assert.Equal(2_000, head.Size);
        Assert.Equal(MerkleTree.ComputeRoot(stored.Select(e => e.LeafHash.ToArray())), head.Root.ToArray());
        output.WriteLine($"2,000 concurrent appends were committed in {await f.ScalarAsync("SELECT COUNT(*) FROM ledger_tree_heads")} transactions.");
    }

    [Fact]
    public async Task Entries_queued_while_the_writer_waits_are_committed_together()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger(new LedgerOptions { LockTimeout = TimeSpan.FromSeconds(60) });

        ValueTask<CommittedEntry>[] pending;
        await using (await f.HoldWriteLockAsync())
        {
            // AppendAsync queues synchronously; the writer takes a first batch and waits for the lock.
            pending = Enumerable.Range(0, 2_000).Select(i => ledger.AppendAsync(LedgerFixture.Entry(i))).ToArray();
        }

        var committed = new List<CommittedEntry>();
        foreach (var p in pending)
        {
            committed.Add(await p);
        }

        Assert.Equal(Enumerable.Range(0, 2_000).Select(i => (long)i), committed.Select(c => c.Sequence).Order());
        var heads = await f.ScalarAsync("SELECT COUNT(*) FROM ledger_tree_heads");
        Assert.InRange(heads, 1, 2); // the batch the writer held, then everything else in one transaction
        Assert.Equal(2_000, await f.ScalarAsync("SELECT MAX(tree_size) FROM ledger_tree_heads"));
        Assert.Equal(1, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_tree_heads WHERE frontier IS NOT NULL"));
    }

    [Fact]
    public async Task Batches_never_exceed_the_configured_size()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger(new LedgerOptions { MaxBatchSize = 7, LockTimeout = TimeSpan.FromSeconds(60) });

        ValueTask<CommittedEntry>[] pending;
        await using (await f.HoldWriteLockAsync())
        {
            pending = Enumerable.Range(0, 50).Select(i => ledger.AppendAsync(LedgerFixture.Entry(i))).ToArray();
        }

        foreach (var p in pending)
        {
            await p;
        }

        Assert.Equal(0, await f.ScalarAsync(
            "SELECT COUNT(*) FROM ledger_tree_heads h WHERE h.tree_size - COALESCE((SELECT MAX(p.tree_size) FROM ledger_tree_heads p WHERE p.tree_size < h.tree_size), 0) > 7"));
        Assert.True(await f.ScalarAsync("SELECT COUNT(*) FROM ledger_tree_heads") >= 8);
    }

    [Fact]
    public async Task Locked_database_refuses_the_batch_then_appends_resume_gap_free()
    {
        await using var f = await LedgerFixture.CreateAsync();
        using var subscription = f.Events.Subscribe("test");
        var ledger = f.NewLedger(ShortLock);
        await ledger.AppendAsync(LedgerFixture.Entry(0));
        await ledger.AppendAsync(LedgerFixture.Entry(1));
        Drain(subscription);

        await using (await f.HoldWriteLockAsync())
        {
            var refused = Enumerable.Range(2, 5).Select(i => ledger.AppendAsync(LedgerFixture.Entry(i)).AsTask()).ToArray();
            foreach (var task in refused)
            {
                var ex = await Assert.ThrowsAsync<LedgerUnavailableException>(() => task);
                Assert.NotNull(ex.InnerException);
            }
        }

        Assert.False(subscription.Reader.TryRead(out _)); // nothing published for the refused batch
        Assert.Equal(2, await ledger.GetSizeAsync());

        var next = await ledger.AppendAsync(LedgerFixture.Entry(7));
        Assert.Equal(2, next.Sequence);
        Assert.True(subscription.Reader.TryRead(out var published));
        Assert.Equal(2, published.Sequence);
        Assert.Equal([0L, 1L, 2L], (await ToListAsync(ledger.ReadAsync(0))).Select(e => e.Sequence));
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
    }

    [Fact]
    public async Task Failed_commit_refuses_every_caller_of_the_batch_publishes_nothing_and_the_writer_continues()
    {
        await using var f = await LedgerFixture.CreateAsync();
        using var subscription = f.Events.Subscribe("test");
        var logger = new FakeLogger<SqliteAccessLedger>();
        var ledger = f.NewLedger(new LedgerOptions { LockTimeout = TimeSpan.FromSeconds(60) }, logger);
        for (var i = 0; i < 3; i++)
        {
            await ledger.AppendAsync(LedgerFixture.Entry(i, 100));
        }

        Drain(subscription);

        // The tree-head insert fails after the entries were inserted: the whole transaction must roll back.
        await f.ExecuteAsync("CREATE TRIGGER fail_head BEFORE INSERT ON ledger_tree_heads BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
        ValueTask<CommittedEntry>[] batch;
        await using (await f.HoldWriteLockAsync())
        {
            batch = Enumerable.Range(3, 40).Select(i => ledger.AppendAsync(LedgerFixture.Entry(i, 100) with { Reason = "secret-reason-xyz" })).ToArray();
        }

        foreach (var p in batch)
        {
            await Assert.ThrowsAsync<LedgerUnavailableException>(async () => await p);
        }

        Assert.False(subscription.Reader.TryRead(out _));
        Assert.Equal(3, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries"));
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects")); // the writer writes none (LedgerSubjectProjector does, after commit)
        Assert.Equal(3, await f.ProjectSubjectsAsync());
        Assert.Equal(3, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_subjects"));

        await f.ExecuteAsync("DROP TRIGGER fail_head");
        var next = await ledger.AppendAsync(LedgerFixture.Entry(50, 100));
        Assert.Equal(3, next.Sequence);
        Assert.Equal(3, (await ledger.ReadBySubjectAsync(new SubscriberId(100), null, 10))[0].Sequence);
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);

        // One or two failed batches (the writer may take the first entry before the rest are queued).
        var failures = logger.Collector.GetSnapshot().Where(r => r.Id.Id == 2002).ToList();
        Assert.InRange(failures.Count, 1, 2);
        Assert.All(failures, r => Assert.Equal(LogLevel.Error, r.Level));
        Assert.All(logger.Collector.GetSnapshot(), r =>
        {
            Assert.DoesNotContain("secret-reason-xyz", r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("C0003", r.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Append_after_disposal_is_refused_and_queued_entries_are_committed_first()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger();
        var queued = Enumerable.Range(0, 100).Select(i => ledger.AppendAsync(LedgerFixture.Entry(i)).AsTask()).ToArray();

        await ledger.DisposeAsync();

        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), (await Task.WhenAll(queued)).Select(c => c.Sequence).Order());
        await Assert.ThrowsAsync<LedgerUnavailableException>(async () => await ledger.AppendAsync(LedgerFixture.Entry(100)));
        await ledger.DisposeAsync(); // idempotent
    }

    [Fact]
    public async Task A_new_instance_on_the_same_file_continues_the_sequence_and_root()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var first = f.NewLedger();
        for (var i = 0; i < 13; i++)
        {
            await first.AppendAsync(LedgerFixture.Entry(i));
        }

        var headBefore = await first.GetTreeHeadAsync();
        await first.DisposeAsync();

        var second = f.NewLedger();
        Assert.Equal(headBefore.Root.ToArray(), (await second.GetTreeHeadAsync()).Root.ToArray());
        var appended = await second.AppendRangeAsync(Enumerable.Range(13, 6).Select(i => LedgerFixture.Entry(i)).ToArray());
        Assert.Equal([13L, 14L, 15L, 16L, 17L, 18L], appended.Select(e => e.Sequence));

        var leaves = (await ToListAsync(second.ReadAsync(0))).Select(e => e.LeafHash.ToArray()).ToList();
        Assert.Equal(19, leaves.Count);
        var head = await second.GetTreeHeadAsync();
        Assert.Equal(19, head.Size);
        Assert.Equal(MerkleTree.ComputeRoot(leaves), head.Root.ToArray());

        // The new head extends the old one (RFC 9162 §2.1.4 consistency).
        var proof = MerkleTree.ConsistencyProof(13, 19, leaves);
        Assert.True(MerkleTree.VerifyConsistency(13, 19, headBefore.Root.Span, head.Root.Span, proof));

        var verification = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(verification.IsValid);
        Assert.Equal(19, verification.TreeSize);
        Assert.Equal(head.Root.ToArray(), verification.Root.ToArray());
    }

    [Fact]
    public async Task Two_writers_on_one_file_like_server_and_cli_stay_gap_free()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var server = f.NewLedger(new LedgerOptions { LockTimeout = TimeSpan.FromSeconds(30) });
        var cli = f.NewLedger(new LedgerOptions { LockTimeout = TimeSpan.FromSeconds(30) });

        var tasks = Enumerable.Range(0, 600)
            .Select(i => Task.Run(async () => await (i % 3 == 0 ? cli : server).AppendAsync(LedgerFixture.Entry(i, (i % 5) + 1))))
            .ToArray();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(Enumerable.Range(0, 600).Select(i => (long)i), results.Select(r => r.Sequence).Order());
        var verification = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(verification.IsValid, verification.Reason);
        Assert.Equal(600, verification.TreeSize);
        Assert.Equal((await server.GetTreeHeadAsync()).Root.ToArray(), verification.Root.ToArray());
    }

    [Fact]
    public async Task ReadBySubject_returns_newest_first_and_pages_with_before()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger();
        // Subscriber 7 is in entries 1, 4, 7, ..., 28 (10 entries); one entry names it twice.
        for (var i = 0; i < 30; i++)
        {
            long[] subjects = i % 3 == 1 ? (i == 4 ? [7, 8, 7] : [7, 8]) : [9];
            await ledger.AppendAsync(LedgerFixture.Entry(i, subjects));
        }

        var all = await ledger.ReadBySubjectAsync(new SubscriberId(7), null, 1_000);
        Assert.Equal([28L, 25L, 22L, 19L, 16L, 13L, 10L, 7L, 4L, 1L], all.Select(e => e.Sequence));
        Assert.All(all, e => Assert.Contains(new SubscriberId(7), e.Entry.Subjects));

        var page1 = await ledger.ReadBySubjectAsync(new SubscriberId(7), null, 4);
        Assert.Equal([28L, 25L, 22L, 19L], page1.Select(e => e.Sequence));
        var page2 = await ledger.ReadBySubjectAsync(new SubscriberId(7), page1[^1].Sequence, 4);
        Assert.Equal([16L, 13L, 10L, 7L], page2.Select(e => e.Sequence));
        var page3 = await ledger.ReadBySubjectAsync(new SubscriberId(7), page2[^1].Sequence, 4);
        Assert.Equal([4L, 1L], page3.Select(e => e.Sequence));
        Assert.Empty(await ledger.ReadBySubjectAsync(new SubscriberId(7), 1, 4));
        Assert.Empty(await ledger.ReadBySubjectAsync(new SubscriberId(12345), null, 4));
        Assert.Equal("C0004", all[^2].Entry.Account);
        Assert.Equal(3, all[^2].Entry.Subjects.Count); // the entry as recorded, duplicate included

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.ReadBySubjectAsync(new SubscriberId(7), null, 0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.ReadBySubjectAsync(new SubscriberId(7), null, 1_001));
    }

    [Fact]
    public async Task ReadAsync_and_ReadSinceAsync_stream_in_sequence_order_across_pages()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger();
        // 2,500 entries, more than two read pages; entry i happened at Start + i seconds, except
        // that entry 2,100 carries an earlier time (clocks of concurrent callers interleave).
        var entries = Enumerable.Range(0, 2_500).Select(i => LedgerFixture.Entry(i)).ToArray();
        entries[2_100] = entries[2_100] with { Time = LedgerFixture.Start.AddSeconds(5) };
        await ledger.AppendRangeAsync(entries);

        Assert.Equal(Enumerable.Range(0, 2_500).Select(i => (long)i), (await ToListAsync(ledger.ReadAsync(0))).Select(e => e.Sequence));
        Assert.Equal(Enumerable.Range(1_000, 1_500).Select(i => (long)i), (await ToListAsync(ledger.ReadAsync(1_000))).Select(e => e.Sequence));
        Assert.Empty(await ToListAsync(ledger.ReadAsync(2_500)));

        var since = await ToListAsync(ledger.ReadSinceAsync(LedgerFixture.Start.AddSeconds(1_000)));
        Assert.Equal(Enumerable.Range(1_000, 1_500).Where(i => i != 2_100).Select(i => (long)i), since.Select(e => e.Sequence));
        Assert.All(since, e => Assert.True(e.Entry.Time >= LedgerFixture.Start.AddSeconds(1_000)));

        var early = await ToListAsync(ledger.ReadSinceAsync(LedgerFixture.Start.AddSeconds(4)));
        Assert.Equal(2_496, early.Count); // entries 4..2,499
        Assert.Contains(early, e => e.Sequence == 2_100);
        Assert.Empty(await ToListAsync(ledger.ReadSinceAsync(LedgerFixture.Start.AddDays(1))));
    }

    [Fact]
    public async Task Subject_rows_follow_the_payload_even_if_the_callers_list_changes_later()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger(new LedgerOptions { LockTimeout = TimeSpan.FromSeconds(60) });
        var subjects = new List<SubscriberId> { new(5), new(6) };
        ValueTask<CommittedEntry> pending;
        await using (await f.HoldWriteLockAsync())
        {
            pending = ledger.AppendAsync(LedgerFixture.Entry(0) with { Subjects = subjects });
            subjects[1] = new SubscriberId(666);
        }

        await pending;
        Assert.Single(await ledger.ReadBySubjectAsync(new SubscriberId(6), null, 10));
        Assert.Empty(await ledger.ReadBySubjectAsync(new SubscriberId(666), null, 10));
        Assert.True((await new LedgerVerifier(f.Db).VerifyAsync()).IsValid);
    }

    [Fact]
    public async Task Invalid_entries_are_rejected_before_queueing()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ledger.AppendAsync(LedgerFixture.Entry(0) with { Task = (AccessTask)77 }));
        await Assert.ThrowsAsync<ArgumentException>(async () => await ledger.AppendRangeAsync([]));
        Assert.Equal(0, (await ledger.AppendAsync(LedgerFixture.Entry(1))).Sequence);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.NewLedger(new LedgerOptions { MaxBatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => f.NewLedger(new LedgerOptions { LockTimeout = TimeSpan.FromMilliseconds(10) }));
    }

    /// <summary>
    /// Measures (never asserts) appends per second from 4,096 concurrent callers. Workloads:
    /// "none" — entries without subjects (sign-ins, refusals); "sequential" — each entry names a
    /// new subscriber in increasing ID order (the subject index grows at its end); "random" —
    /// each entry names a random 63-bit subscriber ID (the subject index takes random inserts,
    /// the realistic and worst case: each commit rewrites roughly one index page per entry).
    /// </summary>
    [Theory]
    [InlineData("none")]
    [InlineData("sequential")]
    [InlineData("random")]
    public async Task Throughput_with_many_concurrent_callers_is_reported(string subjects)
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger();
        const int callers = 4_096;
        const int perCaller = 25;
        const int total = (callers * perCaller) + 8_192;
        var random = new Random(20250106);
        var entries = Enumerable.Range(0, total).Select(i => subjects switch
        {
            "none" => LedgerFixture.Entry(i),
            "sequential" => LedgerFixture.Entry(i, i + 1),
            _ => LedgerFixture.Entry(i, random.NextInt64(1, long.MaxValue)),
        }).ToArray();

        // Warm up (JIT tiers, connection, statement preparation) with the first 8,192 entries, untimed.
        const int warmUp = 8_192;
        await Task.WhenAll(Enumerable.Range(0, warmUp).Select(i => ledger.AppendAsync(entries[i]).AsTask()));

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            for (var i = warmUp + c; i < total; i += callers)
            {
                await ledger.AppendAsync(entries[i]);
            }
        })));
        stopwatch.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;

        Assert.Equal(total, await ledger.GetSizeAsync());
        var batches = await f.ScalarAsync("SELECT COUNT(*) FROM ledger_tree_heads WHERE tree_size > @w", ("@w", warmUp));
        const int timed = callers * perCaller;
        output.WriteLine($"Subjects {subjects}: appended {timed:N0} entries from {callers:N0} concurrent callers in {stopwatch.Elapsed.TotalSeconds:F2} s: {timed / stopwatch.Elapsed.TotalSeconds:N0} appends/s, {batches:N0} transactions (mean batch {(double)timed / batches:F0}); process CPU {cpu.TotalMicroseconds / timed:F1} µs per append on {Environment.ProcessorCount} cores, {Configuration} build.");

        stopwatch.Restart();
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        stopwatch.Stop();
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(total, result.TreeSize);
        output.WriteLine($"Verified {total:N0} entries in {stopwatch.Elapsed.TotalSeconds:F2} s: {total / stopwatch.Elapsed.TotalSeconds:N0} entries/s.");
    }

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static void Drain(Custodian.Events.IAccessEventSubscription subscription)
    {
        while (subscription.Reader.TryRead(out _))
        {
        }
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
