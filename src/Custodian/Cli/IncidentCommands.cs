using System.CommandLine;
using System.Globalization;
using Custodian.Identity;
using Custodian.Incidents;
using Custodian.Incidents.Claims;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// The <c>incident</c> verbs (docs/incidents.md): declare, scope, verify, show, list, export, report, notices, notify,
/// deliveries, close. Act on the data directory as the local operator (<c>local-&lt;OS user&gt;</c>, security officer), like
/// the other administrative verbs; every action is recorded in the ledger, and so is every action the incident service
/// refuses (<see cref="IncidentRefusals"/>: one denied entry of the action's own task, no terminal). An argument refused
/// before the service is asked (option syntax, an unknown --clerk, a notice fact out of bounds) records nothing.
/// </summary>
internal static class IncidentCommands
{
    /// <summary><c>custodian incident</c> with its sub-verbs.</summary>
    public static Command Incident() => new("incident", "Incident response: scope a breach from the ledger, draft and send the 72-hour notices (PIPA Art. 34), close the case.")
    {
        Declare(), Scope(), Verify(), Show(), List(), Export(), Report(), Notices(), Notify(), Deliveries(), Close(), Claims(),
    };

    private static Argument<string> IdArgument() => new("id") { Description = "Incident ID (INC-yyyyMMdd-XXXXXX)." };

    private sealed record ScopeOptions(Option<string[]> Clerks, Option<string[]> Terminals, Option<string[]> Stores, Option<string?> From, Option<string?> To, Option<string[]> Detectors)
    {
        public static ScopeOptions Create() => new(
            new Option<string[]>("--clerk") { Description = "Staff account in scope (repeatable).", AllowMultipleArgumentsPerToken = false },
            new Option<string[]>("--terminal") { Description = "Terminal ID in scope (repeatable)." },
            new Option<string[]>("--store") { Description = "Store code in scope (repeatable)." },
            new Option<string?>("--from") { Description = "Window start: yyyy-MM-dd (midnight at the review offset, default +09:00) or ISO 8601 with offset." },
            new Option<string?>("--to") { Description = "Window end (exclusive), same forms as --from." },
            new Option<string[]>("--detector") { Description = "Detector whose alerts in the window add their principals (repeatable), e.g. distinct-subjects." });

        public void AddTo(Command command)
        {
            command.Options.Add(Clerks);
            command.Options.Add(Terminals);
            command.Options.Add(Stores);
            command.Options.Add(From);
            command.Options.Add(To);
            command.Options.Add(Detectors);
        }

        /// <summary>
        /// Refuses a <c>--clerk</c> that names no staff account (exit 1). Accounts are never deleted — a departed
        /// clerk's stays, disabled — so an unknown one is a typo that would silently scope nothing.
        /// </summary>
        public static async Task RequireKnownClerksAsync(CliContext context, IncidentScope scope)
        {
            var directory = context.Get<Access.Staff.StaffDirectory>();
            foreach (var clerk in scope.Clerks)
            {
                if (await directory.GetAsync(clerk) is null)
                {
                    throw CliException.Usage(UnknownClerk(clerk));
                }
            }
        }

        /// <summary>The one-line message of an unknown <c>--clerk</c> (the operator's own input, named back on the console only).</summary>
        public static string UnknownClerk(string clerk) => $"--clerk: no staff account '{clerk}' (a departed clerk's account is kept, disabled, so it would be found).";

        public bool AnyGiven(ParseResult parse) =>
            new Option[] { Clerks, Terminals, Stores, From, To, Detectors }.Any(o => parse.GetResult(o) is { Implicit: false });

        public IncidentScope Read(ParseResult parse, TimeSpan offset)
        {
            var scope = new IncidentScope(
                parse.GetValue(Clerks) ?? [],
                parse.GetValue(Terminals) ?? [],
                parse.GetValue(Stores) ?? [],
                Time(parse.GetValue(From), "--from", offset),
                Time(parse.GetValue(To), "--to", offset),
                parse.GetValue(Detectors) ?? []);
            var errors = IncidentService.ValidateScope(scope);
            if (errors.Count > 0)
            {
                var (field, rules) = errors.First();
                throw CliException.Usage($"--{field.TrimEnd('s')}: {rules[0]}.");
            }

            return scope;
        }
    }

