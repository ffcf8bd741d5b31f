using System.CommandLine;
using System.Globalization;
using Custodian.Cli;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Spectre.Console;

namespace Custodian.Portal;

/// <summary>
/// CLI verbs of the subscriber portal (docs/portal.md): <c>custodian notices run</c> (the periodic usage-history
/// notice) and <c>custodian portal defer | disclosures list | disclosures answer</c> (privacy-office work).
/// Administrative verbs on the data directory; the acting account is the local operator (<c>local-&lt;user&gt;</c>).
/// </summary>
internal static class PortalCommands
{
    public static Command Notices()
    {
        var cycle = new Option<string>("--cycle")
        {
            Description = "Notice cycle: yearly (the PIPA Art. 20-2 minimum), half-yearly, quarterly or monthly. Default: $Custodian__Notices__Cycle or yearly.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Custodian__Notices__Cycle") is { Length: > 0 } c ? c : "yearly",
        };
        var asOf = new Option<string?>("--as-of") { Description = "Day of the run, yyyy-MM-dd (Korea time), not later than today; the notice covers the last complete period before it. Default: today." };
        var noSms = new Option<bool>("--no-sms") { Description = "Deliver to portal inboxes only, without the SMS copy." };
        var run = new Command("run", "Deliver the periodic usage-history notice (PIPA Art. 20-2) of the last complete period to every subscriber; re-running a period delivers nothing twice.")
        {
            cycle, asOf, noSms,
        };
        run.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var parsedCycle = parse.GetValue(cycle) switch
            {
                "yearly" => NoticeCycle.Yearly,
                "half-yearly" => NoticeCycle.HalfYearly,
                "quarterly" => NoticeCycle.Quarterly,
                "monthly" => NoticeCycle.Monthly,
                _ => throw CliException.Usage("--cycle must be yearly, half-yearly, quarterly or monthly."),
            };
            var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().ToOffset(Transparency.AccessHistory.KoreaOffset).DateTime);
            var day = parse.GetValue(asOf) is { } text
                ? (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) && d.Year is >= 2001 and <= 2099 ? d : throw CliException.Usage("--as-of must be a day yyyy-MM-dd from 2001 to 2099."))
                : today;
            if (day > today)
            {
                // A period is noticed once per subscriber: sending it before it is over would leave its last days unnoticed for good.
                throw CliException.Usage("--as-of must not be later than today (Korea time): the notice covers a period that is over.");
            }

            var period = NoticePeriod.Previous(parsedCycle, day);
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var notices = context.Get<UsageNotices>();
            var total = await notices.CountSubscribersAsync(ct);
            if (await notices.CheckDeployedAsync(period, ct) is { } beforeDeployment)
            {
                throw CliException.From(beforeDeployment); // nothing to notify (exit 2), said before any progress is drawn
            }

            Problems.Result<UsageNoticeRunResult> run = default;
            await AnsiConsole.Progress().StartAsync(async progress =>
            {
                var task = progress.AddTask($"Usage notice {period.Id}", maxValue: Math.Max(1, total));
                run = await notices.RunAsync(period, AdminCommands.Operator, !parse.GetValue(noSms), new Progress<int>(n => task.Value = n), ct);
                task.Value = task.MaxValue;
            });
            if (!run.IsSuccess)
            {
                throw CliException.From(run.Error!);
            }

            var result = run.Value;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Usage notice {result.Period} ({period.From:yyyy-MM-dd} to {period.To:yyyy-MM-dd}): {CliText.Count(result.Subscribers, "subscriber")}, {result.Delivered:N0} delivered ({result.SmsOptedOut:N0} without SMS by opt-out), {result.AlreadyDelivered:N0} already had it; ledger entry {result.LedgerSequence}."));
            return 0;
        }));
        return new Command("notices", "Subscriber notices.") { run };
    }

    public static Command Portal()
    {
        var sequence = new Option<long>("--sequence") { Description = "The ledger entry to hold back.", Required = true }.InRange(0, long.MaxValue);
        var token = new Option<string>("--subscriber-token") { Description = "The subscriber it is held from, as their 19-digit token.", Required = true };
        var basis = new Option<string>("--basis") { Description = "law-enforcement or family-member.", Required = true };
        var until = new Option<string>("--until") { Description = "Day the hold ends, yyyy-MM-dd (Korea time, at 00:00), at most 366 days ahead; today or a past day lifts the hold (the output says 'Hold lifted').", Required = true };
        var reason = new Option<string>("--reason") { Description = "Legal ground and case reference (recorded in the ledger; no personal data).", Required = true };
        var defer = new Command("defer", "Hold an entry back from a subscriber's portal history until a day (third-party deferral).") { sequence, token, basis, until, reason };
        defer.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            if (!DeferralBases.TryParse(parse.GetValue(basis), out var parsedBasis))
            {
                throw CliException.Usage("--basis must be law-enforcement or family-member.");
            }

            if (!DateOnly.TryParseExact(parse.GetValue(until), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) || day.Year is < 2000 or > 2099)
            {
                throw CliException.Usage("--until must be a day yyyy-MM-dd from 2000 to 2099.");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            if (!context.Get<Tokenizer>().TryDetokenizeSubscriber(parse.GetValue(token), out var subject))
            {
                throw CliException.Usage("--subscriber-token must be 19 digits issued by this server.");
            }

            var end = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), Transparency.AccessHistory.KoreaOffset);
            var recorded = await context.Get<HistoryDeferrals>().DeferAsync(parse.GetValue(sequence), subject, parsedBasis, end, AdminCommands.Operator, parse.GetValue(reason)!, ct);
            if (!recorded.IsSuccess)
            {
                throw CliException.From(recorded.Error!);
            }

            // A day that has begun (today or earlier) is how a hold is lifted (docs/portal.md §4: the newest decision wins);
            // saying "held until" a past day would tell the officer the opposite of what now happens.
            Console.WriteLine(end <= context.Get<TimeProvider>().GetUtcNow()
                ? string.Create(CultureInfo.InvariantCulture, $"Hold lifted: {day:yyyy-MM-dd} 00:00 Korea time has passed, so entry {parse.GetValue(sequence)} is not held from that subscriber any more and shows in their history again; ledger entry {recorded.Value}.")
                : string.Create(CultureInfo.InvariantCulture, $"Entry {parse.GetValue(sequence)} is held from that subscriber until {day:yyyy-MM-dd} 00:00 Korea time; ledger entry {recorded.Value}."));
            return 0;
        }));

        var state = new Option<string>("--state") { Description = "open, disclosed, refused or all.", DefaultValueFactory = _ => "open" };
        var list = new Command("list", "List subscribers' requests to disclose who made an entry (oldest first).") { state };
        list.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            DisclosureState? filter = null;
            if (parse.GetValue(state) != "all")
            {
                filter = DisclosureStates.TryParse(parse.GetValue(state), out var s) ? s : throw CliException.Usage("--state must be open, disclosed, refused or all.");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var requests = await context.Get<DisclosureRequests>().ListAsync(filter, 1000, ct);
            var tokens = context.Get<Siem.Ocsf.ISubjectTokenizer>();
            var table = new Table().AddColumns("Request", "Subscriber token", "Entry", "State", "Made (UTC)", "Answered by");
            foreach (var r in requests)
            {
                table.AddRow(
                    Markup.Escape(r.Id),
                    tokens.Tokenize(r.Subject),
                    r.EntrySequence.ToString(CultureInfo.InvariantCulture),
                    r.State.ToName(),
                    r.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    Markup.Escape(r.AnsweredBy ?? "-"));
            }

            AnsiConsole.Write(table);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{CliText.Count(requests.Count, "request")}."));
            return 0;
        }));

        var id = new Option<string>("--id") { Description = "The request.", Required = true };
        var decision = new Option<string>("--decision") { Description = "disclosed or refused.", Required = true };
        var answer = new Option<string>("--answer") { Description = "What the subscriber is told (1-1000 characters); it goes to their inbox, not to the ledger.", Required = true };
        var answerCommand = new Command("answer", "Answer a disclosure request; the answer is delivered to the subscriber's inbox.") { id, decision, answer };
        answerCommand.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            if (!DisclosureStates.TryParse(parse.GetValue(decision), out var d) || d == DisclosureState.Open)
            {
                throw CliException.Usage("--decision must be disclosed or refused.");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var answered = await context.Get<DisclosureRequests>().AnswerAsync(parse.GetValue(id)!, d, parse.GetValue(answer), AdminCommands.Operator, default, ct);
            if (!answered.IsSuccess)
            {
                throw CliException.From(answered.Error!);
            }

            Console.WriteLine($"Request {answered.Value.Id} answered ({d.ToName()}); the subscriber was notified.");
            return 0;
        }));

        return new Command("portal", "Privacy-office work for the subscriber portal.")
        {
            defer,
            new Command("disclosures", "Subscribers' requests to disclose who made an entry of their history.") { list, answerCommand },
        };
    }
}
