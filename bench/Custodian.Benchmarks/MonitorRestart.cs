using System.Diagnostics;
using System.Globalization;
using Custodian.Events;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Monitoring.Detection;
using Custodian.Monitoring.Evaluation;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Benchmarks;

/// <summary>
/// How long the embedded monitor takes to start (<see cref="AccessMonitor.Ready"/>: the guard waits until then) over a
/// real SQLite ledger holding <c>days</c> days of the normal workload (300 clerks, 50 stores, seed 1): the hard limits alone
/// (replay of the largest window, 24 h — the baseline, what every start cost before the engine's History) against the
/// live monitor with its engine (replay of <see cref="MonitorEngine.History"/>, 7 days and 1 hour), alternating, best of
/// <c>rounds</c> wall-clock times each. The ledger is filled once, outside the measurement.
/// </summary>
internal static class MonitorRestart
{
    public static async Task<int> RunAsync(int days, int rounds)
    {
        var directory = Path.Combine(Path.GetTempPath(), "custodian-bench-restart-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var db = new CustodianDatabase(Path.Combine(directory, "custodian.db"));
            var workload = new Workload(new WorkloadOptions { Days = days, AttackDay = days - 1, Clerks = 300, Seed = 1 }, Scenario.Normal);
            var entries = Enumerable.Range(0, days).SelectMany(d => workload.Day(d)).Select(r => r.Entry).ToArray();
            var now = new FixedTime(entries[^1].Time.AddMinutes(1));
            await db.MigrateAsync(new LedgerMigrations().Migrations, now);
            await db.MigrateAsync(new MonitoringMigrations().Migrations, now);
            await using (var fill = new SqliteAccessLedger(db, new InProcessAccessEventStream(), now, NullLogger<SqliteAccessLedger>.Instance))
            {
                // Concurrent appends so that group commit batches them; in order of time within each batch of 512.
                for (var i = 0; i < entries.Length; i += 512)
                {
                    await Task.WhenAll(entries.Skip(i).Take(512).Select(e => fill.AppendAsync(e).AsTask()));
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"monitor start over a SQLite ledger of {entries.Length:N0} entries ({days} days, 300 clerks), best of {rounds} rounds"));
            var best = new[] { double.MaxValue, double.MaxValue };
            var replayed = new long[2];
            for (var round = 0; round < rounds; round++)
            {
                for (var m = 0; m < 2; m++)
                {
                    var (ms, count) = await StartOnceAsync(db, now, withEngine: m == 1);
                    best[m] = Math.Min(best[m], ms);
                    replayed[m] = count;
                }
            }

            Console.WriteLine("| Monitor | Replayed from | Entries replayed | Start (wall clock, best) | Ratio |");
            Console.WriteLine("|---|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| baseline: hard limits only | now - 24 h | {replayed[0]:N0} | {best[0]:N0} ms | 1.00 |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| live: hard limits + engine | now - 7 d 1 h | {replayed[1]:N0} | {best[1]:N0} ms | {best[1] / best[0]:F2} |"));
            return 0;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<(double Ms, long Replayed)> StartOnceAsync(CustodianDatabase db, TimeProvider now, bool withEngine)
    {
        var events = new InProcessAccessEventStream();
        await using var ledger = new SqliteAccessLedger(db, events, now, NullLogger<SqliteAccessLedger>.Instance);
        var engine = withEngine ? MonitorEngine.CreateDefault(new DetectionOptions()) : null;
        var hardLimits = new DistinctSubjectsDetector(new MonitorOptions());
        using var monitor = new AccessMonitor(events, ledger, ledger, new AlertStore(db, now), new SuspensionRegistry(db, now, NullLogger<SuspensionRegistry>.Instance), hardLimits, engine, now, NullLogger<AccessMonitor>.Instance);
        var since = now.GetUtcNow() - (engine is null ? hardLimits.LargestWindow : engine.History);
        var started = Stopwatch.GetTimestamp();
        await monitor.StartAsync(CancellationToken.None);
        await monitor.Ready;
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await monitor.StopAsync(CancellationToken.None);
        long count = 0;
        await foreach (var _ in ledger.ReadSinceAsync(since))
        {
            count++;
        }

        return (ms, count);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
