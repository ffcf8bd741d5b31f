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
using Custodian.Monitoring.Detection;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OtpNet;

namespace Custodian.Tests.Infrastructure;

/// <summary>
/// A real Custodian server for one test: Kestrel on 127.0.0.1 with ephemeral ports and real TLS,
/// a fresh SQLite data directory, a fake clock, captured logs, and a small imported population.
/// </summary>
public sealed class CustodianTestHost : IAsyncDisposable
{
    /// <summary>
    /// Where the fake clock starts: the real current hour, so that certificates the server issues
    /// under the fake clock are also valid for the TLS stack, which checks them against real time.
    /// </summary>
    public static readonly DateTimeOffset Start = new(TimeProvider.System.GetUtcNow().UtcDateTime.Date.AddHours(TimeProvider.System.GetUtcNow().Hour), TimeSpan.Zero);

    /// <summary>
    /// The stores' UTC offset the test host's monitor uses: chosen so that <see cref="Start"/> is 12:00 store-local time,
    /// inside the default store hours (09:00–21:00), whatever real hour the suite runs at (−11 to +12 hours). With the
    /// production default (+09:00) the machine-timing detector's "outside store hours" rule fired on the first read of
    /// every test run in the Korean evening or night, and lookups were stepped up or suspended.
    /// </summary>
    public static readonly TimeSpan StoreUtcOffset = TimeSpan.FromHours(12 - Start.Hour);

    private PostgresSchema? _schema;
    private TestBackend? _sharedBackend; // a node started by StartNodeAsync: the backend of the host it shares
    private bool _ownsDirectory = true;

    private CustodianTestHost(WebApplication app, TimeProvider clock, DirectoryInfo directory, List<SampleSubscriber> population)
    {
        App = app;
        Clock = clock;
        Directory = directory;
        Population = population;
    }

    public WebApplication App { get; }

    /// <summary>The server's clock.</summary>
    public TimeProvider Clock { get; }

    /// <summary>The server's fake clock (hosts started with the system clock have none).</summary>
    public FakeTimeProvider Time => Clock as FakeTimeProvider ?? throw new InvalidOperationException("This host runs on the system clock.");

    public DirectoryInfo Directory { get; }

    public IReadOnlyList<SampleSubscriber> Population { get; }

    public Uri TerminalUrl => Get<ServerEndpoints>().TerminalUrl;

    public Uri PortalUrl => Get<ServerEndpoints>().PortalUrl;

    public X509Certificate2 Ca => Get<CertificateAuthority>().Certificate;

    public FakeLogCollector Logs => App.Services.GetFakeLogCollector();

    public T Get<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>The storage backend this host runs on.</summary>
    public TestBackend Backend => _sharedBackend ?? (_schema is null ? TestBackend.Sqlite : TestBackend.Postgres);

    /// <summary>
    /// Starts another API node of this host's deployment (docs/events.md, "Several API nodes"): a second server in this
    /// process on the same database — SQLite: the same data directory and file; PostgreSQL: the same schema, with a copy of
    /// the data directory (its key material) — on the same clock, with the same population. Disposing the node stops it and
    /// leaves what it shares (dispose it before this host).
    /// </summary>
    public async Task<CustodianTestHost> StartNodeAsync()
    {
        DirectoryInfo directory;
        if (_schema is null)
        {
            directory = Directory;
        }
        else
        {
            directory = System.IO.Directory.CreateTempSubdirectory("custodian-node-");
            foreach (var file in System.IO.Directory.EnumerateFiles(Directory.FullName, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(directory.FullName, Path.GetRelativePath(Directory.FullName, file));
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }

        var serverOptions = new CustodianOptions
        {
            DataDirectory = directory.FullName,
            TerminalPort = 0,
            PortalPort = 0,
            PasswordIterations = 1_000,
        };
        if (_schema is not null)
        {
            serverOptions.Storage = _schema.ConnectionString;
        }

        var app = CustodianServer.Build(
            serverOptions,
            Clock,
            s => s.AddSingleton(new DetectionOptions { LocalOffset = StoreUtcOffset }),
            l => l.AddFakeLogging(o => o.CollectRecordsForDisabledLogLevels = false).SetMinimumLevel(LogLevel.Debug));
        await CustodianComposition.InitialiseAsync(app.Services);
        await app.StartAsync();
        return new CustodianTestHost(app, Clock, directory, [.. Population]) { _sharedBackend = Backend, _ownsDirectory = _schema is not null };
    }

    /// <param name="subscribers">How many synthetic subscribers to import.</param>
    /// <param name="services">Extra service registrations.</param>
    /// <param name="options">Changes to the server options.</param>
    /// <param name="systemClock">Run on the system clock instead of a fake one.</param>
    /// <param name="backend">The storage backend; null for <see cref="TestStorage.Default"/> (SQLite unless <c>CUSTODIAN_TEST_BACKEND=postgres</c>).</param>
    public static async Task<CustodianTestHost> StartAsync(int subscribers = 200, Action<IServiceCollection>? services = null, Action<CustodianOptions>? options = null, bool systemClock = false, TestBackend? backend = null)
    {
        var schema = (backend ?? TestStorage.Default) == TestBackend.Postgres ? await TestStorage.CreateSchemaAsync() : null;
        var directory = System.IO.Directory.CreateTempSubdirectory("custodian-test-");
        TimeProvider time = systemClock ? TimeProvider.System : new FakeTimeProvider(Start) { AutoAdvanceAmount = TimeSpan.Zero };
        var serverOptions = new CustodianOptions
        {
            DataDirectory = directory.FullName,
            TerminalPort = 0,
            PortalPort = 0,
            PasswordIterations = 1_000,
        };
        if (schema is not null)
        {
            serverOptions.Storage = schema.ConnectionString;
        }

        options?.Invoke(serverOptions);
        var app = CustodianServer.Build(
            serverOptions,
            time,
            s =>
            {
                s.AddSingleton(new DetectionOptions { LocalOffset = StoreUtcOffset }); // replaces the environment's (see StoreUtcOffset)
                services?.Invoke(s);
            },
            l => l.AddFakeLogging(o => o.CollectRecordsForDisabledLogLevels = false).SetMinimumLevel(LogLevel.Debug));
        await CustodianComposition.InitialiseAsync(app.Services);
        await app.StartAsync();

        var population = new SampleGenerator().Generate(subscribers, 3, 7, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime)).ToList();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, population);
        var report = await app.Services.GetRequiredService<SubscriberImporter>().ImportAsync(new StringReader(csv.ToString()), ImportMode.AllOrNothing, null, CancellationToken.None);
        Assert.Empty(report.Errors);
        return new CustodianTestHost(app, time, directory, population) { _schema = schema };
    }

