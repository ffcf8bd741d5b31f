using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Custodian.Access.Certificates;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Client;
using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using Custodian.Tests.Crash;
using Custodian.Tests.Events;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpNet;
using Xunit.Abstractions;

namespace Custodian.Tests.Cluster;

/// <summary>What one <see cref="ClusterRun"/> does.</summary>
internal sealed record ClusterRunOptions
{
    /// <summary>Normal clerks, each at its own terminal, each reading its own 3 subscribers over and over on both API nodes. Default 4.</summary>
    public int Clerks { get; init; } = 4;

    /// <summary>Synthetic subscribers imported. Default 200.</summary>
    public int Subscribers { get; init; } = 200;

    /// <summary>The scraper's answered distinct subscribers after which the stream leader and API node B are killed. Default 4.</summary>
    public int KillAfterScraped { get; init; } = 4;

    /// <summary>How long normal traffic goes on after the kills (and after the scraper is contained). Default 4 s.</summary>
    public TimeSpan TrafficAfterKill { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Pause between the scraper's subscribers, so that the kills land mid-scrape. Default 150 ms.</summary>
    public TimeSpan ScraperPause { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>Random seed of the synthetic population. Default 8.</summary>
    public int Seed { get; init; } = 8;
}

/// <summary>
/// The multi-node run of issue 8 on loopback (docs/events.md, "A cluster on loopback"): a three-node nats-server
/// cluster with JetStream (stream replicas 3), one private PostgreSQL schema, and two real <c>custodian serve</c>
/// child processes (API nodes A and B, real mutual TLS) sharing both, with the same key material.
/// <list type="number">
/// <item>Baseline: the same scraper against one embedded server (SQLite, in-process event stream) gives the number of
/// distinct subscribers a scraper is served in embedded mode before it is refused.</item>
/// <item>Normal clerks (one request at a time, alternating nodes) and a KT-2012-style scraper (one clerk login and
/// terminal, a new subscriber per search + view, alternating nodes per subscriber) run on both nodes.</item>
/// <item>After <see cref="ClusterRunOptions.KillAfterScraped"/> scraped subscribers: kill -9 of the NATS node leading
/// the stream and of API node B; traffic goes on through node A (requests refused while JetStream elects a leader are
/// retried).</item>
/// <item>The killed NATS node and API node B are restarted; the ledger settles.</item>
/// </list>
/// Then: the ledger tables mirror the stream one to one, gap-free; per clerk every answered read is in the ledger exactly
/// once at the sequence its answer named, and every other entry of that clerk is one of its unanswered requests (in
/// flight at a kill, or refused while the stream had no leader); the scraper was refused as suspended after at most the
/// embedded number of subscribers, and no normal clerk was suspended; <c>custodian ledger verify</c> passes on
/// PostgreSQL and its root, like both nodes' signed checkpoints, is the root recomputed from the stream's payloads.
/// Set-up (import, enrollment codes, staff accounts) uses the data directory and the database directly, as
/// <c>custodian simulate --server</c> does; everything else goes over mTLS.
/// </summary>
internal sealed class ClusterRun(ClusterRunOptions options, ITestOutputHelper output) : IAsyncDisposable
{
    private const string Store = "S001";
    private const string Purpose = "in-store-service";
    private const string Password = "cluster test pass phrase 42";

    private readonly List<DirectoryInfo> _directories = [];
    private readonly List<IAsyncDisposable> _disposables = [];
    private readonly List<HttpClient> _clients = [];
    private readonly ServerProcess?[] _nodes = new ServerProcess?[2];
    private readonly List<WorkerProcess> _workers = [];
    private string _workerSummary = string.Empty;
    private readonly DirectoryInfo[] _nodeDirectories = new DirectoryInfo[2];
    private NatsCluster _nats = null!;
    private PostgresSchema _schema = null!;
    private ServiceProvider _admin = null!;
    private X509Certificate2 _ca = null!;
    private List<(string Phone, SubscriberId Id)> _subjects = [];
    private volatile bool _nodeBDown;

    /// <summary>What the run measured, for the test's output.</summary>
    public string Summary { get; private set; } = string.Empty;

    private T Get<T>()
        where T : notnull => _admin.GetRequiredService<T>();

    /// <summary>The environment both API nodes and the CLI run with: the shared schema, the cluster (node <paramref name="natsNode"/>), 3 replicas.</summary>
    private Dictionary<string, string> Environment(int natsNode) => new()
    {
        ["Custodian__Storage"] = _schema.ConnectionString,
        ["Custodian__Events"] = _nats.Url(natsNode),
        ["Custodian__JetStream__Replicas"] = "3",
        ["Custodian__Checkpoints__IntervalSeconds"] = "1",
    };

    public async Task RunAsync()
    {
        var embedded = await EmbeddedBaselineAsync();
        Assert.True(embedded.Contained, "the scraper was not contained in embedded mode");

        _nats = await NatsCluster.StartNewAsync();
        _schema = await TestStorage.CreateSchemaAsync();
        await PrepareAsync();
        var (leader, replicas) = await _nats.StreamLeaderAsync();
        Assert.Equal(3, replicas);

        // Node A talks to NATS node 0, node B to node 1 (each client learns the others from the cluster).
        _nodes[0] = await ServerProcess.StartAsync(_nodeDirectories[0].FullName, Environment(0));
        _nodes[1] = await ServerProcess.StartAsync(_nodeDirectories[1].FullName, Environment(1));
        await StartMonitorWorkersAsync();

        var clerks = await Task.WhenAll(Enumerable.Range(0, options.Clerks).Select(k => ProvisionAsync($"clerk{k:00}", _subjects.Skip(3 * k).Take(3).ToList())));
        var scraper = await ProvisionAsync("scraper", _subjects.Skip(3 * options.Clerks).ToList());

        using var stop = new CancellationTokenSource();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var driving = clerks.Select(c => DriveClerkAsync(c, stop.Token)).ToList();
        var scraping = ScrapeAsync(scraper, killed);

        // The kills, mid-scrape: the NATS node that leads the stream and API node B, both kill -9.
        var killedNats = -1;
        var kills = Task.Run(async () =>
        {
            await scraper.Scraped.Task.WaitAsync(TimeSpan.FromMinutes(2));
            (leader, _) = await _nats.StreamLeaderAsync();
            killedNats = _nats.IndexOf(leader);
            _nodeBDown = true;
            await Task.WhenAll(_nats.KillAsync(killedNats), _nodes[1]!.KillAsync(), _workers[1].KillAsync());
            killed.SetResult();
        });
        await kills;
        await scraping.WaitAsync(TimeSpan.FromMinutes(3));
        await Task.Delay(options.TrafficAfterKill);
        await stop.CancelAsync();
        await Task.WhenAll(driving);
        var (newLeader, _) = await _nats.StreamLeaderAsync();

        // Restart what was killed; node B projects what it missed.
        await _nats.StartAsync(killedNats);
        _nodes[1] = await ServerProcess.StartAsync(_nodeDirectories[1].FullName, Environment(1));
        _nodeBDown = false;

        var (stream, ledger) = await SettleAsync();
        CheckOneOrder(stream, ledger);
        await CheckWorkersAsync();
        foreach (var clerk in clerks.Append(scraper))
        {
            CheckClerk(clerk, ledger);
        }

        // The scraper: refused as suspended, after at most the embedded number of subscribers; nobody else suspended.
        Assert.True(scraper.SuspendedRefusal, $"the scraper was not refused as suspended: {scraper.LastRefusal}");
        Assert.True(scraper.Distinct.Count <= embedded.Distinct, $"the scraper was served {scraper.Distinct.Count} distinct subscribers on the cluster, {embedded.Distinct} embedded");
        Assert.True(scraper.Distinct.Count >= options.KillAfterScraped, "the kills did not happen mid-scrape");
        var suspended = (await Get<SuspensionRegistry>().ListActiveAsync(CancellationToken.None)).Select(s => s.Principal).ToList();
        Assert.Contains(suspended, p => p.Kind == PrincipalKind.Clerk && p.Id == scraper.Account);
        Assert.DoesNotContain(suspended, p => p.Kind == PrincipalKind.Clerk && clerks.Any(c => c.Account == p.Id));
        var scraperEntries = ledger.Where(e => e.Entry.Account == scraper.Account && e.Entry.Outcome == AccessOutcome.Allowed && AccessTasks.ReadsPersonalData(e.Entry.Task));
        Assert.True(scraperEntries.SelectMany(e => e.Entry.Subjects).Distinct().Count() <= embedded.Distinct, "the ledger records more scraped subscribers than embedded mode allows");

        // custodian ledger verify, the real CLI, on the shared PostgreSQL schema.
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Environment(2), "ledger", "verify", "--data", _nodeDirectories[0].FullName);
        Assert.True(exit == 0, $"ledger verify exited {exit}: {stdout} {stderr}");
        var verified = System.Text.RegularExpressions.Regex.Match(stdout, @"Ledger OK: ([\d,]+) entr(?:y|ies), root ([0-9a-f]{64})");
        Assert.True(verified.Success, "ledger verify printed no result: " + stdout);
        var verifiedSize = long.Parse(verified.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        Assert.True(verifiedSize >= ledger.Count, $"ledger verify checked {verifiedSize} entries, the ledger holds {ledger.Count}");

        // Both nodes' signed checkpoints are roots of the stream's order.
        var roots = new List<(long Size, byte[] Root)>();
        foreach (var node in _nodes)
        {
            roots.Add(await CheckpointAsync(node!, ledger.Count));
        }

        roots.Add((verifiedSize, Convert.FromHexString(verified.Groups[2].Value))); // the verifier's root is the stream's too
        if (roots.Max(r => r.Size) > stream.Count)
        {
            stream = await JetStreamLedgerTests.ReadStreamAsync(_nats.Url(0)); // the monitors appended since
        }

        foreach (var (size, root) in roots)
        {
            Assert.Equal(MerkleTree.ComputeRoot(stream.Take((int)size).Select(m => MerkleTree.HashLeaf(m.Payload))), root);
        }

        Assert.True(roots[0].Size != roots[1].Size || roots[0].Root.AsSpan().SequenceEqual(roots[1].Root), "the two nodes sign different roots for one size");
        var answered = clerks.Sum(c => c.Answered) + scraper.Answered;
        var unanswered = clerks.Sum(c => c.Attempts.Count(a => a.Sequence is null)) + scraper.Attempts.Count(a => a.Sequence is null);
        var refused = clerks.Sum(c => c.Refusals) + scraper.Refusals;
        Summary = string.Create(
            CultureInfo.InvariantCulture,
            $"{ledger.Count} ledger entries = stream messages; {answered} reads answered, each once at its sequence; {unanswered} unanswered ({refused} refused as unavailable while the stream had no leader, the rest in flight at the kill), {ledger.Count(e => e.Entry.Outcome == AccessOutcome.Allowed && AccessTasks.ReadsPersonalData(e.Entry.Task)) - answered} of them recorded; " +
            $"stream leader {leader} killed, {newLeader} took over; scraper served {scraper.Distinct.Count} distinct subscribers (embedded: {embedded.Distinct}), {scraper.StepUps} views refused for step-up, then refused as suspended; checkpoints A {roots[0].Size}, B {roots[1].Size} entries; {_workerSummary}.");
        output.WriteLine(Summary);
    }

    /// <summary>
    /// Starts two monitor workers (<c>custodian monitor-worker</c>, docs/events.md "Monitor workers"), <c>w1</c> on node
    /// A's data directory and <c>w2</c> on node B's, with the nodes' environment and a 2-second lease; they share the 129
    /// partitions. The API nodes' own monitors run as before.
    /// </summary>
    private async Task StartMonitorWorkersAsync()
    {
        _workers.Add(await WorkerProcess.StartAsync(_nodeDirectories[0].FullName, "w1", Environment(0)));
        _workers.Add(await WorkerProcess.StartAsync(_nodeDirectories[1].FullName, "w2", Environment(1)));
    }

    /// <summary>
    /// After w2 was killed: w1 owns every partition, and each partition's stored progress has processed every message of
    /// its subjects exactly once (count and last stream sequence, from the stream's subjects) — nothing lost, nothing
    /// counted twice across the kill and the takeover.
    /// </summary>
    private async Task CheckWorkersAsync()
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var stream = await JetStreamLedgerTests.ReadStreamAsync(_nats.Url(0));
            var expected = new Dictionary<string, (long Count, long Last)>(StringComparer.Ordinal);
            foreach (var m in stream)
            {
                var tokens = m.Subject.Split('.');
                foreach (var partition in tokens[^2..].Where(t => !t.EndsWith("--", StringComparison.Ordinal)))
                {
                    var (count, _) = expected.GetValueOrDefault(partition);
                    expected[partition] = (count + 1, (long)m.Sequence);
                }
            }

            var actual = new Dictionary<string, (long Count, long Last, string Owner)>(StringComparer.Ordinal);
            await using (var connection = new Npgsql.NpgsqlConnection(_schema.ConnectionString))
            {
                await connection.OpenAsync();
                await using var command = new Npgsql.NpgsqlCommand("SELECT partition_name, processed, last_stream_sequence, owner FROM monitor_partitions", connection);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    actual[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3));
                }
            }

