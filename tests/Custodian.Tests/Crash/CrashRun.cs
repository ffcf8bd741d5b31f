using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Certificates;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Client;
using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using Custodian.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpNet;
using Xunit.Abstractions;

namespace Custodian.Tests.Crash;

/// <summary>
/// Kills the real server with SIGKILL while clerks' lookups are in flight, restarts it on the same
/// data directory, and checks the ledger after every kill:
/// <list type="bullet">
/// <item><see cref="LedgerVerifier"/> passes and sequences are exactly 0 … n−1;</item>
/// <item>the ledger never shrinks across a restart, and the tree verified after the previous kill is a
/// prefix of the new one (a consistency proof between the two roots verifies);</item>
/// <item>per clerk, the entries carrying the clerk's account are, in sequence order, exactly the
/// requests the clerk got an answer for (task, outcome, terminal, subject, and the sequence number
/// the answer named), optionally followed by one entry for the single request that was in flight when
/// the server died — so nothing answered is missing and nothing is torn or recorded twice.</item>
/// </list>
/// Each clerk sends one request at a time, so its entries follow its request order; each clerk lives
/// for one server run only (sessions are in memory and end with the process), so a clerk has at most one
/// unanswered request, its last. Clerks are fresh per run for that reason and to stay below the
/// monitor's distinct-subscriber limits (each clerk reads three subscribers, each at its own terminal).
/// Set-up (import, enrollment codes, staff accounts) uses the data directory directly, as the CLI's
/// administrative verbs and <c>custodian simulate --server</c> do; everything else goes over mTLS.
/// </summary>
internal sealed class CrashRun(int kills, int seed, ITestOutputHelper output) : IAsyncDisposable
{
    private const int ClerksPerRun = 4;
    private const string Store = "S001";
    private const string Purpose = "in-store-service";

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("custodian-crash-");
    private readonly Random _random = new(seed);
    private readonly List<CrashClerk> _clerks = [];
    private ServiceProvider? _admin;
    private List<(string Phone, SubscriberId Id)> _subjects = [];
    private X509Certificate2? _ca;
    private long _lastSize;
    private byte[] _lastRoot = [];
    private int _answered;
    private int _inFlightAtKill;
    private int _inFlightCommitted;

    private T Get<T>()
        where T : notnull => _admin!.GetRequiredService<T>();

    public async Task RunAsync()
    {
        await PrepareAsync();
        for (var run = 1; run <= kills; run++)
        {
            await using var server = await ServerProcess.StartAsync(_directory.FullName);
            var clerks = await ProvisionAsync(server, run);
            using var stop = new CancellationTokenSource();
            var killed = new KillFlag();
            var driving = clerks.Select(c => DriveAsync(c, killed, stop.Token)).ToList();

            // A random moment while every clerk is sending: requests are always in flight.
            await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(300, 1_500)));
            killed.IsSet = true;
            await server.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(driving);

