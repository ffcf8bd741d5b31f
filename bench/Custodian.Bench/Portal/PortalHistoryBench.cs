using System.Diagnostics;
using System.Globalization;
using System.Text;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Portal;
using Custodian.Storage;
using Custodian.Transparency;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Bench.Portal;

/// <summary>Settings of <see cref="PortalHistoryBench"/>.</summary>
internal sealed record PortalBenchSettings(long Entries, int Samples, string CacheDirectory, string CommandLine);

/// <summary>
/// Issue 6's performance goal (docs/portal.md, "Performance"): one subscriber's history among N ledger entries
/// (default 10 M), p99 ≤ 50 ms. In process, one caller, after an untimed warm-up. Measured in the same run:
/// the baseline — the bare by-subject index read of the newest 50 payloads (one SQL query, no decoding, no
/// ledger append) — and the product's <see cref="AccessHistory.GetAsync"/> (the durable <c>history-view</c>
/// append first, deferrals and disclosure states, decoding, filtering), newest page and a 7-day period.
/// </summary>
internal sealed class PortalHistoryBench(PortalBenchSettings settings)
{
    private const long Subscribers = 17_000_000;
    private const int Heavy = 100;
    private const int HeavyEvery = 1_000;
    private const long StartMs = 1_764_460_800_000; // 2025-11-30T00:00Z
    private const long StepMs = 300; // 10 M entries span ~35 days

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"## Portal history ({DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"`{settings.CommandLine}`");
        report.AppendLine();
        var path = Path.Combine(settings.CacheDirectory, $"portal-ledger-{settings.Entries}.db");
        if (!File.Exists(path + ".complete"))
        {
            report.AppendLine(await GenerateAsync(path, cancellationToken));
            report.AppendLine();
        }

        var work = Directory.CreateTempSubdirectory("custodian-portal-bench-");
        try
        {
            var ledgerDb = new CustodianDatabase(path);
            var portalDb = new CustodianDatabase(Path.Combine(work.FullName, "portal.db"));
            await portalDb.MigrateAsync(new LedgerMigrations().Migrations.Concat(new PortalMigrations().Migrations), TimeProvider.System, cancellationToken);
            await using var reader = new SqliteAccessLedger(ledgerDb, new InProcessAccessEventStream(), TimeProvider.System, NullLogger<SqliteAccessLedger>.Instance);
            await using var views = new SqliteAccessLedger(portalDb, new InProcessAccessEventStream(), TimeProvider.System, NullLogger<SqliteAccessLedger>.Instance);
            var deferrals = new HistoryDeferrals(portalDb, views, reader, TimeProvider.System);
            var history = new AccessHistory(reader, views, deferrals, portalDb, TimeProvider.System);
            var heavy = HeavySubjects();
            var random = new Random(6);
            var size = await reader.GetSizeAsync(cancellationToken);
            var periodFrom = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(StartMs + (size * StepMs / 2)).ToOffset(AccessHistory.KoreaOffset).DateTime);
            var items = 0L;

            async Task Baseline(SubscriberId s)
            {
                await using var connection = await ledgerDb.OpenAsync(cancellationToken);
                await using var command = connection.Command(
                    "SELECT e.payload FROM ledger_subjects s JOIN ledger_entries e ON e.seq = s.seq WHERE s.subscriber_id = @s ORDER BY s.seq DESC LIMIT 50",
                    ("@s", s.Value));
                await using var rows = await command.ExecuteReaderAsync(cancellationToken);
                while (await rows.ReadAsync(cancellationToken))
                {
                    items += ((byte[])rows[0]).Length > 0 ? 1 : 0;
                }
            }

            async Task Newest(SubscriberId s) => items += (await history.GetAsync(s, new HistoryQuery(Limit: 50), "10.0.0.1", cancellationToken)).Value.Items.Count;
            async Task Period(SubscriberId s) => items += (await history.GetAsync(s, new HistoryQuery(Limit: 50, From: periodFrom, To: periodFrom.AddDays(6)), "10.0.0.1", cancellationToken)).Value.Items.Count;

            // Warm-up (untimed): JIT and the pages of the subjects' index range.
            foreach (var s in heavy)
            {
                await Baseline(s);
                await Newest(s);
                await Period(s);
            }

            report.AppendLine(CultureInfo.InvariantCulture, $"Ledger: {size:N0} entries; {Heavy} subscribers with ~{size / HeavyEvery / Heavy:N0} entries each among {Subscribers:N0} (the rest one random subscriber per entry). {settings.Samples:N0} timed calls per row, one caller, random subscriber of the {Heavy}, after one untimed pass; the three rows interleave call by call.");
            report.AppendLine();
            report.AppendLine("| Call | p50 ms | p99 ms | max ms | p99 / baseline p99 |");
            report.AppendLine("|---|---:|---:|---:|---:|");
            var samples = new double[3][];
            for (var k = 0; k < 3; k++)
            {
                samples[k] = new double[settings.Samples];
            }