            var wrong = expected.Where(e => !actual.TryGetValue(e.Key, out var a) || a.Count != e.Value.Count || a.Last != e.Value.Last).Select(e => e.Key).ToList();
            var foreign = actual.Where(a => a.Value.Owner != "w1").Select(a => a.Key).ToList();
            if (wrong.Count == 0 && foreign.Count == 0 && stream.Count > 0)
            {
                var gaps = _workers.Sum(w => CountOf(w.Output, "(a delivery was lost)")); // event 6115: the consumer was created again
                _workerSummary = $"workers: w2 killed, w1 owns all {actual.Count} partitions, {actual.Values.Sum(a => a.Count):N0} partition deliveries processed once each, {gaps} delivery gaps recovered";
                return;
            }

            Assert.True(
                watch.Elapsed < TimeSpan.FromSeconds(60),
                $"monitor workers did not converge: partitions off {string.Join(", ", wrong.Take(5).Select(p => $"{p} expected {expected[p]} stored {(actual.TryGetValue(p, out var a) ? a.ToString() : "none")}"))}; owned by others: {foreign.Count}. w1 output:\n{_workers[0].Output}");
            await Task.Delay(1_000);
        }
    }

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var node in _nodes)
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }
        }

        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        if (_nats is not null)
        {
            await _nats.DisposeAsync();
        }

        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var directory in _directories)
        {
            try
            {
                directory.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Best effort: synthetic data only.
            }
        }
    }

    /// <summary>The same scraper against one embedded server: how many distinct subscribers it is served before the refusal.</summary>
    private async Task<(int Distinct, bool Contained)> EmbeddedBaselineAsync()
    {
        var directory = Directory.CreateTempSubdirectory("custodian-cluster-embedded-");
        _directories.Add(directory);
        var admin = await OpenAdminAsync(new CustodianOptions { DataDirectory = directory.FullName, PasswordIterations = 1_000 });
        _disposables.Add(admin);
        var subjects = await ImportAsync(admin);
        await using var server = await ServerProcess.StartAsync(directory.FullName);
        var scraper = await ProvisionAsync(admin, [server], "scraper", subjects.Skip(3 * options.Clerks).ToList());
        await ScrapeAsync(scraper, null);
        return (scraper.Distinct.Count, scraper.SuspendedRefusal);
    }

    private static async Task<ServiceProvider> OpenAdminAsync(CustodianOptions custodian)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddFilter(_ => false));
        services.AddCustodianCore(custodian, TimeProvider.System);
        var admin = services.BuildServiceProvider();
        await CustodianComposition.InitialiseAsync(admin);
        return admin;
    }

    private async Task<List<(string Phone, SubscriberId Id)>> ImportAsync(IServiceProvider admin)
    {
        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        var population = new SampleGenerator().Generate(options.Subscribers, 3, options.Seed, today).ToList();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, population);
        var report = await admin.GetRequiredService<SubscriberImporter>().ImportAsync(new StringReader(csv.ToString()), ImportMode.AllOrNothing, null, CancellationToken.None);
        Assert.Empty(report.Errors);

        // Subscribers a phone search finds exactly one of, with their internal IDs (what entries record).
        var subjects = new List<(string Phone, SubscriberId Id)>();
        foreach (var subscriber in population)
        {
            var ids = await admin.GetRequiredService<SubscriberVault>().FindByPhoneAsync(PhoneNumbers.NormalizeKorean(subscriber.Phone).Value);
            if (ids.Count == 1)
            {
                subjects.Add((subscriber.Phone, ids[0]));
            }
        }

        Assert.True(subjects.Count >= (3 * options.Clerks) + 40, "the sample population has too few distinct phone numbers");
        return subjects;
    }

    /// <summary>Node A's data directory over the shared schema and stream (creating the R3 stream), the population, and node B's copy of the key material.</summary>
    private async Task PrepareAsync()
    {
        _nodeDirectories[0] = Directory.CreateTempSubdirectory("custodian-cluster-a-");
        _nodeDirectories[1] = Directory.CreateTempSubdirectory("custodian-cluster-b-");
        _directories.AddRange(_nodeDirectories);
        var custodian = new CustodianOptions
        {
            DataDirectory = _nodeDirectories[0].FullName,
            PasswordIterations = 1_000,
            Storage = _schema.ConnectionString,
            Events = _nats.Url(2),
        };
        custodian.JetStream.Replicas = 3;
        _admin = await OpenAdminAsync(custodian);
        _subjects = await ImportAsync(_admin);
        _ca = Get<CertificateAuthority>().Certificate;

        // A deployment copies the data directory's key material (keyring, CA, access-secret and checkpoint keys) to every node.
        foreach (var file in Directory.GetFiles(_nodeDirectories[0].FullName, "*", SearchOption.AllDirectories))
        {
            if (!file.EndsWith(".lock", StringComparison.Ordinal))
            {
                var target = Path.Combine(_nodeDirectories[1].FullName, Path.GetRelativePath(_nodeDirectories[0].FullName, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }
    }

    private Task<ClusterClerk> ProvisionAsync(string name, List<(string Phone, SubscriberId Id)> subjects) =>
        ProvisionAsync(_admin, [.. _nodes.Select(n => n!)], name, subjects);

    /// <summary>
    /// A clerk account at its own newly enrolled terminal (enrolled through the first node), signed in on every node: the
    /// password change takes TOTP step s − 1, the sign-ins s and s + 1 (codes are single use; the server accepts one step
    /// of drift either way).
    /// </summary>
    private async Task<ClusterClerk> ProvisionAsync(IServiceProvider admin, IReadOnlyList<ServerProcess> nodes, string name, List<(string Phone, SubscriberId Id)> subjects)
    {
        var ca = admin.GetRequiredService<CertificateAuthority>().Certificate;
        var code = await admin.GetRequiredService<TerminalRegistry>().IssueEnrollmentCodeAsync(Store, name, null);
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr(name);
        EnrollResponse enrolled;
        using (var enroll = TerminalHttp.Create(nodes[0].TerminalUrl, ca, null))
        using (var response = await enroll.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(code.Code, csrPem)))
        {
            Assert.True(response.IsSuccessStatusCode, $"enrollment: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            enrolled = (await response.Content.ReadFromJsonAsync<EnrollResponse>())!;
        }

        using var pem = X509Certificate2.CreateFromPem(enrolled.Certificate, keyPem);
        var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var created = await admin.GetRequiredService<StaffDirectory>().CreateAsync(name, StaffRole.Clerk, Store);
        Assert.True(created.IsSuccess, created.Error?.Message);
        var totp = new Totp(Base32Encoding.ToBytes(created.Value.TotpSecretBase32));
        var http = nodes.Select(n => TerminalHttp.Create(n.TerminalUrl, ca, certificate, 2)).ToList();
        _clients.AddRange(http);
        var clerk = new ClusterClerk(name, enrolled.Terminal, http, subjects);

        // Not in the last 5 s of a step: s − 1 must still be accepted when the last sign-in arrives.
        while (TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() % 30 >= 25)
        {
            await Task.Delay(200);
        }

        var step = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() / 30;
        using (var change = await http[0].PostAsJsonAsync("/api/v1/account/password", new PasswordChangeRequest(name, created.Value.OneTimePassword, Password, Code(totp, step - 1))))
        {
            Assert.True(change.StatusCode == HttpStatusCode.NoContent, $"password change: {(int)change.StatusCode} {await change.Content.ReadAsStringAsync()}");
        }

        for (var i = 0; i < http.Count; i++)
        {
            using var signIn = await http[i].PostAsJsonAsync("/api/v1/sessions", new SignInRequest(name, Password, Code(totp, step + i)));
            Assert.True(signIn.StatusCode == HttpStatusCode.Created, $"sign-in on node {i}: {(int)signIn.StatusCode} {await signIn.Content.ReadAsStringAsync()}");
            var session = (await signIn.Content.ReadFromJsonAsync<SignInResponse>())!;
            http[i].DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
        }

        return clerk;
    }

    private static string Code(Totp totp, long step) => totp.ComputeTotp(DateTimeOffset.FromUnixTimeSeconds(step * 30).UtcDateTime);

    /// <summary>The node for a clerk's <paramref name="turn"/>-th lookup: alternating, node A only while node B is down.</summary>
    private int NodeFor(ClusterClerk clerk, int turn) => clerk.Http.Count == 1 || _nodeBDown ? 0 : turn % 2;

    /// <summary>A normal clerk: its three subscribers over and over, search then view, one request at a time, alternating nodes.</summary>
    private async Task DriveClerkAsync(ClusterClerk clerk, CancellationToken cancellationToken)
    {
        for (var turn = 0; !cancellationToken.IsCancellationRequested; turn++)
        {
            var node = NodeFor(clerk, turn);
            var outcome = await LookupAsync(clerk, node, clerk.Subjects[turn % clerk.Subjects.Count], cancellationToken);
            Assert.True(outcome != Outcome.Suspended, $"{clerk.Account} was refused as suspended: {clerk.LastRefusal}");
            if (outcome == Outcome.Unavailable)
            {
                await Task.Delay(200, CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// The scraper: a new subscriber per lookup (search, then view), alternating nodes per subscriber, until refused as
    /// suspended (a view refused for step-up does not stop it: it goes on to the next subscriber, as the simulator's
    /// scraper does). Once <see cref="ClusterRunOptions.KillAfterScraped"/> subscribers are answered it signals and, when
    /// <paramref name="killed"/> is given, waits for the kills before going on.
    /// </summary>
    private async Task ScrapeAsync(ClusterClerk scraper, TaskCompletionSource? killed)
    {
        for (var turn = 0; turn < scraper.Subjects.Count;)
        {
            var outcome = await LookupAsync(scraper, NodeFor(scraper, turn), scraper.Subjects[turn], CancellationToken.None);
            if (outcome == Outcome.Suspended)
            {
                return;
            }

            if (outcome is Outcome.Answered or Outcome.StepUp)
            {
                turn++;
                if (scraper.Distinct.Count == options.KillAfterScraped && killed is not null)
                {
                    scraper.Scraped.TrySetResult();
                    await killed.Task.WaitAsync(TimeSpan.FromMinutes(2));
                }

                await Task.Delay(options.ScraperPause);
            }
            else
            {
                await Task.Delay(200); // the same subscriber again: unavailable, or node B died under the request
            }
        }

        Assert.Fail($"the scraper read all {scraper.Subjects.Count} subscribers without being refused");
    }

    private enum Outcome
    {
        Answered,
        Unavailable,
        Suspended,

        /// <summary>403 step-up-required: the detection engine's risk asks for the subscriber's consent (docs/monitoring.md); the scraper moves on.</summary>
        StepUp,
    }

    /// <summary>Search by phone, then view the hit, on one node.</summary>
    private async Task<Outcome> LookupAsync(ClusterClerk clerk, int node, (string Phone, SubscriberId Id) subject, CancellationToken cancellationToken)
    {
        var (outcome, body) = await SendAsync(clerk, node, AccessTask.Search, subject.Id, () => new HttpRequestMessage(HttpMethod.Post, "/api/v1/subscribers/search") { Content = JsonContent.Create(new SearchRequest(subject.Phone)) }, cancellationToken);
        if (outcome != Outcome.Answered)
        {
            return outcome;
        }

        var search = JsonSerializer.Deserialize<SearchResponse>(body!, JsonSerializerOptions.Web)!;
        Assert.Single(search.Results);
        clerk.Distinct.Add(subject.Id.Value); // served (masked) by the search alone
        (outcome, _) = await SendAsync(clerk, node, AccessTask.View, subject.Id, () => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/subscribers/{search.Results[0].Handle}?purpose={Purpose}"), cancellationToken);
        return outcome;
    }

    private async Task<(Outcome Outcome, string? Body)> SendAsync(ClusterClerk clerk, int node, AccessTask task, SubscriberId subject, Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        var attempt = new Attempt(task, subject.Value, node);
        clerk.Attempts.Add(attempt);
        string body;
        HttpStatusCode status;
        try
        {
            using var message = request();
            using var response = await clerk.Http[node].SendAsync(message, cancellationToken);
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception ex) when (node == 1 && _nodeBDown && ex is HttpRequestException or IOException)
        {
            return (Outcome.Unavailable, null); // node B died under this request: no answer; its entry may or may not be committed
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return (Outcome.Unavailable, null); // the run ended under this request
        }

        if (status == HttpStatusCode.OK)
        {
            var sequence = JsonDocument.Parse(body).RootElement.GetProperty("ledgerSequence").GetInt64();
            attempt.Sequence = sequence;
            clerk.Answered++;
            return (Outcome.Answered, body);
        }

        clerk.LastRefusal = $"{(int)status} {body}";
        var code = JsonDocument.Parse(body).RootElement.TryGetProperty("errorCode", out var c) ? c.GetString() : null;
        if (status == HttpStatusCode.Forbidden && code is ErrorCodes.ClerkSuspended or ErrorCodes.TerminalSuspended)
        {
            clerk.SuspendedRefusal = true;
            return (Outcome.Suspended, body);
        }

        if (status == HttpStatusCode.Forbidden && code == MonitoringErrorCodes.StepUpRequired && clerk.Account == "scraper")
        {
            clerk.StepUps++;
            return (Outcome.StepUp, body);
        }

        // While JetStream elects a new stream leader an append is not acknowledged: refused, transient (fail closed).
        Assert.True(status == HttpStatusCode.ServiceUnavailable && code is ErrorCodes.LedgerUnavailable or MonitoringErrorCodes.MonitorBehind, $"{clerk.Account} {task.ToName()} on node {node}: {(int)status} {body}");
        clerk.Refusals++;
        return (Outcome.Unavailable, body);
    }

    /// <summary>Waits until the stream and the tables hold the same entries and nothing more arrives for a second.</summary>
    private async Task<(List<JetStreamLedgerTests.StreamMessage> Stream, List<CommittedEntry> Ledger)> SettleAsync()
    {
        var watch = Stopwatch.StartNew();
        var previous = -1;
        while (true)
        {
            var stream = await JetStreamLedgerTests.ReadStreamAsync(_nats.Url(0));
            var ledger = new List<CommittedEntry>();
            await foreach (var entry in Get<IAccessLedgerReader>().ReadAsync(0))
            {
                ledger.Add(entry);
            }

            if (stream.Count == ledger.Count && ledger.Count == previous)
            {
                return (stream, ledger);
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"the ledger did not settle: stream {stream.Count}, tables {ledger.Count}");
            previous = stream.Count == ledger.Count ? ledger.Count : -1;
            await Task.Delay(1_000);
        }
    }

    /// <summary>One order: the tables mirror the stream one to one, gap-free, each message stored once.</summary>
    private static void CheckOneOrder(List<JetStreamLedgerTests.StreamMessage> stream, List<CommittedEntry> ledger)
    {
        Assert.Equal(Enumerable.Range(0, ledger.Count).Select(i => (long)i), ledger.Select(e => e.Sequence));
        Assert.Equal(Enumerable.Range(1, stream.Count).Select(i => (ulong)i), stream.Select(m => m.Sequence));
        Assert.Equal(stream.Select(m => Convert.ToHexString(MerkleTree.HashLeaf(m.Payload))), ledger.Select(e => Convert.ToHexString(e.LeafHash.Span)));
        Assert.Equal(stream.Count, stream.Select(m => m.MessageId).Distinct().Count());
    }

    /// <summary>
    /// The clerk's allowed reads in the ledger, in sequence order, are its attempts in order: every answered attempt at
    /// the sequence its answer named (so exactly once), and any other entry one of its unanswered attempts, at most once each.
    /// </summary>
    private static void CheckClerk(ClusterClerk clerk, List<CommittedEntry> ledger)
    {
        var entries = ledger.Where(e => e.Entry.Account == clerk.Account && e.Entry.Outcome == AccessOutcome.Allowed && AccessTasks.ReadsPersonalData(e.Entry.Task)).ToList();
        var answeredAt = clerk.Attempts.Select((a, i) => (a, i)).Where(x => x.a.Sequence is not null).ToDictionary(x => x.a.Sequence!.Value, x => x.i);
        var next = 0;
        foreach (var entry in entries)
        {
            var e = entry.Entry;
            Assert.True(e.Terminal == clerk.Terminal && e.Store == Store, $"{clerk.Account}: entry {entry.Sequence} at another terminal");
            bool Matches(Attempt attempt) => e.Task == attempt.Task && e.Subjects.Count == 1 && e.Subjects[0].Value == attempt.Subject;
            int found;
            if (answeredAt.TryGetValue(entry.Sequence, out var index))
            {
                // The read answered with this sequence: it comes next, after unanswered requests that left no entry.
                Assert.True(index >= next && Matches(clerk.Attempts[index]), $"{clerk.Account}: entry {entry.Sequence} ({e.Task.ToName()}) is not the read answered with that sequence");
                found = index;
            }
            else
            {
                // An unanswered request that was recorded (in flight at the kill, or refused after its acknowledgement).
                found = Enumerable.Range(next, clerk.Attempts.Count - next).TakeWhile(i => clerk.Attempts[i].Sequence is null).FirstOrDefault(i => Matches(clerk.Attempts[i]), -1);
                Assert.True(found >= 0, $"{clerk.Account}: entry {entry.Sequence} ({e.Task.ToName()}) matches no unanswered request before the next answered one: duplicated or foreign");
            }

            Assert.True(clerk.Attempts.Skip(next).Take(found - next).All(a => a.Sequence is null), $"{clerk.Account}: an answered read before entry {entry.Sequence} is missing from the ledger");
            next = found + 1;
        }

        Assert.True(clerk.Attempts.Skip(next).All(a => a.Sequence is null), $"{clerk.Account}: answered reads missing from the ledger");
    }

    /// <summary>The node's newest signed checkpoint (C2SP checkpoint body: origin, size, base64 root), waiting until it covers <paramref name="atLeast"/> entries.</summary>
    private async Task<(long Size, byte[] Root)> CheckpointAsync(ServerProcess node, long atLeast)
    {
        using var http = TerminalHttp.Create(node.PortalUrl, _ca, null);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var text = await http.GetStringAsync("/ledger/v1/checkpoint");
            var lines = text.Split('\n');
            var size = long.Parse(lines[1], CultureInfo.InvariantCulture);
            if (size >= atLeast)
            {
                return (size, Convert.FromBase64String(lines[2]));
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"the checkpoint stayed at {size} entries, the ledger holds {atLeast}");
            await Task.Delay(500);
        }
    }

    /// <summary>One request a clerk sent: what it read, on which node, and the sequence its answer named (null: no answer).</summary>
    private sealed class Attempt(AccessTask task, long subject, int node)
    {
        public AccessTask Task { get; } = task;

        public long Subject { get; } = subject;

        public int Node { get; } = node;

        public long? Sequence { get; set; }
    }

    private sealed class ClusterClerk(string account, string terminal, List<HttpClient> http, List<(string Phone, SubscriberId Id)> subjects)
    {
        public string Account { get; } = account;

        public string Terminal { get; } = terminal;

        /// <summary>One client per node (same terminal certificate, one session per node).</summary>
        public List<HttpClient> Http { get; } = http;

        public List<(string Phone, SubscriberId Id)> Subjects { get; } = subjects;

        /// <summary>Requests sent, in order (one at a time).</summary>
        public List<Attempt> Attempts { get; } = [];

        /// <summary>Internal IDs of the subscribers a search answered (each answered search returns one masked record).</summary>
        public HashSet<long> Distinct { get; } = [];

        public int Answered { get; set; }

        public int Refusals { get; set; }

        public int StepUps { get; set; }

        public bool SuspendedRefusal { get; set; }

        public string? LastRefusal { get; set; }

        /// <summary>Set when the scraper has been served <see cref="ClusterRunOptions.KillAfterScraped"/> subscribers.</summary>
        public TaskCompletionSource Scraped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
