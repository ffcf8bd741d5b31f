using System.CommandLine;
using Custodian.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// The <c>custodian</c> command line. Exit codes: 0 success; 1 usage error (unknown verb or
/// option, reported by System.CommandLine); 2 the operation failed (one-line message on stderr);
/// 3 verification found a problem (<c>ledger verify</c>, <c>import</c> with rejected rows, <c>audit-storage</c> findings).
/// </summary>
public static class CustodianCli
{
    /// <summary>
    /// Shared <c>--data</c> option: default <c>$CUSTODIAN_DATA</c> when set and not empty, else <c>custodian-data</c>.
    /// An empty or blank value is a parse error in every verb (exit 1, <c>error: --data must not be empty</c>).
    /// </summary>
    internal static Option<string> DataOption { get; } = new Option<string>("--data", "-d")
    {
        Description = "Data directory (database, keys, CA).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CUSTODIAN_DATA") is { Length: > 0 } d ? d : "custodian-data",
        Recursive = true,
    }.NotEmpty().NotBlankInEnvironment("CUSTODIAN_DATA", "the data directory, or unset it for ./custodian-data");

    /// <summary>
    /// The <c>--data</c> description for this run's help, beside the default in effect that help shows after it
    /// (<c>[default: …]</c>): where that default comes from, read from the environment as the default itself is.
    /// </summary>
    internal static string DataDescription() =>
        Environment.GetEnvironmentVariable("CUSTODIAN_DATA") is { Length: > 0 }
            ? "Data directory (database, keys, CA). The default comes from $CUSTODIAN_DATA."
            : "Data directory (database, keys, CA). Set $CUSTODIAN_DATA for another default.";

    /// <summary>Runs the command line.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (Console.IsOutputRedirected)
        {
            // Piped or captured output: do not wrap lines (paths, codes and fingerprints must stay whole).
            AnsiConsole.Console.Profile.Width = 1000;
        }

        var root = new RootCommand("Custodian: guards a carrier's subscriber database as store staff use it.")
        {
            DataOption,
            ServeCommand(),
            InitCommand(),
            DataCommands.Sample(),
            DataCommands.Import(),
            StoreCommands.Stores(), // store areas for the 'away' signal (docs/ledger-format.md §1.1)
            AdminCommands.Terminals(),
            TerminalClientCommands.Terminal(),
            AdminCommands.Staff(),
            AdminCommands.Alerts(),
            AdminCommands.LedgerCommand(),
            ReviewCommands.Review(),
            AdminCommands.Outbox(),
            KeyCommands.Keys(),
            MaskingCommands.Masking(),
            AuditStorageCommand.Create(),
            BackupCommands.Backup(),
            BackupCommands.Restore(),
            Simulation.SimulateCommand.Create(),
            LedgerCheckpointCommands.VerifyReceipt(),
            WitnessCommands.Witness(),
            SiemCommands.Siem(),
            Portal.PortalCommands.Notices(), // subscriber portal (src/Custodian/Portal)
            Portal.PortalCommands.Portal(),
            IncidentCommands.Incident(),
            CaCommands.Ca(), // device CA rotation (docs/access.md)
            ApprovalCommands.Approvals(), // four eyes for privileged actions (docs/access.md §7)
            Monitoring.MonitorCommands.Monitor(),
            Monitoring.MonitorCommands.Evaluate(),
            Monitoring.Workers.MonitorWorkerCommand.Create(), // sharded monitor workers (docs/events.md, "Monitor workers")
        };
        DataOption.Description = DataDescription(); // help states one default, the one in effect (not "./custodian-data or $CUSTODIAN_DATA")
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One plain line for the first problem rather than the parser's own multi-line text; --help shows usage.
            Console.Error.WriteLine("error: " + CliParseErrors.Describe(parse));
            return 1;
        }

        // Ctrl-C / SIGTERM cancel the verb's token and the verb ends in order (exit 130 / 143); see CliInterruption.
        using var interruption = CliInterruption.Listen();
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, interruption.Token);
    }

    /// <summary>
    /// A new <c>--lock-timeout SECONDS</c> option for a verb that takes the keyring lock (<c>keys/keyring.lock</c>) around its
    /// work or its changes: <c>backup</c>, <c>ca rotate</c>, <c>ca finish-rotation</c>, <c>keys rotate</c>, <c>keys reencrypt</c>
    /// (which retires data keys). Whole seconds from 1 to 3,600, default 30
    /// (<see cref="Protection.Keys.ProtectionKeyring.DefaultLockTimeout"/>); another value, or one that is no number, is a
    /// parse error (exit 1, <c>error: --lock-timeout must be a whole number from 1 to 3,600</c>). When the lock is still held
    /// after the wait the verb exits 2 with "the keyring lock ... is still held by another process after N s", nothing changed
    /// (docs/access.md §2.4, docs/storage.md "Backup and restore").
    /// </summary>
    /// <returns>The option; read it with <see cref="LockTimeout"/>.</returns>
    internal static Option<int> LockTimeoutOption() =>
        new Option<int>("--lock-timeout")
        {
            Description = "How long to wait, in seconds, for the keyring lock a backup or a key or CA rotation holds (1–3,600); then give up with exit 2, nothing changed.",
            DefaultValueFactory = _ => (int)Protection.Keys.ProtectionKeyring.DefaultLockTimeout.TotalSeconds,
        }.InRange(1, 3600);

    /// <summary>The wait <paramref name="option"/> (from <see cref="LockTimeoutOption"/>) asks for, in whole seconds.</summary>
    internal static TimeSpan LockTimeout(this ParseResult parse, Option<int> option) => TimeSpan.FromSeconds(parse.GetValue(option));

    /// <summary>
    /// Adds a range check to an integer option. A value out of range and one that is no number get the same line,
    /// e.g. <c>--subscribers must be a whole number from 1 to 20,000,000</c> (<see cref="CliParseErrors.RangeText"/>).
    /// </summary>
    /// <typeparam name="T">The option's integer type (<see cref="int"/> or <see cref="long"/>).</typeparam>
    internal static Option<T> InRange<T>(this Option<T> option, T min, T max)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        CliParseErrors.RememberRange(option, long.CreateChecked(min), long.CreateChecked(max));
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 0 || !T.TryParse(result.Tokens[^1].Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                return;
            }

            if (value < min || value > max)
            {
                result.AddError($"{option.Name} must be {CliParseErrors.RangeText(long.CreateChecked(min), long.CreateChecked(max))}"); // the words of a value that is no number
            }
        });
        return option;
    }

    /// <summary>Wraps an action so that <see cref="CliException"/> becomes exit code 2 with a one-line message.</summary>
    internal static Func<ParseResult, CancellationToken, Task<int>> Guarded(Func<ParseResult, CancellationToken, Task<int>> action) =>
        async (parse, ct) =>
        {
            try
            {
                return await action(parse, ct);
            }
            catch (OperationCanceledException) when (CliInterruption.Interrupted)
            {
                // A verb with its own account of what was kept reports it itself (import); the others stop where they were:
                // every verb writes its files whole or not at all and its ledger entries before it reports success.
                return CliOutput.Fail($"interrupted by {CliInterruption.SignalName}; the operation was stopped before it finished.", CliInterruption.ExitCode);
            }
            catch (CliException ex)
            {
                return CliOutput.Fail(ex.Message, ex.ExitCode);
            }
            catch (Classification.PersonalDataInTextException ex)
            {
                return CliOutput.Fail(ex.Message, CliExitCodes.Usage);
            }
            catch (Exception ex) when (ex is not Storage.StorageUnavailableException && Storage.StorageUnavailableException.IsDamagedSqlite(ex))
            {
                // Found by a query after the connection opened (opening already says so through StorageUnavailableException).
                return CliOutput.Fail(Storage.StorageUnavailableException.DamagedSqliteReason(ex) + ".");
            }
            catch (Exception ex) when (ex is Problems.CustodianException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                // ArgumentException appends " (Parameter 'name')", an internal parameter name, to its message.
                return CliOutput.Fail(ex is ArgumentException { ParamName: { } name } argument
                    ? argument.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal)
                    : ex.Message);
            }
            catch (Ledger.LedgerUnavailableException ex)
            {
                return CliOutput.Fail("the access ledger could not record the action: " + ex.Message);
            }
        };

    private static Command InitCommand()
    {
        var storage = StorageCli.StorageOption();
        var events = EventsCli.EventsOption();
        var command = new Command("init", "Initialise a new data directory (keyring, CA, first security officer, storage record) without starting the server. Refused for an initialised data directory or one a server holds.")
        {
            storage, events,
        };
        command.SetAction(Guarded(async (parse, _) =>
        {
            var data = parse.GetValue(DataOption)!;
            // The settings serve would refuse stop init too, before anything is created: a deployment is not initialised
            // under settings its server will not start with (the listen ports are serve's alone: init listens on none).
            var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
            ServeStartChecks.RefuseUnknownKeys(environment);
            var serveOptions = new CustodianOptions { DataDirectory = data };
            ConfigurationBinding.Bind(environment.GetSection(CustodianOptions.Section), serveOptions);
            StorageCli.ApplyOverride(serveOptions, parse.GetValue(storage));
            EventsCli.ApplyOverride(serveOptions, parse.GetValue(events));
            ServeStartChecks.CheckSettings(serveOptions, environment);
            await using (await CliContext.InitialiseAsync(data, parse.GetValue(storage), parse.GetValue(events)))
            {
            }

            AnsiConsole.MarkupLine($"Initialised {Markup.Escape(DataPaths.For(data).Root)}.");
            return 0;
        }));
        return command;
    }

    private static Command ServeCommand()
    {
        var listen = new Option<string>("--listen") { Description = "IP address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        var terminalPort = new Option<int>("--terminal-port") { Description = "Port of the sales-terminal API (mutual TLS).", DefaultValueFactory = _ => 7443 };
        var portalPort = new Option<int>("--portal-port") { Description = "Port of the subscriber portal.", DefaultValueFactory = _ => 7444 };
        terminalPort.InRange(0, 65_535); // 0: any free port
        portalPort.InRange(0, 65_535);
        listen.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && !System.Net.IPAddress.TryParse(result.Tokens[^1].Value, out _))
            {
                result.AddError("--listen must be an IP address, e.g. 127.0.0.1 or 0.0.0.0.");
            }
        });
        var storage = StorageCli.StorageOption();
        var events = EventsCli.EventsOption();
        var command = new Command("serve", "Run the server: sales-terminal API (mTLS) and subscriber portal, with the access monitor.")
        {
            listen, terminalPort, portalPort, storage,
        };
        command.Options.Add(events); // --events nats://host:port (docs/events.md)
        var monitor = new Option<string?>("--monitor") { Description = "Where the access monitor runs: 'embedded' (default, in this process) or 'workers' (custodian monitor-worker processes; needs --events nats://...). Default: $Custodian__JetStream__Monitor." };
        monitor.AcceptOnlyFromAmong("embedded", "workers");
        command.Options.Add(monitor); // sharded monitor workers (docs/events.md, "Monitor workers")
        command.SetAction(Guarded(async (parse, ct) =>
        {
            var options = new CustodianOptions
            {
                DataDirectory = parse.GetValue(DataOption)!,
                ListenAddress = parse.GetValue(listen)!,
                TerminalPort = parse.GetValue(terminalPort),
                PortalPort = parse.GetValue(portalPort),
            };
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
            ServeStartChecks.RefuseUnknownKeys(configuration); // a misspelt Custodian__* name stops here, named with the nearest valid one
            ConfigurationBinding.Bind(configuration.GetSection(CustodianOptions.Section), options);
            StorageCli.ApplyOverride(options, parse.GetValue(storage)); // --storage wins over Custodian__Storage (docs/storage.md)
            EventsCli.ApplyOverride(options, parse.GetValue(events)); // --events wins over Custodian__Events (docs/events.md)
            if (parse.GetValue(monitor) is { } monitorMode)
            {
                options.JetStream.Monitor = monitorMode; // --monitor wins over Custodian__JetStream__Monitor
                if (options.JetStream.UsesWorkers && !Events.EventsComposition.IsJetStream(options))
                {
                    // Custodian__JetStream__Monitor is refused with the embedded log by RefuseSettingsNotRead; the option is refused here,
                    // before anything is created, rather than ignored (the embedded log runs its monitor in this process).
                    throw new CliException("--monitor workers needs the JetStream event log (serve --events nats://host:port, or Custodian__Events); "
                        + "this server uses the embedded event log, whose monitor runs in this process (docs/events.md, \"Monitor workers\").");
                }
            }

            ServeStartChecks.CheckSettings(options, configuration); // the server is built below with BuildAfterStartChecks, which does not repeat them
            ServeStartChecks.CheckListenEndpoints(options); // a port in use stops here, before keys are made and credentials printed
            var paths = DataPaths.For(options.DataDirectory);
            if (paths.CheckAccess() is { } problem)
            {
                throw new CliException(problem);
            }

            ServeStartChecks.CheckKeyFiles(paths); // a key file readable by group or others stops here, named with the chmod that fixes it
            StorageCli.CheckRecorded(paths, options); // a data directory of another storage backend stops here (docs/storage.md)
            EventsCli.CheckRecorded(paths, options); // so does one whose deployment records another event log (docs/events.md)
            await StorageCli.CheckAvailableAsync(options, ct); // a configured PostgreSQL that is unreachable or refuses us stops here, in one line
            await EventsCli.CheckAvailableAsync(options, ct); // so does a configured NATS server that is unreachable or has no JetStream (docs/events.md)
            var firstStart = FirstStart.Begin(paths); // a failed first start leaves nothing behind (docs/storage.md)
            paths.EnsureCreated();
            // Held for the server's lifetime: two servers on one data directory would each run a monitor and cache state
            // the other changes. Refused, not rolled back: what is there belongs to the server holding the lock.
            await using var lockHeld = paths.TryHoldServerLock() ?? throw new CliException(paths.HeldByAnother + ".");
            var built = CustodianServer.BuildAfterStartChecks(options, TimeProvider.System); // RefuseSettingsNotRead ran above
            Access.Staff.NewAccount? officer;
            SharedServerLock? onDatabase = null;
            try
            {
                // PostgreSQL: every data directory of the deployment sees that a server runs on the database ('masking
                // adopt' is refused until it stops; docs/storage.md, "A server runs on the database").
                onDatabase = await DatabaseServerLock.HoldSharedAsync(built.Services.GetRequiredService<Storage.CustodianDatabase>(), ct);
                officer = await CustodianComposition.InitialiseAsync(built.Services, ct);
            }
            catch
            {
                if (onDatabase is not null)
                {
                    await onDatabase.DisposeAsync();
                }

                await built.DisposeAsync();
                firstStart.RollBack();
                throw;
            }

            await using var app = built;
            await using var serverOnDatabase = onDatabase; // released before the database's pool is disposed with the app
            if (officer is not null)
            {
                CliOutput.PrintOfficer(officer);
            }

            try
            {
                await app.StartAsync(ct);
            }
            catch (IOException ex)
            {
                throw new CliException($"cannot listen on {options.ListenAddress}:{options.TerminalPort}/{options.PortalPort}: {ex.Message}");
            }

            // PostgreSQL: the lock ends with its session; checked every Custodian:ServerLockCheckSeconds and taken again, or the
            // server stops when a verb took it meanwhile (docs/storage.md, "A server runs on the database").
            serverOnDatabase?.Watch(
                app.Services.GetRequiredService<TimeProvider>(),
                TimeSpan.FromSeconds(options.ServerLockCheckSeconds),
                app.Services.GetRequiredService<IHostApplicationLifetime>(),
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<SharedServerLock>());
            var endpoints = app.Services.GetRequiredService<ServerEndpoints>();
            var ca = app.Services.GetRequiredService<Access.Certificates.CertificateAuthority>();
            await CliFiles.WritePrivateTextAsync(paths.TerminalUrl, endpoints.TerminalUrl.ToString().TrimEnd('/') + "\n", ct); // for 'terminals enroll'
            Console.WriteLine($"Custodian is running. Terminal API: {endpoints.TerminalUrl}  Portal: {endpoints.PortalUrl}");
            Console.WriteLine($"Data: {DataPaths.For(options.DataDirectory).Root}");
            Console.WriteLine($"CA SHA-256: {ca.ServerIssuerSha256Fingerprint}");
            Console.WriteLine($"Ledger key: {app.Services.GetRequiredService<Ledger.Checkpoints.LedgerCheckpoints>().LogKey}");
            Console.WriteLine("Press Ctrl+C to stop.");
            await app.WaitForShutdownAsync(ct);
            if (serverOnDatabase is { LostToVerb: true })
            {
                throw new CliException("the server stopped: its PostgreSQL session was lost and a verb that must not run beside a server "
                    + "(masking adopt) took the deployment's server lock meanwhile (log event 5701; docs/storage.md, \"A server runs on the database\").");
            }

            return 0;
        }));
        return command;
    }
}
