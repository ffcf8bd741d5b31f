using System.Globalization;
using Custodian.Cli;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;

namespace Custodian.Tests.Incidents;

/// <summary>The <c>incident</c> verbs on a running test server's data directory after real guarded lookups: exit codes, files, ledger and case state.</summary>
[Collection(nameof(Cli.CliCollection))]
public sealed class IncidentCliTests
{
    [Fact]
    public async Task The_incident_verbs_run_a_case_and_reject_bad_arguments_with_exit_code_1()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var start = host.Time.GetUtcNow().AddMinutes(-1);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        foreach (var subscriber in host.Population.Take(2))
        {
            await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
        }

        var data = host.Directory.FullName;
        var work = Directory.CreateTempSubdirectory("custodian-incident-cli-");
        try
        {
            var from = start.ToString("O", CultureInfo.InvariantCulture);
            // The CLI runs on the system clock and refuses a window that has not ended; the server's fake clock starts at the
            // current hour and has moved a minute on, so in the first minute of an hour wait for the system clock to pass it.
            var ahead = host.Time.GetUtcNow() - TimeProvider.System.GetUtcNow();
            if (ahead > TimeSpan.Zero)
            {
                await Task.Delay(ahead + TimeSpan.FromMilliseconds(10));
            }

            var to = host.Time.GetUtcNow().AddMilliseconds(1).ToString("O", CultureInfo.InvariantCulture);
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "declare", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "declare", "--title", "x", "--clerk", "bad code", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "declare", "--title", "x", "--from", "2026-13-01", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "declare", "--title", "x", "--from", to, "--to", from, "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "declare", "--title", "x", "--alert", "A-NOPE", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "declare", "--title", "x \u001b]0;owned\u0007", "--clerk", "C0001", "--from", from, "--data", data])); // a terminal escape sequence in the title
            Assert.Empty(await host.Get<IncidentService>().ListAsync());

