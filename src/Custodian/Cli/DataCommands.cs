using System.CommandLine;
using System.Globalization;
using System.Text;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary><c>sample</c> and <c>import</c>.</summary>
internal static class DataCommands
{
    public static Command Sample()
    {
        var subscribers = new Option<int>("--subscribers") { Description = "Number of subscribers (1–20,000,000).", DefaultValueFactory = _ => 1000 };
        var stores = new Option<int>("--stores") { Description = "Number of stores S001… (1–9,999).", DefaultValueFactory = _ => 5 };
        var clerks = new Option<int>("--clerks") { Description = "Number of clerks, spread over the stores, written to staff.csv beside --out (0–100,000).", DefaultValueFactory = _ => 0 };
        var output = new Option<FileInfo>("--out", "-o") { Description = "Subscriber CSV to write.", Required = true };
        var seed = new Option<int>("--seed") { Description = "Random seed (default 1); the same seed gives the same population. A second population for the same database needs another seed, and even then a few phone numbers can collide with the first: import reports each as a bad row (phone: must be unique).", DefaultValueFactory = _ => 1 };
        var staffOut = new Option<FileInfo?>("--staff-out") { Description = "Where --clerks writes the staff list (default: staff.csv beside --out; an existing file is replaced, and the output says so)." };
        subscribers.InRange(1, 20_000_000);
        stores.InRange(1, 9_999);
        clerks.InRange(0, 100_000);

        var command = new Command("sample", "Write a realistic synthetic subscriber population as CSV, the stores' areas (stores.csv beside --out) and optionally a staff list.")
        {
            subscribers, stores, clerks, output, seed, staffOut,
        };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var count = parse.GetValue(subscribers);
            var storeCount = parse.GetValue(stores);
            var file = new FileInfo(CliFiles.OutputFile(parse.GetValue(output)!.ToString(), "--out"));
            var clerkCount = parse.GetValue(clerks);
            var staffFile = Path.Combine(file.DirectoryName ?? ".", "staff.csv");
            if (parse.GetValue(staffOut) is { } chosen)
            {
                staffFile = clerkCount > 0
                    ? CliFiles.OutputFile(chosen.ToString(), "--staff-out")
                    : throw CliException.Usage("--staff-out needs --clerks (the number of staff accounts to write).");
            }
            else if (clerkCount > 0)
            {
                CliFiles.OutputFile(staffFile, "--clerks (staff.csv beside --out)");
            }

            if (clerkCount > 0 && string.Equals(Path.GetFullPath(staffFile), file.FullName, StringComparison.Ordinal))
            {
                throw CliException.Usage("--staff-out must differ from --out.");
            }

            var replacingStaff = clerkCount > 0 && File.Exists(staffFile);
            var storesFile = CliFiles.OutputFile(Path.Combine(file.DirectoryName ?? ".", "stores.csv"), "--out (stores.csv beside it)");
            if (string.Equals(storesFile, file.FullName, StringComparison.Ordinal) || (clerkCount > 0 && string.Equals(Path.GetFullPath(staffFile), storesFile, StringComparison.Ordinal)))
            {
                throw CliException.Usage("--out and --staff-out must not be stores.csv in the directory of --out (sample writes the store areas there).");
            }

            var replacingStores = File.Exists(storesFile);

            var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
            var generator = new SampleGenerator();
            // Synthetic but realistic RRNs, names and phone numbers: written owner-only and atomically, like every CLI output file.
            await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).StartAsync(progress =>
                CliFiles.WritePrivateAsync(
                    file.FullName,
                    stream =>
                    {
                        var task = progress.AddTask("Generating subscribers", maxValue: count);
                        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
                        SampleGenerator.WriteCsv(writer, Counted(generator.Generate(count, storeCount, parse.GetValue(seed), today), task, ct)); // Ctrl-C: no file is left
                        return Task.CompletedTask;
                    },
                    ct));
            if (!AnsiConsole.Profile.Capabilities.Interactive)
            {
                // Without a terminal the progress is printed as lines at intervals, and the last could read 52%.
                Console.WriteLine("Generating subscribers: 100%");
            }

