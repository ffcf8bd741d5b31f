using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Custodian.Cli;
using Custodian.Hosting;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Spectre.Console;

namespace Custodian.Simulation;

/// <summary>
/// <c>custodian simulate</c>. Without <c>--server</c> it starts its own server in process, on
/// 127.0.0.1 with ephemeral ports and real TLS, over a fresh data directory, and runs the day in
/// simulated time (a 10-hour day takes seconds). With <c>--server</c> it drives a live server in
/// real time; <c>--data</c> must then be that server's data directory (for enrollment codes, staff
/// accounts and the SMS outbox) and <c>--subscribers-file</c> the CSV that was imported.
/// </summary>
public static class SimulateCommand
{
    /// <summary>Creates the verb.</summary>
    public static Command Create()
    {
        var server = new Option<string?>("--server") { Description = "Drive this live server in real time instead of an in-process one in simulated time." };
        var subscribersFile = new Option<FileInfo?>("--subscribers-file") { Description = "CSV of the imported subscribers (phones are drawn from it). Required with --server; refused without it." };
        var staffFile = new Option<FileInfo?>("--staff") { Description = "staff.csv from 'custodian sample --clerks' (default: --clerks spread over --stores). Every bad line is reported (exit 3, nothing simulated)." };
        var minutes = new Option<int>("--minutes") { Description = "Length of the day in (simulated) minutes, 1–1440.", DefaultValueFactory = _ => 600 };
        var stores = new Option<int>("--stores") { Description = "Stores, 1–500.", DefaultValueFactory = _ => 4 };
        var clerks = new Option<int>("--clerks") { Description = "Clerks, 1–2000.", DefaultValueFactory = _ => 12 };
        var subscribers = new Option<int>("--subscribers") { Description = "Subscribers generated for an in-process run, 100–1,000,000.", DefaultValueFactory = _ => 5000 };
        var attack = new Option<string?>("--attack") { Description = "Blend in an attack through a real clerk login and terminal: scraper (one random record per query) or enumerator (near-sequential phone numbers from one subscriber's onward, one per query)." };
        attack.AcceptOnlyFromAmong([.. SimulationOptions.Attacks]);
        var interval = new Option<double>("--scraper-interval") { Description = "Mean seconds between the scraper's lookups (±30 % jitter), 1–3600.", DefaultValueFactory = _ => 60 };
        var scraperStart = new Option<int>("--scraper-start") { Description = "Minutes into the day when the scraper starts, 0–1440.", DefaultValueFactory = _ => 30 };
        scraperStart.InRange(0, 1440);
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1 };
        var expect = new Option<bool>("--expect-containment") { Description = "Exit 4 unless the attacker was suspended and no normal clerk was." };
        minutes.InRange(1, 1440);
        stores.InRange(1, 500);
        clerks.InRange(1, 2000);
        subscribers.InRange(100, 1_000_000);
        interval.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && double.TryParse(r.Tokens[^1].Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v is < 1 or > 3600)
            {
                r.AddError("--scraper-interval must be between 1 and 3600 seconds.");
            }
        });

        var command = new Command("simulate", "Drive the server over HTTPS with enrolled terminals: a store day of clerk traffic, optionally with an attack.")
        {
            server, subscribersFile, staffFile, minutes, stores, clerks, subscribers, attack, interval, scraperStart, seed, expect,
        };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var options = new SimulationOptions
            {
                Minutes = parse.GetValue(minutes),
                Stores = parse.GetValue(stores),
                Clerks = parse.GetValue(clerks),
                Subscribers = parse.GetValue(subscribers),
                Attack = parse.GetValue(attack),
                ScraperIntervalSeconds = parse.GetValue(interval),
                ScraperStartMinute = parse.GetValue(scraperStart),
                Seed = parse.GetValue(seed),
            };
            if (options.Attack is not null && options.ScraperStartMinute >= options.Minutes)
            {
                throw CliException.Usage($"--scraper-start ({options.ScraperStartMinute}) must be before the end of the day (--minutes {options.Minutes}).");
            }

            if (parse.GetValue(subscribersFile) is not null && parse.GetValue(server) is null)
            {
                throw CliException.Usage("--subscribers-file is used only with --server (the in-process simulation makes its own subscribers).");
            }

            if (parse.GetValue(expect) && options.Attack is null)
            {
                throw CliException.Usage("--expect-containment needs an --attack to contain.");
            }

            IReadOnlyList<StaffPlan>? staff = null;
            if (parse.GetValue(staffFile) is { } requested)
            {
                var sf = CliFiles.InputFile(requested, "--staff");
                IReadOnlyList<StaffPlanError> errors;
                using (var reader = sf.OpenText())
                {
                    (staff, errors) = StaffPlan.Read(reader);
                }

                if (errors.Count > 0)
                {
                    // Every bad line, as import reports them (line, field, rule; never the value), then one summary line.
                    foreach (var error in errors)
                    {
                        Console.Error.WriteLine($"{sf.Name}: {error}");
                    }

                    var bad = errors.Select(e => e.Line).Distinct().Count();
                    throw new CliException($"{sf.Name}: {CliText.Count(bad, "bad row")}; nothing was simulated.", CliExitCodes.RowsRefused);
                }
            }

            SimulationReport report;
            if (parse.GetValue(server) is { } serverText)
            {
                var file = CliFiles.InputFile(parse.GetValue(subscribersFile) ?? throw CliException.Usage("--subscribers-file is required with --server."), "--subscribers-file");
                var url = CliArguments.HttpsUrl(serverText, "--server");
                report = await WithProgressAsync(options.Minutes, (progress, provisioning) => RunLiveAsync(options, url, parse.GetValue(CustodianCli.DataOption)!, file, staff, progress, provisioning, ct));
            }
            else
            {
                report = await WithProgressAsync(options.Minutes, (progress, provisioning) => RunInProcessAsync(options, staff, progress, provisioning, ct));
            }

            Print(report);
            if (parse.GetValue(expect) && (!report.AttackerSuspended || report.FalselySuspendedClerks.Count > 0))
            {
                Console.Error.WriteLine("error: containment expected but " + (report.AttackerSuspended ? "a normal clerk was suspended" : "the attacker was not suspended"));
                return 4;
            }

            return 0;
        }));
        return command;
    }

    /// <summary>
    /// Runs a day against an in-process server in simulated time over a fresh temporary data
    /// directory (deleted afterwards). Staff passwords use 10,000 PBKDF2 iterations here instead
    /// of the production 600,000, so that provisioning hundreds of simulated clerks stays quick.
    /// </summary>
    /// <param name="options">The day.</param>
    /// <param name="staff">Clerks, or null to spread <see cref="SimulationOptions.Clerks"/> over the stores.</param>
    /// <param name="progress">Receives (what is happening, simulated minutes done); may be null.</param>
    /// <param name="provisioning">Receives (steps done, steps in all) while terminals are enrolled and clerks signed in (<see cref="StoreDaySimulation.Provisioning"/>); may be null.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    public static async Task<SimulationReport> RunInProcessAsync(SimulationOptions options, IReadOnlyList<StaffPlan>? staff, Action<string, double>? progress, Action<int, int>? provisioning, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("custodian-sim-");
        try
        {
            var today = TimeProvider.System.GetUtcNow().UtcDateTime.Date;
            var time = new FakeTimeProvider(new DateTimeOffset(today, TimeSpan.Zero)); // 09:00 in Korea
            time.AutoAdvanceAmount = TimeSpan.Zero;
            var serverOptions = new CustodianOptions
            {
                DataDirectory = directory.FullName,
                TerminalPort = 0,
                PortalPort = 0,
                PasswordIterations = 10_000,
            };
            await using var app = CustodianServer.Build(serverOptions, time, configureLogging: l => l.SetMinimumLevel(LogLevel.Critical));
            await CustodianComposition.InitialiseAsync(app.Services, cancellationToken);
            await app.StartAsync(cancellationToken);

            progress?.Invoke($"Importing {options.Subscribers:N0} synthetic subscribers", 0);
            var population = new SampleGenerator().Generate(options.Subscribers, options.Stores, options.Seed, DateOnly.FromDateTime(today)).ToList();
            var csv = new StringWriter();
            SampleGenerator.WriteCsv(csv, population);
            var report = await app.Services.GetRequiredService<SubscriberImporter>().ImportAsync(new StringReader(csv.ToString()), ImportMode.AllOrNothing, null, cancellationToken);
            if (report.Errors.Count > 0)
            {
                throw new InvalidOperationException($"The synthetic population did not import: line {report.Errors[0].Line} {report.Errors[0].Field} {report.Errors[0].Rule}");
            }

            var ca = app.Services.GetRequiredService<Access.Certificates.CertificateAuthority>().Certificate;
            var simulation = new StoreDaySimulation(
                options,
                new SimulatedClock(time),
                app.Services.GetRequiredService<ServerEndpoints>().TerminalUrl,
                ca,
                app.Services,
                population.Select(p => p.Phone).ToList(),
                staff ?? StaffPlan.Spread(options.Clerks, options.Stores));
            if (progress is not null)
            {
                simulation.Progress += progress;
            }

            if (provisioning is not null)
            {
                simulation.Provisioning += provisioning;
            }

            var result = await simulation.RunAsync(cancellationToken);
            await app.StopAsync(cancellationToken);
            return result;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                directory.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp directory left behind holds only ciphertext and synthetic data.
            }
        }
    }

    private static async Task<SimulationReport> RunLiveAsync(SimulationOptions options, Uri url, string data, FileInfo subscribersFile, IReadOnlyList<StaffPlan>? staff, Action<string, double> progress, Action<int, int> provisioning, CancellationToken cancellationToken)
    {
        var phones = ReadPhones(subscribersFile);
        await using var context = await CliContext.OpenAsync(data);
        var ca = context.Get<Access.Certificates.CertificateAuthority>().Certificate;
        var simulation = new StoreDaySimulation(options, new RealClock(TimeProvider.System), url, new X509Certificate2(ca), context.Services, phones, staff ?? StaffPlan.Spread(options.Clerks, options.Stores));
        simulation.Progress += progress;
        simulation.Provisioning += provisioning;
        try
        {
            return await simulation.RunAsync(cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new CliException(Cli.CliText.Unreachable(url, ex, "is --data the data directory of the server at --server? The run trusts only its CA"));
        }
    }

    /// <summary>
    /// Runs <paramref name="run"/> under two progress bars: enrolment (one step per terminal enrolled and per clerk signed in,
    /// <see cref="StoreDaySimulation.Provisioning"/>), which against a live server takes real time, and the store day in
    /// simulated minutes (in process it first shows the import of the synthetic population).
    /// </summary>
    private static async Task<SimulationReport> WithProgressAsync(int minutes, Func<Action<string, double>, Action<int, int>, Task<SimulationReport>> run)
    {
        SimulationReport? report = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var day = context.AddTask("Store day", autoStart: false, maxValue: minutes);
                ProgressTask? enrolment = null;
                report = await run(
                    (message, done) =>
                    {
                        if (!day.IsStarted)
                        {
                            day.StartTask();
                        }

                        day.Description = Markup.Escape(message);
                        day.Value = Math.Min(done, minutes);
                    },
                    (done, total) =>
                    {
                        enrolment ??= context.AddTask(Markup.Escape($"Enrolling {total / 2} terminals and signing in {total / 2} clerks"), maxValue: Math.Max(1, total));
                        enrolment.Value = done;
                    });
                day.Value = minutes;
            });
        return report!;
    }

    private static List<string> ReadPhones(FileInfo file)
    {
        using var reader = new StreamReader(file.FullName, Encoding.UTF8);
        var header = reader.ReadLine()?.Split(',') ?? [];
        var column = Array.IndexOf(header, "phone");
        if (column < 0)
        {
            throw new CliException($"{file.Name}: line 1: no 'phone' column.", CliExitCodes.RowsRefused);
        }

        var phones = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            // Sample files quote no field before the phone column; a quoted name would still split right.
            var parts = line.Split(',');
            if (parts.Length > column)
            {
                phones.Add(parts[column].Trim('"'));
            }
        }

        return phones.Count > 0 ? phones : throw new CliException($"{file.Name}: no subscribers.", CliExitCodes.RowsRefused);
    }

    private static void Print(SimulationReport report)
    {
        var table = new Table().AddColumns("measure", "value");
        table.AddRow("lookups served", report.LookupsServed.ToString("N0"));
        table.AddRow("alerts raised", report.Alerts.ToString("N0"));
        table.AddRow("normal clerks suspended", report.FalselySuspendedClerks.Count.ToString("N0"));
        table.AddRow("sign-ins after idle timeout", report.SessionRenewals.ToString("N0"));
        table.AddRow("refusals", Markup.Escape(report.Refusals.Count == 0 ? "none" : string.Join(", ", report.Refusals.Select(r => $"{r.Key} {r.Value}"))));
        if (report.AttackRan)
        {
            table.AddRow("attacker requests", report.AttackerRequests.ToString("N0"));
            table.AddRow("attacker suspended", report.AttackerSuspended ? "yes" : "[red]NO[/]");
            table.AddRow("records obtained (masked)", report.AttackerRecordsMasked.ToString("N0"));
            table.AddRow("records obtained (unmasked)", report.AttackerRecordsUnmasked.ToString("N0"));
            table.AddRow("time to suspension", report.TimeToSuspension is { } t ? $"{t.TotalMinutes:0.0} min" : "-");
        }

        AnsiConsole.Write(table);
    }
}