            var declared = await Cli.CliCapture.RunAsync(["incident", "declare", "--title", "C0001 at S001", "--clerk", "C0001", "--from", from, "--data", data]);
            Assert.Equal(0, declared.Code);
            var id = Assert.Single(await host.Get<IncidentService>().ListAsync()).Id;
            Assert.EndsWith($"To find the affected subscribers, give the window's end: custodian incident scope {id} --from <start> --to <end>{Environment.NewLine}", declared.Stdout, StringComparison.Ordinal);
            Assert.Equal(2, await CustodianCli.RunAsync(["incident", "scope", "INC-20000101-AAAAAA", "--data", data]));
            var unscoped = await Cli.CliCapture.RunAsync(["incident", "scope", id, "--data", data]); // a window needs both ends
            Assert.Equal((1, $"error: scoping needs the window's start and end: run 'custodian incident scope {id} --from <start> --to <end>' (ISO 8601, e.g. 2026-11-01T00:00+09:00; each replaces that end of the case's window).{Environment.NewLine}"), (unscoped.Code, unscoped.Stderr));
            Assert.Equal(2, await CustodianCli.RunAsync(["incident", "export", id, "--out", Path.Combine(work.FullName, "x.csv"), "--reason", "r", "--approval", "0123456789abcdef", "--data", data])); // not scoped yet
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "scope", id, "--clerk", "C0001", "--from", from, "--to", to, "--data", data]));
            var scoped = (await host.Get<IncidentService>().GetAsync(id)).Value;
            Assert.Equal(new GradeCounts(0, 0, 2, 0), scoped.Summary!.Counts);
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "verify", id, "--data", data]));
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "show", id, "--data", data]));
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "list", "--state", "scoped", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "list", "--state", "bogus", "--data", data]));

            var csv = Path.Combine(work.FullName, "affected.csv");
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "export", id, "--out", csv, "--reason", " ", "--approval", "0123456789abcdef", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "export", id, "--out", csv, "--reason", "to the regulator", "--data", data])); // --approval is required
            Assert.Equal(2, await CustodianCli.RunAsync(["incident", "export", id, "--out", csv, "--reason", "to the regulator", "--approval", "0123456789abcdef", "--data", data])); // no such approval
            Assert.False(File.Exists(csv));

            // Four eyes: this operator requests the export, a second officer approves, then the export runs once.
            Assert.Equal(0, await CustodianCli.RunAsync(["approvals", "request", "--action", "export-data-set", "--target", "incident:" + id, "--reason", "to the regulator", "--data", data]));
            var requests = host.Get<Custodian.Access.Approvals.PrivilegedActionRequests>();
            var approval = Assert.Single(await requests.ListAsync(Custodian.Access.Approvals.PrivilegedRequestStatus.Pending)).Id;
            Assert.True((await requests.ApproveAsync(approval, "O0002", "regulator asked in writing")).IsSuccess);
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "export", id, "--out", csv, "--reason", "to the regulator", "--approval", approval, "--data", data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["incident", "export", id, "--out", Path.Combine(work.FullName, "again.csv"), "--reason", "again", "--approval", approval, "--data", data])); // used once
            var lines = await File.ReadAllLinesAsync(csv);
            Assert.Equal(3, lines.Length);
            Assert.False(OperatingSystem.IsWindows(), "Custodian runs on Linux hosts.");
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(csv));
            }

            var report = Path.Combine(work.FullName, "report.md");
            var svg = Path.Combine(work.FullName, "timeline.svg");
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "report", id, "--out", report, "--svg", svg, "--data", data]));
            Assert.Contains("![Exposing entries per day](timeline.svg)", await File.ReadAllTextAsync(report), StringComparison.Ordinal);
            Assert.StartsWith("<svg ", await File.ReadAllTextAsync(svg), StringComparison.Ordinal);

            string[] facts = ["--how", "단말기 오용", "--measures", "계정 정지", "--contact", "114"];
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "notices", id, "--how", new string('x', 41), "--measures", "m", "--contact", "c", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["incident", "notices", id, .. facts, "--lang", "fr", "--data", data]));
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "notices", id, .. facts, "--lang", "en", "--data", data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["incident", "close", id, "--note", "too early", "--data", data]));
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "notify", id, .. facts, "--data", data]));
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "deliveries", id, "--data", data]));
            Assert.Equal(0, await CustodianCli.RunAsync(["incident", "close", id, "--note", "clerk dismissed", "--data", data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["incident", "notify", id, .. facts, "--data", data]));

            var closed = (await host.Get<IncidentService>().GetAsync(id)).Value;
            Assert.Equal(IncidentState.Closed, closed.State);
            Assert.Equal(4, (await host.Get<IncidentService>().DeliveriesAsync(id)).Count(d => d.Status == "sent"));
            var operatorEntries = (await host.LedgerAsync()).Where(e => e.Entry.Target?.StartsWith("incident:" + id, StringComparison.Ordinal) == true).ToList();
            Assert.Equal([AccessTask.IncidentDeclared, AccessTask.IncidentScoped, AccessTask.IncidentExport, AccessTask.IncidentNotified, AccessTask.IncidentClosed], operatorEntries.Where(e => e.Entry.Outcome == AccessOutcome.Allowed).Select(e => e.Entry.Task));
            // The refusals the service gave are recorded too, each a denied entry of its own task with the code (docs/incidents.md).
            Assert.Equal(
                [
                    "IncidentScoped:incident-scope-incomplete", "IncidentExport:incident-state-conflict", "IncidentExport:export-approval-required",
                    "IncidentExport:export-approval-required", "IncidentClosed:incident-state-conflict", "IncidentNotified:incident-state-conflict",
                ],
                operatorEntries.Where(e => e.Entry.Outcome == AccessOutcome.Denied).Select(e => $"{e.Entry.Task}:{e.Entry.ErrorCode}"));
            Assert.All(operatorEntries, e => Assert.StartsWith("local-", e.Entry.Account, StringComparison.Ordinal));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
