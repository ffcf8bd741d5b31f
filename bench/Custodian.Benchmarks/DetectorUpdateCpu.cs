using System.Diagnostics;
using System.Globalization;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Monitoring.Detection;

namespace Custodian.Benchmarks;

/// <summary>
/// Detector update cost in CPU time rather than wall-clock time (on a shared, overloaded machine BenchmarkDotNet's
/// wall-clock means swing by several times): the same 100,000 entries as <see cref="DetectorUpdateBenchmarks"/> fed to
/// a fresh engine per round, for <c>rounds</c> rounds, alternating the baseline dictionary increment, the live detector
/// set and the replay set (with hard limits), plus the raw loop over the same entries; or, with <c>--by-detector</c>,
/// the live set built up one detector at a time. Then the same four in steady state (<see cref="DetectorUpdateSteadyBenchmarks"/>):
/// per round a new engine warmed outside the measurement with 30 days of the traffic, measured on the 100,000 entries
/// that follow, plus the live monitor's whole per-entry path (<see cref="LiveMonitorPath"/>: the live set and the hard limits as
/// <see cref="AccessMonitor"/> applies them). Per entry: the lowest process CPU time of the rounds
/// (<see cref="Process.TotalProcessorTime"/>, all threads, so GC work is included) and the bytes allocated on the
/// thread (<see cref="GC.GetAllocatedBytesForCurrentThread"/>, exact).
/// </summary>
internal static class DetectorUpdateCpu
{
    public static int Run(int rounds, bool byDetector = false, bool liveOnly = false, bool steadyOnly = false)
    {
        var entries = MonitorWorkload.Entries;
        var fresh = new Method[]
        {
            new("baseline: Dictionary increment per entry", () => null, _ => MonitorWorkload.CountByAccount(entries, new Dictionary<string, int>(StringComparer.Ordinal))),
            new("raw loop: each entry's time, account, terminal and subjects read", () => null, _ => (int)MonitorWorkload.Touch(entries)),
            new("MonitorEngine.Process, live detectors", () => MonitorEngine.CreateDefault(new DetectionOptions()), e => Feed((MonitorEngine)e!, entries, 0)),
            new("MonitorEngine.Process, live detectors + hard limits", () => MonitorEngine.CreateDefault(new DetectionOptions(), new MonitorOptions()), e => Feed((MonitorEngine)e!, entries, 0)),
        };

        // Steady state (DetectorUpdateSteadyBenchmarks): prepared outside the measurement, a new engine per round warmed
        // with 30 days, then measured on the 100,000 entries that follow (each processed once by that engine).
        var steady = MonitorWorkload.SteadyEntries;
        var first = MonitorWorkload.SteadyWarmup.Length;
        var steadyMethods = new Method[]
        {
            new("steady: baseline: Dictionary increment per entry (clerks known)", () => MonitorWorkload.WarmedCounts(), c => MonitorWorkload.CountByAccount(steady, (Dictionary<string, int>)c!)),
            new("steady: raw loop", () => null, _ => (int)MonitorWorkload.Touch(steady)),
            new("steady: MonitorEngine.Process, live detectors, after 30 days", () => MonitorWorkload.WarmedEngine(), e => Feed((MonitorEngine)e!, steady, first)),
            new("steady: MonitorEngine.Process, live detectors + hard limits, after 30 days", () => MonitorWorkload.WarmedEngine(new MonitorOptions()), e => Feed((MonitorEngine)e!, steady, first)),
            new("steady: live path as AccessMonitor runs it: live detectors + hard limits (DistinctSubjectsDetector, clerk and terminal, IsLatched), after 30 days", () => LiveMonitorPath.Warmed(), p => ((LiveMonitorPath)p!).Feed(steady, first)),
        };

        // --live-only: the baselines and the live set alone (for profiling the live set with perf); --steady-only: the
        // steady-state baseline, live set and live monitor path alone.
        Method[] methods = byDetector ? ByDetector()
            : steadyOnly ? [steadyMethods[0], steadyMethods[2], steadyMethods[4]]
            : liveOnly ? [fresh[0], fresh[2], steadyMethods[0], steadyMethods[2]]
            : [.. fresh, .. steadyMethods];
        var cpu = methods.Select(_ => double.MaxValue).ToArray();
        var bytes = new double[methods.Length];
        var sink = 0;
        using var process = Process.GetCurrentProcess();
        for (var round = 0; round < rounds + 1; round++)
        {
            for (var m = 0; m < methods.Length; m++)
            {
                var prepared = methods[m].Prepare();
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                var alloc0 = GC.GetAllocatedBytesForCurrentThread();
                sink += methods[m].Feed(prepared);
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
            // Steady rows are compared with the steady baseline, fresh rows with the fresh one.
            var baseline = methods[m].Name.StartsWith("steady:", StringComparison.Ordinal) ? Array.FindIndex(methods, x => x.Name.StartsWith("steady:", StringComparison.Ordinal)) : 0;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {methods[m].Name} | {cpu[m]:N0} ns | {cpu[m] / cpu[baseline]:0.00} | {1e9 / cpu[m] / 1e6:0.00} M | {bytes[m]:0} B |"));
        }

        return 0;
    }

    // A measured method: Prepare runs outside the measurement (a new engine, or one warmed with 30 days), Feed inside.
    private sealed record Method(string Name, Func<object?> Prepare, Func<object?, int> Feed);

    // The live detector set built up one detector at a time, in the engine's order (each row adds one detector, so the
    // difference between consecutive rows is roughly that detector's cost; open-lookups feeds orphans only to those
    // present; detectors built one by one do not share the engine's principal table).
    private static Method[] ByDetector()
    {
        string[] order = [OpenLookupsDetector.DetectorName, BaselineDetector.DetectorName, TimingDetector.DetectorName, EnumerationDetector.DetectorName,
            IdentityDetector.DetectorName, WatchListDetector.DetectorName, CollusionDetector.DetectorName, SideLookupsDetector.DetectorName,
            TargetingDetector.DetectorName, HouseholdDetector.DetectorName];
        var rows = new List<Method>
        {
            new("baseline: Dictionary increment per entry", () => null, _ => MonitorWorkload.CountByAccount(MonitorWorkload.Entries, new Dictionary<string, int>(StringComparer.Ordinal))),
        };
        for (var n = 1; n <= order.Length; n++)
        {
            var count = n;
            rows.Add(new("+ " + order[n - 1], () => Build(count), e => Feed((MonitorEngine)e!, MonitorWorkload.Entries, 0)));
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
        IDetector[] rest = [baseline, new TimingDetector(options), new EnumerationDetector(options), new IdentityDetector(), new WatchListDetector(options), collusion, side,
            new TargetingDetector(options, baseline), new HouseholdDetector(options)];
        var present = rest.Take(detectors - 1).ToList();
        var open = new OpenLookupsDetector(options, observers.Where(o => present.Contains((IDetector)o)));
        return new MonitorEngine(options, [open, .. present]);
    }

    private static int Feed(MonitorEngine engine, AccessEntry[] entries, int firstSequence)
    {
        var decisions = 0;
        for (var i = 0; i < entries.Length; i++)
        {
            decisions += engine.Process(firstSequence + i, entries[i]).Count;
        }

        return decisions;
    }
}
