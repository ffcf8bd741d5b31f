using System.Globalization;
using System.Net;
using Custodian.Access.Certificates;
using Custodian.Classification;
using Custodian.Gateway;
using Custodian.Incidents;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Review;
using Custodian.Siem;
using Custodian.Transparency;
using Custodian.Web;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.Logging;

namespace Custodian.Hosting;

/// <summary>The bound addresses of a running server (ports are known only after start when configured as 0).</summary>
public sealed class ServerEndpoints
{
    internal ListenOptions? TerminalListen { get; set; }

    internal ListenOptions? PortalListen { get; set; }

    /// <summary>Base URL of the sales-terminal API, e.g. <c>https://127.0.0.1:7443</c>.</summary>
    public Uri TerminalUrl => Url(TerminalListen);

    /// <summary>Base URL of the portal, e.g. <c>https://127.0.0.1:7444</c>.</summary>
    public Uri PortalUrl => Url(PortalListen);

    private static Uri Url(ListenOptions? listen)
    {
        var endpoint = listen?.IPEndPoint ?? throw new InvalidOperationException("The server has not started.");
        var host = endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address.ToString();
        return new Uri($"https://{host}:{endpoint.Port}");
    }
}

/// <summary>
/// Builds the Custodian web application: two HTTPS listeners (the sales-terminal API with mutual
/// TLS, the subscriber portal with server TLS), the device gateway, the guarded lookup endpoints, the
/// portal API, the OpenAPI document, problem responses, log redaction and the access monitor.
/// </summary>
public static class CustodianServer
{
    /// <summary>
    /// Refuses, before anything is created, the settings this server would not read: a settings file in the data
    /// directory (<c>appsettings.json</c>, or <c>appsettings.{environment}.json</c> for the host environment named by
    /// <c>ASPNETCORE_ENVIRONMENT</c> / <c>DOTNET_ENVIRONMENT</c>, default <c>Production</c>) that sets a <c>Custodian</c>
    /// setting the server reads only from the environment (<see cref="ConfigurationKeys.FindNotReadFromFile"/>), and with
    /// the embedded event log any <c>Custodian:JetStream</c> setting in <paramref name="environment"/>
    /// (<see cref="ConfigurationKeys.FindJetStreamWithEmbeddedEvents"/>). <c>custodian serve</c> runs it once among its
    /// start checks and then builds with <see cref="BuildAfterStartChecks"/>; <see cref="Build"/> runs it for every other host.
    /// </summary>
    /// <param name="options">The options the server is built with (the event log is <see cref="CustodianOptions.Events"/>).</param>
    /// <param name="environment">The configuration the server reads its settings from (the environment variables).</param>
    /// <exception cref="InvalidOperationException">The first such setting, named with what to do instead (one line starting <c>invalid configuration: </c>).</exception>
    internal static void RefuseSettingsNotRead(CustodianOptions options, IConfiguration environment)
    {
        foreach (var (fileName, file) in LoadSettingsFiles(options))
        {
            if (ConfigurationKeys.FindNotReadFromFile(file, fileName) is { } notRead)
            {
                throw new InvalidOperationException("invalid configuration: " + notRead);
            }
        }

        if (!Events.EventsComposition.IsJetStream(options) && ConfigurationKeys.FindJetStreamWithEmbeddedEvents(environment) is { } jetStream)
        {
            throw new InvalidOperationException("invalid configuration: " + jetStream);
        }
    }

