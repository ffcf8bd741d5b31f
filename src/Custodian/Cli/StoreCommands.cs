using System.CommandLine;
using System.Text;
using Custodian.Lookup;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary><c>stores import</c> and <c>stores list</c>: the area of each store, for the <c>away</c> signal (docs/ledger-format.md §1.1).</summary>
internal static class StoreCommands
{
    public static Command Stores()
    {
        var file = new Argument<FileInfo>("file") { Description = "Store CSV, header exactly store,area (e.g. S001,seoul-gangnam); 'custodian sample' writes stores.csv." };
        var import = new Command("import", "Set the area of the listed stores (added or replaced; stores not listed keep theirs). All or nothing: any bad row applies nothing, and every bad row is reported with its line and field.") { file };
        import.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var input = CliFiles.InputFile(parse.GetValue(file)!, "<file>");
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            StoreAreaImport report;
            using (var reader = new StreamReader(input.FullName, Encoding.UTF8))
            {
                report = await context.Get<StoreAreas>().ImportAsync(reader, ct);
            }

            foreach (var error in report.Errors.Take(200))
            {
                Console.Error.WriteLine($"line {error.Line}: {error.Field}: {error.Rule}");
            }

            if (report.Errors.Count > 200)
            {
                Console.Error.WriteLine($"... and {CliText.Count(report.Errors.Count - 200, "more problem")}");
            }

            if (!report.Applied)
            {
                Console.Error.WriteLine($"error: nothing applied (all-or-nothing): {CliText.Count(report.Errors.Select(e => e.Line).Distinct().Count(), "bad row")}.");
                return CliExitCodes.RowsRefused;
            }

            Console.WriteLine($"Imported the areas of {CliText.Count(report.Stores, "store")}. A running server uses them within {StoreAreas.RefreshInterval.TotalSeconds:0} seconds.");
            return CliExitCodes.Ok;
        }));

        var list = new Command("list", "List stores and their areas.");
        list.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var stores = await context.Get<StoreAreas>().ListAsync(ct);
            if (stores.Count == 0)
            {
                Console.WriteLine("No store has an area: import them with 'custodian stores import FILE'.");
                return CliExitCodes.Ok;
            }

            var table = new Table().AddColumns("store", "area", "updated (UTC)");
            foreach (var store in stores)
            {
                table.AddRow(Markup.Escape(store.Store), Markup.Escape(store.Area), store.UpdatedAt.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            return CliExitCodes.Ok;
        }));

        return new Command("stores", "The area of each store (for the monitor's 'other area' signal): import, list.") { import, list };
    }
}
