using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Projection;
using Custodian.Monitoring;
using Custodian.Monitoring.Workers;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Tests.Events;

/// <summary>
/// Sharded monitor workers (docs/events.md, "Monitor workers") against a real nats-server and real SQLite / PostgreSQL:
/// the workers together raise exactly the alerts and suspensions the embedded monitor raises on the same entries; a worker
/// that joins takes half the partitions; a worker killed with SIGKILL mid-stream is replaced with nothing lost and nothing
/// processed twice (every partition's processed count equals the number of its entries in the stream).
/// </summary>
public sealed class MonitorWorkerTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Two_workers_with_one_joining_mid_stream_raise_exactly_the_embedded_alerts_and_process_each_entry_once(TestBackend backend)
    {
        var entries = Workload(TimeProvider.System.GetUtcNow());
        var expected = await RunEmbeddedAsync(entries);
        Assert.Equal(5, expected.Alerts.Count); // 4 clerk scrapers and one shared terminal: the workload is not trivial

        await using var nats = await NatsServer.StartNewAsync();
        await using var side = await JetStreamSide.StartAsync(nats, backend);
        using var stop = new CancellationTokenSource();
        var first = side.Worker("w1");
        var firstRun = Task.Run(() => first.RunAsync(stop.Token));
        await WaitUntilAsync(() => first.OwnedPartitions.Count == 128, "the first worker owns all 128 partitions");

        var half = entries.Count / 2;
        foreach (var entry in entries.Take(half))
        {
            await side.Ledger.AppendAsync(entry);
        }

        var second = side.Worker("w2");
        var secondRun = Task.Run(() => second.RunAsync(stop.Token));
        await WaitUntilAsync(() => first.OwnedPartitions.Count == 64 && second.OwnedPartitions.Count == 64, "the workers share the partitions 64 / 64");
        Assert.Empty(first.OwnedPartitions.Intersect(second.OwnedPartitions));
        foreach (var entry in entries.Skip(half))
        {
            await side.Ledger.AppendAsync(entry);
        }

        await side.WaitAllProcessedAsync();
        Assert.Equal(expected.Alerts, await side.AlertsAsync());
        Assert.Equal(expected.Suspended, await side.SuspendedAsync());
        var progress = await side.Progress.ListAsync();
        Assert.Equal(128, progress.Count);
        Assert.Equal(64, progress.Count(p => p.Owner == "w2"));

        await stop.CancelAsync();
        await Task.WhenAll(firstRun, secondRun);
    }

    [Fact]
    public async Task A_worker_killed_mid_stream_is_replaced_and_nothing_is_lost_or_processed_twice()
    {
        var entries = Workload(TimeProvider.System.GetUtcNow());
        var expected = await RunEmbeddedAsync(entries);

        await using var nats = await NatsServer.StartNewAsync();
        await using var side = await JetStreamSide.StartAsync(nats, TestBackend.Sqlite, initialiseWithCli: true);
        using var killed = StartWorkerProcess(side, "doomed");
        using var stop = new CancellationTokenSource();
        var survivor = side.Worker("survivor");
        var survivorRun = Task.Run(() => survivor.RunAsync(stop.Token));
        try
        {
            await WaitUntilAsync(() => survivor.OwnedPartitions.Count == 64, "the subprocess worker and the in-process one share the partitions");
            await WaitUntilAsync(async () => (await side.Progress.ListAsync()).Count(p => p.Owner == "doomed") == 64, "the subprocess worker acquired its 64 partitions");

            var third = entries.Count / 3;
            foreach (var entry in entries.Take(third))
            {
                await side.Ledger.AppendAsync(entry);
            }

            // Kill it while entries keep arriving: the rest is appended from another task meanwhile.
            var appendRest = Task.Run(async () =>
            {
                foreach (var entry in entries.Skip(third))
                {
                    await side.Ledger.AppendAsync(entry);
                }
            });
            await WaitUntilAsync(async () => (await side.Progress.ListAsync()).Where(p => p.Owner == "doomed").Sum(p => p.Processed) > 0, "the doomed worker processed something");
            killed.Kill(entireProcessTree: true); // SIGKILL: no clean leave, its key expires with the 2 s lease
            await killed.WaitForExitAsync();
            await appendRest;

            await WaitUntilAsync(() => survivor.OwnedPartitions.Count == 128, "the survivor takes over every partition after the lease expired");
            await side.WaitAllProcessedAsync();
            Assert.Equal(expected.Alerts, await side.AlertsAsync());
            Assert.Equal(expected.Suspended, await side.SuspendedAsync());
            Assert.All(await side.Progress.ListAsync(), p => Assert.Equal("survivor", p.Owner));
        }
        finally
        {
            if (!killed.HasExited)
            {
                killed.Kill(entireProcessTree: true);
            }

            await stop.CancelAsync();
            await survivorRun;
        }
    }

    [Fact]
    public async Task With_serve_monitor_workers_a_scraping_clerk_is_suspended_by_a_worker_before_the_next_request_is_served()
    {
        await using var nats = await NatsServer.StartNewAsync();
        await using var host = await CustodianTestHost.StartAsync(subscribers: 30, options: o =>
        {
            o.Events = nats.Url;
            o.JetStream.Monitor = "workers";
            o.JetStream.WorkerLeaseSeconds = 2;
        });
        Assert.NotNull(host.Get<MonitorWorkerGate>()); // serve --monitor workers: the guard catches up with the workers
        var worker = new MonitorWorker(
            host.Get<EventsSettings>(),
            "api-test",
            new PartitionProgressStore(host.Get<CustodianDatabase>(), TimeProvider.System),
            host.Get<IAccessLedger>(),
            host.Get<IAccessLedgerReader>(),
            host.Get<AlertStore>(),
            new SuspensionRegistry(host.Get<CustodianDatabase>(), TimeProvider.System),
            () => new DistinctSubjectsDetector(new MonitorOptions()),
            TimeProvider.System,
            NullLogger<MonitorWorker>.Instance);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => worker.RunAsync(stop.Token));
        try
        {
            await WaitUntilAsync(() => worker.OwnedPartitions.Count == 128, "the worker owns every partition");
            var (client, _, _) = await host.ClerkAsync("C0001");
            var served = 0;
            HttpResponseMessage? refused = null;
            for (var i = 0; i < 20; i++)
            {
                var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[i].Phone });
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    refused = response;
                    break;
                }

                served++;
                response.Dispose();
            }

            // The hard clerk limit is 12 distinct subscribers per 10 minutes: the 13th read breaches, the 14th is refused.
            Assert.Equal(13, served);
            await ProblemAssert.IsProblemAsync(refused!, HttpStatusCode.Forbidden, Custodian.Problems.ErrorCodes.ClerkSuspended);
            var alert = Assert.Single(await host.Get<AlertStore>().ListAsync(null));
            Assert.Equal((DistinctSubjectsDetector.DetectorName, new Principal(PrincipalKind.Clerk, "C0001"), 13, 12), (alert.Detector, alert.Principal, alert.Observed, alert.Limit));
            Assert.Equal(["clerk:C0001", "terminal:S001-t-C0001"], Describe(await host.Get<SuspensionRegistry>().ListActiveAsync()));
        }
        finally
        {
            await stop.CancelAsync();
            await run;
        }
    }

    [Fact]
    public void Partitions_are_assigned_by_index_modulo_the_sorted_live_members()
    {
        Assert.Equal(128, MonitorPartition.Assign(["solo"], "solo").Count);
        var a = MonitorPartition.Assign(["b", "a"], "a");
        var b = MonitorPartition.Assign(["a", "b"], "b");
        Assert.Equal(["c00", "c02"], a.Take(2).Select(p => p.Token));
        Assert.Equal(["c01", "c03"], b.Take(2).Select(p => p.Token));
        Assert.Equal(128, a.Concat(b).Select(p => p.Token).Distinct().Count());
        Assert.Empty(MonitorPartition.Assign(["a", "b"], "c"));
        Assert.Equal(43, MonitorPartition.Assign(["x", "y", "z"], "x").Count); // 128 = 43 + 43 + 42
        Assert.Equal("custodian.ledger.c07.*", new MonitorPartition(PrincipalKind.Clerk, 7).FilterSubject("custodian.ledger"));
        Assert.Equal("custodian.ledger.*.t42", new MonitorPartition(PrincipalKind.Terminal, 42).FilterSubject("custodian.ledger"));
    }

    [Fact]
    public async Task A_fenced_owner_cannot_commit_progress_after_another_worker_acquired_the_partition()
    {
        var directory = Directory.CreateTempSubdirectory("custodian-fence-");
        try
        {
            var db = new CustodianDatabase(Path.Combine(directory.FullName, "fence.db"));
            await db.MigrateAsync(new MonitoringMigrations().Migrations, TimeProvider.System);
            var store = new PartitionProgressStore(db, TimeProvider.System);
            var old = Assert.Single(await store.AcquireAsync(["c05"], "old"));
            Assert.Equal((1L, 0L), (old.Epoch, old.LastStreamSequence));
            Assert.True(await store.CommitAsync("c05", old.Epoch, 10, 3));
            var next = Assert.Single(await store.AcquireAsync(["c05"], "new"));
            Assert.Equal((2L, 10L, 3L), (next.Epoch, next.LastStreamSequence, next.Processed));
            Assert.False(await store.CommitAsync("c05", old.Epoch, 12, 1)); // the paused owner wakes up: refused
            Assert.False(await store.IsCurrentAsync("c05", old.Epoch));
            Assert.False(await store.CommitAsync("c05", next.Epoch, 10, 1)); // progress never moves backwards or repeats
            Assert.True(await store.CommitAsync("c05", next.Epoch, 14, 2));
            Assert.Equal(new PartitionProgress("c05", 14, 5, "new", 2), Assert.Single(await store.ListAsync()));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    // 8 quiet clerks (8 distinct subscribers each, own terminal); 4 scrapers (14 each: the clerk limit of 12 per 10 minutes
    // is exceeded, their terminals' 16 is not); 3 clerks at one shared terminal (6 each, 18 together: the terminal breaches).
    internal static List<AccessEntry> Workload(DateTimeOffset start)
    {
        var streams = new List<List<AccessEntry>>();
        long subject = 2_000_000;
        List<AccessEntry> Reads(string clerk, string terminal, int count) =>
            [.. Enumerable.Range(0, count).Select(_ => Read(clerk, terminal, ++subject))];
        for (var i = 0; i < 8; i++)
        {
            streams.Add(Reads($"C1{i:000}", $"S001-q{i}", 8));
        }

        for (var i = 0; i < 4; i++)
        {
            streams.Add(Reads($"C2{i:000}", $"S002-s{i}", 14));
        }

        for (var i = 0; i < 3; i++)
        {
            streams.Add(Reads($"C3{i:000}", "S003-shared", 6));
        }

        var interleaved = new List<AccessEntry>();
        for (var round = 0; streams.Any(s => s.Count > round); round++)
        {
            interleaved.AddRange(streams.Where(s => s.Count > round).Select(s => s[round]));
        }

        return [.. interleaved.Select((e, i) => e with { Time = start.AddMilliseconds(i * 10) })];

        static AccessEntry Read(string clerk, string terminal, long id) => new()
        {
            Time = default,
            Task = AccessTask.View,
            Outcome = AccessOutcome.Allowed,
            Account = clerk,
            Role = StaffRole.Clerk,
            Terminal = terminal,
            Store = terminal[..4],
            SourceIp = "10.0.0.1",
            Purpose = "in-store-service",
            Subjects = [new SubscriberId(id)],
            Fields = ["name"],
        };
    }

    private static async Task<(List<string> Alerts, List<string> Suspended)> RunEmbeddedAsync(List<AccessEntry> entries)
    {
        var directory = Directory.CreateTempSubdirectory("custodian-embedded-");
        try
        {
            var time = TimeProvider.System;
            var db = new CustodianDatabase(Path.Combine(directory.FullName, "embedded.db"));
            await db.MigrateAsync(new LedgerMigrations().Migrations.Concat(new MonitoringMigrations().Migrations), time);
            var events = new InProcessAccessEventStream();
            await using var ledger = new SqliteAccessLedger(db, events, time, NullLogger<SqliteAccessLedger>.Instance);
            var alerts = new AlertStore(db, time);
            var suspensions = new SuspensionRegistry(db, time);
            var monitor = new AccessMonitor(events, ledger, ledger, alerts, suspensions, new DistinctSubjectsDetector(new MonitorOptions()), time, NullLogger<AccessMonitor>.Instance);
            await monitor.StartAsync(CancellationToken.None);
            await monitor.Ready;
            long last = -1;
            foreach (var entry in entries)
            {
                last = (await ledger.AppendAsync(entry)).Sequence;
                Assert.True(await monitor.WaitForProcessedAsync(last, TimeSpan.FromSeconds(30)));
            }

            await WaitUntilAsync(async () => monitor.ProcessedSequence == await ledger.GetSizeAsync() - 1, "the embedded monitor processed its own entries");
            await monitor.StopAsync(CancellationToken.None);
            return (Describe(await alerts.ListAsync(null, 1000)), Describe(await suspensions.ListActiveAsync()));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    private static List<string> Describe(IEnumerable<Alert> alerts) =>
        [.. alerts.Select(a => $"{a.Detector} {a.Principal} {a.Observed}/{a.Limit} in {a.Window.TotalSeconds} s, evidence {a.Evidence.TotalSequences}, {a.Severity.ToName()}").Order(StringComparer.Ordinal)];

    private static List<string> Describe(IEnumerable<Suspension> suspensions) =>
        [.. suspensions.Select(s => s.Principal.ToString()).Order(StringComparer.Ordinal)];

    private static Process StartWorkerProcess(JetStreamSide side, string id)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "custodian.dll"), "monitor-worker", "--data", side.DataDirectory, "--worker-id", id, "--lease-seconds", "2" })
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (name, value) in side.Environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(90))
            {
                Assert.Fail("Timed out waiting until " + what + ".");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The JetStream side: one storage (SQLite file or PostgreSQL schema), a JetStream ledger for appends, workers.</summary>
    private sealed class JetStreamSide : IAsyncDisposable
    {
        private readonly DirectoryInfo _directory;
        private readonly PostgresSchema? _schema;
        private readonly EventsSettings _settings;

        private JetStreamSide(DirectoryInfo directory, PostgresSchema? schema, EventsSettings settings, CustodianDatabase db, JetStreamAccessLedger ledger, Dictionary<string, string> environment)
        {
            _directory = directory;
            _schema = schema;
            _settings = settings;
            Db = db;
            Ledger = ledger;
            Environment = environment;
            Progress = new PartitionProgressStore(db, TimeProvider.System);
        }

        public CustodianDatabase Db { get; }

        public JetStreamAccessLedger Ledger { get; }

        public PartitionProgressStore Progress { get; }

        public Dictionary<string, string> Environment { get; }

        public string DataDirectory => Path.Combine(_directory.FullName, "data");

        public static async Task<JetStreamSide> StartAsync(NatsServer nats, TestBackend backend, bool initialiseWithCli = false)
        {
            var directory = Directory.CreateTempSubdirectory("custodian-workers-");
            var schema = backend == TestBackend.Postgres ? await TestStorage.CreateSchemaAsync() : null;
            var environment = new Dictionary<string, string>
            {
                ["Custodian__Events"] = nats.Url,
                ["Custodian__JetStream__WorkerLeaseSeconds"] = "2",
            };
            var options = new JetStreamOptions { WorkerLeaseSeconds = 2 };
            var settings = EventsSettings.Parse(nats.Url, options).Value!;
            CustodianDatabase db;
            if (initialiseWithCli)
            {
                var (exit, _, error) = await CliProcess.RunAsync(environment, "init", "--data", Path.Combine(directory.FullName, "data"));
                Assert.True(exit == 0, error);
                db = new CustodianDatabase(Path.Combine(directory.FullName, "data", "custodian.db"));
            }
            else
            {
                db = schema is null ? new CustodianDatabase(Path.Combine(directory.FullName, "workers.db")) : CustodianDatabase.ForPostgres(schema.Settings);
                await db.MigrateAsync(new LedgerMigrations().Migrations.Concat(new MonitoringMigrations().Migrations), TimeProvider.System);
            }

            // The stream is bound to one deployment (docs/events.md): the CLI-initialised data directory's identity when there
            // is one (its `init` created and bound the stream), else a fixed test identity.
            string Deployment() => initialiseWithCli ? DeploymentIdentity.Of(Path.Combine(directory.FullName, "data"), "custodian/test") : "custodian/monitor-workers-test+00000000";
            var ledger = new JetStreamAccessLedger(settings, new LedgerProjection(db, TimeProvider.System, NullLogger<LedgerProjection>.Instance), new InProcessAccessEventStream(), Deployment, NullLogger<JetStreamAccessLedger>.Instance);
            await ledger.StartAsync();
            return new JetStreamSide(directory, schema, settings, db, ledger, environment);
        }

        /// <summary>A worker with its own alert store and suspension registry (as its own process would have).</summary>
        public MonitorWorker Worker(string id) => new(
            _settings,
            id,
            new PartitionProgressStore(Db, TimeProvider.System),
            Ledger,
            Ledger,
            new AlertStore(Db, TimeProvider.System),
            new SuspensionRegistry(Db, TimeProvider.System),
            () => new DistinctSubjectsDetector(new MonitorOptions()),
            TimeProvider.System,
            NullLogger<MonitorWorker>.Instance);

        public async Task<List<string>> AlertsAsync() => Describe(await new AlertStore(Db, TimeProvider.System).ListAsync(null, 1000));

        public async Task<List<string>> SuspendedAsync() => Describe(await new SuspensionRegistry(Db, TimeProvider.System).ListActiveAsync());

        /// <summary>Waits until every partition's processed count equals the number of its entries in the ledger (which mirrors the stream), stably.</summary>
        public async Task WaitAllProcessedAsync()
        {
            var deadline = Stopwatch.StartNew();
            string last = "nothing compared";
            var stableRounds = 0;
            while (deadline.Elapsed < TimeSpan.FromSeconds(90))
            {
                var expected = new Dictionary<string, long>(StringComparer.Ordinal);
                await foreach (var committed in Ledger.ReadAsync(0))
                {
                    if (committed.Entry.Account is { } account)
                    {
                        var key = new MonitorPartition(PrincipalKind.Clerk, LedgerSubjects.PartitionOf(account)).Token;
                        expected[key] = expected.GetValueOrDefault(key) + 1;
                    }

                    if (committed.Entry.Terminal is { } terminal)
                    {
                        var key = new MonitorPartition(PrincipalKind.Terminal, LedgerSubjects.PartitionOf(terminal)).Token;
                        expected[key] = expected.GetValueOrDefault(key) + 1;
                    }
                }

                var actual = (await Progress.ListAsync()).Where(p => p.Processed > 0).ToDictionary(p => p.Partition, p => p.Processed, StringComparer.Ordinal);
                var match = expected.Count == actual.Count && expected.All(e => actual.GetValueOrDefault(e.Key) == e.Value);
                last = string.Join(", ", expected.Where(e => actual.GetValueOrDefault(e.Key) != e.Value).Select(e => $"{e.Key}: {actual.GetValueOrDefault(e.Key)} of {e.Value}"))
                    + " | extra: " + string.Join(", ", actual.Keys.Except(expected.Keys));
                stableRounds = match ? stableRounds + 1 : 0;
                if (stableRounds >= 10)
                {
                    return; // a second with every count exact and no new monitor entries
                }

                await Task.Delay(100);
            }

            Assert.Fail("Partitions did not process exactly their entries: " + last);
        }

        public async ValueTask DisposeAsync()
        {
            await Ledger.DisposeAsync();
            await Db.DisposeAsync();
            if (_schema is not null)
            {
                await _schema.DisposeAsync();
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _directory.Delete(recursive: true);
        }
    }
}
