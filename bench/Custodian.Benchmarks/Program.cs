using BenchmarkDotNet.Running;
using Custodian.Benchmarks;

// dotnet run -c Release --project bench/Custodian.Benchmarks -- cipher          (BenchmarkDotNet, ratio vs raw AesGcm)
// dotnet run -c Release --project bench/Custodian.Benchmarks -- import 1000000 [skip-bad-rows]  (rows/s, CPU/row, peak RSS, extrapolation; default mode all-or-nothing)
// dotnet run -c Release --project bench/Custodian.Benchmarks -- breakdown 100000 (single-threaded CPU per import stage, incl. the SQLite writer under 3 table layouts)
// dotnet run -c Release --project bench/Custodian.Benchmarks -- monitor         (BenchmarkDotNet: detector updates, risk check; ratios vs Dictionary)
// dotnet run -c Release --project bench/Custodian.Benchmarks -- monitor-latency 1000000 [--busy] (per-call risk-check p50/p99/p99.9; --busy: while a thread feeds the engine)
// dotnet run -c Release --project bench/Custodian.Benchmarks -- monitor-cpu 10 [--by-detector|--live-only|--steady-only] (detector updates, fresh and steady-state engines: CPU time and bytes per entry; or the live set built up one detector at a time; or only the baselines and the live set, for perf; or only the steady-state baseline, live set and live monitor path)
if (args.Length >= 1 && args[0] == "import")
{
    var count = args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
    var mode = args.Length >= 3 && args[2] == "skip-bad-rows" ? Custodian.Protection.Import.ImportMode.SkipBadRows : Custodian.Protection.Import.ImportMode.AllOrNothing;
    return await ImportBenchmark.RunAsync(count, mode);
}

if (args.Length >= 1 && args[0] == "breakdown")
{
    return await ImportBreakdown.RunAsync(args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000);
}

if (args.Length >= 1 && args[0] == "cipher")
{
    BenchmarkRunner.Run<FieldCipherBenchmarks>(args: args[1..]);
    return 0;
}

if (args.Length >= 1 && args[0] == "monitor")
{
    var switcher = BenchmarkSwitcher.FromTypes([typeof(DetectorUpdateBenchmarks), typeof(DetectorUpdateSteadyBenchmarks), typeof(RiskCheckBenchmarks)]);
    if (args.Contains("--filter"))
    {
        switcher.Run(args[1..]);
    }
    else
    {
        switcher.RunAll(args: args[1..]);
    }

    return 0;
}

if (args.Length >= 1 && args[0] == "monitor-cpu")
{
    return DetectorUpdateCpu.Run(args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10, args.Contains("--by-detector"), args.Contains("--live-only"), args.Contains("--steady-only"));
}

if (args.Length >= 1 && args[0] == "monitor-restart")
{
    return await MonitorRestart.RunAsync(args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10, args.Length >= 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
}

if (args.Length >= 1 && args[0] == "monitor-latency")
{
    var calls = args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
    return args.Contains("--busy") ? RiskCheckLatency.RunBusy(calls) : RiskCheckLatency.Run(calls);
}

Console.Error.WriteLine("usage: cipher [BenchmarkDotNet options] | import [count] [all-or-nothing|skip-bad-rows] | breakdown [count] | monitor [BenchmarkDotNet options] | monitor-latency [calls] [--busy] | monitor-cpu [rounds] [--by-detector|--live-only|--steady-only] | monitor-restart [days] [rounds]");
return 1;