    private static Command Declare()
    {
        var title = new Option<string>("--title") { Description = "Short description (1–200 characters, never personal data; recorded in the ledger).", Required = true };
        var alerts = new Option<string[]>("--alert") { Description = "Monitor alert ID the incident comes from (repeatable); its principal joins the scope." };
        var scope = ScopeOptions.Create();
        var command = new Command("declare", "Declare an incident by hand or from alerts; starts the 72-hour notice clock.") { title, alerts };
        scope.AddTo(command);
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var service = context.Get<IncidentService>();
            var declared = scope.Read(parse, service.Offset);
            var declaration = new DeclareIncident(parse.GetValue(title), parse.GetValue(alerts) ?? [], declared);
            if (await IncidentDeclarationRules.CheckAsync(declaration, context.Get<Access.Staff.StaffDirectory>(), context.Get<TimeProvider>().GetUtcNow()) is { } refusal)
            {
                // The same checks as POST /api/v1/incidents, in the CLI's words (its options, and the clerk it names).
                throw CliException.Usage(refusal.Field switch
                {
                    "scope" => "incident declare needs a scope: give at least one --clerk, --terminal, --store, --detector or --alert.",
                    "to" => "--to: must not be in the future (the window ends at the latest now; widen it later with 'incident scope').",
                    _ => ScopeOptions.UnknownClerk(declared.Clerks[refusal.Index]),
                });
            }

            var result = await service.DeclareAsync(declaration, Actor(), ct);
            var incident = Unwrap(await RecordRefusalAsync(context, AccessTask.IncidentDeclared, null, result, ct));
            Console.WriteLine($"Declared {incident.Id} ({incident.Scope.Describe()}); notices due by {IncidentStore.Utc(incident.NoticeDeadline)} ({service.Clock(incident).Describe()}).");
            if (incident.Scope.From is null || incident.Scope.To is null)
            {
                Console.WriteLine($"To find the affected subscribers, give the window's {(incident.Scope.From is null && incident.Scope.To is null ? "start and end" : incident.Scope.From is null ? "start" : "end")}: custodian incident scope {incident.Id} --from <start> --to <end>");
            }
            return 0;
        }));
        return command;
    }

    private static Command Scope()
    {
        var id = IdArgument();
        var scope = ScopeOptions.Create();
        var command = new Command("scope", "Compute the affected subscribers from the ledger (graded exposure, counts, timeline, set SHA-256). Options given replace those parts of the case's scope: any --clerk/--terminal/--store/--detector the principals, --from and --to each end of the window.") { id };
        scope.AddTo(command);
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var service = context.Get<IncidentService>();
            var change = scope.AnyGiven(parse) ? scope.Read(parse, service.Offset) : null;
            if (change is not null)
            {
                await ScopeOptions.RequireKnownClerksAsync(context, change);
            }

            Result<Incidents.Incident> result = default;
            await WithProgressAsync("Scanning the ledger", async progress => result = await service.ScopeAsync(parse.GetValue(id)!, change, Actor(), progress, ct));
            result = await RecordRefusalAsync(context, AccessTask.IncidentScoped, parse.GetValue(id), result, ct);
            if (result.Error is { Code: IncidentErrors.ScopeIncomplete } incomplete && incomplete.Message.Contains("both 'from' and 'to'", StringComparison.Ordinal))
            {
                throw CliException.Usage($"scoping needs the window's start and end: run 'custodian incident scope {parse.GetValue(id)} --from <start> --to <end>' (ISO 8601, e.g. 2026-11-01T00:00+09:00; each replaces that end of the case's window).");
            }

            var incident = Unwrap(result);
            PrintSummary(incident);
            return 0;
        }));
        return command;
    }

    private static Command Verify()
    {
        var id = IdArgument();
        var command = new Command("verify", "Re-run the recorded scope over the recorded ledger size and compare the affected set's SHA-256 (exit 3 when it differs).") { id };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            Result<ScopeVerification> result = default;
            await WithProgressAsync("Re-scanning the ledger", async progress => result = await context.Get<IncidentService>().VerifyAsync(parse.GetValue(id)!, progress, ct));
            var verification = Unwrap(result);
            if (verification.Same)
            {
                Console.WriteLine($"Same affected set: SHA-256 {verification.Recomputed}.");
                return 0;
            }

            Console.Error.WriteLine($"AFFECTED SET DIFFERS: recorded {verification.Recorded}, now {verification.Recomputed} (run 'custodian ledger verify').");
            return 3;
        }));
        return command;
    }

    private static Command Show()
    {
        var id = IdArgument();
        var command = new Command("show", "Show a case: state, 72-hour clock, scope, counts per grade, fields, timeline and actions.") { id };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var service = context.Get<IncidentService>();
            var incident = Unwrap(await service.GetAsync(parse.GetValue(id), ct));
            Console.Write(IncidentReport.ToMarkdown(incident, service.Clock(incident), await service.ActionsAsync(incident.Id, ct)));
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var state = new Option<string?>("--state") { Description = "Only cases in this state." };
        state.AcceptOnlyFromAmong("open", "scoped", "notified", "closed");
        var command = new Command("list", "List cases, newest first, with their 72-hour clocks.") { state };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var service = context.Get<IncidentService>();
            IncidentState? filter = parse.GetValue(state) is { } s && IncidentStates.TryParse(s, out var parsed) ? parsed : null;
            var list = await service.ListAsync(filter, 200, ct);
            var table = new Table().AddColumns("id", "state", "declared (UTC)", "title", "affected", "notified", "72-hour clock");
            foreach (var i in list)
            {
                table.AddRow(
                    i.Id,
                    i.State.ToName(),
                    IncidentStore.Utc(i.DeclaredAt),
                    Markup.Escape(i.Title),
                    i.Summary is { } sum ? sum.Counts.PersonalData.ToString("N0", CultureInfo.InvariantCulture) + " (+" + sum.Counts.TokenOnly.ToString("N0", CultureInfo.InvariantCulture) + " token only)" : "-",
                    i.NotifiedAt is { } n ? IncidentStore.Utc(n) : "-",
                    service.Clock(i).Describe());
            }

            AnsiConsole.Write(table);
            Console.WriteLine($"{CliText.Count(list.Count, "incident")}.");
            return 0;
        }));
        return command;
    }

    private static Command Export()
    {
        var id = IdArgument();
        var output = new Option<string>("--out") { Description = "CSV file of subscriber tokens to write (mode 0600).", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why the set leaves the system (1–500 characters; recorded in the ledger).", Required = true };
        var approval = new Option<string>("--approval") { Description = "ID of your approved export-data-set request for incident:<id> (four eyes: 'approvals request --action export-data-set', another officer approves).", Required = true };
        var command = new Command("export", "Write the affected set as CSV of subscriber tokens with grades (never plaintext); needs an approved export-data-set request; recorded in the ledger first.") { id, output, reason, approval };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            if (string.IsNullOrWhiteSpace(parse.GetValue(reason)))
            {
                throw CliException.Usage("--reason must not be blank.");
            }

            var path = CliFiles.OutputFile(parse.GetValue(output)!, "--out");
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var service = context.Get<IncidentService>();
            var got = Unwrap(await RecordRefusalAsync(context, AccessTask.IncidentExport, parse.GetValue(id), await service.GetAsync(parse.GetValue(id), ct), ct));
            if (got.Summary is null)
            {
                // The service's own refusal (incident-state-conflict), recorded as the API records it; the message stays the CLI's.
                await IncidentRefusals.RefusedAsync(context.Services, Officer(), AccessTask.IncidentExport, got.Id, new CustodianError(IncidentErrors.StateConflict, 409, "The incident has not been scoped."), ct);
                throw new CliException("the incident has not been scoped: run 'custodian incident scope' first.");
            }

            var buffer = new StringWriter();
            var rows = Unwrap(await RecordRefusalAsync(context, AccessTask.IncidentExport, got.Id, await context.Get<Approvals.ExportGrants>().RunApprovedAsync(parse.GetValue(approval), Approvals.ExportGrants.IncidentTarget(got.Id), Actor().Account, () => service.ExportAsync(got.Id, parse.GetValue(reason), Actor(), buffer, ct), ct), ct));
            var bytes = new System.Text.UTF8Encoding(false).GetBytes(buffer.ToString());
            await CliFiles.WritePrivateAsync(path, stream => stream.WriteAsync(bytes, ct).AsTask(), ct);

            Console.WriteLine($"Exported {CliText.Count(rows, "subscriber token")} to {path}.");
            return 0;
        }));
        return command;
    }

    private static Command Report()
    {
        var id = IdArgument();
        var output = new Option<string?>("--out") { Description = "Write the Markdown report to this file (default: stdout)." };
        var svg = new Option<string?>("--svg") { Description = "Also write the timeline chart (SVG) to this file; the report links it." };
        var command = new Command("report", "The summary report (Markdown): counts per grade, fields exposed, per-day timeline, actions; optional SVG chart. Counts only, no tokens.") { id, output, svg };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var outPath = parse.GetValue(output) is { } requestedOut ? CliFiles.OutputFile(requestedOut, "--out") : null;
            var svgPath = parse.GetValue(svg) is { } requestedSvg ? CliFiles.OutputFile(requestedSvg, "--svg") : null;
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var service = context.Get<IncidentService>();
            var incident = Unwrap(await service.GetAsync(parse.GetValue(id), ct));
            string? chart = null;
            if (svgPath is not null)
            {
                await CliFiles.WritePrivateTextAsync(svgPath, IncidentReport.TimelineSvg(incident.Summary?.Timeline ?? [], $"{incident.Id}: exposing entries per day"), ct);
                chart = Path.GetFileName(svgPath);
            }

            var markdown = IncidentReport.ToMarkdown(incident, service.Clock(incident), await service.ActionsAsync(incident.Id, ct), chart);
            if (outPath is not null)
            {
                await CliFiles.WritePrivateTextAsync(outPath, markdown, ct); // names the incident's clerks: owner-only
                Console.WriteLine($"Wrote {outPath}.");
            }
            else
            {
                Console.Write(markdown);
            }

            return 0;
        }));
        return command;
    }

    private sealed record FactOptions(Option<string> How, Option<string> Measures, Option<string> Contact, Option<string> Language)
    {
        public static FactOptions Create()
        {
            var language = new Option<string>("--lang") { Description = "Language: ko (default) or en.", DefaultValueFactory = _ => "ko" };
            language.AcceptOnlyFromAmong("ko", "en");
            return new(
                new Option<string>("--how") { Description = $"How it happened (1–{IncidentNotices.MaxHow} characters).", Required = true },
                new Option<string>("--measures") { Description = $"What the company did (1–{IncidentNotices.MaxMeasures} characters).", Required = true },
                new Option<string>("--contact") { Description = $"Where to get help (1–{IncidentNotices.MaxContact} characters).", Required = true },
                language);
        }

        public void AddTo(Command command)
        {
            command.Options.Add(How);
            command.Options.Add(Measures);
            command.Options.Add(Contact);
            command.Options.Add(Language);
        }

        public (NoticeFacts Facts, NoticeLanguage Language) Read(ParseResult parse)
        {
            var facts = new NoticeFacts(parse.GetValue(How)!, parse.GetValue(Measures)!, parse.GetValue(Contact)!);
            if (IncidentNotices.Validate(facts) is { Errors: { } errors })
            {
                var (field, rules) = errors.First();
                throw CliException.Usage($"--{field}: {rules[0]}.");
            }

            return (facts, parse.GetValue(Language) == "en" ? NoticeLanguage.English : NoticeLanguage.Korean);
        }
    }

    private static Command Notices()
    {
        var id = IdArgument();
        var facts = FactOptions.Create();
        var command = new Command("notices", "Print the PIPA Art. 34 notice drafts (subscribers, regulator, a sample SMS) without sending anything.") { id };
        facts.AddTo(command);
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var (noticeFacts, language) = facts.Read(parse);
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var service = context.Get<IncidentService>();
            var incident = Unwrap(await service.GetAsync(parse.GetValue(id), ct));
            var drafts = Unwrap(IncidentApi.Drafts(service, incident, noticeFacts, language));
            Console.WriteLine(drafts.Subscribers);
            Console.WriteLine(drafts.Regulator);
            Console.WriteLine($"Sample SMS ({drafts.SampleSms.Length} of {IncidentNotices.MaxSms} characters):");
            Console.WriteLine(drafts.SampleSms);
            Console.WriteLine($"72-hour clock: {service.Clock(incident).Describe()}.");
            return 0;
        }));
        return command;
    }

    private static Command Notify()
    {
        var id = IdArgument();
        var facts = FactOptions.Create();
        var command = new Command("notify", "Send the breach notice SMS to every subscriber whose personal data was exposed (token-only: not required); run again to retry failures.") { id };
        facts.AddTo(command);
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var (noticeFacts, language) = facts.Read(parse);
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var service = context.Get<IncidentService>();
            Result<NotifyOutcome> result = default;
            await WithProgressAsync("Sending notices", async progress => result = await service.NotifyAsync(parse.GetValue(id)!, noticeFacts, Actor(), language, progress, ct));
            var outcome = Unwrap(await RecordRefusalAsync(context, AccessTask.IncidentNotified, parse.GetValue(id), result, ct));
            var incident = Unwrap(await service.GetAsync(parse.GetValue(id), ct));
            Console.WriteLine($"Notices: {outcome.Sent:N0} sent, {outcome.Failed:N0} failed, {outcome.NotRequired:N0} not required (token only), {outcome.AlreadySent:N0} sent earlier; ledger entry #{outcome.Entry.Sequence}. {service.Clock(incident).Describe()}.");
            return outcome.Failed > 0 ? 2 : 0;
        }));
        return command;
    }

    private static Command Deliveries()
    {
        var id = IdArgument();
        var command = new Command("deliveries", "Per-subscriber notice delivery status, by subscriber token.") { id };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var service = context.Get<IncidentService>();
            var incident = Unwrap(await service.GetAsync(parse.GetValue(id), ct));
            var deliveries = await service.DeliveriesAsync(incident.Id, ct);
            var table = new Table().AddColumns("subscriber token", "channel", "status", "updated (UTC)", "error");
            foreach (var d in deliveries.Select(d => (Token: service.Token(d.Subscriber), d)).OrderBy(x => x.Token, StringComparer.Ordinal))
            {
                table.AddRow(d.Token, d.d.Channel, d.d.Status, IncidentStore.Utc(d.d.UpdatedAt), Markup.Escape(d.d.Error ?? "-"));
            }

            AnsiConsole.Write(table);
            Console.WriteLine(string.Join(", ", deliveries.GroupBy(d => d.Status).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}: {g.Count():N0}")) is { Length: > 0 } summary ? summary : "No deliveries.");
            return 0;
        }));
        return command;
    }

    private static Command Close()
    {
        var id = IdArgument();
        var note = new Option<string>("--note") { Description = "Closing note (1–500 characters; recorded in the ledger).", Required = true };
        var command = new Command("close", "Close a case (after notices; or an open case declared in error; or a scoped case with nobody's personal data exposed).") { id, note };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var closed = await context.Get<IncidentService>().CloseAsync(parse.GetValue(id)!, parse.GetValue(note), Actor(), ct);
            var incident = Unwrap(await RecordRefusalAsync(context, AccessTask.IncidentClosed, parse.GetValue(id), closed, ct));
            Console.WriteLine($"Closed {incident.Id}.");
            return 0;
        }));
        return command;
    }

    private static Command Claims()
    {
        var state = new Option<string?>("--state") { Description = "Only claims in this state." };
        state.AcceptOnlyFromAmong("submitted", "information-requested", "approved", "rejected", "paid");
        var report = new Command("report", "Claims per state with the amounts claimed, approved and paid (KRW).");
        report.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var rows = await context.Get<ClaimService>().ReportAsync(ct);
            var table = new Table().AddColumns("state", "claims", "claimed (KRW)", "approved (KRW)", "paid (KRW)");
            foreach (var r in rows)
            {
                table.AddRow(r.State, N(r.Claims), N(r.Claimed), N(r.Approved), N(r.Paid));
            }

            table.AddRow("total", N(rows.Sum(r => r.Claims)), N(rows.Sum(r => r.Claimed)), N(rows.Sum(r => r.Approved)), N(rows.Sum(r => r.Paid)));
            AnsiConsole.Write(table);
            return 0;
        }));
        var command = new Command("claims", "Compensation claims (filed by subscribers in the portal; decided by officers over the terminal API): list them, claimants by token.") { state, report };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            ClaimState? filter = parse.GetValue(state) is { } s && ClaimService.TryParseState(s, out var parsed) ? parsed : null;
            var claims = await context.Get<ClaimService>().ListAsync(filter, ct);
            var tokenizer = context.Get<Protection.Keys.Tokenizer>();
            var table = new Table().AddColumns("claim", "incident", "subscriber token", "kind", "state", "filed (UTC)", "claimed", "approved", "evidence");
            foreach (var c in claims)
            {
                table.AddRow(c.Id, c.IncidentId, tokenizer.TokenizeSubscriber(c.Subscriber), c.Kind, ClaimService.Name(c.State), IncidentStore.Utc(c.FiledAt), N(c.AmountClaimed), c.AmountApproved is { } a ? N(a) : "-", c.Evidence.Count.ToString(CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            Console.WriteLine($"{CliText.Count(claims.Count, "claim")}.");
            return 0;
        }));
        return command;

        static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
    }

    private static void PrintSummary(Incidents.Incident incident)
    {
        var s = incident.Summary!;
        var c = s.Counts;
        Console.WriteLine($"Scoped {incident.Id} over {CliText.Count(s.LedgerSize, "ledger entry", "ledger entries")} ({CliText.Count(s.EntriesMatched, "entry", "entries")} matched, {s.EntriesExposing:N0} of them exposing).");
        Console.WriteLine($"Affected subscribers: {c.Total:N0} — rrn-unmasked {c.RrnUnmasked:N0}, unmasked {c.Unmasked:N0}, masked {c.Masked:N0}, token-only {c.TokenOnly:N0}.");
        Console.WriteLine($"Affected-set SHA-256: {s.SetSha256}");
    }

    private static async Task WithProgressAsync(string description, Func<IProgress<ScopeProgress>, Task> run) =>
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).StartAsync(async context =>
        {
            var task = context.AddTask(description, maxValue: 1);
            await run(new Reporter(p =>
            {
                task.MaxValue = Math.Max(1, p.Total);
                task.Value = Math.Min(p.Read, task.MaxValue);
            }));
            task.Value = task.MaxValue;
        });

    private static IncidentActor Actor() => new(AdminCommands.Operator, StaffRole.SecurityOfficer);

    /// <summary>The local operator as a refused officer: account and role, no terminal, store or address (as <see cref="Actor"/>).</summary>
    internal static RefusedOfficer Officer() => new(AdminCommands.Operator, StaffRole.SecurityOfficer, null, null, null);

    /// <summary>
    /// When the service refused, records the refusal as the API and console do (<see cref="IncidentRefusals"/>: denied,
    /// the action's own task, the error code, <c>incident:&lt;id&gt;</c> only when the case exists); returns <paramref name="result"/> unchanged.
    /// </summary>
    private static async Task<Result<T>> RecordRefusalAsync<T>(CliContext context, AccessTask task, string? id, Result<T> result, CancellationToken ct)
    {
        if (!result.IsSuccess)
        {
            await IncidentRefusals.RefusedAsync(context.Services, Officer(), task, id, result.Error!, ct);
        }

        return result;
    }

    private static T Unwrap<T>(Result<T> result) =>
        result.IsSuccess
            ? result.Value
            : throw CliException.From(result.Error!);

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

    private sealed class Reporter(Action<ScopeProgress> handler) : IProgress<ScopeProgress>
    {
        public void Report(ScopeProgress value) => handler(value);
    }
}
