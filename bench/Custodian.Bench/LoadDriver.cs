using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Custodian.Bench;

/// <summary>One request to send: the client (a terminal's connection pool) and the message.</summary>
internal readonly record struct Outgoing(HttpClient Client, HttpRequestMessage Request);

/// <summary>The measured outcome of one phase.</summary>
internal sealed record PhaseResult(
    string Name,
    string Mode,
    long Completed,
    long Errors,
    double Seconds,
    double RequestsPerSecond,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    double ProcessCpuPercent,
    double MachineCpuPercent,
    IReadOnlyDictionary<string, long> ErrorKinds)
{
    public double? OfferedRate { get; init; }

    /// <summary>Runtime activity over the whole phase (warm-up included).</summary>
    public RuntimeDelta Runtime { get; init; }

    /// <summary>Requests sent over the whole phase (warm-up included), to normalise <see cref="Runtime"/>.</summary>
    public long Sent { get; init; }

    /// <summary>Ledger group commits and the entries they held, over the whole phase.</summary>
    public (long Batches, long Entries) Ledger { get; init; }

    /// <summary>How far the monitor trailed the ledger (entries committed but not yet processed), sampled every 2 ms: mean and max.</summary>
    public (double Mean, long Max)? MonitorLag { get; init; }

    /// <summary>The longest time no ledger commit completed (sampled every 2 ms), and the bytes the process wrote to disk meanwhile.</summary>
    public (double Ms, long DiskBytes)? LongestStall { get; init; }

    /// <summary>Ledger stalls of 20 ms or more: how many, their total time, and the bytes written to disk during them.</summary>
    public (int Count, double TotalMs, long DiskBytes)? Stalls { get; init; }

    /// <summary>New client connections (TCP + mutual-TLS handshake) opened during the phase.</summary>
    public long NewConnections { get; init; }

    /// <summary>Longest pause between two ledger commits during the phase, ms (0 when no commits).</summary>
    public double LedgerMaxGapMs { get; init; }

    /// <summary>The sorted successful latencies in Stopwatch ticks (to merge rounds).</summary>
    public IReadOnlyList<long> Sorted { get; init; } = [];

    /// <summary>Merges rounds of one workload: counts and seconds add up, percentiles over all latencies.</summary>
    public static PhaseResult Merge(string name, IReadOnlyList<PhaseResult> rounds)
    {
        var all = rounds.SelectMany(r => r.Sorted).ToList();
        all.Sort();
        var seconds = rounds.Sum(r => r.Seconds);
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (kind, count) in rounds.SelectMany(r => r.ErrorKinds))
        {
            errors[kind] = errors.GetValueOrDefault(kind) + count;
        }

        return new PhaseResult(
            name,
            rounds[0].Mode + $", {rounds.Count} round(s)",
            all.Count,
            rounds.Sum(r => r.Errors),
            seconds,
            all.Count / seconds,
            LoadDriver.Percentile(all, 0.50),
            LoadDriver.Percentile(all, 0.99),
            all.Count == 0 ? double.NaN : all[^1] / LoadDriver.TicksPerMs,
            rounds.Sum(r => r.ProcessCpuPercent * r.Seconds) / seconds,
            rounds.Sum(r => r.MachineCpuPercent * r.Seconds) / seconds,
            errors)
        {
            Sorted = all,
            Sent = rounds.Sum(r => r.Sent),
            Ledger = (rounds.Sum(r => r.Ledger.Batches), rounds.Sum(r => r.Ledger.Entries)),
            LedgerMaxGapMs = rounds.Max(r => r.LedgerMaxGapMs),
            NewConnections = rounds.Sum(r => r.NewConnections),
            MonitorLag = rounds.Any(r => r.MonitorLag is not null) ? (rounds.Average(r => r.MonitorLag?.Mean ?? 0), rounds.Max(r => r.MonitorLag?.Max ?? 0)) : null,
            LongestStall = rounds.Select(r => r.LongestStall).Where(x => x is not null).MaxBy(x => x!.Value.Ms),
            Stalls = rounds.Any(r => r.Stalls is not null)
                ? (rounds.Sum(r => r.Stalls?.Count ?? 0), rounds.Sum(r => r.Stalls?.TotalMs ?? 0), rounds.Sum(r => r.Stalls?.DiskBytes ?? 0))
                : null,
            Runtime = new RuntimeDelta(
                rounds.Sum(r => r.Runtime.AllocatedBytes),
                rounds.Sum(r => r.Runtime.GcPauseMs),
                rounds.Sum(r => r.Runtime.Gen0),
                rounds.Sum(r => r.Runtime.Gen1),
                rounds.Sum(r => r.Runtime.Gen2),
                rounds.Sum(r => r.Runtime.WorkItems),
                rounds.Sum(r => r.Runtime.LockContentions),
                rounds[^1].Runtime.Threads,
                rounds.Sum(r => r.Runtime.CpuMs),
                rounds.Sum(r => r.Runtime.DiskWriteBytes)),
        };
    }
}

