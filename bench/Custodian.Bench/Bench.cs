using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Messaging;
using Custodian.Monitoring;
using Custodian.Protection.Masking;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using Custodian.Storage;

namespace Custodian.Bench;

internal sealed record BenchSettings(
    int Subscribers,
    int Clients,
    TimeSpan Duration,
    TimeSpan Warmup,
    double Rate,
    bool Components,
    string? DataParent,
    ISet<string>? Only,
    string CommandLine,
    int HandlesPerClerk = 200,
    int CheckpointerMs = 0,
    double JitWarmupSeconds = 10,
    int LedgerPrefill = 0);

/// <summary>The benchmark run: set-up, the workloads side by side with the baseline, the ledger check, the report.</summary>
internal sealed partial class Bench(BenchSettings settings)
{
    private const string ViewPurpose = "in-store-service";

    /// <summary>Keep-alive connections opened per terminal before the open-loop runs.</summary>
    private const int PrimeConnections = 4;
    private const string SearchPath = "/api/v1/subscribers/search";
    private const string BaselineSearchPath = BaselineApi.Prefix + "/search";

    /// <summary>Purposes that allow unmasking: one consent code per (clerk, subscriber, purpose) can be outstanding.</summary>
    private static readonly string[] UnmaskPurposes = ["contract-renewal", "identity-verification", "number-porting"];

    private readonly ConcurrentDictionary<AccessTask, long> _served = new();
    private readonly List<PhaseResult> _phases = [];
    private readonly List<(string Workload, PhaseResult? Baseline, PhaseResult Guarded)> _pairs = [];
    private readonly List<string> _notes = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private BenchHost _host = null!;
    private Clerk[] _clerks = [];
    private byte[][] _searchBodies = [];

    private int Workers => settings.Clients;

    private bool Runs(string workload) => settings.Only is null || settings.Only.Contains(workload);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        Say($"Custodian load bench: {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, server GC {System.Runtime.GCSettings.IsServerGC}");
        await using var host = _host = await BenchHost.StartAsync(settings.Subscribers, settings.DataParent, Say);
        Say($"server on {host.TerminalUrl} (data in {host.DataDirectory}); enrolling {Workers} terminals and signing in {Workers} clerks");
        var clerks = new Clerk[Workers];
        await Parallel.ForAsync(0, Workers, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (i, _) =>
            clerks[i] = await host.ClerkAsync(i, maxConnections: PrimeConnections));
        _clerks = clerks;
        _searchBodies = [.. host.Targets.Select(t => Encoding.UTF8.GetBytes($"{{\"phone\":\"{t.Phone}\"}}"))];
        using var checkpointer = new CancellationTokenSource();
        var checkpoints = settings.CheckpointerMs > 0 ? RunCheckpointerAsync(TimeSpan.FromMilliseconds(settings.CheckpointerMs), checkpointer.Token) : Task.CompletedTask;
        await SanityCheckAsync();
        await PrefillLedgerAsync();
        await JitWarmupAsync();

        if (Runs("health"))
        {
            var health = await ClosedAsync("reference: GET /health (TLS + HTTP, no data)", (w, _) => new Outgoing(Clerk(w).Client, new HttpRequestMessage(HttpMethod.Get, "/health")), null);
            _pairs.Add(("reference: /health", null, health));
        }

        if (Runs("search"))
        {
            await SearchWorkloadAsync();
        }

        var handles = Runs("view") || Runs("unmask") ? await ObtainHandlesAsync() : [];
        if (Runs("view"))
        {
            await ViewWorkloadAsync(handles);
        }

        if (Runs("unmask"))
        {
            await UnmaskWorkloadAsync(handles);
        }

        if (Runs("open"))
        {
            await OpenLoopAsync();
        }

        await checkpointer.CancelAsync();
        await checkpoints;
        var ledgerOk = await VerifyLedgerAsync();
        if (settings.Components)
        {
            await ComponentsAsync();
        }