            AnsiConsole.MarkupLine($"Wrote {CliText.Count(count, "subscriber")} to [bold]{Markup.Escape(file.FullName)}[/]");

            await CliFiles.WritePrivateTextAsync(storesFile, SampleStores.Csv(storeCount, parse.GetValue(seed)), ct);
            AnsiConsole.MarkupLine($"Wrote the areas of {CliText.Count(storeCount, "store")} to [bold]{Markup.Escape(storesFile)}[/] (load them with 'custodian stores import'){(replacingStores ? "; it replaced the file that was there" : string.Empty)}");

            if (clerkCount > 0)
            {
                var staff = new StringBuilder("account,role,store\n");
                for (var i = 0; i < clerkCount; i++)
                {
                    var store = "S" + ((i % storeCount) + 1).ToString("000", CultureInfo.InvariantCulture);
                    var role = i < storeCount && clerkCount >= storeCount * 3 ? "store-manager" : "clerk";
                    staff.Append(CultureInfo.InvariantCulture, $"C{(i + 1).ToString("0000", CultureInfo.InvariantCulture)},{role},{store}\n");
                }

                await CliFiles.WritePrivateTextAsync(staffFile, staff.ToString(), ct);

                AnsiConsole.MarkupLine($"Wrote {CliText.Count(clerkCount, "staff account")} to [bold]{Markup.Escape(staffFile)}[/] (used by 'custodian simulate'){(replacingStaff ? "; it replaced the file that was there" : string.Empty)}");
            }