            // A killed server leaves its lock file behind; the next start must not be blocked by it.
            Assert.True(File.Exists(DataPaths.For(_directory.FullName).ServerLock));
            await CheckLedgerAsync($"after kill {run} of {kills}");
        }

        // After the last kill: the server starts again, and appends continue gap-free.
        await using (var server = await ServerProcess.StartAsync(_directory.FullName))
        {
            var clerk = (await ProvisionAsync(server, kills + 1))[0];
            Assert.True(await LookupAsync(clerk, _subjects[0], new KillFlag(), CancellationToken.None), "a lookup after the final restart got no answer");
        }

        await CheckLedgerAsync("after the final restart");
        Assert.True(_answered > 0, "no lookup was answered");
        Assert.True(_inFlightAtKill > 0, "no kill happened while a request was in flight");
        output.WriteLine(
            $"{kills} kills: {_lastSize} ledger entries, {_answered} lookups answered and each found at its sequence; " +
            $"{_inFlightAtKill} requests in flight at a kill, {_inFlightCommitted} of them committed before the kill (kept once), the rest absent.");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var clerk in _clerks)
        {
            clerk.Http.Dispose();
        }

        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Best effort: synthetic data only.
        }
    }

    private async Task PrepareAsync()
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddFilter(_ => false));
        services.AddCustodianCore(new CustodianOptions { DataDirectory = _directory.FullName, PasswordIterations = 1_000 }, TimeProvider.System);
        _admin = services.BuildServiceProvider();
        await CustodianComposition.InitialiseAsync(_admin);

        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        var population = new SampleGenerator().Generate(60, 3, seed, today).ToList();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, population);
        var report = await Get<SubscriberImporter>().ImportAsync(new StringReader(csv.ToString()), ImportMode.AllOrNothing, null, CancellationToken.None);
        Assert.Empty(report.Errors);

        // Subscribers a phone search finds exactly one of, with their internal IDs (what entries record).
        foreach (var subscriber in population)
        {
            var ids = await Get<SubscriberVault>().FindByPhoneAsync(PhoneNumbers.NormalizeKorean(subscriber.Phone).Value);
            if (ids.Count == 1)
            {
                _subjects.Add((subscriber.Phone, ids[0]));
            }
        }

        Assert.True(_subjects.Count >= 3 * ClerksPerRun, "the sample population has too few distinct phone numbers");
        _ca = Get<CertificateAuthority>().Certificate;
    }

    /// <summary>Fresh clerks, each at its own newly enrolled terminal, signed in over mTLS.</summary>
    private async Task<List<CrashClerk>> ProvisionAsync(ServerProcess server, int run)
    {
        var clerks = await Task.WhenAll(Enumerable.Range(0, ClerksPerRun).Select(async k =>
        {
            var name = $"crash{run:00}-{k}";
            var code = await Get<TerminalRegistry>().IssueEnrollmentCodeAsync(Store, name, null);
            var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr(name);
            EnrollResponse enrolled;
            using (var enroll = TerminalHttp.Create(server.TerminalUrl, _ca!, null))
            using (var response = await enroll.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(code.Code, csrPem)))
            {
                Assert.True(response.IsSuccessStatusCode, $"enrollment: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                enrolled = (await response.Content.ReadFromJsonAsync<EnrollResponse>())!;
            }

            using var pem = X509Certificate2.CreateFromPem(enrolled.Certificate, keyPem);
            var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            var created = await Get<StaffDirectory>().CreateAsync(name, StaffRole.Clerk, Store);
            Assert.True(created.IsSuccess, created.Error?.Message);
            var totp = new Totp(Base32Encoding.ToBytes(created.Value.TotpSecretBase32));
            var clerk = new CrashClerk(name, enrolled.Terminal, TerminalHttp.Create(server.TerminalUrl, _ca!, certificate, 2), _subjects.Skip((k * 3) % (_subjects.Count - 2)).Take(3).ToList());

            // RFC 6238 codes are single use: the password change takes the current step, the sign-in the next
            // (the server accepts one step of drift).
            var step = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() / 30;
            const string password = "crash test pass phrase 42";
            using (var change = await clerk.Http.PostAsJsonAsync("/api/v1/account/password", new PasswordChangeRequest(name, created.Value.OneTimePassword, password, Code(totp, step))))
            {
                Assert.True(change.StatusCode == HttpStatusCode.NoContent, $"password change: {(int)change.StatusCode} {await change.Content.ReadAsStringAsync()}");
            }

            clerk.Answered.Add(new Expected(AccessTask.PasswordChange, null, null));
            using (var signIn = await clerk.Http.PostAsJsonAsync("/api/v1/sessions", new SignInRequest(name, password, Code(totp, step + 1))))
            {
                Assert.True(signIn.StatusCode == HttpStatusCode.Created, $"sign-in: {(int)signIn.StatusCode} {await signIn.Content.ReadAsStringAsync()}");
                var session = (await signIn.Content.ReadFromJsonAsync<SignInResponse>())!;
                clerk.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
            }

            clerk.Answered.Add(new Expected(AccessTask.SignIn, null, null));
            return clerk;
        }));
        _clerks.AddRange(clerks);
        return [.. clerks];
    }

    private static string Code(Totp totp, long step) => totp.ComputeTotp(DateTimeOffset.FromUnixTimeSeconds(step * 30).UtcDateTime);

    private async Task DriveAsync(CrashClerk clerk, KillFlag killed, CancellationToken cancellationToken)
    {
        for (var i = 0; !cancellationToken.IsCancellationRequested; i++)
        {
            if (!await LookupAsync(clerk, clerk.Subjects[i % clerk.Subjects.Count], killed, cancellationToken))
            {
                return;
            }
        }
    }

    /// <summary>Search by phone, then view the hit. False when the server died under a request (it stays the clerk's in-flight request).</summary>
    private async Task<bool> LookupAsync(CrashClerk clerk, (string Phone, SubscriberId Id) subject, KillFlag killed, CancellationToken cancellationToken)
    {
        var search = await SendAsync<SearchResponse>(
            clerk,
            new Expected(AccessTask.Search, subject.Id.Value, null),
            () => new HttpRequestMessage(HttpMethod.Post, "/api/v1/subscribers/search") { Content = JsonContent.Create(new SearchRequest(subject.Phone)) },
            killed,
            cancellationToken);
        if (search is null)
        {
            return false;
        }

        Assert.Single(search.Results);
        var view = await SendAsync<SubscriberView>(
            clerk,
            new Expected(AccessTask.View, subject.Id.Value, null),
            () => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/subscribers/{search.Results[0].Handle}?purpose={Purpose}"),
            killed,
            cancellationToken);
        return view is not null;
    }

    private async Task<T?> SendAsync<T>(CrashClerk clerk, Expected expected, Func<HttpRequestMessage> request, KillFlag killed, CancellationToken cancellationToken)
        where T : class
    {
        clerk.InFlight = expected;
        string body;
        HttpStatusCode status;
        try
        {
            using var message = request();
            using var response = await clerk.Http.SendAsync(message, cancellationToken);
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception ex) when (killed.IsSet && ex is HttpRequestException or IOException or OperationCanceledException)
        {
            // The server died under this request: no answer. Its entry may or may not have been committed.
            return null;
        }

        Assert.True(status == HttpStatusCode.OK, $"{clerk.Account} {expected.Task}: {(int)status} {body}");
        var answer = System.Text.Json.JsonSerializer.Deserialize<T>(body, System.Text.Json.JsonSerializerOptions.Web)!;
        var sequence = answer switch
        {
            SearchResponse s => s.LedgerSequence,
            SubscriberView v => v.LedgerSequence,
            _ => throw new InvalidOperationException("unexpected answer type"),
        };
        clerk.InFlight = null;
        clerk.Answered.Add(expected with { Sequence = sequence });
        Interlocked.Increment(ref _answered);
        return answer;
    }

    private async Task CheckLedgerAsync(string when)
    {
        var verified = await new LedgerVerifier(Get<CustodianDatabase>()).VerifyAsync();
        Assert.True(verified.IsValid, $"{when}: verification failed: {verified.Reason} at {verified.FirstBadSequence}: {verified.Message}");

        var entries = new List<CommittedEntry>();
        await foreach (var entry in Get<IAccessLedgerReader>().ReadAsync(0))
        {
            Assert.True(entry.Sequence == entries.Count, $"{when}: sequence {entry.Sequence} at position {entries.Count}");
            entries.Add(entry);
        }

        Assert.Equal(verified.TreeSize, entries.Count);
        Assert.True(entries.Count >= _lastSize, $"{when}: the ledger shrank from {_lastSize} to {entries.Count} entries");

        // Append-only across the crash and restart: the tree verified after the previous kill is a
        // prefix of this one (RFC 9162 §2.1.4 consistency proof), as a witness would check.
        if (_lastSize > 0)
        {
            var proof = await Get<ILedgerProofs>().GetConsistencyProofAsync(_lastSize, entries.Count);
            Assert.True(
                entries.Count == _lastSize ? _lastRoot.AsSpan().SequenceEqual(verified.Root.Span) : MerkleTree.VerifyConsistency(_lastSize, entries.Count, _lastRoot, verified.Root.Span, proof),
                $"{when}: the tree of size {entries.Count} is not an extension of the tree of size {_lastSize} verified before");
        }

        _lastSize = entries.Count;
        _lastRoot = verified.Root.ToArray();

        var byAccount = entries.Where(e => e.Entry.Account is not null).ToLookup(e => e.Entry.Account!, StringComparer.Ordinal);
        foreach (var clerk in _clerks)
        {
            var actual = byAccount[clerk.Account].ToList();
            var context = $"{when}: clerk {clerk.Account} got {clerk.Answered.Count} answers" + (clerk.InFlight is null ? string.Empty : " and had one request in flight") + $", the ledger holds {actual.Count} of its entries";
            Assert.True(actual.Count >= clerk.Answered.Count, context + ": an answered request has no entry");
            for (var i = 0; i < clerk.Answered.Count; i++)
            {
                AssertMatches(clerk, clerk.Answered[i], actual[i], context);
            }

            var extra = actual.Count - clerk.Answered.Count;
            Assert.True(extra == 0 || (extra == 1 && clerk.InFlight is not null), context + ": entries beyond the requests sent (duplicated or foreign)");
            if (extra == 1)
            {
                AssertMatches(clerk, clerk.InFlight!, actual[^1], context);
            }

            if (clerk.InFlight is not null && !clerk.Counted)
            {
                clerk.Counted = true;
                _inFlightAtKill++;
                _inFlightCommitted += extra;
            }
        }
    }

    private static void AssertMatches(CrashClerk clerk, Expected expected, CommittedEntry actual, string context)
    {
        var e = actual.Entry;
        var what = $"{context}: entry {actual.Sequence} ({e.Task.ToName()} {e.Outcome}) for the {expected.Task.ToName()}" + (expected.Sequence is { } s ? $" answered with sequence {s}" : string.Empty);
        Assert.True(expected.Sequence is null || expected.Sequence == actual.Sequence, what + ": not at the answered sequence");
        Assert.True(e.Task == expected.Task && e.Outcome == AccessOutcome.Allowed, what + ": wrong task or outcome");
        Assert.True(e.Terminal == clerk.Terminal && e.Store == Store, what + ": wrong terminal or store");
        Assert.True(expected.Subject is null ? e.Subjects.Count == 0 : e.Subjects.Count == 1 && e.Subjects[0].Value == expected.Subject, what + ": wrong subject");
        Assert.True(expected.Task != AccessTask.View || e.Purpose == Purpose, what + ": wrong purpose");
    }

    /// <summary>What one request must have left in the ledger. <paramref name="Subject"/> is the internal subscriber ID; <paramref name="Sequence"/> the one the answer named.</summary>
    private sealed record Expected(AccessTask Task, long? Subject, long? Sequence);

    /// <summary>Set just before the kill: a request that fails after it died with the server; one that fails before it is a test failure.</summary>
    private sealed class KillFlag
    {
        private volatile bool _isSet;

        public bool IsSet
        {
            get => _isSet;
            set => _isSet = value;
        }
    }

    private sealed class CrashClerk(string account, string terminal, HttpClient http, List<(string Phone, SubscriberId Id)> subjects)
    {
        public string Account { get; } = account;

        public string Terminal { get; } = terminal;

        public HttpClient Http { get; } = http;

        public List<(string Phone, SubscriberId Id)> Subjects { get; } = subjects;

        /// <summary>Requests answered, in order.</summary>
        public List<Expected> Answered { get; } = [];

        /// <summary>The request sent and not answered (only when the server died under it).</summary>
        public Expected? InFlight { get; set; }

        public bool Counted { get; set; }
    }
}