    public HttpClient TerminalClient(X509Certificate2? certificate) => TerminalHttp.Create(TerminalUrl, Ca, certificate, time: Clock);

    public HttpClient PortalClient() => TerminalHttp.Create(PortalUrl, Ca, null, time: Clock);

    /// <summary>
    /// A portal client whose connections come from <paramref name="sourceAddress"/> (any of 127.0.0.0/8, all of which
    /// Linux routes to the loopback interface), so the server sees a distinct remote address per client — for tests of
    /// per-address limits through the real TLS and HTTP pipeline.
    /// </summary>
    public HttpClient PortalClientFrom(string sourceAddress)
    {
        var local = System.Net.IPAddress.Parse(sourceAddress);
        var ca = Ca;
        var clock = Clock;
        var handler = new System.Net.Http.SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(local.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new System.Net.IPEndPoint(local, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && TerminalHttp.ChainsTo(new X509Certificate2(certificate), ca, clock.GetUtcNow()),
            },
        };
        return new HttpClient(handler) { BaseAddress = PortalUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Enrolls a terminal through the real HTTP enrollment endpoint and returns its certificate with key.</summary>
    public async Task<X509Certificate2> EnrollAsync(string store, string name)
    {
        var code = await Get<TerminalRegistry>().IssueEnrollmentCodeAsync(store, name, null);
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr(name);
        using var client = TerminalClient(null);
        using var response = await client.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(code.Code, csrPem));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var enrolled = (await response.Content.ReadFromJsonAsync<EnrollResponse>())!;
        using var pem = X509Certificate2.CreateFromPem(enrolled.Certificate, keyPem);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Creates a staff account, changes its one-time password over HTTP, and returns its credentials.</summary>
    public async Task<StaffCredentials> CreateStaffAsync(string id, StaffRole role, string? store, X509Certificate2 terminal)
    {
        var created = await Get<StaffDirectory>().CreateAsync(id, role, store);
        Assert.True(created.IsSuccess, created.Error?.Message);
        var credentials = new StaffCredentials(id, "correct horse battery staple 7", new Totp(Base32Encoding.ToBytes(created.Value.TotpSecretBase32)));
        using var client = TerminalClient(terminal);
        using var change = await client.PostAsJsonAsync(
            "/api/v1/account/password",
            new PasswordChangeRequest(id, created.Value.OneTimePassword, credentials.Password, credentials.Code(Clock)));
        Assert.Equal(System.Net.HttpStatusCode.NoContent, change.StatusCode);
        Time.Advance(TimeSpan.FromSeconds(30));
        return credentials;
    }

    /// <summary>Signs in and returns a client carrying the terminal certificate and the bearer token.</summary>
    public async Task<HttpClient> SignInAsync(StaffCredentials staff, X509Certificate2 terminal)
    {
        var client = TerminalClient(terminal);
        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest(staff.Account, staff.Password, staff.Code(Clock)));
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var session = (await response.Content.ReadFromJsonAsync<SignInResponse>())!;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
        Time.Advance(TimeSpan.FromSeconds(30));
        return client;
    }

    /// <summary>A clerk at a fresh terminal of <paramref name="store"/>, signed in.</summary>
    public async Task<(HttpClient Client, X509Certificate2 Terminal, StaffCredentials Staff)> ClerkAsync(string id, string store = "S001")
    {
        var terminal = await EnrollAsync(store, "t-" + id);
        var staff = await CreateStaffAsync(id, StaffRole.Clerk, store, terminal);
        return (await SignInAsync(staff, terminal), terminal, staff);
    }

    public async Task<List<CommittedEntry>> LedgerAsync()
    {
        var list = new List<CommittedEntry>();
        await foreach (var entry in Get<IAccessLedgerReader>().ReadAsync(0))
        {
            list.Add(entry);
        }

        return list;
    }

    /// <summary>
    /// The last entry written on behalf of a request. The monitor appends its own entries (alerts, step-ups,
    /// suspensions) asynchronously, possibly after the entry a test is looking for, so they are skipped.
    /// </summary>
    public async Task<CommittedEntry> LastRequestEntryAsync() =>
        (await LedgerAsync()).Last(e => e.Entry.Task is not (AccessTask.AlertRaised or AccessTask.Suspended or AccessTask.SteppedUp));

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }

        try
        {
            if (_ownsDirectory)
            {
                Directory.Delete(recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }
}

public sealed record StaffCredentials(string Account, string Password, Totp Totp)
{
    public string Code(TimeProvider time) => Totp.ComputeTotp(time.GetUtcNow().UtcDateTime);
}