            return 0;
        }));
        return command;
    }

    public static Command Import()
    {
        var file = new Argument<FileInfo>("file") { Description = "Subscriber CSV (header: name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store, optionally family_plan)." };
        var mode = new Option<string>("--mode")
        {
            Description = "all-or-nothing (default): any bad row rejects the whole file and nothing is written. skip-bad-rows: good rows are kept, bad rows reported.",
            DefaultValueFactory = _ => "all-or-nothing",
        };
        mode.AcceptOnlyFromAmong("all-or-nothing", "skip-bad-rows");
        var command = new Command("import", "Import subscribers, encrypting personal fields and building blind indexes on the way in.") { file, mode };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var input = CliFiles.InputFile(parse.GetValue(file)!, "<file>");
            CliInterruption.FinishInOrder(); // Ctrl-C: wait for the rollback or last commit and its ledger entry (below)

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var importer = context.Get<SubscriberImporter>();
            var importMode = parse.GetValue(mode) == "skip-bad-rows" ? ImportMode.SkipBadRows : ImportMode.AllOrNothing;
            var concurrency = ServerRunning(context.Get<Hosting.DataPaths>()) ? ImportConcurrency.BesideServer : ImportConcurrency.Exclusive;
            if (concurrency == ImportConcurrency.BesideServer)
            {
                Console.Error.WriteLine(context.Get<Storage.CustodianDatabase>().IsSqlite
                    ? "A Custodian server is running on this data directory: the whole file is checked first, then written in short transactions so that lookups go on (README step 2)."
                    : "A Custodian server is running on this data directory: the whole file is checked first, then written in one transaction; lookups go on meanwhile (PostgreSQL; docs/storage.md).");
            }

            ImportReport? report = null;
            var interrupted = false;
            try
            {
                await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).StartAsync(async progress =>
                {
                    // Beside a server the file is checked first (bytes read), then written in short transactions (rows written).
                    var besideServer = concurrency == ImportConcurrency.BesideServer;
                    var task = progress.AddTask(besideServer ? "Checking" : "Importing", maxValue: Math.Max(1, input.Length));
                    ProgressTask? writing = null;
                    using var stream = new FileStream(input.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                    using var reader = new StreamReader(stream, Encoding.UTF8);
                    var rows = new SynchronousProgress<long>(_ => task.Value = stream.Position);
                    var written = new SynchronousProgress<ImportWriteProgress>(p =>
                    {
                        task.Value = task.MaxValue;
                        writing ??= progress.AddTask("Writing", maxValue: Math.Max(1, p.RowsToWrite));
                        writing.Value = p.RowsWritten;
                    });
                    report = await importer.ImportAsync(reader, importMode, concurrency, rows, written, ct);
                    task.Value = task.MaxValue; // the writing bar stays where the last commit left it
                });
            }
            catch (ImportCanceledException ex)
            {
                report = ex.Report; // what was committed before Ctrl-C / SIGTERM: recorded below like any import
                interrupted = true;
            }

            var interruption = interrupted ? $", interrupted by {CliInterruption.SignalName} after {CliText.Count(report!.RowsRead, "row")} read" : string.Empty;

            // Denied only when the import was refused (bad rows, no subscriber header) or stopped before any row was kept;
            // a well-formed file with no rows (a header only) is an allowed import of 0 subscribers, not a denial.
            var denied = report!.RowsImported == 0 && (interrupted || report.RowsRejected > 0 || report.Errors.Count > 0);

            // Not cancellable: rows that were committed must have their ledger entry, also after Ctrl-C.
            await context.Get<Ledger.IAccessLedger>().AppendAsync(
                new Ledger.AccessEntry
                {
                    Time = context.Get<TimeProvider>().GetUtcNow(),
                    Task = Ledger.AccessTask.Insert,
                    Outcome = denied ? Ledger.AccessOutcome.Denied : Ledger.AccessOutcome.Allowed,
                    Account = AdminCommands.Operator,
                    ErrorCode = denied && !interrupted ? Problems.ErrorCodes.ValidationFailed : null,
                    Reason = $"import of {report.RowsImported} subscribers ({report.RowsRejected} rows rejected, mode {parse.GetValue(mode)}{interruption})",
                },
                CancellationToken.None);

            foreach (var error in report.Errors.Take(200))
            {
                Console.Error.WriteLine($"line {error.Line}: {error.Field}: {error.Rule}");
            }

            if (report.Errors.Count > 200)
            {
                Console.Error.WriteLine($"... and {CliText.Count(report.Errors.Count - 200, "more problem")}");
            }

            if (interrupted)
            {
                Console.Error.WriteLine(importMode == ImportMode.AllOrNothing
                    ? $"error: interrupted by {CliInterruption.SignalName} after {CliText.Count(report.RowsRead, "row")} read: the import was rolled back; nothing was imported (all-or-nothing)."
                    : $"error: interrupted by {CliInterruption.SignalName} after {CliText.Count(report.RowsRead, "row")} read: kept {CliText.Count(report.RowsImported, "subscriber")} imported in completed batches (skip-bad-rows); the batch in progress was rolled back and the rest of the file was not imported.");
                return CliInterruption.ExitCode;
            }

            if (report.RowsRejected > 0 && importMode == ImportMode.AllOrNothing)
            {
                Console.Error.WriteLine($"error: {CliText.Count(report.RowsRejected, "bad row")}; the import was rolled back and nothing was imported (all-or-nothing). Fix them or use --mode skip-bad-rows.");
                return CliExitCodes.RowsRefused;
            }

            if (report.RowsImported == 0 && report.RowsRejected == 0 && report.Errors.Count > 0)
            {
                Console.Error.WriteLine("error: nothing was imported: the file is not a subscriber CSV with the expected header (see above).");
                return CliExitCodes.RowsRefused;
            }

            AnsiConsole.MarkupLine($"Imported {report.RowsImported:N0} of {CliText.Count(report.RowsRead, "row")}.");
            return report.RowsRejected > 0 || report.Errors.Count > 0 ? CliExitCodes.RowsRefused : CliExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Whether a server holds the data directory's lock file. Probed by opening it exclusively and closing it at once; a
    /// server starting in that instant would find it held and refuse to start (run it again).
    /// </summary>
    private static bool ServerRunning(Hosting.DataPaths paths)
    {
        using var probe = paths.TryHoldServerLock();
        return probe is null;
    }

    /// <summary>Reports on the caller's thread (System.Progress posts to the thread pool, after the file may be closed).</summary>
    private sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
    {
        public void Report(T value) => handler(value);
    }

    private static IEnumerable<T> Counted<T>(IEnumerable<T> items, ProgressTask task, CancellationToken cancellationToken)
    {
        var n = 0;
        foreach (var item in items)
        {
            yield return item;
            if (++n % 1000 == 0)
            {
                task.Value = n;
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        task.Value = task.MaxValue;
    }
}
