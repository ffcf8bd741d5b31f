using System.Text;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Protection.Sample;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Cli;

/// <summary>
/// <c>custodian simulate --server</c> driving a running server for a one-minute day in real time, as its own process
/// (<see cref="CliProcess"/>) as an operator runs it. Not in <see cref="CliCollection"/>: it captures no console, so its
/// real-time minute runs beside the other tests instead of alone in that serialized collection (~65 s of wall time a pass).
/// </summary>
public sealed class LiveSimulationTests
{
    [Fact]
    public async Task Live_simulation_drives_a_running_server_in_real_time()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 300, systemClock: true, options: o => o.PasswordIterations = 1_000);
        var csv = Path.Combine(host.Directory.FullName, "subscribers.csv");
        await using (var writer = new StreamWriter(csv, false, new UTF8Encoding(false)))
        {
            SampleGenerator.WriteCsv(writer, host.Population);
        }

        // The verb opens the server's data directory; on PostgreSQL it needs the server's connection string, as an operator's shell has it.
        var environment = new Dictionary<string, string>();
        if (host.Backend == TestBackend.Postgres)
        {
            environment["Custodian__Storage"] = host.Get<StorageSettings>().ConnectionString!;
        }

        var run = await CliProcess.RunAsync(
            TimeSpan.FromMinutes(4), // the day takes one minute of real time, the process start and provisioning a few seconds more
            environment,
            "simulate", "--server", host.TerminalUrl.ToString(), "--data", host.Directory.FullName, "--subscribers-file", csv, "--minutes", "1", "--clerks", "2", "--stores", "1", "--attack", "scraper", "--scraper-interval", "5", "--scraper-start", "0");

        Assert.True(run.Exit == 0, run.Output + run.Error);
        var entries = await host.LedgerAsync();
        Assert.Equal(2, entries.Count(e => e.Entry.Task == Ledger.AccessTask.SignIn && e.Entry.Outcome == Ledger.AccessOutcome.Allowed));
        Assert.Equal(2, entries.Count(e => e.Entry.Task == Ledger.AccessTask.Enrolled && e.Entry.Outcome == Ledger.AccessOutcome.Allowed));
        Assert.Contains(entries, e => e.Entry.Task == Ledger.AccessTask.Search && e.Entry.Outcome == Ledger.AccessOutcome.Allowed);

        // The run's accounts and terminals do not outlive it: disabled and revoked, each recorded in the ledger.
        var accounts = (await host.Get<StaffDirectory>().ListAsync()).Where(a => a.Id.StartsWith("sim", StringComparison.Ordinal)).ToList();
        Assert.Equal([StaffAccountStatus.Disabled, StaffAccountStatus.Disabled], accounts.Select(a => a.Status));
        var terminals = (await host.Get<TerminalRegistry>().ListAsync()).Where(t => t.Name.StartsWith("sim", StringComparison.Ordinal)).ToList();
        Assert.Equal([(TerminalState.Revoked, "simulation ended"), (TerminalState.Revoked, "simulation ended")], terminals.Select(t => (t.Status, t.RevokeReason)));
        Assert.Equal(2, entries.Count(e => e.Entry.Task == Ledger.AccessTask.StaffDisabled && e.Entry.Reason == "simulation ended"));
        Assert.Equal(2, entries.Count(e => e.Entry.Task == Ledger.AccessTask.Revoked && e.Entry.Reason == "simulation ended"));

        // After an import and a simulated day: no RRN or phone number in the data directory or the server's logs.
        var needles = PlaintextScanner.Needles(host.Population);
        var findings = await PlaintextScanner.ScanFilesAsync(host.Directory.FullName, needles, exclude: f => f == csv);
        findings.AddRange(PlaintextScanner.ScanLogs(host.Logs, needles));
        Assert.Empty(findings);
    }
}