    /// <summary>
    /// The settings the server reads, as its host will see them: the data directory's settings files
    /// (<see cref="LoadSettingsFiles"/>) overridden by <paramref name="environment"/>, the order of ASP.NET Core's
    /// default configuration sources. <c>custodian serve</c> validates every section on it before anything is created, so
    /// a bad value in <c>appsettings.json</c> is refused in one line as the same value in an environment variable is.
    /// </summary>
    /// <param name="options">The options the server is built with (its data directory).</param>
    /// <param name="environment">The environment variables' configuration.</param>
    /// <returns>The combined configuration (files first, the environment last and winning).</returns>
    /// <exception cref="InvalidOperationException">A settings file is not valid JSON or is a directory (<see cref="LoadSettingsFiles"/>).</exception>
    internal static IConfiguration ServerSettings(CustodianOptions options, IConfiguration environment)
    {
        var builder = new ConfigurationBuilder();
        foreach (var (_, file) in LoadSettingsFiles(options))
        {
            builder.AddConfiguration(file);
        }

        return builder.AddConfiguration(environment).Build();
    }

    /// <summary>
    /// The data directory's settings files that exist, each loaded alone: <c>appsettings.json</c>, then
    /// <c>appsettings.{environment}.json</c> for the host environment named by <c>ASPNETCORE_ENVIRONMENT</c> /
    /// <c>DOTNET_ENVIRONMENT</c> (default <c>Production</c>), as the host reads them. None when the data directory does not
    /// exist yet.
    /// </summary>
    /// <param name="options">The options the server is built with (its data directory).</param>
    /// <returns>Each existing file's name (as shown in messages) and configuration, in reading order.</returns>
    /// <exception cref="InvalidOperationException">
    /// One line starting <c>invalid configuration: </c>: a file that is not valid JSON (with the line and byte of the first
    /// error, both counted from 1; never its content), or a directory where the file would be. Before this check the
    /// first was an unhandled exception with a stack trace and the second was skipped without a word.
    /// </exception>
    internal static IReadOnlyList<(string FileName, IConfiguration File)> LoadSettingsFiles(CustodianOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var root = DataPaths.For(options.DataDirectory).Root;
        if (!Directory.Exists(root))
        {
            return [];
        }

        var files = new List<(string, IConfiguration)>();
        var hostEnvironment = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? "Production";
        foreach (var fileName in new[] { "appsettings.json", $"appsettings.{hostEnvironment}.json" })
        {
            var path = Path.Combine(Path.GetFullPath(root), fileName);
            if (Directory.Exists(path))
            {
                throw new InvalidOperationException($"invalid configuration: {fileName} in the data directory is a directory, not a settings file: remove it, or put the settings in a JSON file of that name (README, \"Configuration\")");
            }

            if (!File.Exists(path))
            {
                continue;
            }

            try
            {
                files.Add((fileName, new ConfigurationBuilder().SetBasePath(Path.GetFullPath(root)).AddJsonFile(fileName, optional: false, reloadOnChange: false).Build()));
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidOperationException($"invalid configuration: {fileName} in the data directory is not valid JSON ({JsonErrorAt(ex)}): correct it or remove it (README, \"Configuration\")");
            }
        }

        return files;
    }

