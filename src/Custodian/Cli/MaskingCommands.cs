using System.CommandLine;
using System.Globalization;
using Custodian.Protection.Masking;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// <c>masking show</c> and <c>masking adopt</c>: the deployment's one masking policy (configured by the
/// <c>Custodian__Masking__*</c> environment variables; <see cref="MaskingOptions"/>) and the policy the data
/// directory remembers (<see cref="MaskingPolicyRecord"/>).
/// </summary>
internal static class MaskingCommands
{
    // Fictional values (not from any population) that show what each mask keeps.
    private const string ExampleName = "남궁민수";
    private const string ExampleRrn = "9001011234568";
    private const string ExamplePhone = "+821012345678";
    private const string ExampleAddress = "서울특별시 강남구 테헤란로 123";

    public static Command Masking()
    {
        var show = new Command("show", "Show the configured masking policy, the one this data directory shows, and what each mask keeps (on fictional values).");
        show.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var policy = context.Get<MaskingPolicy>();
            var recorded = await context.Get<MaskingPolicyRecord>().GetAsync(ct);
            AnsiConsole.MarkupLine($"configured: {Markup.Escape(policy.Descriptor)}");
            AnsiConsole.MarkupLine(recorded is { } r
                ? $"adopted:    {Markup.Escape(r.Descriptor)} (since {r.AdoptedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC)"
                : "adopted:    none yet (the first 'serve' adopts the configured policy)");
            var table = new Table().AddColumns("field", "example (fictional)");
            table.AddRow("name", Markup.Escape(policy.MaskName(ExampleName)));
            table.AddRow("rrn", Markup.Escape(policy.MaskRrn(ExampleRrn)));
            table.AddRow("phone", Markup.Escape(policy.MaskPhone(ExamplePhone)));
            table.AddRow("address", Markup.Escape(policy.MaskAddress(ExampleAddress)));
            AnsiConsole.Write(table);
            if (recorded is { } adopted && !string.Equals(adopted.Descriptor, policy.Descriptor, StringComparison.Ordinal))
            {
                AnsiConsole.MarkupLine("[yellow]The configured policy differs from the adopted one: 'serve' will refuse to start until you run 'custodian masking adopt'.[/]");
                return 2;
            }

            return 0;
        }));

        var adopt = new Command("adopt", "Make the configured masking policy the one this data directory shows from now on (run it with the same Custodian__Masking__* settings as the server, while the server is stopped).");
        adopt.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var data = parse.GetValue(CustodianCli.DataOption)!;
            await using var context = await CliContext.OpenAsync(data);

            // Holding the server's lock refuses a running server (or an init or adoption at work: the holder cannot be known) (whose screens would go on with the old masks
            // while the directory records the new ones) and keeps one from starting mid-adoption.
            var paths = Hosting.DataPaths.For(data);
            await using var serverLock = paths.TryHoldServerLock()
                ?? throw new CliException($"{paths.HeldByAnother}; nothing was adopted: stop the server or let the other command finish, then run 'masking adopt' with the same Custodian__Masking__* settings.");

            // PostgreSQL: the policy is the database's, shared by every node's data directory; a server of any of them
            // holds the database's server lock shared (docs/storage.md, "A server runs on the database").
            var db = context.Get<Storage.CustodianDatabase>();
            var (taken, onDatabase) = await Hosting.DatabaseServerLock.TryHoldExclusiveAsync(db, ct);
            if (!taken)
            {
                throw new CliException($"a Custodian server is running on the deployment's database ({db.Path}), from this or another data directory: stop every server of the deployment, then run 'masking adopt' with the same Custodian__Masking__* settings.");
            }

            await using var adoptionHeld = onDatabase;
            var policy = context.Get<MaskingPolicy>();
            var record = context.Get<MaskingPolicyRecord>();
            if (await record.GetAsync(ct) is { } current && string.Equals(current.Descriptor, policy.Descriptor, StringComparison.Ordinal))
            {
                // Nothing to adopt: nothing is written, so 'masking show' keeps the date the policy was first adopted.
                Console.WriteLine($"{policy.Descriptor} is already the adopted policy (since {current.AdoptedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC); nothing changed.");
                return 0;
            }

            var previous = await record.AdoptAsync(policy, ct);
            Console.WriteLine(previous is null
                ? $"Adopted {policy.Descriptor}."
                : $"Adopted {policy.Descriptor} (was {previous}). Screens and exports made before today used the old masks; keep them apart from new ones.");
            return 0;
        }));

        return new Command("masking", "The deployment's one masking policy: show it, or adopt a changed one.") { show, adopt };
    }
}
