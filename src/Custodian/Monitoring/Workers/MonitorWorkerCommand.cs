using System.CommandLine;
using System.Globalization;
using System.Text;
using Custodian.Cli;
using Custodian.Events;
using Custodian.Hosting;
using Custodian.Ledger;

namespace Custodian.Monitoring.Workers;

/// <summary>
/// <c>custodian monitor-worker [--data DIR] [--events nats://host:port] [--worker-id ID] [--lease-seconds N]</c>: runs one
/// sharded monitor worker (<see cref="MonitorWorker"/>; docs/events.md, "Monitor workers") until SIGINT/SIGTERM. Storage
/// and the event log come from the same settings as <c>serve</c> (<c>Custodian__Storage</c>, <c>Custodian__Events</c>,
/// <c>Custodian__JetStream__*</c>); the event log must be JetStream. Exit codes: 0 after a clean stop; 2 with one line
/// when the settings are invalid, the event log is embedded, a dependency is unreachable, or a running worker holds the
/// same <c>--worker-id</c> (found after one lease of waiting, <see cref="MonitorWorker.RunAsync"/>).
/// </summary>
public static class MonitorWorkerCommand
{
    /// <summary>The <c>monitor-worker</c> verb.</summary>
    /// <returns>The command.</returns>
    public static Command Create()
    {
        var events = EventsCli.EventsOption();
        var workerId = new Option<string?>("--worker-id")
        {
            Description = "This worker's identifier, unique among live workers: 1-64 of A-Z a-z 0-9 _ -. Default: <host>-<process id>.",
        };
        workerId.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && !MonitorWorker.IsValidId(result.Tokens[^1].Value))
            {
                result.AddError("--worker-id must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'.");
            }
        });
        var lease = new Option<int?>("--lease-seconds")
        {
            Description = "Membership lease in seconds (2-300): a worker silent this long loses its partitions. Default: $Custodian__JetStream__WorkerLeaseSeconds or 10.",
        };
        lease.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && (!int.TryParse(result.Tokens[^1].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v is < 2 or > 300))
            {
                result.AddError("--lease-seconds must be between 2 and 300.");
            }
        });
        var command = new Command("monitor-worker", "Run a sharded access-monitor worker on the JetStream event log (docs/events.md, \"Monitor workers\").")
        {
            events, workerId, lease,
        };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var options = new CustodianOptions { DataDirectory = parse.GetValue(CustodianCli.DataOption)! };
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
            ConfigurationBinding.Bind(configuration.GetSection(CustodianOptions.Section), options);
            EventsCli.ApplyOverride(options, parse.GetValue(events));
            if (parse.GetValue(lease) is { } seconds)
            {
                options.JetStream.WorkerLeaseSeconds = seconds;
            }

            var failures = CustodianOptionsValidator.ValidateAll(options);
            if (failures.Count > 0)
            {
                throw new CliException("invalid configuration: " + string.Join(" ", failures));
            }

            var settings = EventsComposition.Resolve(options).Value!;
            if (!settings.IsJetStream)
            {
                throw new CliException("monitor-worker needs the JetStream event log: pass --events nats://host:port or set Custodian__Events (docs/events.md).");
            }

            var paths = DataPaths.For(options.DataDirectory);
            if (paths.CheckAccess() is { } problem)
            {
                throw new CliException(problem);
            }

            if (!StorageCli.IsInitialised(paths))
            {
                throw new CliException($"No Custodian data directory at {paths.Root}: run 'custodian init' or 'custodian serve' first (or pass --data).");
            }

            StorageCli.CheckRecorded(paths, options);
            EventsCli.CheckRecorded(paths, options); // another stream or subject prefix than the deployment's (docs/events.md)

            await StorageCli.CheckAvailableAsync(options, ct);
            await EventsCli.CheckAvailableAsync(options, ct);
            var id = parse.GetValue(workerId) ?? DefaultId();
            var services = new ServiceCollection();
            services.AddLogging(l => l.AddSimpleConsole(c => c.SingleLine = true).AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Information));
            services.AddCustodianCore(options, TimeProvider.System);
            await using var provider = services.BuildServiceProvider();
            await CustodianComposition.InitialiseAsync(provider, enforceMaskingPolicy: false, ct);
            var worker = Create(provider, settings, id);
            Console.WriteLine($"Monitor worker {id} running on {settings.Display}, stream {settings.JetStream.Stream}, lease {settings.JetStream.WorkerLeaseSeconds} s. Press Ctrl+C to stop.");
            await worker.RunAsync(ct);
            return 0;
        }));
        return command;
    }

    /// <summary>Composes a worker from the core services (storage, the JetStream ledger, alerts, suspensions, limits, detection settings).</summary>
    /// <param name="services">Services composed by <see cref="CustodianComposition.AddCustodianCore"/> and initialised.</param>
    /// <param name="settings">The JetStream settings.</param>
    /// <param name="workerId">The worker's identifier.</param>
    /// <returns>The worker, not yet running.</returns>
    public static MonitorWorker Create(IServiceProvider services, EventsSettings settings, string workerId)
    {
        ArgumentNullException.ThrowIfNull(services);
        var time = services.GetRequiredService<TimeProvider>();
        return new MonitorWorker(
            settings,
            workerId,
            new PartitionProgressStore(services.GetRequiredService<Custodian.Storage.CustodianDatabase>(), time),
            services.GetRequiredService<IAccessLedger>(),
            services.GetRequiredService<IAccessLedgerReader>(),
            services.GetRequiredService<AlertStore>(),
            services.GetRequiredService<SuspensionRegistry>(),
            () => Approvals.QuotaRaises.Honour(new DistinctSubjectsDetector(services.GetRequiredService<MonitorOptions>()), services),
            () => Approvals.DetectorSwitches.Honour(Detection.MonitorEngine.CreateDefault(services.GetRequiredService<Detection.DetectionOptions>()), services), // as the embedded monitor's engine, with officers' switches
            time,
            services.GetRequiredService<ILogger<MonitorWorker>>());
    }

    private static string DefaultId()
    {
        var host = new StringBuilder();
        foreach (var c in Environment.MachineName)
        {
            host.Append(c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-' ? c : '-');
        }

        var id = string.Create(CultureInfo.InvariantCulture, $"{host}-{Environment.ProcessId}");
        return id.Length <= 64 ? id : id[^64..];
    }
}
