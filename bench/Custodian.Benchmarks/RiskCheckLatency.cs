using System.Diagnostics;
using System.Globalization;
using Custodian.Monitoring;
using Custodian.Monitoring.Detection;

namespace Custodian.Benchmarks;

/// <summary>
/// Per-call latency of the inline risk check (BenchmarkDotNet reports means per iteration, not per call): each of
/// <c>calls</c> calls timed with <see cref="Stopwatch.GetTimestamp"/> on one thread, for the baseline dictionary lookup
/// and for <c>AccessMonitor.CurrentAction + CurrentRisk</c>, alternating, after the same warm-up. Prints p50, p99,
/// p99.9 and max in microseconds. The timer's own cost (tens of nanoseconds) is included in both.
/// <para>With <c>--busy</c> (<see cref="RunBusy"/>) the checks contend with a thread that keeps feeding entries to the
/// engine, as <c>AccessMonitor</c>'s loop does.</para>
/// </summary>
internal static class RiskCheckLatency
{
    public static int Run(int calls)
    {
        using var bench = new RiskCheckBenchmarks();
        bench.Setup();
        var baseline = new long[calls];
        var check = new long[calls];
        for (var i = 0; i < 200_000; i++)
        {
            bench.DictionaryLookup();
            bench.RiskCheck();
        }

        var sink = 0;
        for (var i = 0; i < calls; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            sink += bench.DictionaryLookup();
            var t1 = Stopwatch.GetTimestamp();
            sink += bench.RiskCheck();
            var t2 = Stopwatch.GetTimestamp();
            baseline[i] = t1 - t0;
            check[i] = t2 - t1;
        }

        Console.WriteLine($"risk check per-call latency, {calls:N0} calls over {bench.Clerks} clerks (checksum {sink})");
        Console.WriteLine("| Method | p50 (µs) | p99 (µs) | p99.9 (µs) | max (µs) |");
        Console.WriteLine("|---|---|---|---|---|");
        Print("baseline: Dictionary lookup", baseline);
        Print("AccessMonitor.CurrentAction + CurrentRisk", check);
        return 0;
    }

    /// <summary>
    /// The risk check while the engine is busy: a feeder thread processes the workload's entries through an engine as
    /// fast as it can, each <see cref="MonitorEngine.Process"/> call inside a lock (a fresh engine per pass of the
    /// 100,000 entries), and this thread times <see cref="MonitorEngine.CurrentAction"/> + <see cref="MonitorEngine.CurrentRisk"/>
    /// taken under the same lock — the pattern of <c>AccessMonitor</c>, whose loop holds its lock while the engine
    /// processes an entry and whose checks take it too. A worst case: the live monitor sees a few entries per second,
    /// not a saturated stream. Baseline in the same run: the same check with the feeder idle.
    /// </summary>
    public static int RunBusy(int calls)
    {
        var entries = MonitorWorkload.Entries;
        var gate = new Lock();
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        foreach (var (e, i) in entries.Select((e, i) => (e, i)))
        {
            engine.Process(i, e);
        }

        var now = entries[^1].Time;
        var clerks = entries.Select(e => e.Account).OfType<string>().Distinct(StringComparer.Ordinal).Select(c => new Principal(PrincipalKind.Clerk, c)).ToArray();
        var idle = new long[calls];
        var busy = new long[calls];
        var sink = 0;
        Measure(idle);
        using var stop = new CancellationTokenSource();
        long fed = 0;
        var feeder = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var fresh = MonitorEngine.CreateDefault(new DetectionOptions());
                lock (gate)
                {
                    engine = fresh;
                }

                for (var i = 0; i < entries.Length && !stop.IsCancellationRequested; i++)
                {
                    lock (gate)
                    {
                        fresh.Process(i, entries[i]);
                    }

                    fed++;
                }
            }
        })
        { IsBackground = true, Name = "feeder" };
        feeder.Start();
        Thread.Sleep(200); // the feeder's JIT warm-up
        var fed0 = Interlocked.Read(ref fed);
        var t0 = Stopwatch.GetTimestamp();
        Measure(busy);
        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var entriesFed = Interlocked.Read(ref fed) - fed0;
        stop.Cancel();
        feeder.Join();

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"risk check per-call latency under a busy engine, {calls:N0} calls over {clerks.Length} clerks; the feeder processed {entriesFed:N0} entries meanwhile ({entriesFed / seconds:N0}/s) (checksum {sink})"));
        Console.WriteLine("| Method | p50 (µs) | p99 (µs) | p99.9 (µs) | max (µs) |");
        Console.WriteLine("|---|---|---|---|---|");
        Print("baseline: the same check, engine idle", idle);
        Print("CurrentAction + CurrentRisk under the lock, engine busy", busy);
        return 0;

        void Measure(long[] ticks)
        {
            for (var i = 0; i < ticks.Length; i++)
            {
                var p = clerks[i % clerks.Length];
                var start = Stopwatch.GetTimestamp();
                lock (gate)
                {
                    sink += (int)engine.CurrentAction(p, now) + engine.CurrentRisk(p, now);
                }

                ticks[i] = Stopwatch.GetTimestamp() - start;
                Thread.SpinWait(100); // a pause between requests (the lock is not fair: back-to-back checks would starve the feeder)
            }
        }
    }

    private static void Print(string name, long[] ticks)
    {
        Array.Sort(ticks);
        string Us(double q) => (ticks[Math.Min(ticks.Length - 1, (int)(q * ticks.Length))] * 1_000_000.0 / Stopwatch.Frequency).ToString("0.000", CultureInfo.InvariantCulture);
        Console.WriteLine($"| {name} | {Us(0.50)} | {Us(0.99)} | {Us(0.999)} | {Us(1.0)} |");
    }
}
