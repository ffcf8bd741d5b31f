using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Projection;
using Custodian.Monitoring;
using Custodian.Monitoring.Workers;
using Custodian.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Bench.Workers;

/// <summary>
/// <c>workers</c>: sharded monitor throughput with 1 and then 2 workers (in this process) in the same run (docs/events.md,
/// "Monitor workers"). Per run: a fresh stream and SQLite file, N quiet entries (2,000 clerks at 500 terminals) appended
/// first, then the workers start and the clock runs until every partition has committed its entries (2 N partition
/// entries: clerk and terminal). Reports entries/s, process CPU µs per entry (nats-server not counted) and the load average.
/// </summary>
internal static class WorkersBench
{
    public static Command Create()
    {
        var nats = new Option<string>("--nats") { Description = "NATS server with JetStream, e.g. nats://127.0.0.1:4222.", Required = true };
        var entries = new Option<int>("--entries") { Description = "Entries per run (100-200,000).", DefaultValueFactory = _ => 5_000 };
        var rounds = new Option<int>("--rounds") { Description = "1-then-2-worker rounds (1-10).", DefaultValueFactory = _ => 2 };
        entries.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 100 or > 200_000) { r.AddError("--entries must be 100-200,000."); } });
        rounds.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 10) { r.AddError("--rounds must be 1-10."); } });
        var command = new Command("workers", "Monitor throughput with 1 vs 2 sharded workers, in the same run (docs/events.md).") { nats, entries, rounds };
        command.SetAction(async (parse, _) => await RunAsync(parse.GetValue(nats)!, parse.GetValue(entries), parse.GetValue(rounds)));
        return command;
    }

    private static async Task<int> RunAsync(string nats, int count, int rounds)
    {
        Console.WriteLine("| Round | Workers | Entries | Seconds | Entries/s | Process CPU µs / entry | Load (1 min) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var workers in new[] { 1, 2 })
            {
                var run = Guid.NewGuid().ToString("N")[..8];
                var directory = Directory.CreateTempSubdirectory("custodian-bench-workers-");
                try
                {
                    var time = TimeProvider.System;
                    await using var db = new CustodianDatabase(Path.Combine(directory.FullName, "bench.db"));
                    await db.MigrateAsync(new LedgerMigrations().Migrations.Concat(new MonitoringMigrations().Migrations), time);
                    var settings = EventsSettings.Parse(nats, new JetStreamOptions { Stream = "BENCH_" + run, SubjectPrefix = "bench." + run, WorkerLeaseSeconds = 10 }).Value!;
                    await using var ledger = new JetStreamAccessLedger(settings, new LedgerProjection(db, time, NullLogger<LedgerProjection>.Instance), new InProcessAccessEventStream(), () => "bench/workers+00000000", NullLogger<JetStreamAccessLedger>.Instance);
                    await ledger.StartAsync();
                    var start = time.GetUtcNow();
                    for (var i = 0; i < count; i += 64)
                    {
                        await Task.WhenAll(Enumerable.Range(i, Math.Min(64, count - i)).Select(k => ledger.AppendAsync(Entry(start, k)).AsTask()));
                    }

                    var progress = new PartitionProgressStore(db, time);
                    using var stop = new CancellationTokenSource();
                    var process = Process.GetCurrentProcess();
                    process.Refresh();
                    var cpu0 = process.TotalProcessorTime;
                    var clock = Stopwatch.StartNew();
                    var runs = Enumerable.Range(0, workers).Select(w => Task.Run(() => new MonitorWorker(
                        settings, "bench-" + w, progress, ledger, ledger, new AlertStore(db, time), new SuspensionRegistry(db, time),
                        () => new DistinctSubjectsDetector(new MonitorOptions()), () => Custodian.Monitoring.Detection.MonitorEngine.CreateDefault(new Custodian.Monitoring.Detection.DetectionOptions()), time, NullLogger<MonitorWorker>.Instance).RunAsync(stop.Token))).ToList();
                    while ((await progress.ListAsync()).Sum(p => p.Processed) < 3L * count) // each entry: its clerk's, its terminal's and the aggregate partition
                    {
                        await Task.Delay(20);
                    }

                    var seconds = clock.Elapsed.TotalSeconds;
                    process.Refresh();
                    var cpu = (process.TotalProcessorTime - cpu0).TotalMicroseconds / count;
                    var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {round} | {workers} | {count:N0} | {seconds:F2} | {count / seconds:N0} | {cpu:N0} | {load} |"));
                    await stop.CancelAsync();
                    await Task.WhenAll(runs);
                }
                finally
                {
                    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                    directory.Delete(recursive: true);
                }
            }
        }

        return 0;
    }

    private static AccessEntry Entry(DateTimeOffset start, int i) => new()
    {
        Time = start.AddMilliseconds(i),
        Task = AccessTask.View,
        Outcome = AccessOutcome.Allowed,
        Account = string.Create(CultureInfo.InvariantCulture, $"C{i % 2000:0000}"),
        Role = StaffRole.Clerk,
        Terminal = string.Create(CultureInfo.InvariantCulture, $"S{i % 500:000}-t"),
        Store = string.Create(CultureInfo.InvariantCulture, $"S{i % 500:000}"),
        SourceIp = "10.0.0.1",
        Purpose = "in-store-service",
        Subjects = [new SubscriberId(3_000_000 + (i % 7))],
        Fields = ["name"],
    };
}