/// <summary>
/// Drives HTTP load: closed loop (each worker sends its next request when the previous answer has
/// arrived) and open loop (requests start at a fixed rate regardless of answers; latency is measured
/// from each request's intended start, so a stall is charged to every request it delays — no
/// coordinated omission). Every response body is read in full. Status 200 is success; anything else
/// (or an exception) is an error, classified by the problem response's <c>errorCode</c>.
/// </summary>
internal static partial class LoadDriver
{
    internal static readonly double TicksPerMs = Stopwatch.Frequency / 1000.0;

    /// <summary>
    /// Runs <paramref name="workers"/> closed-loop workers: a warm-up, then a measured window. A worker whose
    /// <paramref name="next"/> returns null has no more work (a budget of one-time codes ran out) and stops.
    /// Only requests completed inside the window count; when every worker stopped early, the window ends at the
    /// last completion.
    /// </summary>
    /// <param name="served">Called once per 200 response, also during warm-up (the ledger check counts every served read).</param>
    public static async Task<PhaseResult> ClosedLoopAsync(
        string name, int workers, Func<int, long, Outgoing?> next, TimeSpan warmup, TimeSpan duration, Action<long> served, Action<int, long>? onOk = null)
    {
        var cpu = CpuSampler.Start();
        var start = Stopwatch.GetTimestamp();
        var from = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var to = from + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var latencies = new List<long>[workers];
        var errors = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var lastCompletion = new long[workers];
        var tasks = new Task[workers];
        long sent = 0;
        for (var w = 0; w < workers; w++)
        {
            var worker = w;
            latencies[w] = new List<long>(1 << 14);
            tasks[w] = Task.Run(async () =>
            {
                long i = 0, ok = 0;
                while (Stopwatch.GetTimestamp() < to)
                {
                    var index = i++;
                    var outgoing = next(worker, index);
                    if (outgoing is not { } o)
                    {
                        break;
                    }

                    var t0 = Stopwatch.GetTimestamp();
                    var error = await SendAsync(o);
                    var t1 = Stopwatch.GetTimestamp();
                    if (error is null)
                    {
                        ok++;
                        onOk?.Invoke(worker, index);
                    }

                    if (t1 >= from && t1 < to)
                    {
                        lastCompletion[worker] = t1;
                        if (error is null)
                        {
                            latencies[worker].Add(t1 - t0);
                        }
                        else
                        {
                            errors.AddOrUpdate(error, 1, (_, n) => n + 1);
                        }
                    }
                    else if (error is not null)
                    {
                        errors.AddOrUpdate("(warm-up) " + error, 1, (_, n) => n + 1);
                    }
                }

                served(ok);
                Interlocked.Add(ref sent, i);
            });
        }

        await Task.WhenAll(tasks);
        var end = Math.Min(to, Math.Max(from + 1, lastCompletion.Max()));
        var usage = cpu.Stop();
        return Summarise(name, "closed loop", latencies, errors, (end - from) / (double)Stopwatch.Frequency, usage, sent);
    }

    /// <summary>
    /// Open loop at <paramref name="rate"/> requests/s: request <c>i</c> is due at <c>start + i / rate</c> and its
    /// latency runs from that instant to the end of its response. The first <paramref name="warmup"/> of requests
    /// are sent but not recorded.
    /// </summary>
    public static async Task<PhaseResult> OpenLoopAsync(
        string name, double rate, Func<long, Outgoing> make, TimeSpan warmup, TimeSpan duration, Action<long> served)
    {
        var warmCount = (long)(warmup.TotalSeconds * rate);
        var total = warmCount + (long)(duration.TotalSeconds * rate);
        var interval = Stopwatch.Frequency / rate;
        var latencies = new long[total - warmCount];
        var failed = new bool[total - warmCount];
        var errors = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var inFlight = new CountdownEvent(1);
        long ok = 0;
        var cpu = CpuSampler.Start();
        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100;
        long measuredStart = 0;
        var scheduler = new Thread(() =>
        {
            for (long i = 0; i < total; i++)
            {
                var due = start + (long)(i * interval);
                WaitUntil(due);
                if (i == warmCount)
                {
                    measuredStart = due;
                }

                var index = i;
                var outgoing = make(i);
                inFlight.AddCount();
                _ = Task.Run(async () =>
                {
                    var error = await SendAsync(outgoing);
                    var done = Stopwatch.GetTimestamp();
                    if (error is null)
                    {
                        Interlocked.Increment(ref ok);
                    }

                    if (index >= warmCount)
                    {
                        latencies[index - warmCount] = done - due;
                        if (error is not null)
                        {
                            failed[index - warmCount] = true;
                            errors.AddOrUpdate(error, 1, (_, n) => n + 1);
                        }
                    }

                    inFlight.Signal();
                });
            }
        })
        { IsBackground = true, Name = "open-loop scheduler", Priority = ThreadPriority.AboveNormal };
        scheduler.Start();
        await Task.Run(scheduler.Join);
        inFlight.Signal();
        await Task.Run(() => inFlight.Wait());
        var end = Stopwatch.GetTimestamp();
        var usage = cpu.Stop();
        served(ok);

        var good = new List<long>(latencies.Length);
        for (var i = 0; i < latencies.Length; i++)
        {
            if (!failed[i])
            {
                good.Add(latencies[i]);
            }
        }

        // Achieved rate = measured requests / time from the first measured due instant to the last completion.
        var result = Summarise(name, "open loop", [good], errors, (end - measuredStart) / (double)Stopwatch.Frequency, usage, total);
        return result with { OfferedRate = rate };
    }

