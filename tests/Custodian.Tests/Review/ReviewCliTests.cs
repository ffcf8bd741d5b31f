using System.Text.Json;
using Custodian.Cli;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Protection.Keys;
using Custodian.Review;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.Review;

/// <summary>The review and retention verbs on a running test server's data directory, after real guarded lookups. Asserts exit codes, files and ledger state.</summary>
[Collection(nameof(Cli.CliCollection))]
public sealed class ReviewCliTests
{
    [Fact]
    public async Task Report_query_export_and_sign_off_from_the_cli_leak_no_personal_value()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 30);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var handles = new List<string>();
        foreach (var subscriber in host.Population.Take(3))
        {
            handles.Add(await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone));
        }

        using (var view = await clerk.GetAsync($"/api/v1/subscribers/{handles[0]}?purpose=in-store-service"))
        {
            Assert.True(view.IsSuccessStatusCode);
        }

        var data = host.Directory.FullName;
        var work = Directory.CreateTempSubdirectory("custodian-review-cli-");
        try
        {
            var month = ReviewPeriod.Containing(ReviewCycle.Monthly, host.Time.GetUtcNow(), TimeSpan.FromHours(9));
            var reportFile = Path.Combine(work.FullName, "report.json");
            Assert.Equal(0, await CustodianCli.RunAsync(["review", "--month", month.Id, "--out", reportFile, "--data", data]));
            using (var report = JsonDocument.Parse(await File.ReadAllBytesAsync(reportFile)))
            {
                var inPeriod = (await host.LedgerAsync()).Count(e => e.Entry.Time >= month.Start && e.Entry.Time < month.End);
                Assert.Equal(inPeriod, report.RootElement.GetProperty("entries").GetInt64());
                var c0001 = report.RootElement.GetProperty("byAccount").EnumerateArray().Single(a => a.GetProperty("key").GetString() == "C0001");
                Assert.Equal((await host.LedgerAsync()).Count(e => e.Entry.Account == "C0001"), c0001.GetProperty("entries").GetInt64());
            }

            Assert.Equal(1, await CustodianCli.RunAsync(["review", "--month", "2026-13", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "--month", month.Id, "--week", "2026-W01", "--data", data]));

            // Queries and exports.
            Assert.Equal(0, await CustodianCli.RunAsync(["review", "query", "--clerk", "C0001", "--task", "search", "--limit", "2", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "query", "--task", "bogus", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "query", "--from", "2026-13-01", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "query", "--subscriber-token", "123", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "query", "--limit", "0", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "query", "--from", "2026-12-01", "--to", "2026-11-01", "--data", data]));

            var csv = Path.Combine(work.FullName, "export.csv");
            var size = await host.Get<IAccessLedgerReader>().GetSizeAsync();
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "query", "--clerk", "C0001", "--export", csv, "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "query", "--clerk", "C0001", "--export", csv, "--reason", "  ", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "query", "--clerk", "C0001", "--reason", "why", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "query", "--clerk", "C0001", "--export", csv, "--reason", "call " + host.Population[2].Phone, "--data", data]));
            Assert.False(File.Exists(csv));
            Assert.Equal(size, await host.Get<IAccessLedgerReader>().GetSizeAsync());

            var subject = await GuardedLookupTests.IdOf(host, host.Population[0].Phone);
            var token = host.Get<Tokenizer>().TokenizeSubscriber(subject);
            Assert.Equal(0, await CustodianCli.RunAsync(["review", "query", "--subscriber-token", token, "--export", csv, "--reason", "complaint 2026-0042: subscriber asked who viewed the record", "--data", data]));
            var lines = await File.ReadAllLinesAsync(csv);
            Assert.Equal(3, lines.Length); // header, the search and the view of subscriber 0
            Assert.All(lines.Skip(1), l => Assert.Contains("," + token + ",", l, StringComparison.Ordinal));
            Assert.All(lines.Skip(1), l => Assert.DoesNotContain("," + subject.Value + ",", l, StringComparison.Ordinal));
            Assert.False(OperatingSystem.IsWindows(), "Custodian runs on Linux hosts.");
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(csv));
            }

            var export = (await host.LastRequestEntryAsync());
            Assert.Equal((AccessTask.Export, "complaint 2026-0042: subscriber asked who viewed the record"), (export.Entry.Task, export.Entry.Reason));
            Assert.Equal([subject], export.Entry.Subjects);

            // No RRN, phone number or name in anything the review wrote.
            var needles = PlaintextScanner.Needles(host.Population).Concat(host.Population.Select(p => p.Name)).ToList();
            Assert.Equal(0, await CustodianCli.RunAsync(["review", "--month", month.Id, "--out", reportFile, "--data", data]));
            Assert.Empty(await PlaintextScanner.ScanFilesAsync(work.FullName, needles));
            using (var report = JsonDocument.Parse(await File.ReadAllBytesAsync(reportFile)))
            {
                var flagged = Assert.Single(report.RootElement.GetProperty("downloads").EnumerateArray());
                Assert.True(flagged.GetProperty("flagged").GetBoolean());
                Assert.Equal(export.Sequence, flagged.GetProperty("sequence").GetInt64());
            }

            // Sign-off: only an officer, only a finished period after the deployment's first entry, only once. This deployment
            // started last month: an entry in it (the test host's own entries are all of this month).
            Assert.Equal(0, await CustodianCli.RunAsync(["staff", "add", "--id", "privacy1", "--role", "privacy-officer", "--data", data]));
            var previous = month.Previous().Id;
            await host.Get<IAccessLedger>().AppendAsync(new AccessEntry { Time = month.Previous().Start.AddDays(1), Task = AccessTask.View, Outcome = AccessOutcome.Allowed, Account = "C0001", Store = "S001", Subjects = [new SubscriberId(1)] });
            Assert.Equal(2, await CustodianCli.RunAsync(["review", "sign-off", "--month", month.Id, "--reviewer", "privacy1", "--note", "too early", "--data", data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["review", "sign-off", "--month", previous, "--reviewer", "C0001", "--note", "not an officer", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "sign-off", "--month", previous, "--reviewer", "privacy1", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "sign-off", "--month", previous, "--reviewer", "privacy1", "--note", " ", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "sign-off", "--month", previous, "--reviewer", "privacy1", "--note", "bad hash", "--report-sha256", "abcd", "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["review", "sign-off", "--month", previous, "--reviewer", "privacy1", "--note", "call 010-9406-2730", "--data", data])); // as incident close --note
            Assert.Equal(0, await CustodianCli.RunAsync(["review", "sign-off", "--month", previous, "--reviewer", "privacy1", "--note", "no findings", "--data", data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["review", "sign-off", "--month", previous, "--reviewer", "privacy1", "--note", "twice", "--data", data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["review", "sign-off", "--week", "2020-W01", "--reviewer", "privacy1", "--note", "wrong cycle", "--data", data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["review", "sign-off", "--cycle", "weekly", "--week", "2020-W01", "--reviewer", "privacy1", "--note", "weekly cycle", "--data", data])); // --cycle does not change the configured cycle
            var signOffs = (await host.LedgerAsync()).Where(e => e.Entry.Task == AccessTask.ReviewSignOff).Select(e => e.Entry.Target!.Split(';')[0]).ToList();
            Assert.Equal(["review:" + previous], signOffs);
            Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--data", data]));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Sign_off_refuses_a_period_before_deployment_and_a_cycle_other_than_the_configured_one()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var data = host.Directory.FullName;
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "add", "--id", "privacy1", "--role", "privacy-officer", "--data", data]));
        var month = ReviewPeriod.Containing(ReviewCycle.Monthly, host.Time.GetUtcNow(), TimeSpan.FromHours(9));
        var previous = month.Previous();
        var lastWeek = ReviewPeriod.Containing(ReviewCycle.Weekly, host.Time.GetUtcNow(), TimeSpan.FromHours(9)).Previous();

        // Every entry of this test host is of this month: last month ended before the deployment.
        var (exit, _, error) = await Cli.CliCapture.RunAsync(["review", "sign-off", "--month", previous.Id, "--reviewer", "privacy1", "--note", "no findings", "--data", data]);
        Assert.Equal((CliExitCodes.Failed, $"error: Period {previous.Id} ended before the first ledger entry (the deployment's start); there is nothing to sign off."), (exit, error.TrimEnd('\n')));

        // A deployment that started last month, with a weekly period that ended after its first entry.
        await host.Get<IAccessLedger>().AppendAsync(new AccessEntry { Time = previous.Start.AddDays(-8), Task = AccessTask.View, Outcome = AccessOutcome.Allowed, Account = "C0001", Store = "S001", Subjects = [new SubscriberId(1)] });

        // Configured monthly (the default): --cycle weekly does not let a week be signed off.
        (exit, _, error) = await Cli.CliCapture.RunAsync(["review", "sign-off", "--cycle", "weekly", "--week", lastWeek.Id, "--reviewer", "privacy1", "--note", "weekly", "--data", data]);
        Assert.Equal((CliExitCodes.Failed, "error: --cycle weekly does not match the configured review cycle (monthly, Custodian__Review__Cycle); a sign-off is for a period of the configured cycle (review-cycle-mismatch)."), (exit, error.TrimEnd('\n')));
        (exit, _, error) = await Cli.CliCapture.RunAsync(["review", "sign-off", "--week", lastWeek.Id, "--reviewer", "privacy1", "--note", "weekly", "--data", data]);
        Assert.Equal((CliExitCodes.Failed, "error: The review cycle is monthly (yyyy-MM); sign off a period of that cycle."), (exit, error.TrimEnd('\n')));

        // Configured weekly (its own process, its own environment): --cycle monthly does not let a month be signed off.
        var weekly = new Dictionary<string, string> { ["Custodian__Review__Cycle"] = "weekly" };
        if (host.Backend == TestBackend.Postgres)
        {
            weekly["Custodian__Storage"] = host.Get<Custodian.Storage.StorageSettings>().ConnectionString!; // the process uses the host's database
        }

        var refused = await CliProcess.RunAsync(weekly, "review", "sign-off", "--cycle", "monthly", "--month", previous.Id, "--reviewer", "privacy1", "--note", "monthly", "--data", data);
        Assert.Equal((CliExitCodes.Failed, "error: --cycle monthly does not match the configured review cycle (weekly, Custodian__Review__Cycle); a sign-off is for a period of the configured cycle (review-cycle-mismatch)."), (refused.Exit, refused.Error.TrimEnd('\n')));
        Assert.DoesNotContain(await host.LedgerAsync(), e => e.Entry.Task == AccessTask.ReviewSignOff);

        // The configured cycle, named or not, is served.
        Assert.Equal(0, await CustodianCli.RunAsync(["review", "sign-off", "--cycle", "monthly", "--month", previous.Id, "--reviewer", "privacy1", "--note", "no findings", "--data", data]));
        var weeklyOk = await CliProcess.RunAsync(weekly, "review", "sign-off", "--cycle", "weekly", "--week", lastWeek.Id, "--reviewer", "privacy1", "--note", "no findings", "--data", data);
        Assert.True(weeklyOk.Exit == 0, weeklyOk.Error);
        Assert.Equal(["review:" + previous.Id, "review:" + lastWeek.Id], (await host.LedgerAsync()).Where(e => e.Entry.Task == AccessTask.ReviewSignOff).Select(e => e.Entry.Target!.Split(';')[0]));
    }

    [Fact]
    public async Task Review_query_refuses_a_negative_before_as_a_usage_error()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var data = host.Directory.FullName;
        foreach (var before in new[] { "-1", "-9223372036854775808" })
        {
            var (exit, output, error) = await Cli.CliCapture.RunAsync(["review", "query", "--before", before, "--data", data]);
            Assert.Equal((CliExitCodes.Usage, string.Empty, "error: --before must be a sequence number of 0 or more (as printed after a full page)."), (exit, output, error.TrimEnd('\n')));
        }

        var (zeroExit, zeroOutput, _) = await Cli.CliCapture.RunAsync(["review", "query", "--before", "0", "--data", data]);
        Assert.Equal(0, zeroExit);
        Assert.Equal("No entries match these filters.\n", zeroOutput);
    }

    [Fact]
    public async Task Review_query_with_dates_states_the_window_in_both_forms_and_says_when_nothing_matched()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var data = host.Directory.FullName;
        Assert.True(host.Time.GetUtcNow() > new DateTimeOffset(2020, 1, 3, 0, 0, 0, TimeSpan.Zero));

        var (exit, output, error) = await Cli.CliCapture.RunAsync(["review", "query", "--from", "2020-01-01", "--to", "2020-01-03", "--data", data]);

        Assert.Equal((0, string.Empty), (exit, error));
        Assert.Equal(
            "Window: from 2020-01-01 00:00 +09:00 (2019-12-31 15:00 UTC) to 2020-01-03 00:00 +09:00 (2020-01-02 15:00 UTC), the end excluded; the table's times are UTC.\n"
            + "No entries match these filters in that window.\n",
            output);

        (exit, output, _) = await Cli.CliCapture.RunAsync(["review", "query", "--from", "2020-01-01T09:30:00+09:00", "--data", data]);
        var entries = (await host.LedgerAsync()).Count(e => e.Entry.Time >= new DateTimeOffset(2020, 1, 1, 0, 30, 0, TimeSpan.Zero));
        Assert.Equal(0, exit);
        Assert.StartsWith("Window: from 2020-01-01 09:30 +09:00 (2020-01-01 00:30 UTC) on; the table's times are UTC.\n", output, StringComparison.Ordinal);
        Assert.True(entries is > 0 and <= 50, $"{entries} entries");
        Assert.EndsWith($"{entries} {(entries == 1 ? "entry" : "entries")}.\n", output, StringComparison.Ordinal);

        (exit, output, _) = await Cli.CliCapture.RunAsync(["review", "query", "--to", "2020-01-03", "--data", data]);
        Assert.Equal((0, "Window: before 2020-01-03 00:00 +09:00 (2020-01-02 15:00 UTC); the table's times are UTC.\nNo entries match these filters in that window.\n"), (exit, output));
    }

    [Fact]
    public async Task Ledger_retention_from_the_cli_erases_old_entries_and_the_ledger_still_verifies()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, services: s => s.AddSingleton(new CheckpointOptions { MaxFutureSkewSeconds = 86_400 }));
        var data = host.Directory.FullName;
        var old = TimeProvider.System.GetUtcNow().AddYears(-3);
        var ledger = host.Get<IAccessLedger>();
        var erasedSequence = -1L;
        foreach (var subject in new[] { 1L, 2L })
        {
            erasedSequence = (await ledger.AppendAsync(new AccessEntry { Time = old, Task = AccessTask.View, Outcome = AccessOutcome.Allowed, Account = "C0009", Store = "S001", Subjects = [new SubscriberId(subject)] })).Sequence;
        }

        // A signed checkpoint taken before the erasure still verifies after it: leaf hashes are kept.
        var checkpoints = host.Get<LedgerCheckpoints>();
        await checkpoints.SignLatestAsync();
        var checkpointFile = Path.Combine(data, "..", Path.GetFileName(data) + ".checkpoint");
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "checkpoint", "--min-witnesses", "0", "--out", checkpointFile, "--data", data]));

        var size = await host.Get<IAccessLedgerReader>().GetSizeAsync();
        Assert.Equal(1, await CustodianCli.RunAsync(["ledger", "retention", "--bogus", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "retention", "--dry-run", "--data", data]));
        Assert.Equal(size, await host.Get<IAccessLedgerReader>().GetSizeAsync());

        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "retention", "--data", data]));
        Assert.Equal(size + 1, await host.Get<IAccessLedgerReader>().GetSizeAsync());
        Assert.DoesNotContain(await host.LedgerAsync(), e => e.Entry.Account == "C0009");
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "retention", "--data", data]));
        Assert.Equal(size + 1, await host.Get<IAccessLedgerReader>().GetSizeAsync());
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--against", checkpointFile, "--log-key", checkpoints.LogKey.ToString(), "--data", data]));
        File.Delete(checkpointFile);

        // An erased entry has no receipt, and the CLI says why rather than "no ledger entry".
        var originalError = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            Assert.Equal(2, await CustodianCli.RunAsync(["ledger", "receipt", "--sequence", erasedSequence.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data", data]));
        }
        finally
        {
            Console.SetError(originalError);
        }

        Assert.Contains("was erased by retention", captured.ToString(), StringComparison.Ordinal);
    }
}
