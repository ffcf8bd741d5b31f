using System.CommandLine;
using System.Globalization;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Retention;
using Custodian.Review;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>The <c>review</c> verbs (report, query/export, sign-off) and <c>ledger retention</c>. See docs/review.md.</summary>
internal static class ReviewCommands
{
    /// <summary><c>custodian ledger retention [--dry-run]</c>.</summary>
    public static Command Retention()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Only count the entries due for erasure; change nothing." };
        var command = new Command("retention", "Erase the payloads of ledger entries older than the retention period (default 2 years); leaf hashes stay, so every proof still verifies.") { dryRun };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var result = await context.Get<LedgerRetention>().RunAsync(parse.GetValue(dryRun), ct);
            var cutoff = result.Cutoff.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            if (result.DryRun)
            {
                Console.WriteLine($"Dry run: {CliText.Count(result.Entries, "entry", "entries")} before {cutoff} {(result.Entries == 1 ? "is" : "are")} due for erasure.");
            }
            else if (result.Erasures.Count == 0)
            {
                Console.WriteLine($"Nothing to erase: no entry before {cutoff}.");
            }
            else
            {
                Console.WriteLine($"Erased {CliText.Count(result.Entries, "entry", "entries")} before {cutoff}; recorded by erasure entries {string.Join(", ", result.Erasures.Select(e => "#" + e.Sequence.ToString(CultureInfo.InvariantCulture)))}.");
            }

            return 0;
        }));
        return command;
    }

    /// <summary><c>custodian review</c> with its sub-verbs.</summary>
    public static Command Review()
    {
        var cycle = new Option<string?>("--cycle") { Description = "Review cycle: monthly or weekly (default: Custodian__Review__Cycle, else monthly).", Recursive = true };
        cycle.AcceptOnlyFromAmong("monthly", "weekly");
        var month = new Option<string?>("--month") { Description = "The month to review, yyyy-MM (e.g. 2026-11)." };
        var week = new Option<string?>("--week") { Description = "The ISO week to review, yyyy-Www (e.g. 2026-W48)." };
        var output = new Option<string?>("--out") { Description = "Also write the report as JSON to this file (its SHA-256 is what a sign-off commits to)." };
        var command = new Command("review", "Access-log review (PIPA safety standard Art. 8): the periodic report, queries and exports, and the reviewer's sign-off.")
        {
            cycle, month, week, output, Query(), SignOff(cycle),
        };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var periodText = PeriodArgument(parse, month, week, cycle);
            var outPath = parse.GetValue(output) is { } requested ? CliFiles.OutputFile(requested, "--out") : null;
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var review = Open(context, parse, cycle);
            var period = review.ParsePeriod(periodText);
            if (!period.IsSuccess)
            {
                throw CliException.Usage(period.Error!.Message);
            }

            var report = await review.BuildReportAsync(period.Value, ct);
            if (outPath is not null)
            {
                await WritePrivateAsync(outPath, report.ToJson(), ct);
            }

            Console.Write(report.ToMarkdown());
            return 0;
        }));
        return command;
    }

    private static Command Query()
    {
        var clerk = new Option<string?>("--clerk") { Description = "Staff account." };
        var terminal = new Option<string?>("--terminal") { Description = "Terminal ID." };
        var store = new Option<string?>("--store") { Description = "Store code." };
        var token = new Option<string?>("--subscriber-token") { Description = "Subscriber token (19 digits, as in SIEM events, exports and reports)." };
        var task = new Option<string?>("--task") { Description = "Task name, e.g. view, unmask, download, export." };
        var from = new Option<string?>("--from") { Description = "From this time: yyyy-MM-dd (midnight at the review offset, default +09:00) or ISO 8601 with offset." };
        var to = new Option<string?>("--to") { Description = "Before this time (exclusive), same forms as --from." };
        var limit = new Option<int>("--limit") { Description = "Entries per page (1–1000).", DefaultValueFactory = _ => 50 };
        limit.InRange(1, 1000);
        var before = new Option<long?>("--before") { Description = "Paging: only entries with a sequence number below this (printed after a full page)." };
        var export = new Option<string?>("--export") { Description = "Write every matching entry (all pages) to this CSV file; requires --reason. Recorded in the ledger and flagged in the review report." };
        var reason = new Option<string?>("--reason") { Description = "Why the export is needed (required with --export; recorded in the ledger)." };
        var command = new Command("query", "Find ledger entries by clerk, terminal, store, subscriber token, task and time; newest first.")
        {
            clerk, terminal, store, token, task, from, to, limit, before, export, reason,
        };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var exportPath = parse.GetValue(export) is { } requested ? CliFiles.OutputFile(requested, "--export") : null;
            var exportReason = parse.GetValue(reason);
            if (exportPath is not null && string.IsNullOrWhiteSpace(exportReason))
            {
                throw CliException.Usage("--export requires --reason with the reason for the download (PIPA safety standard Art. 8(2)).");
            }

            if (exportPath is null && exportReason is not null)
            {
                throw CliException.Usage("--reason is only used with --export.");
            }

            if (exportReason is not null && exportReason.Trim().Length > LeafCodec.MaxReasonLength)
            {
                throw CliException.Usage($"--reason must be at most {LeafCodec.MaxReasonLength} characters.");
            }

            AccessTask? taskFilter = null;
            if (parse.GetValue(task) is { } taskName)
            {
                taskFilter = AccessTasks.TryParse(taskName, out var parsed) ? parsed : throw CliException.Usage("--task must be a ledger task name, e.g. view, unmask, download, export.");
            }

            if (parse.GetValue(before) is < 0)
            {
                throw CliException.Usage("--before must be a sequence number of 0 or more (as printed after a full page).");
            }

            var clerkFilter = Code(parse.GetValue(clerk), "--clerk");
            var terminalFilter = Code(parse.GetValue(terminal), "--terminal");
            var storeFilter = Code(parse.GetValue(store), "--store");
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var review = context.Get<LedgerReview>();
            SubscriberId? subject = null;
            if (parse.GetValue(token) is { } t)
            {
                var resolved = review.ResolveToken(t);
                subject = resolved.IsSuccess ? resolved.Value : throw CliException.Usage("--subscriber-token must be 19 digits issued by this server.");
            }

            var filter = new ReviewFilter
            {
                Clerk = clerkFilter,
                Terminal = terminalFilter,
                Store = storeFilter,
                Subject = subject,
                Task = taskFilter,
                From = Time(parse.GetValue(from), "--from", review.Options.UtcOffset),
                To = Time(parse.GetValue(to), "--to", review.Options.UtcOffset),
                Before = parse.GetValue(before),
                Limit = parse.GetValue(limit),
            };

            if (filter.From is { } fromTime && filter.To is { } toTime && fromTime >= toTime)
            {
                throw CliException.Usage("--from must be before --to (--to is exclusive).");
            }

            if (exportPath is not null)
            {
                var full = Path.GetFullPath(exportPath);
                ReviewExport? done = null;
                await CliFiles.WritePrivateAsync(full, async stream =>
                {
                    await using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
                    var exported = await review.ExportAsync(filter, exportReason, AdminCommands.Operator, StaffRole.SecurityOfficer, writer, cancellationToken: ct);
                    done = exported.IsSuccess ? exported.Value : throw CliException.Usage(exported.Error!.Message);
                }, ct);
                var result = done!;

                Console.WriteLine($"Exported {CliText.Count(result.Rows, "entry", "entries")} to {full}; recorded as ledger entry #{result.Entry.Sequence} (flagged in the review report).");
                return 0;
            }

            var page = await review.QueryAsync(filter, ct);
            var window = Window(filter.From, filter.To);
            if (window is not null)
            {
                Console.WriteLine(window); // a date means midnight at the review offset, while the table shows UTC
            }

            if (page.Rows.Count == 0)
            {
                Console.WriteLine(window is null ? "No entries match these filters." : "No entries match these filters in that window.");
                return 0;
            }

            var table = new Table().AddColumns("seq", "time (UTC)", "task", "outcome", "account", "terminal", "store", "purpose", "subjects (tokens)", "fields", "unmasked", "error / target / reason");
            foreach (var r in page.Rows)
            {
                table.AddRow(
                    r.Sequence.ToString(CultureInfo.InvariantCulture),
                    r.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    r.Task,
                    r.Outcome,
                    Markup.Escape(r.Account ?? "-"),
                    Markup.Escape(r.Terminal ?? "-"),
                    Markup.Escape(r.Store ?? "-"),
                    Markup.Escape(r.Purpose ?? "-"),
                    string.Join(' ', r.SubjectTokens),
                    Markup.Escape(string.Join(',', r.Fields)),
                    Markup.Escape(string.Join(',', r.UnmaskedFields)),
                    Markup.Escape(string.Join(" ", new[] { r.ErrorCode, r.Target, r.Reason }.Where(x => x is not null))));
            }

            AnsiConsole.Write(table);
            Console.WriteLine(page.NextBefore is { } next ? $"{CliText.Count(page.Rows.Count, "entry", "entries")} shown; older ones: add --before {next}." : $"{CliText.Count(page.Rows.Count, "entry", "entries")}.");
            return 0;
        }));
        return command;
    }

    private static Command SignOff(Option<string?> cycle)
    {
        var month = new Option<string?>("--month") { Description = "The month signed off, yyyy-MM." };
        var week = new Option<string?>("--week") { Description = "The ISO week signed off, yyyy-Www (weekly cycle)." };
        var reviewer = new Option<string>("--reviewer") { Description = "The reviewing officer's account (an active security-officer or privacy-officer).", Required = true };
        var note = new Option<string>("--note") { Description = "Findings and actions (1–500 characters; recorded in the ledger).", Required = true };
        var sha = new Option<string?>("--report-sha256") { Description = "SHA-256 of the report reviewed (printed by 'custodian review'); refused if the report has changed since." };
        var command = new Command("sign-off", "Record the reviewer's sign-off of a finished period in the ledger, committing to the report's SHA-256.")
        {
            month, week, reviewer, note, sha,
        };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var periodText = PeriodArgument(parse, month, week, cycle);
            if (parse.GetValue(sha) is { } givenSha && (givenSha.Length != 64 || !givenSha.All(char.IsAsciiHexDigit)))
            {
                throw CliException.Usage("--report-sha256 must be the 64 hex digits printed by 'custodian review' (Report SHA-256).");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);

            // The cycle a sign-off attests is the configured one (Custodian:Review:Cycle): --cycle may name it but not change
            // it, or a weekly period could be "signed off" where monthly reviews are required, and the other way round.
            var configured = context.Get<ReviewOptions>().Cycle;
            if (parse.GetValue(cycle) is { } asked && asked != CycleName(configured))
            {
                throw new CliException($"--cycle {asked} does not match the configured review cycle ({CycleName(configured)}, Custodian__Review__Cycle); a sign-off is for a period of the configured cycle ({ReviewErrors.CycleMismatch}).");
            }

            var review = context.Get<LedgerReview>();
            var result = await review.SignOffAsync(periodText, parse.GetValue(reviewer), parse.GetValue(note), parse.GetValue(sha), ct);
            if (!result.IsSuccess)
            {
                // A bad argument (exit 1, README "CLI exit codes"), as every other verb treats a note with personal data in it.
                throw result.Error!.Code is ReviewErrors.BadPeriod or ReviewErrors.ReasonRequired or Problems.ErrorCodes.PersonalDataInText or Problems.ErrorCodes.BidiControlInText or Problems.ErrorCodes.ControlCharacterInText
                    ? CliException.Usage(result.Error.Message)
                    : new CliException(result.Error.Message);
            }

            var (entry, report) = result.Value;
            Console.WriteLine($"Signed off {report.Period} as ledger entry #{entry.Sequence}; report SHA-256 {report.Sha256Hex()}.");
            return 0;
        }));
        return command;
    }

    private static string CycleName(ReviewCycle cycle) => cycle == ReviewCycle.Weekly ? "weekly" : "monthly";

    private static LedgerReview Open(CliContext context, ParseResult parse, Option<string?> cycle)
    {
        if (parse.GetValue(cycle) is { } c)
        {
            context.Get<ReviewOptions>().Cycle = c == "weekly" ? ReviewCycle.Weekly : ReviewCycle.Monthly;
        }

        return context.Get<LedgerReview>();
    }

    /// <summary>
    /// The period named by <c>--month</c> or <c>--week</c> (exactly one). A period of the other cycle than an explicit
    /// <c>--cycle</c> (<c>--month 2026-11 --cycle weekly</c>) is a contradiction, refused as a usage error (exit 1)
    /// rather than answered with the month's report; without <c>--cycle</c> any period can be reported (docs/review.md).
    /// </summary>
    private static string PeriodArgument(ParseResult parse, Option<string?> month, Option<string?> week, Option<string?> cycle)
    {
        var m = parse.GetValue(month);
        var w = parse.GetValue(week);
        switch (parse.GetValue(cycle), m, w)
        {
            case ("weekly", not null, null):
                throw CliException.Usage("--month names a month but --cycle weekly asks for weeks: give --week yyyy-Www, or leave out --cycle.");
            case ("monthly", null, not null):
                throw CliException.Usage("--week names a week but --cycle monthly asks for months: give --month yyyy-MM, or leave out --cycle.");
        }

        return (m, w) switch
        {
            (not null, null) => m,
            (null, not null) => w,
            _ => throw CliException.Usage("give exactly one of --month yyyy-MM or --week yyyy-Www."),
        };
    }

    // A filter's code is written into the ledger entry of an export (its target) and so into the SIEM export, for years: a
    // phone number or RRN typed as one is refused like any code that would be stored (no account, store or terminal can
    // have that shape, so it could match nothing anyway).
    private static string? Code(string? value, string what) =>
        value is null ? null
        : Codes.LooksLikePersonalNumber(AdminCommands.RequireCode(value, what)) ? throw CliException.Usage($"{what} {Codes.NotPersonalNumberRule}.")
        : value;

    // "Window: from 2026-12-01 00:00 +09:00 (2026-11-30 15:00 UTC) to 2026-12-03 00:00 +09:00 (2026-12-02 15:00 UTC),
    // the end excluded; the table's times are UTC." Null without a time filter.
    internal static string? Window(DateTimeOffset? from, DateTimeOffset? to)
    {
        static string Both(DateTimeOffset t) => $"{Stamp(t)} {t.ToString("zzz", CultureInfo.InvariantCulture)} ({Stamp(t.ToUniversalTime())} UTC)";
        static string Stamp(DateTimeOffset t) => t.ToString(t.Second == 0 && t.Millisecond == 0 ? "yyyy-MM-dd HH:mm" : "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

        return (from, to) switch
        {
            ({ } f, { } t) => $"Window: from {Both(f)} to {Both(t)}, the end excluded; the table's times are UTC.",
            ({ } f, null) => $"Window: from {Both(f)} on; the table's times are UTC.",
            (null, { } t) => $"Window: before {Both(t)}; the table's times are UTC.",
            _ => null,
        };
    }

    private static DateTimeOffset? Time(string? text, string what, TimeSpan offset)
    {
        if (text is null)
        {
            return null;
        }

        if (text.Length == 10 && DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return new DateTimeOffset(date, offset);
        }

        return text.Contains('T', StringComparison.Ordinal) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw CliException.Usage($"{what} must be yyyy-MM-dd or an ISO 8601 time such as 2026-11-01T09:00:00+09:00.");
    }

    private static Task WritePrivateAsync(string path, byte[] bytes, CancellationToken ct) =>
        CliFiles.WritePrivateAsync(Path.GetFullPath(path), stream => stream.WriteAsync(bytes, ct).AsTask(), ct);
}