        PrintReport(ledgerOk);
        return ledgerOk && _phases.All(p => p.Errors == 0) ? 0 : 1;
    }

    private Clerk Clerk(int worker) => _clerks[worker % _clerks.Length];

    private void Say(string message) => Console.Error.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1} s] {message}");

    private Action<long> Served(AccessTask task) => n => _served.AddOrUpdate(task, n, (_, old) => old + n);

    private static HttpRequestMessage Post(string path, byte[] json)
    {
        var content = new ByteArrayContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    private async Task<PhaseResult> ClosedAsync(string name, Func<int, long, Outgoing?> next, AccessTask? task, TimeSpan? warmupOverride = null)
    {
        Say($"{name}: {Workers} workers, warm-up {(warmupOverride ?? settings.Warmup).TotalSeconds:F1} s, measured {settings.Duration.TotalSeconds:F1} s");
        var before = _host.Batches.Snapshot;
        var connections = BenchHttp.Connections;
        _host.Batches.TakeMaxGapMs();
        var lag = task is null ? default : SampleMonitorLag();
        var result = await LoadDriver.ClosedLoopAsync(name, Workers, next, warmupOverride ?? settings.Warmup, settings.Duration, task is { } t ? Served(t) : _ => { });
        result = WithLedger(result, before, connections);
        if (lag.Stop is not null)
        {
            await lag.Stop.CancelAsync();
            var sampled = await lag.Result;
            result = result with { MonitorLag = (sampled.Mean, sampled.Max), LongestStall = (sampled.StallMs, sampled.StallBytes), Stalls = (sampled.Stalls, sampled.StallTotalMs, sampled.StallTotalBytes) };
            lag.Stop.Dispose();
        }
        Say($"  {result.RequestsPerSecond:N0} req/s, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, errors {result.Errors}, CPU process {result.ProcessCpuPercent:F0} % / machine {result.MachineCpuPercent:F0} %");
        _phases.Add(result);
        return result;
    }

    /// <summary>Guarded vs baseline answers for a few subscribers must agree field by field (masked values).</summary>
    private async Task SanityCheckAsync()
    {
        var client = _clerks[0].Client;
        for (var i = 0; i < 3; i++)
        {
            var t = _host.Targets[i * 7];
            using var g = await client.SendAsync(Post(SearchPath, _searchBodies[i * 7]));
            using var b = await client.SendAsync(Post(BaselineSearchPath, _searchBodies[i * 7]));
            g.EnsureSuccessStatusCode();
            b.EnsureSuccessStatusCode();
            Served(AccessTask.Search)(1);
            var gh = (await g.Content.ReadFromJsonAsync<SearchResponse>())!.Results.Single();
            var bh = (await b.Content.ReadFromJsonAsync<SearchResponse>())!.Results.Single();
            if (gh.Name != bh.Name || gh.Phone != bh.Phone || gh.RatePlan != bh.RatePlan)
            {
                throw new InvalidOperationException("baseline and guarded search disagree");
            }

            using var gv = await client.GetAsync($"/api/v1/subscribers/{gh.Handle}?purpose={ViewPurpose}");
            using var bv = await client.GetAsync($"{BaselineApi.Prefix}/subscribers/{t.Id}?purpose={ViewPurpose}");
            gv.EnsureSuccessStatusCode();
            bv.EnsureSuccessStatusCode();
            Served(AccessTask.View)(1);
            var gView = (await gv.Content.ReadFromJsonAsync<SubscriberView>())!;
            var bView = (await bv.Content.ReadFromJsonAsync<SubscriberView>())!;
            if (gView with { Handle = "", LedgerSequence = 0 } != bView with { Handle = "", LedgerSequence = 0 })
            {
                throw new InvalidOperationException("baseline and guarded view disagree");
            }
        }

        Say("sanity check passed: guarded and baseline answers agree (masked search hits and views)");
    }

    /// <summary>Account of the synthetic entries appended by --ledger-prefill (counted apart in the ledger check).</summary>
    private const string PrefillAccount = "bench-prefill";

    /// <summary>
    /// Appends --ledger-prefill synthetic search entries (random subscribers, batches of 2,048) straight to the
    /// ledger before any measurement, so that the runs see a ledger with history — its subject index and the
    /// pages a WAL checkpoint must copy grow with it — rather than an empty one.
    /// </summary>
    private async Task PrefillLedgerAsync()
    {
        if (settings.LedgerPrefill <= 0)
        {
            return;
        }

        var ledger = _host.Get<SqliteAccessLedger>();
        var random = new Random(90_210);
        var started = Stopwatch.GetTimestamp();
        for (var done = 0; done < settings.LedgerPrefill;)
        {
            var count = Math.Min(2_048, settings.LedgerPrefill - done);
            var entries = new AccessEntry[count];
            for (var i = 0; i < count; i++)
            {
                entries[i] = new AccessEntry
                {
                    Time = TimeProvider.System.GetUtcNow(),
                    Task = AccessTask.Search,
                    Outcome = AccessOutcome.Allowed,
                    Account = PrefillAccount,
                    Role = StaffRole.Clerk,
                    Store = "S001",
                    Subjects = [new SubscriberId(_host.Targets[random.Next(_host.Targets.Count)].Id)],
                    Fields = ["name", "phone", "rate-plan"],
                };
            }

            await ledger.AppendRangeAsync(entries);
            done += count;
        }

        _prefilled = settings.LedgerPrefill;
        Say($"ledger prefilled with {settings.LedgerPrefill:N0} synthetic entries in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
    }

    private long _prefilled;

    /// <summary>
    /// One untimed warm-up of mixed traffic before any measurement, so that every measured phase runs on tier-1
    /// JIT code: with a 3-s warm-up only, the first workload measured ran at about half its steady-state speed.
    /// </summary>
    private async Task JitWarmupAsync()
    {
        if (settings.JitWarmupSeconds <= 0)
        {
            return;
        }

        var n = _host.Targets.Count;
        var random = Enumerable.Range(0, Workers).Select(w => new Random(50_000 + w)).ToArray();
        Say($"JIT warm-up: {settings.JitWarmupSeconds:F0} s of mixed /health, baseline and guarded searches, baseline views (not measured)");
        await LoadDriver.ClosedLoopAsync(
            "JIT warm-up",
            Workers,
            (w, i) =>
            {
                var target = random[w].Next(n);
                var client = Clerk(w).Client;
                return (i % 4) switch
                {
                    0 => new Outgoing(client, new HttpRequestMessage(HttpMethod.Get, "/health")),
                    1 => new Outgoing(client, Post(BaselineSearchPath, _searchBodies[target])),
                    2 => new Outgoing(client, Post(SearchPath, _searchBodies[target])),
                    _ => new Outgoing(client, new HttpRequestMessage(HttpMethod.Get, $"{BaselineApi.Prefix}/subscribers/{_host.Targets[target].Id}?purpose={ViewPurpose}")),
                };
            },
            TimeSpan.Zero,
            TimeSpan.FromSeconds(settings.JitWarmupSeconds),
            _ => { },
            (_, i) =>
            {
                if (i % 4 == 2)
                {
                    Served(AccessTask.Search)(1);
                }
            });
    }

    private async Task SearchWorkloadAsync()
    {
        var n = _host.Targets.Count;
        var random = Enumerable.Range(0, Workers).Select(w => new Random(1_000 + w)).ToArray();
        var baseline = await ClosedAsync("baseline search", (w, _) => new Outgoing(Clerk(w).Client, Post(BaselineSearchPath, _searchBodies[random[w].Next(n)])), null);
        var guarded = await ClosedAsync("guarded search", (w, _) => new Outgoing(Clerk(w).Client, Post(SearchPath, _searchBodies[random[w].Next(n)])), AccessTask.Search);
        _pairs.Add(("search (POST, by phone)", baseline, guarded));
    }

    /// <summary>
    /// Each clerk searches its own disjoint slice of subscribers to obtain per-session handles (at most
    /// <see cref="Custodian.Access.Sessions.SessionOptions.MaxHandlesPerSession"/>, 200 by default, are kept per session). Untimed.
    /// </summary>
    private async Task<List<(string Handle, Target Target)>[]> ObtainHandlesAsync()
    {
        var perClerk = Math.Min(Math.Min(settings.HandlesPerClerk, new Custodian.Access.Sessions.SessionOptions().MaxHandlesPerSession), _host.Targets.Count / _clerks.Length);
        Say($"set-up: each clerk searches {perClerk} distinct subscribers to obtain handles");
        var handles = new List<(string, Target)>[_clerks.Length];
        await Parallel.ForAsync(0, _clerks.Length, async (k, ct) =>
        {
            var list = new List<(string, Target)>(perClerk);
            for (var j = 0; j < perClerk; j++)
            {
                var index = (k * perClerk) + j;
                using var response = await _clerks[k].Client.SendAsync(Post(SearchPath, _searchBodies[index]), ct);
                response.EnsureSuccessStatusCode();
                Served(AccessTask.Search)(1);
                var hit = (await response.Content.ReadFromJsonAsync<SearchResponse>(ct))!.Results.Single();
                list.Add((hit.Handle, _host.Targets[index]));
            }

            handles[k] = list;
        });
        return handles;
    }

    private async Task ViewWorkloadAsync(List<(string Handle, Target Target)>[] handles)
    {
        var guardedPaths = handles.Select(l => l.Select(h => $"/api/v1/subscribers/{h.Handle}?purpose={ViewPurpose}").ToArray()).ToArray();
        var baselinePaths = handles.Select(l => l.Select(h => $"{BaselineApi.Prefix}/subscribers/{h.Target.Id}?purpose={ViewPurpose}").ToArray()).ToArray();
        Outgoing Next(string[][] paths, int w, long i)
        {
            var own = paths[w % _clerks.Length];
            return new Outgoing(Clerk(w).Client, new HttpRequestMessage(HttpMethod.Get, own[(int)(((w / _clerks.Length) + i) % own.Length)]));
        }

        var baseline = await ClosedAsync("baseline view", (w, i) => Next(baselinePaths, w, i), null);
        var guarded = await ClosedAsync("guarded view", (w, i) => Next(guardedPaths, w, i), AccessTask.View);
        _pairs.Add(("view (GET, masked, purpose)", baseline, guarded));
    }

    /// <summary>
    /// Unmask needs one fresh consent code per request (single use; one outstanding per clerk, subscriber and
    /// purpose). Codes are obtained in untimed rounds — POST …/consent, then the code is read from the SMS
    /// outbox — each followed at once by a timed closed-loop round that spends them (codes live 5 minutes).
    /// Rounds repeat until the measured time reaches --duration.
    /// </summary>
    private async Task UnmaskWorkloadAsync(List<(string Handle, Target Target)>[] handles)
    {
        var body = Encoding.UTF8.GetBytes("{\"purpose\":\"identity-verification\",\"consentCode\":\"000000\",\"fields\":[\"rrn\"]}");
        var baselinePaths = handles.Select(l => l.Select(h => $"{BaselineApi.Prefix}/subscribers/{h.Target.Id}/unmask").ToArray()).ToArray();
        var baseline = await ClosedAsync(
            "baseline unmask",
            (w, i) =>
            {
                var own = baselinePaths[w % _clerks.Length];
                return new Outgoing(Clerk(w).Client, Post(own[(int)(i % own.Length)], body));
            },
            null);

        var rounds = new List<PhaseResult>();
        var measured = TimeSpan.Zero;
        var consentSeconds = 0.0;
        long consents = 0;
        for (var round = 1; measured < settings.Duration && round <= 20; round++)
        {
            var queues = Enumerable.Range(0, _clerks.Length).Select(_ => new ConcurrentQueue<(string Path, byte[] Body)>()).ToArray();
            var started = Stopwatch.GetTimestamp();
            foreach (var purpose in UnmaskPurposes)
            {
                // Every clerk asks each of its subscribers for consent for this purpose; then the codes are read
                // from the SMS outbox in one query (one message per subscriber since the mark).
                var mark = await OutboxMarkAsync();
                var consentBody = Encoding.UTF8.GetBytes($"{{\"purpose\":\"{purpose}\"}}");
                await Parallel.ForAsync(0, _clerks.Length, async (k, ct) =>
                {
                    foreach (var (handle, _) in handles[k])
                    {
                        using var response = await _clerks[k].Client.SendAsync(Post($"/api/v1/subscribers/{handle}/consent", consentBody), ct);
                        response.EnsureSuccessStatusCode();
                        Served(AccessTask.ConsentRequest)(1);
                    }
                });
                var codes = await ConsentCodesSinceAsync(mark);
                for (var k = 0; k < _clerks.Length; k++)
                {
                    foreach (var (handle, target) in handles[k])
                    {
                        queues[k].Enqueue(($"/api/v1/subscribers/{handle}/unmask", Encoding.UTF8.GetBytes($"{{\"purpose\":\"{purpose}\",\"consentCode\":\"{codes[target.Id]}\",\"fields\":[\"rrn\"]}}")));
                    }
                }
            }

            var issued = queues.Sum(q => q.Count);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            consents += issued;
            consentSeconds += seconds;
            Say($"set-up round {round}: {issued:N0} consent codes requested and read from the outbox in {seconds:F1} s ({issued / seconds:N0}/s)");

            var warm = round == 1 ? settings.Warmup : TimeSpan.Zero;
            var result = await ClosedAsync(
                $"guarded unmask, round {round}",
                (w, _) => queues[w % _clerks.Length].TryDequeue(out var item) ? new Outgoing(Clerk(w).Client, Post(item.Path, item.Body)) : null,
                AccessTask.Unmask,
                warm);
            _phases.Remove(result);
            rounds.Add(result);
            measured += TimeSpan.FromSeconds(result.Seconds);
        }

        var merged = PhaseResult.Merge("guarded unmask", rounds);
        _phases.Add(merged);
        _pairs.Add(("unmask (POST, consent code)", baseline, merged));
        _notes.Add($"Unmask set-up (untimed): {consents:N0} consent requests + outbox reads in {consentSeconds:F1} s ({consents / consentSeconds:N0}/s), {rounds.Count} round(s).");
    }

    /// <summary>
    /// EXPERIMENT (--experiment-checkpointer), not the product: a background connection runs
    /// <c>PRAGMA wal_checkpoint(PASSIVE)</c> every <paramref name="every"/>, so that the WAL never grows to the
    /// ledger writer's auto-checkpoint threshold and the writer no longer copies pages to the database file
    /// inside a commit. A passive checkpoint does not take the write lock, so commits continue meanwhile.
    /// </summary>
    private async Task RunCheckpointerAsync(TimeSpan every, CancellationToken cancellationToken)
    {
        var database = _host.Get<CustodianDatabase>();
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await Task.Run(
                    async () =>
                    {
                        await using var connection = await database.OpenAsync(CancellationToken.None);
                        await using var command = connection.Command("PRAGMA wal_checkpoint(PASSIVE)");
                        await command.ExecuteNonQueryAsync(CancellationToken.None);
                        _checkpointerRuns++;
                    },
                    CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private long _checkpointerRuns;

    /// <summary>
    /// A mark in the outbox: messages queued later have a later <c>created_ms</c>. Waits 2 ms after reading the clock, so
    /// that no message queued before the mark shares its millisecond with one queued after it.
    /// </summary>
    private static async Task<DateTimeOffset> OutboxMarkAsync()
    {
        var mark = TimeProvider.System.GetUtcNow();
        await Task.Delay(2);
        return mark;
    }

    /// <summary>
    /// Consent codes queued after <paramref name="mark"/>, by subscriber. Read in one query through the product's outbox
    /// reader (<c>OutboxSmsSender.ReadSinceAsync</c>, which decrypts the bodies): reading codes one by one made the
    /// per-code reads slow down as the outbox grew.
    /// </summary>
    private async Task<Dictionary<long, string>> ConsentCodesSinceAsync(DateTimeOffset mark)
    {
        var codes = new Dictionary<long, string>();
        var outbox = (OutboxSmsSender)_host.Get<ISmsSender>();
        foreach (var message in await outbox.ReadSinceAsync(SmsKind.ConsentCode, mark, 1_000_000))
        {
            codes.Add(message.Recipient.Value, SixDigits().Match(message.Body).Groups[1].Value);
        }

        return codes;
    }

    private async Task OpenLoopAsync()
    {
        var n = _host.Targets.Count;
        Outgoing Make(string path, long i) => new(Clerk((int)(i % _clerks.Length)).Client, Post(path, _searchBodies[(int)((i * 2_654_435_761L) % n)]));
        var warm = settings.Warmup < TimeSpan.FromSeconds(2) ? settings.Warmup : TimeSpan.FromSeconds(2);

        // Requests of an open loop overlap on one terminal now and then; each overlap would open a new connection
        // (a mutual-TLS handshake, several ms of CPU) in the middle of the measurement. Terminals keep their
        // connections open, so open them first: PrimeConnections concurrent requests per terminal, twice.
        var opened = BenchHttp.Connections;
        for (var round = 0; round < 2; round++)
        {
            await Task.WhenAll(_clerks.SelectMany(c => Enumerable.Range(0, PrimeConnections).Select(async _ =>
            {
                using var response = await c.Client.GetAsync("/health");
                response.EnsureSuccessStatusCode();
            })));
        }

        Say($"primed connections: {BenchHttp.Connections - opened} new, up to {PrimeConnections} per terminal");
        foreach (var (name, path, task) in new[] { ("baseline search", BaselineSearchPath, (AccessTask?)null), ("guarded search", SearchPath, AccessTask.Search) })
        {
            Say($"open loop {name} at {settings.Rate:N0}/s: warm-up {warm.TotalSeconds:F1} s, measured {settings.Duration.TotalSeconds:F1} s");
            var before = _host.Batches.Snapshot;
            var connections = BenchHttp.Connections;
            _host.Batches.TakeMaxGapMs();
            var lag = task is null ? default : SampleMonitorLag();
            var result = await LoadDriver.OpenLoopAsync($"{name} @ {settings.Rate:N0}/s", settings.Rate, i => Make(path, i), warm, settings.Duration, task is { } t ? Served(t) : _ => { });
            Say($"  achieved {result.RequestsPerSecond:N0} req/s, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, max {result.MaxMs:F1} ms, errors {result.Errors}, CPU process {result.ProcessCpuPercent:F0} % / machine {result.MachineCpuPercent:F0} %");
            result = WithLedger(result, before, connections);
            if (lag.Stop is not null)
            {
                await lag.Stop.CancelAsync();
                var sampled = await lag.Result;
            result = result with { MonitorLag = (sampled.Mean, sampled.Max), LongestStall = (sampled.StallMs, sampled.StallBytes), Stalls = (sampled.Stalls, sampled.StallTotalMs, sampled.StallTotalBytes) };
                lag.Stop.Dispose();
            }

            _phases.Add(result);
        }
    }

    /// <summary>
    /// Every 2 ms until stopped: how many committed entries the monitor has not processed yet, and the longest
    /// time in which no ledger commit completed together with the bytes written to disk in that time (a WAL
    /// checkpoint shows as a long stall with many megabytes written).
    /// </summary>
    private (Task<(double Mean, long Max, double StallMs, long StallBytes, int Stalls, double StallTotalMs, long StallTotalBytes)> Result, CancellationTokenSource Stop) SampleMonitorLag()
    {
        var stop = new CancellationTokenSource();
        var monitor = _host.Get<AccessMonitor>();
        var task = Task.Run(async () =>
        {
            long samples = 0, sum = 0, max = 0;
            var previous = _host.Batches.LastSequence;
            var since = Stopwatch.GetTimestamp();
            var bytesSince = RuntimeDelta.DiskWrites();
            double stallMs = 0, stallTotalMs = 0;
            long stallBytes = 0, stallTotalBytes = 0;
            var stalls = 0;
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(2));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    var sequence = _host.Batches.LastSequence;
                    var lag = Math.Max(0, sequence - monitor.ProcessedSequence);
                    samples++;
                    sum += lag;
                    max = Math.Max(max, lag);
                    if (sequence != previous)
                    {
                        var now = Stopwatch.GetTimestamp();
                        var bytes = RuntimeDelta.DiskWrites();
                        var ms = Stopwatch.GetElapsedTime(since, now).TotalMilliseconds;
                        if (ms > stallMs)
                        {
                            stallMs = ms;
                            stallBytes = bytes - bytesSince;
                        }

                        if (ms >= 20)
                        {
                            stalls++;
                            stallTotalMs += ms;
                            stallTotalBytes += bytes - bytesSince;
                        }

                        previous = sequence;
                        since = now;
                        bytesSince = bytes;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            return (samples == 0 ? 0 : sum / (double)samples, max, stallMs, stallBytes, stalls, stallTotalMs, stallTotalBytes);
        });
        return (task, stop);
    }

    private PhaseResult WithLedger(PhaseResult result, (long Batches, long Entries) before, long connectionsBefore = -1)
    {
        result = connectionsBefore < 0 ? result : result with { NewConnections = BenchHttp.Connections - connectionsBefore };
        var after = _host.Batches.Snapshot;
        var gap = _host.Batches.TakeMaxGapMs();
        return result with { Ledger = (after.Batches - before.Batches, after.Entries - before.Entries), LedgerMaxGapMs = after.Batches > before.Batches ? gap : 0 };
    }

    /// <summary>Every served guarded read must have exactly one allowed ledger entry of its task; nothing refused.</summary>
    private async Task<bool> VerifyLedgerAsync()
    {
        Say("reading the whole ledger back to count entries by task");
        var counts = new Dictionary<(AccessTask, AccessOutcome), long>();
        long size = 0;
        long prefilled = 0;
        await foreach (var entry in _host.Get<IAccessLedgerReader>().ReadAsync(0))
        {
            size++;
            if (entry.Entry.Account == PrefillAccount)
            {
                prefilled++;
                continue;
            }

            var key = (entry.Entry.Task, entry.Entry.Outcome);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        var prefillOk = prefilled == _prefilled;

        var monitor = _host.Get<AccessMonitor>();
        for (var i = 0; i < 100 && monitor.ProcessedSequence < size - 1; i++)
        {
            await Task.Delay(50);
        }

        var ok = prefillOk;
        var table = new StringBuilder();
        table.AppendLine("| Task | Guarded 200s the driver received | Ledger entries, allowed | Ledger entries, denied | One entry per served read |");
        table.AppendLine("|---|---:|---:|---:|---|");
        foreach (var task in new[] { AccessTask.Search, AccessTask.View, AccessTask.ConsentRequest, AccessTask.Unmask })
        {
            var served = _served.GetValueOrDefault(task);
            var allowed = counts.GetValueOrDefault((task, AccessOutcome.Allowed));
            var denied = counts.GetValueOrDefault((task, AccessOutcome.Denied));
            var match = served == allowed && denied == 0;
            ok &= match;
            table.AppendLine(CultureInfo.InvariantCulture, $"| {task.ToName()} | {served:N0} | {allowed:N0} | {denied:N0} | {(match ? "yes" : "**NO**")} |");
        }

        var others = counts.Where(c => c.Key.Item1 is not (AccessTask.Search or AccessTask.View or AccessTask.ConsentRequest or AccessTask.Unmask))
            .OrderBy(c => c.Key.Item1).Select(c => $"{c.Key.Item1.ToName()}/{c.Key.Item2.ToString().ToLowerInvariant()} {c.Value:N0}");
        table.AppendLine();
        table.AppendLine(CultureInfo.InvariantCulture, $"Ledger size {size:N0}, of which {prefilled:N0} synthetic prefill entries ({(prefillOk ? "as appended" : "**MISMATCH**")}); other entries: {string.Join(", ", others)}. Monitor processed up to sequence {monitor.ProcessedSequence:N0} (last is {size - 1:N0}).");
        _ledgerTable = table.ToString();
        Say(ok ? "ledger check passed" : "LEDGER CHECK FAILED");
        return ok;
    }

    private string _ledgerTable = string.Empty;

    /// <summary>The parts of a guarded search, each alone and in process (no HTTP, no TLS), with the same concurrency.</summary>
    private async Task ComponentsAsync()
    {
        var vault = _host.Get<SubscriberVault>();
        var masking = _host.Get<MaskingPolicy>();
        var ledger = _host.Get<IAccessLedger>();
        var guard = _host.Get<LookupGuard>();
        var ca = _host.Get<CertificateAuthority>();
        var sessions = _host.Get<SessionStore>();
        var monitor = _host.Get<AccessMonitor>();
        var targets = _host.Targets;
        var n = targets.Count;
        var requests = _clerks.Select(c =>
        {
            var device = ca.ValidateClientCertificate(c.Certificate).Value;
            return new StaffRequest(device, sessions.Validate(c.Token, device).Value, "127.0.0.1");
        }).ToArray();
        var phones = targets.Select(t => PhoneNumbers.NormalizeKorean(t.Phone).Value).ToArray();
        var random = Enumerable.Range(0, Workers).Select(w => new Random(7_000 + w)).ToArray();
        var warm = TimeSpan.FromSeconds(1);
        var length = TimeSpan.FromSeconds(Math.Min(5, settings.Duration.TotalSeconds));

        async Task Run(string name, Func<int, long, Task<bool>> op, int? concurrency = null)
        {
            Say($"component: {name}");
            var before = _host.Batches.Snapshot;
            _host.Batches.TakeMaxGapMs();
            var r = WithLedger(await LoadDriver.InProcessAsync(name, concurrency ?? Workers, op, warm, length), before);
            Say($"  {r.RequestsPerSecond:N0}/s, p50 {r.P50Ms:F3} ms, p99 {r.P99Ms:F3} ms, errors {r.Errors}, CPU process {r.ProcessCpuPercent:F0} %");
            _components.Add(r);
        }

        var probePath = Path.Combine(_host.DataDirectory, "fsync-probe.bin");
        await using (var probe = new FileStream(probePath, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            var page = new byte[4096];
            await Run("disk: append 4 KiB + fsync in the data directory", (_, _) =>
            {
                probe.Write(page);
                probe.Flush(flushToDisk: true);
                return Task.FromResult(true);
            },
            concurrency: 1);
        }

        File.Delete(probePath);
        var database = _host.Get<CustodianDatabase>();
        await Run("database: CustodianDatabase.OpenAsync alone (pooled open + its 4 PRAGMAs)", async (_, _) =>
        {
            await using var connection = await database.OpenAsync();
            return connection.State == System.Data.ConnectionState.Open;
        });
        await Run("vault: find by phone + decrypt + mask (baseline work, no HTTP)", async (w, _) =>
        {
            var ids = await vault.FindByPhoneAsync(phones[random[w].Next(n)]);
            var record = await vault.DecryptAsync(ids[0]);
            return masking.MaskName(record!.Name).Length > 0;
        });
        await Run("ledger append alone (one search entry, durable group commit)", async (w, _) =>
        {
            var request = requests[w % requests.Length];
            await ledger.AppendAsync(new AccessEntry
            {
                Time = TimeProvider.System.GetUtcNow(),
                Task = AccessTask.Search,
                Outcome = AccessOutcome.Allowed,
                Account = request.Session.Principal.Id,
                Role = request.Session.Principal.Role,
                Terminal = request.Device.Terminal,
                Store = request.Device.Store,
                SourceIp = request.SourceIp,
                Subjects = [new SubscriberId(targets[random[w].Next(n)].Id)],
                Fields = ["name", "phone", "rate-plan"],
            });
            return true;
        });
        await Run("ledger append alone, 1 caller (one commit per entry)", async (w, _) =>
        {
            await ledger.AppendAsync(new AccessEntry
            {
                Time = TimeProvider.System.GetUtcNow(),
                Task = AccessTask.Search,
                Outcome = AccessOutcome.Allowed,
                Account = requests[0].Session.Principal.Id,
                Role = requests[0].Session.Principal.Role,
                Terminal = requests[0].Device.Terminal,
                Store = requests[0].Device.Store,
                SourceIp = requests[0].SourceIp,
                Subjects = [new SubscriberId(targets[random[0].Next(n)].Id)],
                Fields = ["name", "phone", "rate-plan"],
            });
            return true;
        },
        concurrency: 1);
        await Run("guard: LookupGuard.SearchAsync (policy + monitor wait + ledger + decrypt, no HTTP)", async (w, _) =>
            (await guard.SearchAsync(requests[w % requests.Length], targets[random[w].Next(n)].Phone, CancellationToken.None)).IsSuccess);
    }

    private readonly List<PhaseResult> _components = [];

    private void PrintReport(bool ledgerOk)
    {
        var s = new StringBuilder();
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"## Results ({DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"`{settings.CommandLine}`");
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores shared by the server and the load driver (one process); {settings.Subscribers:N0} subscribers; {Workers} clerks at {Workers} terminals, one closed-loop worker each, HTTP/1.1 keep-alive over mutual TLS; warm-up {settings.Warmup.TotalSeconds:F1} s, measured {settings.Duration.TotalSeconds:F1} s per workload.");
        if (settings.CheckpointerMs > 0)
        {
            s.AppendLine();
            s.AppendLine(CultureInfo.InvariantCulture, $"**EXPERIMENT, not the product as shipped:** a background connection ran `PRAGMA wal_checkpoint(PASSIVE)` every {settings.CheckpointerMs} ms ({_checkpointerRuns:N0} times), so the ledger writer's own auto-checkpoint never fired inside a commit.");
        }

        s.AppendLine();
        s.AppendLine("### Closed loop (maximum throughput)");
        s.AppendLine();
        s.AppendLine("| Workload | Baseline req/s | Guarded req/s | Guarded / baseline | Baseline p50 / p99 ms | Guarded p50 / p99 ms | Guarded errors |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (workload, baseline, guarded) in _pairs)
        {
            s.AppendLine(baseline is null
                ? string.Create(CultureInfo.InvariantCulture, $"| {workload} | — | {guarded.RequestsPerSecond:N0} | — | — | {guarded.P50Ms:F2} / {guarded.P99Ms:F2} | {guarded.Errors} |")
                : string.Create(CultureInfo.InvariantCulture, $"| {workload} | {baseline.RequestsPerSecond:N0} | {guarded.RequestsPerSecond:N0} | {guarded.RequestsPerSecond / baseline.RequestsPerSecond:F2} | {baseline.P50Ms:F2} / {baseline.P99Ms:F2} | {guarded.P50Ms:F2} / {guarded.P99Ms:F2} | {guarded.Errors} |"));
        }

        s.AppendLine();
        s.AppendLine("### Every phase");
        s.AppendLine();
        s.AppendLine("| Phase | Mode | Requests measured | Seconds | req/s | p50 ms | p99 ms | max ms | Errors | CPU, this process | CPU, whole machine |");
        s.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var p in _phases.Concat(_components))
        {
            s.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {p.Name} | {p.Mode} | {p.Completed:N0} | {p.Seconds:F1} | {p.RequestsPerSecond:N0} | {p.P50Ms:F2} | {p.P99Ms:F2} | {p.MaxMs:F1} | {p.Errors} | {p.ProcessCpuPercent:F0} % | {p.MachineCpuPercent:F0} % |"));
        }

        s.AppendLine();
        s.AppendLine("### Runtime, per request sent (whole phase including warm-up; server and driver together)");
        s.AppendLine();
        s.AppendLine("| Phase | Requests sent | CPU µs / request | KB allocated / request | GC pause ms (total) | gen0 / gen1 / gen2 | Thread-pool work items / request | Lock contentions / request | Pool threads | New TLS connections | Ledger commits | Entries / commit | Longest gap between commits, ms | KB written to disk / request | Monitor lag, entries: mean / max | Longest ledger stall, ms (MB written meanwhile) | Ledger stalls ≥ 20 ms: count, total ms, MB written |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var p in _phases.Concat(_components))
        {
            var r = p.Runtime;
            var n = Math.Max(1, p.Sent);
            s.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {p.Name} | {p.Sent:N0} | {r.CpuMs * 1000 / n:F0} | {r.AllocatedBytes / 1024.0 / n:F1} | {r.GcPauseMs:F0} | {r.Gen0} / {r.Gen1} / {r.Gen2} | {(double)r.WorkItems / n:F1} | {(double)r.LockContentions / n:F2} | {r.Threads} | {p.NewConnections:N0} | {p.Ledger.Batches:N0} | {(p.Ledger.Batches == 0 ? "—" : (p.Ledger.Entries / (double)p.Ledger.Batches).ToString("F1", CultureInfo.InvariantCulture))} | {(p.Ledger.Batches == 0 ? "—" : p.LedgerMaxGapMs.ToString("F1", CultureInfo.InvariantCulture))} | {r.DiskWriteBytes / 1024.0 / n:F1} | {(p.MonitorLag is { } ml ? $"{ml.Mean:F1} / {ml.Max}" : "—")} | {(p.LongestStall is { } st ? $"{st.Ms:F0} ({st.DiskBytes / 1048576.0:F1})" : "—")} | {(p.Stalls is { } ss ? $"{ss.Count}, {ss.TotalMs:F0}, {ss.DiskBytes / 1048576.0:F1}" : "—")} |"));
        }

        var errorKinds = _phases.SelectMany(p => p.ErrorKinds.Select(e => $"{p.Name}: {e.Key} ×{e.Value}")).ToList();
        if (errorKinds.Count > 0)
        {
            s.AppendLine();
            s.AppendLine("Errors: " + string.Join("; ", errorKinds));
        }

        s.AppendLine();
        s.AppendLine("### Ledger: one durable entry per served guarded read");
        s.AppendLine();
        s.Append(_ledgerTable);
        foreach (var note in _notes)
        {
            s.AppendLine();
            s.AppendLine(note);
        }

        s.AppendLine();
        s.AppendLine("### Goals");
        s.AppendLine();
        foreach (var (workload, baseline, guarded) in _pairs.Where(p => p.Baseline is not null))
        {
            var ratio = guarded.RequestsPerSecond / baseline!.RequestsPerSecond;
            s.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- {workload}: guarded ≥ 0.5 × baseline — {ratio:F3} × → **{(ratio >= 0.5 ? "met" : "missed")}**; ≥ 5,000 guarded/s — {guarded.RequestsPerSecond:N0}/s → **{(guarded.RequestsPerSecond >= 5_000 ? "met" : "missed")}**"));
        }

        var open = _phases.FirstOrDefault(p => p.Mode == "open loop" && p.Name.StartsWith("guarded", StringComparison.Ordinal));
        if (open is not null)
        {
            s.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- guarded search at {open.OfferedRate:N0}/s offered ({open.RequestsPerSecond:N0}/s achieved): p99 ≤ 10 ms — {open.P99Ms:F2} ms → **{(open.P99Ms <= 10 && open.Errors == 0 ? "met" : "missed")}**"));
        }

        s.AppendLine(CultureInfo.InvariantCulture, $"- ledger check: **{(ledgerOk ? "passed" : "FAILED")}**");
        Console.Out.Write(s.ToString());
    }

    [GeneratedRegex(@"\b(\d{6})\b")]
    private static partial Regex SixDigits();
}
