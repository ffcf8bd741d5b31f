using System.CommandLine;
using System.Globalization;
using System.Text;
using Custodian.Cli;
using Custodian.Monitoring.Detection;
using Custodian.Monitoring.Evaluation;
using Custodian.Monitoring.Replay;
using Spectre.Console;

namespace Custodian.Monitoring;

/// <summary>
/// <c>custodian monitor replay FILE</c> (backtest the detectors on a recorded access log; no data directory or
/// subscriber database needed) and <c>custodian evaluate</c> (the scenario matrix and its markdown report).
/// </summary>
public static class MonitorCommands
{
    /// <summary>Bad rows of a replay file reported one by one, as <c>import</c> does; the rest are counted in one line.</summary>
    private const int MaxReportedErrors = 200;

    /// <summary>The <c>monitor</c> verb with <c>replay</c>.</summary>
    public static Command Monitor()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "Access log as JSON lines (.jsonl, .json, .ndjson) or CSV (.csv) of ledger-shaped entries; format in docs/monitoring.md." };
        var format = new Option<string?>("--format") { Description = "jsonl or csv (default: from the file extension)." };
        format.AcceptOnlyFromAmong("jsonl", "csv");
        var skip = new Option<bool>("--skip-bad-rows") { Description = "Replay the good rows even when some are bad (each bad row is still reported)." };
        var replay = new Command("replay", "Run the detectors over a recorded access log at simulated speed and report the alerts and suspensions that would have fired, and when.")
        {
            file, format, skip,
        };
        replay.SetAction(CustodianCli.Guarded((parse, ct) =>
        {
            var path = CliFiles.InputFile(parse.GetValue(file)!, "<FILE>");

            var json = parse.GetValue(format) switch
            {
                "jsonl" => true,
                "csv" => false,
                _ when path.Extension is ".jsonl" or ".json" or ".ndjson" => true,
                _ when path.Extension == ".csv" => false,
                _ => throw CliException.Usage("cannot tell the format from the file extension; give --format jsonl or --format csv."),
            };
            using var reader = new StreamReader(path.FullName, Encoding.UTF8);
            var (rows, errors) = ReplayFile.Read(reader, json, ct); // Ctrl-C / SIGTERM: stops at the next line or row (exit 130 / 143)
            if (json && rows.Count == 0 && errors.Count > 0 && IsNotAnAccessEntry(errors[0]))
            {
                // No line is a replay row and the first is not even shaped like one (members of another format, say
                // OCSF events): one line says so instead of a refusal per line. Still rows refused (exit 3).
                Console.Error.WriteLine($"{path.Name}: not a replay log: line {errors[0].Line}: {errors[0].Message}. The format is in docs/monitoring.md, \"Replay file format\"; nothing replayed.");
                return Task.FromResult(CliExitCodes.RowsRefused);
            }

            if (errors is [{ FileLevel: true } fileError])
            {
                // The header or the whole file is wrong: one line, not counted as a bad row. Still refused (exit 3).
                Console.Error.WriteLine(fileError.Line > 0
                    ? $"{path.Name}: line {fileError.Line}: {fileError.Message}; nothing replayed."
                    : $"{path.Name}: {fileError.Message}; nothing replayed.");
                return Task.FromResult(CliExitCodes.RowsRefused);
            }

            foreach (var e in errors.Take(MaxReportedErrors))
            {
                Console.Error.WriteLine($"{path.Name}: line {e.Line}: {e.Message}");
            }

            if (errors.Count > MaxReportedErrors)
            {
                Console.Error.WriteLine($"... and {CliText.Count(errors.Count - MaxReportedErrors, "more problem")}"); // as 'import'
            }

            if (errors.Count > 0 && !parse.GetValue(skip))
            {
                var hint = rows.Count switch
                {
                    0 => "no good rows either",
                    1 => "use --skip-bad-rows to replay the good one",
                    _ => "use --skip-bad-rows to replay the " + CliText.Count(rows.Count, "good one"),
                };
                Console.Error.WriteLine($"{CliText.Count(errors.Count, "bad row")}; nothing replayed ({hint}).");
                return Task.FromResult(CliExitCodes.RowsRefused);
            }

            var outcome = ReplayRunner.Run(rows, cancellationToken: ct);
            Console.Out.Write(Render(outcome));
            return Task.FromResult(errors.Count > 0 ? CliExitCodes.RowsRefused : CliExitCodes.Ok);
        }));
        return new Command("monitor", "The real-time monitor's offline tools.") { replay };
    }

    /// <summary>The <c>evaluate</c> verb.</summary>
    public static Command Evaluate()
    {
        var scenarios = new Option<string[]>("--scenario") { Description = "Scenarios to run (repeatable): " + string.Join(", ", Scenarios.All.Select(s => s.ToName())) + ". Default: all.", AllowMultipleArgumentsPerToken = true };
        var days = new Option<int>("--days") { Description = "Simulated days, 1–60.", DefaultValueFactory = _ => 30 };
        var clerks = new Option<int>("--clerks") { Description = "Clerks, 6–5000 (plus one manager per store).", DefaultValueFactory = _ => 300 };
        var perStore = new Option<int>("--clerks-per-store") { Description = "Clerks per store, 2–50.", DefaultValueFactory = _ => 6 };
        var subscribers = new Option<int>("--subscribers") { Description = "Subscribers, 1000–10,000,000.", DefaultValueFactory = _ => 2_000_000 };
        var attackDay = new Option<int>("--attack-day") { Description = "Day the attacks start (0-based), before --days.", DefaultValueFactory = _ => 10 };
        var interval = new Option<int>("--scraper-interval") { Description = "Mean seconds between the KT-2012 scraper's records, 1–3600.", DefaultValueFactory = _ => 60 };
        var slow = new Option<int>("--slow-per-day") { Description = "Extra records a day of the slow scraper, 1–50.", DefaultValueFactory = _ => 5 };
        var seeds = new Option<int[]>("--seed") { Description = "Seeds (repeatable); each scenario runs once per seed. Default: 1.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<FileInfo?>("--out") { Description = "Write the markdown report here (default: stdout)." };
        var check = new Option<bool>("--check") { Description = "Exit 3 when a target is missed." };
        days.InRange(1, 60);
        clerks.InRange(6, 5000);
        perStore.InRange(2, 50);
        subscribers.InRange(1000, 10_000_000);
        attackDay.InRange(0, 59);
        interval.InRange(1, 3600);
        slow.InRange(1, 50);
        var command = new Command("evaluate", "Run the monitor's scenario matrix on simulated workloads (in process, simulated time) and write the evaluation report.")
        {
            scenarios, days, clerks, perStore, subscribers, attackDay, interval, slow, seeds, output, check,
        };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var chosen = new List<Scenario>();
            foreach (var name in parse.GetValue(scenarios) ?? [])
            {
                chosen.Add(Scenarios.TryParse(name, out var s) ? s : throw CliException.Usage($"--scenario must be one of {string.Join(", ", Scenarios.All.Select(x => x.ToName()))}."));
            }

            if (chosen.Count == 0)
            {
                chosen.AddRange(Scenarios.All);
            }

            var options = new WorkloadOptions
            {
                Days = parse.GetValue(days),
                Clerks = parse.GetValue(clerks),
                ClerksPerStore = parse.GetValue(perStore),
                Subscribers = parse.GetValue(subscribers),
                AttackDay = parse.GetValue(attackDay),
                ScraperIntervalSeconds = parse.GetValue(interval),
                SlowScraperPerDay = parse.GetValue(slow),
            };
            if (options.AttackDay >= options.Days)
            {
                throw CliException.Usage($"--attack-day ({options.AttackDay}) must be before --days ({options.Days}).");
            }

            // The matrix takes minutes: refuse an --out that cannot be written before running it, not after.
            var outPath = parse.GetValue(output)?.ToString() is { } outGiven ? CliFiles.OutputFile(outGiven, "--out") : null; // the full path

            var seedList = parse.GetValue(seeds) is { Length: > 0 } given ? given : [1];
            var results = new List<ScenarioResult>();
            var runs = chosen.SelectMany(s => seedList.Select(seed => (s, seed))).ToList();
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask("Evaluating", maxValue: runs.Count * options.Days);
                    var done = 0;
                    foreach (var (scenario, seed) in runs)
                    {
                        var o = Copy(options, seed);
                        task.Description = Markup.Escape($"{scenario.ToName()} seed {seed}");
                        results.Add(Evaluator.Run(o, scenario, progress: (d, _) => task.Value = done + d, cancellationToken: ct)); // Ctrl-C / SIGTERM: stops within one request (exit 130 / 143)
                        done += options.Days;
                    }
                });
            // Quoted as a POSIX shell would need it, so the report's command can be copied and run again (an --out with a space).
            var commandLine = "custodian evaluate " + string.Join(' ', parse.Tokens.Select(t => t.Value).SkipWhile(t => t == "evaluate").Select(ShellQuote));
            var report = EvaluationReport.ToMarkdown(results, options, commandLine.TrimEnd());
            if (outPath is not null)
            {
                await Cli.CliFiles.WritePrivateTextAsync(outPath, report, ct);
                Console.Out.WriteLine($"Wrote {outPath}."); // absolute, as the other verbs say where they wrote: './x.md' said nothing of where it went
            }
            else
            {
                Console.Out.Write(report);
            }

            var misses = EvaluationReport.Misses(results, options.ScraperIntervalSeconds);
            foreach (var m in misses)
            {
                Console.Error.WriteLine("target missed: " + m);
            }

            return parse.GetValue(check) && misses.Count > 0 ? 3 : 0;
        }));
        return command;
    }

    /// <summary>
    /// True when a replay error says the line is not a ledger-shaped entry at all (not JSON, not an object, or a member
    /// no replay row has), rather than an entry with a bad value.
    /// </summary>
    private static bool IsNotAnAccessEntry(ReplayError error) =>
        error.Message.StartsWith(ReplayFile.UnknownMember, StringComparison.Ordinal)
        || error.Message.StartsWith(ReplayFile.UnknownUnnamedMember, StringComparison.Ordinal)
        || error.Message is "each line must be one JSON object" or "the line is not valid JSON";

    /// <summary>The replay report as text: one line per decision, then suspensions and refused-after counts.</summary>
    public static string Render(ReplayOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"Replayed {CliText.Count(outcome.Rows, "row")}: {CliText.Count(outcome.Decisions.Count, "alert")}, {CliText.Count(outcome.Suspended.Count, "suspension")}.");
        foreach (var r in outcome.Decisions)
        {
            var d = r.Decision;
            var f = d.Finding;
            sb.AppendLine(inv, $"{d.Time:yyyy-MM-dd'T'HH:mm:ss.fffzzz}  line {r.Line}  {d.Action.ToName(),-7}  {f.Principal,-24}  {f.Detector,-17}  risk {d.Risk,3}  {(f.Threshold == 0 ? $"observed {f.Observed}, none allowed" : $"observed {f.Observed} / {f.Threshold}")}  {f.Detail}  evidence lines {string.Join(' ', f.Evidence.Take(10))}{(f.Evidence.Count > 10 ? " …" : string.Empty)}");
        }

        foreach (var (p, at, line) in outcome.Suspended)
        {
            sb.AppendLine(inv, $"suspended {p} at {at:yyyy-MM-dd'T'HH:mm:ss.fffzzz} (line {line}); reads after that the guard would have refused: {outcome.ReadsAfterSuspension.GetValueOrDefault(p)}");
        }

        if (outcome.DeviceRefusalsWithoutPrincipal > 0)
        {
            sb.AppendLine(inv, $"{CliText.Count(outcome.DeviceRefusalsWithoutPrincipal, "request")} without a device certificate {(outcome.DeviceRefusalsWithoutPrincipal == 1 ? "was" : "were")} refused at the gateway (no clerk or terminal to alert on).");
        }

        return sb.ToString();
    }

    private static WorkloadOptions Copy(WorkloadOptions o, int seed) => new()
    {
        Days = o.Days,
        Clerks = o.Clerks,
        ClerksPerStore = o.ClerksPerStore,
        Subscribers = o.Subscribers,
        CustomersPerClerkDay = o.CustomersPerClerkDay,
        AttackDay = o.AttackDay,
        ScraperIntervalSeconds = o.ScraperIntervalSeconds,
        ScraperJitter = o.ScraperJitter,
        SlowScraperPerDay = o.SlowScraperPerDay,
        Seed = seed,
    };

    /// <summary>A command-line word as a POSIX shell reads it back: as it is when it needs no quoting, else in single quotes.</summary>
    private static string ShellQuote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,+@%".Contains(c, StringComparison.Ordinal))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
