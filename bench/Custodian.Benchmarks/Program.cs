using BenchmarkDotNet.Running;
using Custodian.Benchmarks;

// dotnet run -c Release --project bench/Custodian.Benchmarks -- cipher          (BenchmarkDotNet, ratio vs raw AesGcm)
// dotnet run -c Release --project bench/Custodian.Benchmarks -- import 1000000  (rows/s, peak RSS, extrapolation)
// dotnet run -c Release --project bench/Custodian.Benchmarks -- breakdown 100000 (single-threaded cost per import stage)
if (args.Length >= 1 && args[0] == "import")
{
    var count = args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
    return await ImportBenchmark.RunAsync(count);
}

if (args.Length >= 1 && args[0] == "breakdown")
{
    return ImportBreakdown.Run(args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000);
}

if (args.Length >= 1 && args[0] == "cipher")
{
    BenchmarkRunner.Run<FieldCipherBenchmarks>(args: args[1..]);
    return 0;
}

Console.Error.WriteLine("usage: cipher [BenchmarkDotNet options] | import [count] | breakdown [count]");
return 1;