    private static PhaseResult Summarise(string name, string mode, IReadOnlyList<List<long>> perWorker, ConcurrentDictionary<string, long> errors, double seconds, CpuUsage usage, long sent)
    {
        var all = new List<long>(perWorker.Sum(l => l.Count));
        foreach (var list in perWorker)
        {
            all.AddRange(list);
        }

        all.Sort();
        var measuredErrors = errors.Where(e => !e.Key.StartsWith("(warm-up)", StringComparison.Ordinal)).Sum(e => e.Value);
        return new PhaseResult(
            name,
            mode,
            all.Count,
            measuredErrors,
            seconds,
            all.Count / seconds,
            Percentile(all, 0.50),
            Percentile(all, 0.99),
            all.Count == 0 ? double.NaN : all[^1] / TicksPerMs,
            usage.ProcessPercent,
            usage.MachinePercent,
            new Dictionary<string, long>(errors, StringComparer.Ordinal))
        { Sorted = all, Runtime = usage.Runtime, Sent = sent };
    }

    /// <summary>
    /// Closed loop without HTTP: <paramref name="workers"/> concurrent callers of <paramref name="operation"/>
    /// (true = success), for attributing cost to the parts of a guarded lookup.
    /// </summary>
    public static async Task<PhaseResult> InProcessAsync(string name, int workers, Func<int, long, Task<bool>> operation, TimeSpan warmup, TimeSpan duration)
    {
        var cpu = CpuSampler.Start();
        var start = Stopwatch.GetTimestamp();
        var from = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var to = from + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var latencies = new List<long>[workers];
        var errors = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var tasks = new Task[workers];
        long sent = 0;
        for (var w = 0; w < workers; w++)
        {
            var worker = w;
            latencies[w] = new List<long>(1 << 14);
            tasks[w] = Task.Run(async () =>
            {
                long i = 0;
                while (Stopwatch.GetTimestamp() < to)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    string? error;
                    try
                    {
                        error = await operation(worker, i++) ? null : "refused";
                    }
                    catch (Exception ex)
                    {
                        error = ex.GetType().Name;
                    }

                    var t1 = Stopwatch.GetTimestamp();
                    if (t1 >= from && t1 < to)
                    {
                        if (error is null)
                        {
                            latencies[worker].Add(t1 - t0);
                        }
                        else
                        {
                            errors.AddOrUpdate(error, 1, (_, n) => n + 1);
                        }
                    }
                }

                Interlocked.Add(ref sent, i);
            });
        }

        await Task.WhenAll(tasks);
        return Summarise(name, "in process", latencies, errors, duration.TotalSeconds, cpu.Stop(), sent);
    }

    /// <summary>Nearest-rank percentile of sorted Stopwatch tick latencies, in milliseconds.</summary>
    internal static double Percentile(List<long> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)] / TicksPerMs;
    }

    /// <summary>Sends and reads the whole body; null on 200, else a short error kind (status and problem code).</summary>
    private static async Task<string?> SendAsync(Outgoing outgoing)
    {
        try
        {
            using var request = outgoing.Request;
            using var response = await outgoing.Client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            if (response.StatusCode == System.Net.HttpStatusCode.OK)
            {
                return null;
            }

            var body = await response.Content.ReadAsStringAsync();
            var code = ErrorCode().Match(body);
            return $"{(int)response.StatusCode} {(code.Success ? code.Groups[1].Value : "(no problem code)")}";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }

    /// <summary>Sleeps until <paramref name="due"/> (Stopwatch ticks) with ~0.1 ms precision on Linux, without spinning a core.</summary>
    private static void WaitUntil(long due)
    {
        while (true)
        {
            var remaining = due - Stopwatch.GetTimestamp();
            if (remaining <= 0)
            {
                return;
            }

            var micros = remaining * 1_000_000 / Stopwatch.Frequency;
            if (OperatingSystem.IsLinux())
            {
                _ = Native.usleep((uint)Math.Min(micros, 100_000));
            }
            else
            {
                Thread.Sleep(Math.Max(1, (int)(micros / 1000)));
            }
        }
    }

    [GeneratedRegex("\"errorCode\"\\s*:\\s*\"([a-z0-9-]+)\"")]
    private static partial Regex ErrorCode();

    private static partial class Native
    {
        [LibraryImport("libc", SetLastError = false)]
        public static partial int usleep(uint microseconds);
    }
}

