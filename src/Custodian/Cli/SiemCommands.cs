using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Review;
using Custodian.Siem.Export;
using Custodian.Siem.Syslog;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// <c>custodian siem export</c> (CEF over RFC 5424 syslog, or OCSF JSON lines) and <c>custodian siem status</c>
/// (each destination's cursor against the ledger size). See docs/siem.md.
/// </summary>
internal static class SiemCommands
{
    public static Command Siem()
    {
        var to = new Option<string?>("--to") { Description = "Syslog receiver host:port (CEF over RFC 5424, TCP with octet-counting framing)." };
        var tls = new Option<bool>("--tls") { Description = "Use TLS (RFC 5425) to the receiver." };
        var ca = new Option<string?>("--ca") { Description = "With --tls: PEM file of the CA that alone is trusted for the receiver's certificate (default: system trust)." };
        var format = new Option<string>("--format") { Description = "cef (to a syslog receiver, --to) or ocsf-json (OCSF JSON lines, --out).", DefaultValueFactory = _ => "cef" };
        format.AcceptOnlyFromAmong("cef", "ocsf-json");
        var output = new Option<string?>("--out") { Description = "With --format ocsf-json: file to append to, or - for standard output." };
        var once = new Option<bool>("--once") { Description = "Export what the ledger holds now, then exit (the default)." };
        var follow = new Option<bool>("--follow") { Description = "Keep following the ledger; reconnect with back-off on connection loss; stop with Ctrl+C." };
        var batch = new Option<int>("--batch-size") { Description = "Ledger entries per batch (one write, one flush, one cursor update).", DefaultValueFactory = _ => 500 }.InRange(1, SiemExportOptions.MaxBatchSize);
        var poll = new Option<int>("--poll-ms") { Description = "With --follow: how often to look for new entries, in milliseconds.", DefaultValueFactory = _ => 1000 }.InRange(50, 60_000);
        var timeout = new Option<int>("--timeout-ms") { Description = "Longest wait for connecting (TCP and TLS handshake) and for each batch's write, in milliseconds; past it the attempt fails (--once: exit 2; --follow: retried with back-off).", DefaultValueFactory = _ => (int)SyslogTcpSink.DefaultTimeout.TotalMilliseconds }.InRange(100, 300_000);
        var hostName = new Option<string?>("--hostname") { Description = "HOSTNAME written in each syslog message (default: this machine's name)." };
        var reason = new Option<string?>("--reason") { Description = "With --format ocsf-json (a one-off export to a file or standard output): why the events leave Custodian; required, 1-500 characters. Recorded in the ledger as an export, flagged in the review report." };
        var export = new Command("export", "Export ledger entries and alerts as OCSF 1.8 events, at least once, from this destination's persisted cursor.")
        {
            to, tls, ca, format, output, once, follow, batch, poll, timeout, hostName, reason,
        };
        export.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var isJson = parse.GetValue(format) == "ocsf-json";
            if (parse.GetValue(once) && parse.GetValue(follow))
            {
                throw CliException.Usage("--once and --follow exclude each other.");
            }

            SyslogTarget? target = null;
            if (isJson)
            {
                if (string.IsNullOrEmpty(parse.GetValue(output)) || parse.GetValue(to) is not null || parse.GetValue(tls) || parse.GetValue(ca) is not null)
                {
                    throw CliException.Usage("--format ocsf-json needs --out FILE (or -) and takes no --to, --tls or --ca.");
                }

                if (parse.GetValue(output) is { } outPath && outPath != "-")
                {
                    CliFiles.OutputFile(outPath, "--out");
                }
            }
            else
            {
                if (parse.GetValue(output) is not null)
                {
                    throw CliException.Usage("--out is for --format ocsf-json; CEF goes to a syslog receiver (--to).");
                }

                if (string.IsNullOrEmpty(parse.GetValue(to)))
                {
                    throw CliException.Usage("--to host:port is required for CEF over syslog (or use --format ocsf-json --out FILE).");
                }

                if (!SyslogTarget.TryParse(parse.GetValue(to), out target, out var error))
                {
                    throw CliException.Usage("--to " + error);
                }

                if (parse.GetValue(ca) is { } caFile && !parse.GetValue(tls))
                {
                    throw CliException.Usage("--ca needs --tls.");
                }

                if (parse.GetValue(ca) is { } caPath && !File.Exists(caPath))
                {
                    throw CliException.Usage($"--ca: no such file: {caPath}.");
                }
            }

            // OCSF JSON to a file or standard output takes the events (clerks, IPs, subscriber tokens) out of Custodian: an
            // export like review query --export, so it needs a reason and is recorded (docs/siem.md §6). The feed to the
            // SIEM's own syslog receiver is not.
            var exportReason = parse.GetValue(reason);
            if (isJson && string.IsNullOrWhiteSpace(exportReason))
            {
                throw CliException.Usage("--format ocsf-json (an export to a file or standard output) requires --reason with the reason for the export (PIPA safety standard Art. 8(2)).");
            }

            if (!isJson && exportReason is not null)
            {
                throw CliException.Usage("--reason is only used with --format ocsf-json; the CEF feed to the SIEM's syslog receiver is not a one-off export.");
            }

            if (isJson && LedgerReview.CheckReason(exportReason) is { } badReason)
            {
                throw CliException.Usage(badReason.Code == ReviewErrors.ReasonRequired
                    ? $"--reason must be 1-{LeafCodec.MaxReasonLength} characters, not blank."
                    : "--" + badReason.Message); // the free-text rule: "--reason: must not contain …"
            }

            if (parse.GetValue(hostName) is { } givenHost && !SiemSyslog.IsValidHostName(givenHost))
            {
                throw CliException.Usage("--hostname must be 1-255 printable US-ASCII characters (RFC 5424 6.2.4).");
            }

            X509Certificate2Collection? anchors;
            try
            {
                anchors = SiemExportService.LoadCaFile(parse.GetValue(ca));
            }
            catch (IOException ex)
            {
                throw CliException.Usage("--ca: " + ex.Message); // a file of the wrong kind is a bad argument (exit 1), as elsewhere
            }

            var host = parse.GetValue(hostName) ?? SiemSyslog.SanitizeHostName(Environment.MachineName);
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var exporter = context.Get<SiemExporter>();
            var path = parse.GetValue(output);
            var toStdout = isJson && path == "-";
            var summary = toStdout ? Console.Error : Console.Out;
            if (isJson)
            {
                var sinkId = toStdout ? "ocsf-json:stdout" : "ocsf-json:" + Path.GetFullPath(path!);
                var from = await context.Get<SiemCursorStore>().GetNextAsync(sinkId, ct);
                var recorded = await context.Get<IAccessLedger>().AppendAsync(
                    new AccessEntry
                    {
                        Time = context.Get<TimeProvider>().GetUtcNow(),
                        Task = AccessTask.Export,
                        Outcome = AccessOutcome.Allowed,
                        Account = AdminCommands.Operator,
                        Role = StaffRole.SecurityOfficer,
                        Target = string.Create(CultureInfo.InvariantCulture, $"siem {sinkId} from={from}{(parse.GetValue(follow) ? " follow" : string.Empty)}"),
                        Reason = exportReason!.Trim(),
                    },
                    ct);
                await summary.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Recorded as ledger entry #{recorded.Sequence} (an export, flagged in the review report)."));
            }

            Func<CancellationToken, Task<ISiemSink>> connect = isJson
                ? _ => Task.FromResult<ISiemSink>(toStdout ? OcsfJsonLinesSink.ToStandardOutput(Console.OpenStandardOutput()) : OcsfJsonLinesSink.ToFile(path!))
                : async c => await SyslogTcpSink.ConnectAsync(target!, parse.GetValue(tls), anchors, host, TimeSpan.FromMilliseconds(parse.GetValue(timeout)), context.Get<TimeProvider>(), c);
            if (parse.GetValue(follow))
            {
                var id = isJson ? (toStdout ? "ocsf-json:stdout" : "ocsf-json:" + Path.GetFullPath(path!)) : SyslogTcpSink.SinkId(target!, parse.GetValue(tls));
                await summary.WriteLineAsync($"Following the ledger to {id} (Ctrl+C stops).");
                // The exporter's own log is silenced in the CLI: say on stderr when the receiver cannot be reached (it retries with back-off).
                Func<CancellationToken, Task<ISiemSink>> reportingConnect = async c =>
                {
                    try
                    {
                        return await connect(c);
                    }
                    catch (IOException ex)
                    {
                        await Console.Error.WriteLineAsync($"warning: {ex.Message} Retrying with back-off.");
                        throw;
                    }
                };
                await exporter.RunAsync(reportingConnect, id, parse.GetValue(batch), TimeSpan.FromMilliseconds(parse.GetValue(poll)), ct);
                return 0;
            }

            await using var sink = await connect(ct);
            var progress = await exporter.ExportAvailableAsync(sink, parse.GetValue(batch), ct);
            var size = await context.Get<IAccessLedgerReader>().GetSizeAsync(ct);
            await summary.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Exported {CliText.Count(progress.Events, "event")} to {sink.Id}; cursor {progress.NextSequence} of ledger size {size}."));
            return 0;
        }));

        var status = new Command("status", "Show each SIEM destination's cursor against the ledger size.");
        status.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var size = await context.Get<IAccessLedgerReader>().GetSizeAsync(ct);
            var cursors = await context.Get<SiemCursorStore>().ListAsync(ct);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Ledger size: {size}"));
            if (cursors.Count == 0)
            {
                Console.WriteLine("No SIEM destination has been exported to yet.");
                return 0;
            }

            var table = new Table().AddColumns("destination", "next sequence", "behind", "events sent", "last advance (UTC)");
            foreach (var c in cursors)
            {
                table.AddRow(
                    Markup.Escape(c.Sink),
                    c.NextSequence.ToString(CultureInfo.InvariantCulture),
                    Math.Max(0, size - c.NextSequence).ToString(CultureInfo.InvariantCulture),
                    c.Exported.ToString(CultureInfo.InvariantCulture),
                    c.UpdatedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            return 0;
        }));
        return new Command("siem", "Export the access ledger to a SIEM (OCSF 1.8 as CEF over syslog, or OCSF JSON lines).") { export, status };
    }
}