    // Where the parser stopped, counted from 1 (System.Text.Json counts both from 0), or the configuration parser's own
    // words (a duplicate key or an unsupported token: names and token kinds, never a value).
    private static string JsonErrorAt(Exception ex)
    {
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Text.Json.JsonException { LineNumber: { } line, BytePositionInLine: { } position })
            {
                return string.Create(CultureInfo.InvariantCulture, $"line {line + 1}, byte {position + 1}");
            }
        }

        return ex.InnerException?.Message.TrimEnd('.') ?? "it could not be read";
    }

    /// <summary>Builds (does not start) the server.</summary>
    /// <param name="options">Validated options (<see cref="CustodianOptionsValidator.ValidateAll"/>).</param>
    /// <param name="time">The clock; <see cref="TimeProvider.System"/> in production.</param>
    /// <param name="configureServices">Optional extra service registrations (tests and benchmarks replace or add services here).</param>
    /// <param name="configureLogging">Optional logging set-up; the default writes one line per event to the console.</param>
    /// <param name="mapExtra">Optional extra endpoints (benchmarks only).</param>
    /// <param name="configurePipeline">
    /// Optional middleware added after routing and problem handling but right before the device gateway
    /// (benchmarks only: the load benchmark's unguarded baseline endpoints run here so that they do not pay
    /// the gateway's certificate check; production never passes it).
    /// </param>
    /// <exception cref="InvalidOperationException">A setting the server would not read (<see cref="RefuseSettingsNotRead"/>), before anything is created; or another start failure.</exception>
    public static WebApplication Build(
        CustodianOptions options,
        TimeProvider time,
        Action<IServiceCollection>? configureServices = null,
        Action<ILoggingBuilder>? configureLogging = null,
        Action<WebApplication>? mapExtra = null,
        Action<WebApplication>? configurePipeline = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        RefuseSettingsNotRead(options, new ConfigurationBuilder().AddEnvironmentVariables().Build()); // before anything is created in the data directory
        return BuildAfterStartChecks(options, time, configureServices, configureLogging, mapExtra, configurePipeline);
    }

    /// <summary>
    /// <see cref="Build"/> without <see cref="RefuseSettingsNotRead"/>, for <c>custodian serve</c>, which has run it
    /// among its start checks (before it created the data directory and took its lock).
    /// </summary>
    internal static WebApplication BuildAfterStartChecks(
        CustodianOptions options,
        TimeProvider time,
        Action<IServiceCollection>? configureServices = null,
        Action<ILoggingBuilder>? configureLogging = null,
        Action<WebApplication>? mapExtra = null,
        Action<WebApplication>? configurePipeline = null)
    {
        var paths = DataPaths.For(options.DataDirectory);
        paths.EnsureCreated();
        var ca = CertificateAuthority.LoadOrCreate(paths.CertificateAuthority, time, DeviceCertificateApi.CaOptions(options));

        // No reload of appsettings.json on change: options are bound and validated once at start, and the watcher it
        // needs is a FileSystemWatcher over the whole content root (the data directory), which woke a thread and
        // allocated for every write to the database and its WAL: several per guarded read (bench/README.md).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "custodian", ContentRootPath = paths.Root, Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        if (ConfigurationKeys.FindUnknown(builder.Configuration) is { } unknown)
        {
            throw new InvalidOperationException("invalid configuration: " + unknown); // also appsettings.json in the data directory
        }

        builder.Services.AddCustodianCore(options, time);
        builder.Services.AddSingleton(ca);
        builder.Services.AddSingleton<ServerEndpoints>();
        if (options.JetStream.UsesWorkers && Events.EventsComposition.IsJetStream(options))
        {
            // serve --monitor workers: detection runs in custodian monitor-worker processes; the guard catches up with them (docs/events.md).
            builder.Services.AddSingleton(sp => new Monitoring.Workers.MonitorWorkerGate(new Monitoring.Workers.PartitionProgressStore(sp.GetRequiredService<Storage.CustodianDatabase>(), sp.GetRequiredService<TimeProvider>())));
            // The console's and the guard's risk and step-up: what the workers' aggregate partition stored (AccessMonitor.CurrentStandingAsync).
            builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<AccessMonitor>(sp, new Monitoring.Workers.RiskStandingStore(sp.GetRequiredService<Storage.CustodianDatabase>(), sp.GetRequiredService<TimeProvider>())));
        }
        else
        {
            builder.Services.AddHostedService(sp => sp.GetRequiredService<AccessMonitor>());
        }
        builder.Services.AddHostedService<CheckpointPublisher>();
        builder.Services.AddHostedService<Incidents.IncidentScopeProjectorService>(); // incident-scoping projection after commit (docs/incidents.md)
        builder.Services.AddHostedService<LedgerSubjectProjectorService>(); // subject index after commit, every backend (docs/ledger-format.md §3)
        if (!Events.EventsComposition.IsJetStream(options)) // not with JetStream (docs/events.md)
        {
            builder.Services.AddHostedService<Ledger.Retention.RetentionService>(); // daily retention run (docs/ledger-format.md §13), on both storage backends (docs/storage.md)
        }
        Approvals.FourEyesHostingExtensions.AddFourEyesHosting(builder.Services, builder.Configuration); // officers' devices, daily dormant-account run (docs/access.md §6.2, §7)
        Portal.PortalServices.AddSubscriberPortalHosting(builder.Services); // portal code SMS dispatch and subscriber notices (src/Custodian/Portal)

        // SIEM export (Custodian:Siem section, e.g. Custodian__Siem__To=host:port): off unless configured; a bad value stops the start.
        var siem = new Siem.Export.SiemExportOptions();
        builder.Configuration.GetSection(CustodianOptions.Section).GetSection(Siem.Export.SiemExportOptions.Section).Bind(siem);
        if (Cli.ServeStartChecks.SiemRefusal(siem) is { } siemRefusal)
        {
            throw new InvalidOperationException(siemRefusal); // with docs/siem.md and the variable, as serve's start checks
        }

        builder.Services.AddSiemExportService(siem);
        builder.Services.AddCustodianGateway(builder.Configuration); // Custodian:Gateway settings (docs/access.md)
        builder.Services.AddCustodianWeb(); // web pages: Razor Pages, ko/en, antiforgery (src/Custodian/Web, docs/web.md)
        builder.Services.AddOpenApi();
        builder.Services.AddProblemDetails();
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.AllowDuplicateProperties = false);
        builder.Services.AddRedaction(r =>
        {
            r.SetRedactor<ErasingRedactor>(new DataClassificationSet(CustodianTaxonomy.PersonalData, CustodianTaxonomy.UniqueIdentifier, CustodianTaxonomy.Secret, CustodianTaxonomy.Pseudonymous));
            r.SetFallbackRedactor<ErasingRedactor>();
        });

        builder.Logging.ClearProviders();
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss ";
                o.UseUtcTimestamp = true;
            });
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

            // A failed start (e.g. a port in use) is reported by 'serve' in one line; the host's own
            // error event would repeat it with a stack trace.
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        }
        else
        {
            configureLogging(builder.Logging);
        }

        builder.Logging.EnableRedaction();
        configureServices?.Invoke(builder.Services);

        var endpoints = new ServerEndpoints();
        builder.Services.AddSingleton(endpoints);
        var serverCertificate = ca.IssueServerCertificate(
            ["localhost", .. options.ServerNames],
            [options.ListenIp, IPAddress.Loopback, IPAddress.IPv6Loopback]);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestLineSize = 8 * 1024;
            endpoints.TerminalListen = Listen(kestrel, options.TerminalPort, Listeners.Terminal, https =>
            {
                https.ServerCertificate = serverCertificate;

                // Ask every client for a certificate but judge it in the gateway middleware,
                // so that a refusal is a problem response and a recorded security event.
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                https.ClientCertificateValidation = static (_, _, _) => true;
                https.CheckCertificateRevocation = false;
            });
            endpoints.PortalListen = Listen(kestrel, options.PortalPort, Listeners.Portal, https => https.ServerCertificate = serverCertificate);
        });

        ListenOptions Listen(KestrelServerOptions kestrel, int port, string listener, Action<HttpsConnectionAdapterOptions> https)
        {
            ListenOptions? bound = null;
            kestrel.Listen(options.ListenIp, port, listen =>
            {
                bound = listen;
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.Use(next => connection =>
                {
                    connection.Items[Listeners.ItemKey] = listener;
                    return next(connection);
                });
                listen.UseHttps(https);
            });
            return bound!;
        }

        var app = builder.Build();
        Cli.InProcessServers.Register(app, options); // verbs run in this process on this data directory use this server's storage
        app.UseMiddleware<ProblemMiddleware>();
        app.UseStatusCodePages(async context =>
        {
            var status = context.HttpContext.Response.StatusCode;
            var code = status switch
            {
                400 => ErrorCodes.ValidationFailed, // e.g. a form posted without its anti-forgery token (Web.AntiforgeryFailureMarker)
                404 => ErrorCodes.NotFound,
                405 => ErrorCodes.MethodNotAllowed,
                413 => ErrorCodes.BodyTooLarge,
                415 => ErrorCodes.UnsupportedMediaType,
                _ => ErrorCodes.InternalError,
            };
            var message = status switch
            {
                400 when Web.AntiforgeryFailureMarker.Failed(context.HttpContext) => AntiforgeryMessage,
                400 => BadRequestMessage,
                405 => "Method not allowed.",
                415 => "The body must be JSON, sent with 'Content-Type: application/json'.",
                _ => ReasonPhrase(status),
            };
            var error = new CustodianError(code, status, message);
            if (status is 413 or 415)
            {
                await BodyRefusals.RecordAsync(context.HttpContext, error); // the binder's refusals that it answers without throwing
            }

            await error.WriteAsync(context.HttpContext);
        });
        Pages.Errors.NotFoundPages.UseNotFoundPages(app); // an HTML not-found page in the user's language for page paths (src/Custodian/Pages/Errors)
        app.UseCustodianWeb(); // security headers, UI culture, /static assets (before the gateway: they carry no personal data)
        configurePipeline?.Invoke(app);
        app.UseAccessGatewayEdge(); // client address from trusted proxies only; oversized headers refused and recorded (docs/access.md)
        app.UseMiddleware<DeviceGatewayMiddleware>();
        app.UseMiddleware<NetworkPolicyMiddleware>(); // network zones, opening hours, trust classes per task (docs/access.md)
        app.UseMiddleware<RequestBodyBufferingMiddleware>(); // a body of unknown length is read (≤ the limit) before any endpoint: 413, never 500, on HTTP/2 too
        app.UseMiddleware<JsonCharsetMiddleware>(); // a JSON body in a charset other than UTF-8: 415 unsupported-media-type, recorded like the binder's refusals
        app.UseMiddleware<FormUtf8Middleware>(); // a form body or page query that is not UTF-8: 400 form-not-utf8, recorded like the binder's refusals
        Storage.HealthApi.MapHealthApi(app); // /health with the storage dependency (src/Custodian/Storage/HealthApi.cs)
        app.MapOpenApi();
        app.MapTerminalApi();
        app.MapAlertsApi(); // officers' monitor alerts on the terminal API (src/Custodian/Monitoring)
        app.MapPortalApi();
        app.MapLedgerApi();
        app.MapReviewApi(); // officers' access-log review on the terminal API (src/Custodian/Review)
        app.MapIncidentApi(); // officers' incident response on the terminal API (src/Custodian/Incidents)
        Portal.SubscriberPortalApi.MapSubscriberPortalApi(app); // subscriber portal: inbox, receipts, disclosure requests (src/Custodian/Portal)
        app.MapDeviceCertificateApi(); // device-certificate renewal over mTLS (docs/access.md)
        Approvals.ApprovalsApi.MapApprovalsApi(app); // four-eyes workflow for officers (docs/access.md §7)
        app.MapRazorPages();
        mapExtra?.Invoke(app);
        return app;
    }

    /// <summary>
    /// The status-code page's message for an empty 400 after the antiforgery check of a form failed (the form's <c>__csrf</c>
    /// token missing, stale or not this listener's; <see cref="Web.AntiforgeryFailureMarker"/>).
    /// </summary>
    public const string AntiforgeryMessage = "The request was not accepted: a form needs its page's token (reload the page and send it again).";

    /// <summary>The status-code page's message for any other empty 400: nothing is claimed about its cause.</summary>
    public const string BadRequestMessage = "The request was not accepted: it is malformed.";

    private static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase + "." : "Error.";
}
