using System.Globalization;
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
using Custodian.Monitoring;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using OtpNet;

namespace Custodian.Bench;

/// <summary>A signed-in clerk at its own enrolled terminal: the HTTP client carries the device certificate and the bearer token.</summary>
internal sealed class Clerk(string account, string terminal, X509Certificate2 certificate, HttpClient client)
{
    public string Account { get; } = account;

    public string Terminal { get; } = terminal;

    public X509Certificate2 Certificate { get; } = certificate;

    public HttpClient Client { get; } = client;

    public string Token => Client.DefaultRequestHeaders.Authorization?.Parameter ?? string.Empty;
}

/// <summary>One synthetic subscriber as the driver knows it: the phone to search for and the internal ID (for the baseline).</summary>
internal readonly record struct Target(string Phone, long Id);

/// <summary>
/// The real server, in process: Kestrel on 127.0.0.1 with ephemeral ports and real TLS, a temporary data
/// directory (deleted on dispose), the real clock, logging at Warning, the monitor with very high limits,
/// and the bench-only baseline endpoints.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    /// <summary>The password every bench clerk sets (PasswordPolicy: 12–128 characters).</summary>
    private const string Password = "bench horse battery staple 7";

    private readonly DirectoryInfo _directory;

    private BenchHost(WebApplication app, DirectoryInfo directory, IReadOnlyList<Target> targets, LedgerBatchCounter batches)
    {
        App = app;
        Batches = batches;
        _directory = directory;
        Targets = targets;
    }

    public WebApplication App { get; }

    /// <summary>The ledger writer's group commits so far.</summary>
    public LedgerBatchCounter Batches { get; }

    public IReadOnlyList<Target> Targets { get; }

    public string DataDirectory => _directory.FullName;

    public Uri TerminalUrl => Get<ServerEndpoints>().TerminalUrl;

    public T Get<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>
    /// The monitor's windows for the bench: the default window lengths (so the detector does the same work per
    /// entry) with limits of 1,000,000 distinct subscribers (the largest allowed), because one bench clerk reads
    /// thousands of subscribers a second and would — correctly — be suspended within a second otherwise.
    /// </summary>
    public static MonitorOptions BenchMonitorOptions() => new()
    {
        Windows = [.. MonitorOptions.DefaultWindows.Select(w => w with { ClerkLimit = 1_000_000, TerminalLimit = 1_000_000 })],
    };

    /// <summary>
    /// The detection engine for the bench: the standard detectors with the default settings, all switched off the way
    /// an officer switches one off (<see cref="Monitoring.Detection.MonitorEngine.DetectorDisabled"/>): they still
    /// observe every entry, so the monitor does the same work per entry, but raise no alert, step-up or suspension.
    /// A bench clerk reads thousands of subscribers a second without serving anyone, which the open-lookups and
    /// machine-timing detectors rightly stop within seconds.
    /// </summary>
    public static Monitoring.Detection.MonitorEngine BenchDetectionEngine()
    {
        // Store-local noon, as CustodianTestHost pins it: outside store hours every read would raise a finding (then
        // dropped), which is not the work of a normal store day.
        var options = new Monitoring.Detection.DetectionOptions { LocalOffset = TimeSpan.FromHours(12 - TimeProvider.System.GetUtcNow().Hour) };
        var engine = Monitoring.Detection.MonitorEngine.CreateDefault(options);
        engine.DetectorDisabled = static _ => true;
        return engine;
    }

    /// <param name="sameDeploymentAs">
    /// Null for a new deployment. Otherwise this host is a second API node of that host's deployment (Nodes/NodesBench.cs):
    /// its data directory starts as a copy of that host's key material, <paramref name="configure"/> must name the same
    /// storage and event log, and nothing is imported (the population is that host's).
    /// </param>
    public static async Task<BenchHost> StartAsync(int subscribers, string? parentDirectory, Action<string> say, Action<CustodianOptions>? configure = null, BenchHost? sameDeploymentAs = null)
    {
        var directory = parentDirectory is null
            ? Directory.CreateTempSubdirectory("custodian-bench-")
            : Directory.CreateDirectory(Path.Combine(parentDirectory, "custodian-bench-" + Guid.NewGuid().ToString("N")[..8]));
        if (sameDeploymentAs is not null)
        {
            foreach (var file in Directory.GetFiles(sameDeploymentAs.DataDirectory, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)))
            {
                var target = Path.Combine(directory.FullName, Path.GetRelativePath(sameDeploymentAs.DataDirectory, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }

        var options = new CustodianOptions
        {
            DataDirectory = directory.FullName,
            ListenAddress = "127.0.0.1",
            TerminalPort = 0,
            PortalPort = 0,

            // Only clerk sign-in at set-up uses it; 1,000 (the smallest allowed) keeps set-up fast. Not timed.
            PasswordIterations = 1_000,
        };
        configure?.Invoke(options); // e.g. the JetStream event log (Events/EventsBench.cs)
        var problems = CustodianOptionsValidator.ValidateAll(options);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", problems));
        }

        var batches = new LedgerBatchCounter();
        var app = CustodianServer.Build(
            options,
            TimeProvider.System,
            services => services.AddSingleton(BenchMonitorOptions()).AddSingleton(_ => BenchDetectionEngine()),
            logging => logging
                .SetMinimumLevel(LogLevel.Warning)
                .AddSimpleConsole(o => o.SingleLine = true)
                .AddProvider(batches)
                .AddFilter<LedgerBatchCounter>(null, LogLevel.None)
                .AddFilter<LedgerBatchCounter>(LedgerBatchCounter.Category, LogLevel.Debug)
                .AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(null, LogLevel.Warning),
            BaselineApi.Map,
            BaselineApi.UseBypass);
        await CustodianComposition.InitialiseAsync(app.Services);
        await app.StartAsync();
        await app.Services.GetRequiredService<AccessMonitor>().Ready;
        if (sameDeploymentAs is not null)
        {
            return new BenchHost(app, directory, sameDeploymentAs.Targets, batches);
        }

        say($"importing {subscribers:N0} synthetic subscribers");
        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        var population = new SampleGenerator().Generate(subscribers, Stores, 20_240_601, today).ToList();
        var csv = new StringWriter(CultureInfo.InvariantCulture);
        SampleGenerator.WriteCsv(csv, population);
        var report = await app.Services.GetRequiredService<SubscriberImporter>().ImportAsync(new StringReader(csv.ToString()), ImportMode.AllOrNothing, null, CancellationToken.None);
        if (report.Errors.Count > 0)
        {
            throw new InvalidOperationException($"import failed: {report.Errors.Count} rows rejected");
        }

        // The driver searches by phone (in national form, as a clerk types it); the baseline's view and unmask address rows by ID.
        var vault = app.Services.GetRequiredService<SubscriberVault>();
        var targets = new List<Target>(population.Count);
        foreach (var s in population)
        {
            var ids = await vault.FindByPhoneAsync(s.Phone);
            targets.Add(new Target(PhoneNumbers.FormatNational(s.Phone), ids.Single().Value));
        }

        return new BenchHost(app, directory, targets, batches);
    }

    /// <summary>Number of stores the population and the clerks are spread over.</summary>
    public const int Stores = 5;

    /// <summary>
    /// Enrolls a terminal over the real <c>POST /api/v1/enroll</c>, creates a clerk of the terminal's store, sets
    /// its password (TOTP of the previous 30-s step) and signs in over HTTP (TOTP of the current step: the
    /// directory refuses a step used before).
    /// </summary>
    public async Task<Clerk> ClerkAsync(int index, int maxConnections)
    {
        var n = (index + 1).ToString("0000", CultureInfo.InvariantCulture);
        var store = "S" + ((index % Stores) + 1).ToString("000", CultureInfo.InvariantCulture);
        var terminalName = "bench-t" + n;
        var code = await Get<TerminalRegistry>().IssueEnrollmentCodeAsync(store, terminalName, null);
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr(terminalName);
        var ca = Get<CertificateAuthority>().Certificate;
        EnrollResponse enrolled;
        using (var anonymous = TerminalHttp.Create(TerminalUrl, ca, null, 1))
        using (var response = await anonymous.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(code.Code, csrPem)))
        {
            response.EnsureSuccessStatusCode();
            enrolled = (await response.Content.ReadFromJsonAsync<EnrollResponse>())!;
        }

        X509Certificate2 certificate;
        using (var pem = X509Certificate2.CreateFromPem(enrolled.Certificate, keyPem))
        {
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }

        var account = "C" + n;
        var directory = Get<StaffDirectory>();
        var created = await directory.CreateAsync(account, StaffRole.Clerk, store);
        if (!created.IsSuccess)
        {
            throw new InvalidOperationException(created.Error!.Message);
        }

        var totp = new Totp(Base32Encoding.ToBytes(created.Value.TotpSecretBase32));
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        var changed = await directory.ChangePasswordAsync(account, created.Value.OneTimePassword, Password, totp.ComputeTotp(now.AddSeconds(-30)));
        if (!changed.IsSuccess)
        {
            throw new InvalidOperationException("password change failed: " + changed.Error!.Code);
        }

        var client = BenchHttp.Create(TerminalUrl, ca, certificate, maxConnections);
        using (var response = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest(account, Password, totp.ComputeTotp(TimeProvider.System.GetUtcNow().UtcDateTime))))
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"sign-in of {account} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }

            var session = (await response.Content.ReadFromJsonAsync<SignInResponse>())!;
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
        }

        return new Clerk(account, enrolled.Terminal, certificate, client);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