/// <summary>CPU used during a phase: this process, and the whole machine (from /proc/stat), as % of all cores.</summary>
internal readonly record struct CpuUsage(double ProcessPercent, double MachinePercent, RuntimeDelta Runtime);

/// <summary>Runtime activity during a phase (process-wide: server and driver together).</summary>
/// <param name="AllocatedBytes">Bytes allocated.</param>
/// <param name="GcPauseMs">Time the runtime was paused for GC, ms.</param>
/// <param name="Gen0">Gen-0 collections.</param>
/// <param name="Gen1">Gen-1 collections.</param>
/// <param name="Gen2">Gen-2 collections.</param>
/// <param name="WorkItems">Thread-pool work items completed.</param>
/// <param name="LockContentions">Monitor lock contentions.</param>
/// <param name="Threads">Thread-pool threads at the end.</param>
/// <param name="CpuMs">Process CPU time (user + kernel), ms.</param>
/// <param name="DiskWriteBytes">Bytes this process sent to the storage layer (/proc/self/io write_bytes).</param>
internal readonly record struct RuntimeDelta(long AllocatedBytes, double GcPauseMs, int Gen0, int Gen1, int Gen2, long WorkItems, long LockContentions, int Threads, double CpuMs = 0, long DiskWriteBytes = 0)
{
    internal static long DiskWrites()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        foreach (var line in File.ReadLines("/proc/self/io"))
        {
            if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan("write_bytes:".Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    public static RuntimeDelta Now() => new(
        GC.GetTotalAllocatedBytes(precise: false),
        GC.GetTotalPauseDuration().TotalMilliseconds,
        GC.CollectionCount(0),
        GC.CollectionCount(1),
        GC.CollectionCount(2),
        ThreadPool.CompletedWorkItemCount,
        Monitor.LockContentionCount,
        ThreadPool.ThreadCount,
        Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds,
        DiskWrites());

    public RuntimeDelta Since(RuntimeDelta start) => new(
        AllocatedBytes - start.AllocatedBytes,
        GcPauseMs - start.GcPauseMs,
        Gen0 - start.Gen0,
        Gen1 - start.Gen1,
        Gen2 - start.Gen2,
        WorkItems - start.WorkItems,
        LockContentions - start.LockContentions,
        Threads,
        CpuMs - start.CpuMs,
        DiskWriteBytes - start.DiskWriteBytes);
}

internal sealed class CpuSampler
{
    private readonly TimeSpan _process;
    private readonly long _wall;
    private readonly (long Busy, long Total)? _machine;
    private readonly RuntimeDelta _runtime;

    private CpuSampler()
    {
        _runtime = RuntimeDelta.Now();
        _process = Process.GetCurrentProcess().TotalProcessorTime;
        _wall = Stopwatch.GetTimestamp();
        _machine = ReadProcStat();
    }

    public static CpuSampler Start() => new();

    public CpuUsage Stop()
    {
        var wall = Stopwatch.GetElapsedTime(_wall);
        var process = Process.GetCurrentProcess().TotalProcessorTime - _process;
        var processPercent = 100.0 * process.TotalSeconds / (wall.TotalSeconds * Environment.ProcessorCount);
        var machine = ReadProcStat();
        var machinePercent = _machine is { } a && machine is { } b && b.Total > a.Total
            ? 100.0 * (b.Busy - a.Busy) / (b.Total - a.Total)
            : double.NaN;
        return new CpuUsage(processPercent, machinePercent, RuntimeDelta.Now().Since(_runtime));
    }

    /// <summary>Busy and total jiffies of all CPUs (busy = everything but idle and iowait), or null off Linux.</summary>
    private static (long Busy, long Total)? ReadProcStat()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/stat"))
        {
            return null;
        }

        var line = File.ReadLines("/proc/stat").First();
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        var total = parts.Sum();
        var idle = parts[3] + parts[4];
        return (total - idle, total);
    }
}