            Func<SubscriberId, Task>[] calls = [Baseline, Newest, Period];
            for (var i = 0; i < settings.Samples; i++)
            {
                var s = heavy[random.Next(heavy.Count)];
                for (var k = 0; k < 3; k++)
                {
                    var clock = Stopwatch.GetTimestamp();
                    await calls[k](s);
                    samples[k][i] = Stopwatch.GetElapsedTime(clock).TotalMilliseconds;
                }
            }

            var baseP99 = Percentile(samples[0], 0.99);
            string[] names = ["baseline: by-subject SQL, newest 50 payloads", "`AccessHistory.GetAsync`, newest 50", "`AccessHistory.GetAsync`, a 7-day period"];
            for (var k = 0; k < 3; k++)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"| {names[k]} | {Percentile(samples[k], 0.5):F3} | {Percentile(samples[k], 0.99):F3} | {samples[k].Max():F3} | {Percentile(samples[k], 0.99) / baseP99:F1} × |");
            }

            var goal = Percentile(samples[1], 0.99) <= 50 && Percentile(samples[2], 0.99) <= 50;
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"Goal p99 ≤ 50 ms: **{(goal ? "met" : "missed")}** ({items:N0} items read in all).");
            Console.Out.Write(report.ToString());
            return goal ? 0 : 1;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            work.Delete(recursive: true);
        }
    }

    private static List<SubscriberId> HeavySubjects() => [.. Enumerable.Range(0, Heavy).Select(i => new SubscriberId(Subscribers + 1 + i))];

    private async Task<string> GenerateAsync(string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(settings.CacheDirectory);
        foreach (var stale in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(stale);
        }

        var clock = Stopwatch.StartNew();
        var db = new CustodianDatabase(path);
        await db.MigrateAsync(new LedgerMigrations().Migrations, TimeProvider.System, cancellationToken);
        var heavy = HeavySubjects();
        await using (var ledger = new SqliteAccessLedger(db, new InProcessAccessEventStream(), TimeProvider.System, NullLogger<SqliteAccessLedger>.Instance, new LedgerOptions { MaxBatchSize = 16_384 }))
        {
            var random = new Random(4);
            string[] purposes = ["in-store-service", "plan-change", "device-repair", "billing-inquiry"];
            const int chunk = 16_384;
            for (long done = 0; done < settings.Entries; done += chunk)
            {
                var count = (int)Math.Min(chunk, settings.Entries - done);
                var list = new AccessEntry[count];
                for (var i = 0; i < count; i++)
                {
                    var n = done + i;
                    var clerk = (int)(n % 4_096);
                    list[i] = new AccessEntry
                    {
                        Time = DateTimeOffset.FromUnixTimeMilliseconds(StartMs + (n * StepMs)),
                        Task = n % 3 == 0 ? AccessTask.Search : AccessTask.View,
                        Outcome = AccessOutcome.Allowed,
                        Account = string.Create(CultureInfo.InvariantCulture, $"C{clerk:0000}"),
                        Role = StaffRole.Clerk,
                        Terminal = string.Create(CultureInfo.InvariantCulture, $"T-{clerk}"),
                        Store = string.Create(CultureInfo.InvariantCulture, $"S{clerk % 512:000}"),
                        SourceIp = "10.1.2.3",
                        Purpose = purposes[(int)(n % purposes.Length)],
                        Subjects = [n % HeavyEvery == 0 ? heavy[(int)(n / HeavyEvery % Heavy)] : new SubscriberId(random.NextInt64(1, Subscribers + 1))],
                        Fields = ["name", "phone", "rate-plan"],
                    };
                }

                await ledger.AppendRangeAsync(list, cancellationToken);
                if ((done / chunk) % 64 == 0)
                {
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"portal: generating {done:N0} / {settings.Entries:N0}"));
                }
            }
        }

        // The subject index is filled after commit (ledger-004, docs/ledger-format.md §3): project it all before timing reads.
        await new LedgerSubjectProjector(db, NullLogger<LedgerSubjectProjector>.Instance).CatchUpAsync(null, cancellationToken);
        SqliteConnection.ClearAllPools();
        await File.WriteAllTextAsync(path + ".complete", "complete\n", cancellationToken);
        return string.Create(CultureInfo.InvariantCulture, $"Generated the ledger in {clock.Elapsed.TotalSeconds:F0} s ({settings.Entries / clock.Elapsed.TotalSeconds:N0} entries/s); kept in {settings.CacheDirectory}.");
    }

    private static double Percentile(double[] samples, double p)
    {
        var sorted = samples.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}
