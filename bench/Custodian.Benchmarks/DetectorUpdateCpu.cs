using System.Diagnostics;
using System.Globalization;
using Custodian.Monitoring;
using Custodian.Monitoring.Detection;

namespace Custodian.Benchmarks;

/// <summary>
/// Detector update cost in CPU time rather than wall-clock time (on a shared, overloaded machine BenchmarkDotNet's
/// wall-clock means swing by several times): the same 100,000 entries as <see cref="DetectorUpdateBenchmarks"/> fed to
/// a fresh engine per round, for <c>rounds</c> rounds, alternating the baseline dictionary increment, the live detector
/// set and the replay set (with hard limits), plus the raw loop over the same entries; or, with <c>--by-detector</c>,
/// the live set built up one detector at a time. Per entry: the lowest process CPU time of the rounds
/// (<see cref="Process.TotalProcessorTime"/>, all threads, so GC work is included) and the bytes allocated on the
/// thread (<see cref="GC.GetAllocatedBytesForCurrentThread"/>, exact).
/// </summary>
internal static class DetectorUpdateCpu
{
    public static int Run(int rounds, bool byDetector = false, bool liveOnly = false)
    {
        var entries = MonitorWorkload.Entries;
        var all = byDetector ? ByDetector() : new (string Name, Func<int> Feed)[]
        {
            ("baseline: Dictionary increment per entry", () =>
            {
                var counts = new Dictionary<string, int>(StringComparer.Ordinal);
                foreach (var e in entries)
                {
                    var key = e.Account ?? string.Empty;
                    counts[key] = counts.GetValueOrDefault(key) + 1;
                }

                return counts.Count;
            }),
            ("raw loop: each entry's time, account, terminal and subjects read", () => (int)MonitorWorkload.Touch(entries)),
            ("MonitorEngine.Process, live detectors", () => Feed(MonitorEngine.CreateDefault(new DetectionOptions()))),
            ("MonitorEngine.Process, live detectors + hard limits", () => Feed(MonitorEngine.CreateDefault(new DetectionOptions(), new MonitorOptions()))),
        };

        // --live-only: the baseline and the live set alone (for profiling the live set with perf).
        var methods = liveOnly && !byDetector ? [all[0], all[2]] : all;
        var cpu = methods.Select(_ => double.MaxValue).ToArray();
        var bytes = new double[methods.Length];
        var sink = 0;
        using var process = Process.GetCurrentProcess();
        for (var round = 0; round < rounds + 1; round++)
        {
            for (var m = 0; m < methods.Length; m++)
            {
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                var alloc0 = GC.GetAllocatedBytesForCurrentThread();
                sink += methods[m].Feed();
                var allocated = GC.GetAllocatedBytesForCurrentThread() - alloc0;
                process.Refresh();
                var elapsed = process.TotalProcessorTime - cpu0;
                if (round > 0)
                {
                    // Round 0 is the warm-up (tiered JIT).
                    cpu[m] = Math.Min(cpu[m], elapsed.TotalNanoseconds / entries.Length);
                    bytes[m] = (double)allocated / entries.Length;
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"detector updates, CPU time per entry (best of {rounds} rounds of {entries.Length:N0} entries; checksum {sink})"));
        Console.WriteLine("| Method | CPU per entry | Ratio | Entries/s per core (CPU) | Allocated per entry |");
        Console.WriteLine("|---|---|---|---|---|");
        for (var m = 0; m < methods.Length; m++)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {methods[m].Name} | {cpu[m]:N0} ns | {cpu[m] / cpu[0]:0.00} | {1e9 / cpu[m] / 1e6:0.00} M | {bytes[m]:0} B |"));
        }

        return 0;
    }

    // The live detector set built up one detector at a time, in the engine's order (each row adds one detector, so the
    // difference between consecutive rows is roughly that detector's cost; open-lookups feeds orphans only to those
    // present; detectors built one by one do not share the engine's principal table).
    private static (string Name, Func<int> Feed)[] ByDetector()
    {
        string[] order = [OpenLookupsDetector.DetectorName, BaselineDetector.DetectorName, TimingDetector.DetectorName, EnumerationDetector.DetectorName,
            IdentityDetector.DetectorName, WatchListDetector.DetectorName, CollusionDetector.DetectorName, SideLookupsDetector.DetectorName];
        var rows = new List<(string Name, Func<int> Feed)>
        {
            ("baseline: Dictionary increment per entry", () =>
            {
                var counts = new Dictionary<string, int>(StringComparer.Ordinal);
                foreach (var e in MonitorWorkload.Entries)
                {
                    var key = e.Account ?? string.Empty;
                    counts[key] = counts.GetValueOrDefault(key) + 1;
                }

                return counts.Count;
            }),
        };
        for (var n = 1; n <= order.Length; n++)
        {
            var count = n;
            rows.Add(("+ " + order[n - 1], () => Feed(Build(count))));
        }

        return [.. rows];
    }

    private static MonitorEngine Build(int detectors)
    {
        var options = new DetectionOptions();
        var baseline = new BaselineDetector(options);
        var collusion = new CollusionDetector(options);
        var side = new SideLookupsDetector(options);
        IOrphanObserver[] observers = [baseline, collusion, side];
        IDetector[] rest = [baseline, new TimingDetector(options), new EnumerationDetector(options), new IdentityDetector(), new WatchListDetector(options), collusion, side];
        var present = rest.Take(detectors - 1).ToList();
        var open = new OpenLookupsDetector(options, observers.Where(o => present.Contains((IDetector)o)));
        return new MonitorEngine(options, [open, .. present]);
    }

    private static int Feed(MonitorEngine engine)
    {
        var decisions = 0;
        var entries = MonitorWorkload.Entries;
        for (var i = 0; i < entries.Length; i++)
        {
            decisions += engine.Process(i, entries[i]).Count;
        }

        return decisions;
    }
}
