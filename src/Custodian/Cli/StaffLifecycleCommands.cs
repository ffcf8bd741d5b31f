using System.CommandLine;
using Custodian.Access.Sessions;
using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.StaffLifecycle;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary><c>staff import</c> (HR feed) and <c>staff disable-dormant</c> (docs/access.md §6).</summary>
internal static class StaffLifecycleCommands
{
    public static Command Import()
    {
        var file = new Argument<FileInfo>("file") { Description = "HR feed, CSV with header account,role,store,status (status active or leaver)." };
        var mode = new Option<string>("--mode") { Description = "all-or-nothing (any bad row: nothing applied) or row-wise (good rows applied).", DefaultValueFactory = _ => "all-or-nothing" };
        mode.AcceptOnlyFromAmong("all-or-nothing", "row-wise");
        var credentialsOut = new Option<FileInfo?>("--credentials-out") { Description = "New file (mode 0600) receiving joiners' one-time passwords and TOTP secrets; required when the feed has joiners." };
        var import = new Command("import", "Sync staff accounts from an HR feed: create joiners, move movers, disable leavers; sessions of movers and leavers end.") { file, mode, credentialsOut };
        import.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var feed = CliFiles.InputFile(parse.GetValue(file)!, "<file>");
            var output = parse.GetValue(credentialsOut) is { } requested ? new FileInfo(CliFiles.OutputFile(requested.ToString(), "--credentials-out")) : null;
            if (output is not null && output.Exists)
            {
                throw CliException.Usage($"{output.FullName} exists; --credentials-out must name a new file (credentials are never overwritten).");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var importer = new HrFeedImport(context.Get<StaffDirectory>(), context.Get<SessionStore>(), context.Get<IAccessLedger>(), context.Get<TimeProvider>());
            StreamWriter? credentials = null;
            HrImportReport report;
            try
            {
                if (output is not null)
                {
                    var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                    if (!OperatingSystem.IsWindows())
                    {
                        options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                    }

                    credentials = new StreamWriter(new FileStream(output.FullName, options));
                    await credentials.WriteLineAsync("account,one_time_password,totp_secret,otpauth_uri");
                }

                using var reader = feed.OpenText();
                report = await importer.ApplyAsync(reader, parse.GetValue(mode) == "row-wise" ? HrImportMode.RowWise : HrImportMode.AllOrNothing, credentials, AdminCommands.Operator, ct);
            }
            finally
            {
                if (credentials is not null)
                {
                    await credentials.DisposeAsync();
                }
            }

            if (output is not null && report.Joiners.Count == 0)
            {
                output.Delete(); // nothing secret was written: do not leave an empty credentials file about
            }

            foreach (var error in report.Errors)
            {
                Console.Error.WriteLine($"line {error.Line}: {error.Field}: {error.Rule}");
            }

            Console.WriteLine(report.Applied
                ? $"Applied: {CliText.Count(report.Joiners.Count, "joiner")}, {CliText.Count(report.Movers.Count, "mover")}, {CliText.Count(report.Leavers.Count, "leaver")}, {report.Unchanged:N0} unchanged; {CliText.Count(report.Errors.Count, "bad row")}."
                : $"Nothing applied (all-or-nothing): {CliText.Count(report.Errors.Count, "bad row")}. Fix them, or pass --mode row-wise.");
            if (report.Joiners.Count > 0)
            {
                Console.WriteLine($"Joiners' one-time credentials: {output!.FullName} (hand them over, then delete the file).");
            }

            return report.Errors.Count > 0 ? CliExitCodes.RowsRefused : CliExitCodes.Ok;
        }));
        return import;
    }

    public static Command DisableDormant()
    {
        var days = new Option<int>("--days") { Description = "Disable active accounts with no sign-in for this many days (1-3650).", DefaultValueFactory = _ => 90 };
        days.InRange(1, 3650);
        var command = new Command("disable-dormant", "Disable accounts that have not signed in for --days days (serve also does it daily, see Custodian:DormantAccounts).") { days };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var run = await context.Get<StaffLifecycle.DormantAccounts>().RunAsync(parse.GetValue(days), AdminCommands.Operator, ct);
            if (run.Disabled.Count > 0 || run.KeptOfficer is null)
            {
                AnsiConsole.MarkupLine(run.Disabled.Count == 0 ? "No dormant accounts." : $"Disabled {CliText.Count(run.Disabled.Count, "dormant account")}: {Markup.Escape(string.Join(", ", run.Disabled))}");
            }

            if (run.KeptOfficer is { } kept)
            {
                // The account ID only (event 3312 logs the same).
                AnsiConsole.MarkupLine($"Kept dormant account {Markup.Escape(kept)}: it is the last active security officer.");
            }

            return 0;
        }));
        return command;
    }
}
