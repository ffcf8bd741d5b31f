using System.CommandLine;
using System.Globalization;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Protection.Audit;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// <c>audit-storage [PATH...]</c>: scans files, and on PostgreSQL every table's contents, for any RRN or phone number
/// of the stored population (see <see cref="StorageAudit.ScanWithDatabaseAsync"/>). Prints file, byte offset and kind — never a value. Exit 0 when
/// clean, 3 on any finding or a path that is missing or unreadable.
/// </summary>
internal static class AuditStorageCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths")
        {
            Description = "Files or directories to scan (recursively): database files incl. -wal, backups, logs, exports. Default: the data directory. On PostgreSQL the tables are scanned too.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("audit-storage", "Scan storage for plaintext RRNs and phone numbers of the loaded population; reports file, offset and kind, never the value.") { paths };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var data = parse.GetValue(CustodianCli.DataOption)!;
            foreach (var path in parse.GetValue(paths) ?? [])
            {
                if (!File.Exists(path) && !Directory.Exists(path))
                {
                    throw CliException.Usage($"<paths>: no such file or directory: {Path.GetFullPath(path)}");
                }
            }

            await using var context = await CliContext.OpenAsync(data);
            var targets = parse.GetValue(paths) is { Length: > 0 } given ? given : [Hosting.DataPaths.For(data).Root];
            StorageAuditReport? report = null;
            await AnsiConsole.Status().StartAsync("Scanning", async status =>
            {
                var progress = new InlineProgress(bytes => status.Status($"Scanned {bytes / (1024 * 1024):N0} MiB"));
                report = await context.Get<StorageAudit>().ScanWithDatabaseAsync(targets, progress, ct); // on PostgreSQL also every table's contents (docs/storage.md)
            });

            // Decrypting the whole population (in memory only) is itself an access worth recording.
            await context.Get<IAccessLedger>().AppendAsync(
                new AccessEntry
                {
                    Time = context.Get<TimeProvider>().GetUtcNow(),
                    Task = AccessTask.View,
                    Outcome = AccessOutcome.Allowed,
                    Account = AdminCommands.Operator,
                    Role = StaffRole.SecurityOfficer,
                    Target = "all-subscribers",
                    Reason = string.Create(CultureInfo.InvariantCulture, $"audit-storage: RRNs and phone numbers of {report!.Subscribers} subscribers decrypted in memory to scan {report.FilesScanned} files and {report.TablesScanned} tables; {report.TotalFindings} findings; no values output"),
                },
                ct);

            foreach (var finding in report.Findings)
            {
                Console.WriteLine($"FOUND {(finding.Kind == PlaintextKind.Rrn ? "rrn" : "phone")} at offset {finding.Offset} in {finding.Path}");
            }

            if (report.TotalFindings > report.Findings.Count)
            {
                Console.WriteLine($"... and {CliText.Count(report.TotalFindings - report.Findings.Count, "more finding")}");
            }

            foreach (var path in report.Missing)
            {
                Console.Error.WriteLine($"missing: {path}");
            }

            // The running server holds its lock file exclusively; it is empty and holds no data, so it is not a gap in the scan.
            var serverLock = Path.GetFullPath(Hosting.DataPaths.For(data).ServerLock);
            var unreadable = report.Unreadable.Where(path => !string.Equals(Path.GetFullPath(path), serverLock, StringComparison.Ordinal)).ToList();
            foreach (var path in unreadable)
            {
                Console.Error.WriteLine($"unreadable: {path}");
            }

            var tables = report.TablesScanned > 0 ? $" and {CliText.Count(report.TablesScanned, "PostgreSQL table")}" : string.Empty;
            Console.WriteLine($"Scanned {CliText.Count(report.FilesScanned, "file")}{tables} ({CliText.Count(report.BytesScanned, "byte")}) for the RRNs and phone numbers of {CliText.Count(report.Subscribers, "subscriber")}: {CliText.Count(report.TotalFindings, "finding")}.");
            return report.TotalFindings == 0 && report.Missing.Count == 0 && unreadable.Count == 0 ? 0 : 3;
        }));
        return command;
    }

    private sealed class InlineProgress(Action<long> handler) : IProgress<long>
    {
        public void Report(long value) => handler(value);
    }
}
