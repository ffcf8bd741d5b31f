using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Custodian.Protection;
using Custodian.Protection.Import;
using Custodian.Protection.Keys;
using Custodian.Protection.Sample;
using Custodian.Storage;

namespace Custodian.Benchmarks;

/// <summary>
/// Imports N generated subscribers (validation, 4 AES-256-GCM fields, 2 blind indexes, SQLite inserts)
/// into a fresh database, once, and reports rows/s, peak RSS (<see cref="Process.PeakWorkingSet64"/>)
/// and the extrapolation to 17.4 million subscribers. A single long operation is measured with a
/// stopwatch rather than BenchmarkDotNet's repeated invocations (one run takes tens of seconds).
/// </summary>
internal static class ImportBenchmark
{
    public const long CarrierSubscribers = 17_400_000;

    public static async Task<int> RunAsync(int count)
    {
        var directory = Path.Combine(Path.GetTempPath(), "custodian-import-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var csv = Path.Combine(directory, "subscribers.csv");
            using (var writer = new StreamWriter(csv, append: false, new UTF8Encoding(false)))
            {
                SampleGenerator.WriteCsv(writer, new SampleGenerator().Generate(count, 500, 1, DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime)));
            }

            var keys = ProtectionKeyring.LoadOrCreate(Path.Combine(directory, "keys"), TimeProvider.System, RandomNumberGenerator.GetBytes(32));
            var database = new CustodianDatabase(Path.Combine(directory, "custodian.db"));
            await database.MigrateAsync(new ProtectionMigrations().Migrations, TimeProvider.System);
            using var process = Process.GetCurrentProcess();
            process.Refresh();
            var rssBefore = process.PeakWorkingSet64;

            var stopwatch = Stopwatch.StartNew();
            using (var reader = new StreamReader(csv, Encoding.UTF8))
            {
                var report = await new SubscriberImporter(database, keys, TimeProvider.System).ImportAsync(reader, ImportMode.SkipBadRows);
                if (report.RowsImported != count)
                {
                    Console.Error.WriteLine($"imported {report.RowsImported} of {count} rows");
                    return 2;
                }
            }

            stopwatch.Stop();
            process.Refresh();
            var seconds = stopwatch.Elapsed.TotalSeconds;
            var rate = count / seconds;
            var projected = TimeSpan.FromSeconds(CarrierSubscribers / rate);
            var mib = 1024.0 * 1024.0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cores: {Environment.ProcessorCount}; subscribers: {count:N0}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"import: {seconds:F1} s, {rate:N0} rows/s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak RSS: {process.PeakWorkingSet64 / mib:N0} MiB (before import: {rssBefore / mib:N0} MiB)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"database: {new FileInfo(Path.Combine(directory, "custodian.db")).Length / mib:N0} MiB (+ WAL)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"extrapolated to {CarrierSubscribers:N0}: {projected.TotalMinutes:F1} min at the same rate"));
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
