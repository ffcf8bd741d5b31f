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
/// into a fresh database, once, and reports rows/s, process CPU per row (user and system, less sensitive to
/// other load on the machine than wall time), peak RSS (<see cref="Process.PeakWorkingSet64"/>), the load
/// average, the rate of each fifth of the file (the cost per row grows with the table) and the extrapolation
/// to 17.4 million subscribers. A single long operation is measured with a stopwatch rather than
/// BenchmarkDotNet's repeated invocations (one run takes minutes).
/// </summary>
internal static class ImportBenchmark
{
    public const long CarrierSubscribers = 17_400_000;

    public static async Task<int> RunAsync(int count, ImportMode mode)
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
            var loadBefore = LoadAverage();
            var (user0, system0) = (process.UserProcessorTime, process.PrivilegedProcessorTime);
            var fifths = new Fifths(count, process);
            var (gc0, gc1, gc2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            var (allocated0, pause0) = (GC.GetTotalAllocatedBytes(precise: false), GC.GetTotalPauseDuration());

            var stopwatch = Stopwatch.StartNew();
            using (var reader = new StreamReader(csv, Encoding.UTF8))
            {
                var report = await new SubscriberImporter(database, keys, TimeProvider.System, new StageLog(stopwatch)).ImportAsync(reader, mode, fifths);
                if (report.RowsImported != count)
                {
                    Console.Error.WriteLine($"imported {report.RowsImported} of {count} rows");
                    return 2;
                }
            }

            stopwatch.Stop();
            process.Refresh();
            var user = (process.UserProcessorTime - user0).TotalMicroseconds / count;
            var system = (process.PrivilegedProcessorTime - system0).TotalMicroseconds / count;
            var seconds = stopwatch.Elapsed.TotalSeconds;
            var rate = count / seconds;
            var projected = TimeSpan.FromSeconds(CarrierSubscribers / rate);
            var mib = 1024.0 * 1024.0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cores: {Environment.ProcessorCount}; subscribers: {count:N0}; mode: {mode}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load average (1 min) before / after: {loadBefore} / {LoadAverage()}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"import: {seconds:F1} s, {rate:N0} rows/s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"process CPU: {user + system:F1} µs/row (user {user:F1}, system {system:F1}); CPU-bound floor on 2 idle cores: {(user + system) / 2:F1} µs/row = {2e6 / (user + system):N0} rows/s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"per fifth of the file (rows/s | CPU µs/row): {string.Join("  ", fifths.Lines)}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"GC: {(GC.GetTotalAllocatedBytes(precise: false) - allocated0) / (double)count:N0} bytes allocated/row; collections gen0/1/2 {GC.CollectionCount(0) - gc0}/{GC.CollectionCount(1) - gc1}/{GC.CollectionCount(2) - gc2}; pauses {(GC.GetTotalPauseDuration() - pause0).TotalSeconds:F1} s; server GC {System.Runtime.GCSettings.IsServerGC}"));
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

    /// <summary>
    /// Prints the importer's end-phase events (6300–6399 bulk load, 6500–6519 index builds and commit: names, counts and
    /// milliseconds only) with the time since the import started, so the end phase can be told apart from the load.
    /// </summary>
    private sealed class StageLog(Stopwatch clock) : Microsoft.Extensions.Logging.ILogger<SubscriberImporter>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id is >= 6300 and < 6400 or >= 6500 and < 6520)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [{clock.Elapsed.TotalSeconds,7:F1} s, load {LoadAverage()}] {eventId.Id}: {formatter(state, exception)}"));
            }
        }
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    /// <summary>Rate and CPU per row of each fifth of the rows, from the importer's progress reports (one per batch).</summary>
    private sealed class Fifths(int count, Process process) : IProgress<long>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _rows;
        private TimeSpan _cpu;
        private TimeSpan _at;

        public List<string> Lines { get; } = [];

        public void Report(long value)
        {
            if (value < _rows + (count / 5) && value < count)
            {
                return;
            }

            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var rows = value - _rows;
            Lines.Add(string.Create(CultureInfo.InvariantCulture, $"{rows / (_clock.Elapsed - _at).TotalSeconds:N0} | {(cpu - _cpu).TotalMicroseconds / rows:F1}"));
            (_rows, _cpu, _at) = (value, cpu, _clock.Elapsed);
        }
    }
}
