using System.Diagnostics;
using System.Globalization;

namespace Custodian.Benchmarks;

/// <summary>
/// Per-call latency of the inline risk check (BenchmarkDotNet reports means per iteration, not per call): each of
/// <c>calls</c> calls timed with <see cref="Stopwatch.GetTimestamp"/> on one thread, for the baseline dictionary lookup
/// and for <c>AccessMonitor.CurrentAction + CurrentRisk</c>, alternating, after the same warm-up. Prints p50, p99,
/// p99.9 and max in microseconds. The timer's own cost (tens of nanoseconds) is included in both.
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

    private static void Print(string name, long[] ticks)
    {
        Array.Sort(ticks);
        string Us(double q) => (ticks[Math.Min(ticks.Length - 1, (int)(q * ticks.Length))] * 1_000_000.0 / Stopwatch.Frequency).ToString("0.000", CultureInfo.InvariantCulture);
        Console.WriteLine($"| {name} | {Us(0.50)} | {Us(0.99)} | {Us(0.999)} | {Us(1.0)} |");
    }
}
