using System.Collections.Frozen;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Monitoring.Detection;
using Custodian.Monitoring.Evaluation;
using Custodian.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Benchmarks;

/// <summary>The recorded workload both monitor benchmarks use: the evaluation's normal store traffic (docs/monitoring.md, "Workload").</summary>
internal static class MonitorWorkload
{
    /// <summary>Days of traffic generated (300 clerks, 50 stores, seed 1); the first <see cref="Count"/> entries are used.</summary>
    public const int Days = 6;

    /// <summary>Entries fed per benchmark invocation (a constant: BenchmarkDotNet's <c>OperationsPerInvoke</c>).</summary>
    public const int Count = 100_000;

    private static AccessEntry[]? _entries;

    /// <summary>The entries, in time order, generated once per process.</summary>
    public static AccessEntry[] Entries => _entries ??= Generate();

    /// <summary>
    /// The Dictionary baseline of the detector benchmarks: counts each entry under its account (the empty string when it has
    /// none) in <paramref name="counts"/>, one dictionary increment per entry.
    /// </summary>
    /// <param name="entries">The entries, in order.</param>
    /// <param name="counts">The counts to add to (ordinal keys); updated in place.</param>
    /// <returns>The number of distinct accounts counted so far.</returns>
    public static int CountByAccount(AccessEntry[] entries, Dictionary<string, int> counts)
    {
        for (var i = 0; i < entries.Length; i++)
        {
            var key = entries[i].Account ?? string.Empty;
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return counts.Count;
    }

    /// <summary>
    /// The floor every detector pays: reads each entry's time, account, terminal, store and subjects (the fields the
    /// detectors look at) and folds them into a checksum so that nothing is optimised away.
    /// </summary>
    public static long Touch(AccessEntry[] entries)
    {
        long sum = 0;
        for (var i = 0; i < entries.Length; i++)
        {
            var e = entries[i];
            sum += e.Time.ToUnixTimeMilliseconds() + (int)e.Task + (e.Account?.Length ?? 0) + (e.Terminal?.Length ?? 0) + (e.Store?.Length ?? 0);
            var subjects = e.Subjects;
            for (var j = 0; j < subjects.Count; j++)
            {
                sum ^= subjects[j].Value;
            }
        }

        return sum;
    }

    /// <summary>
    /// Days of traffic a steady-state engine has seen before the measured entries (<see cref="SteadyWarmup"/>): a month,
    /// so that every principal's 30-day history is full and all clerks, terminals and stores are known, as in a monitor
    /// that has been running.
    /// </summary>
    public const int SteadyWarmupDays = 30;

    private static (AccessEntry[] Warmup, AccessEntry[] Measured)? _steady;

    /// <summary>
    /// The warm-up stretch of the steady-state workload: every entry of the first <see cref="SteadyWarmupDays"/> days of
    /// the same traffic (300 clerks, 50 stores, seed 1), in time order, generated once per process.
    /// </summary>
    public static AccessEntry[] SteadyWarmup => (_steady ??= GenerateSteady()).Warmup;

    /// <summary>
    /// The measured entries of the steady-state workload: the <see cref="Count"/> entries that follow
    /// <see cref="SteadyWarmup"/> in time order (about four more days), new to an engine that has processed only the warm-up.
    /// </summary>
    public static AccessEntry[] SteadyEntries => (_steady ??= GenerateSteady()).Measured;

    /// <summary>
    /// A live engine (or, with <paramref name="hardLimits"/>, the replay set) that has processed <see cref="SteadyWarmup"/>
    /// with sequences 0, 1, 2, …; the measured entries continue at sequence <see cref="SteadyWarmup"/>.Length. Ends with a
    /// full blocking collection, so the warm-up's state is promoted before anything is measured.
    /// </summary>
    public static MonitorEngine WarmedEngine(MonitorOptions? hardLimits = null)
    {
        var engine = MonitorEngine.CreateDefault(new DetectionOptions(), hardLimits);
        var warmup = SteadyWarmup;
        for (var i = 0; i < warmup.Length; i++)
        {
            engine.Process(i, warmup[i]);
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return engine;
    }

    /// <summary>The Dictionary baseline's counts after the warm-up stretch (every clerk already a key), for the steady-state rows.</summary>
    public static Dictionary<string, int> WarmedCounts()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        CountByAccount(SteadyWarmup, counts);
        return counts;
    }

    private static (AccessEntry[] Warmup, AccessEntry[] Measured) GenerateSteady()
    {
        // Enough days for the warm-up and the measured entries; the workload's days must be generated in order.
        const int days = SteadyWarmupDays + 8;
        var workload = new Workload(new WorkloadOptions { Days = days, AttackDay = days - 1, Clerks = 300, Seed = 1 }, Scenario.Normal);
        var warmup = new List<AccessEntry>();
        for (var d = 0; d < SteadyWarmupDays; d++)
        {
            warmup.AddRange(workload.Day(d).Select(r => r.Entry));
        }

        var measured = Enumerable.Range(SteadyWarmupDays, days - SteadyWarmupDays).SelectMany(d => workload.Day(d)).Select(r => r.Entry).Take(Count).ToArray();
        return measured.Length == Count
            ? ([.. warmup], measured)
            : throw new InvalidOperationException($"The workload gave {measured.Length} entries after the warm-up, fewer than {Count}.");
    }

    private static AccessEntry[] Generate()
    {
        var workload = new Workload(new WorkloadOptions { Days = Days, AttackDay = Days - 1, Clerks = 300, Seed = 1 }, Scenario.Normal);
        var entries = Enumerable.Range(0, Days).SelectMany(d => workload.Day(d)).Select(r => r.Entry).Take(Count).ToArray();
        return entries.Length == Count ? entries : throw new InvalidOperationException($"The workload gave {entries.Length} entries, fewer than {Count}.");
    }
}

/// <summary>
/// Detector update throughput: the first 100,000 entries of 300 clerks' normal traffic (about four days) fed in order to a fresh
/// <see cref="MonitorEngine"/> per iteration, one invocation per iteration, reported per entry
/// (<c>OperationsPerInvoke</c>). Baseline in the same run: a plain <see cref="Dictionary{TKey, TValue}"/> increment per
/// entry keyed by the clerk; also the raw loop over the same entries (<see cref="MonitorWorkload.Touch"/>). Target:
/// ≥ 1,000,000 entries/s per core (issue 5), i.e. ≤ 1 µs per entry.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, warmupCount: 2, iterationCount: 15, invocationCount: 1)]
[MemoryDiagnoser]
public class DetectorUpdateBenchmarks
{
    private AccessEntry[] _entries = [];
    private MonitorEngine _live = null!;
    private MonitorEngine _replay = null!;
    private Dictionary<string, int> _counts = [];

    [GlobalSetup]
    public void Setup() => _entries = MonitorWorkload.Entries;

    [IterationSetup]
    public void Fresh()
    {
        _live = MonitorEngine.CreateDefault(new DetectionOptions());
        _replay = MonitorEngine.CreateDefault(new DetectionOptions(), new MonitorOptions());
        _counts = new Dictionary<string, int>(StringComparer.Ordinal);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = MonitorWorkload.Count, Description = "baseline: Dictionary increment per entry")]
    public int DictionaryIncrement() => MonitorWorkload.CountByAccount(_entries, _counts);

    [Benchmark(OperationsPerInvoke = MonitorWorkload.Count, Description = "raw loop: each entry's time, account, terminal and subjects read")]
    public long RawLoop() => MonitorWorkload.Touch(_entries);

    [Benchmark(OperationsPerInvoke = MonitorWorkload.Count, Description = "MonitorEngine.Process, live detectors")]
    public int EngineLive() => Feed(_live);

    [Benchmark(OperationsPerInvoke = MonitorWorkload.Count, Description = "MonitorEngine.Process, live detectors + hard limits")]
    public int EngineWithHardLimits() => Feed(_replay);

    private int Feed(MonitorEngine engine)
    {
        var decisions = 0;
        var entries = _entries;
        for (var i = 0; i < entries.Length; i++)
        {
            decisions += engine.Process(i, entries[i]).Count;
        }

        return decisions;
    }
}

/// <summary>
/// Detector update throughput in STEADY STATE, the figure that answers issue 5's target (≥ 1,000,000 entries/s per
/// core): a running monitor has already seen its clerks, terminals and stores, so each iteration gets an engine that has
/// processed <see cref="MonitorWorkload.SteadyWarmupDays"/> days of the same traffic (re-created and warmed in
/// <c>[IterationSetup]</c>, outside the measurement, then fully collected) and measures the <see cref="MonitorWorkload.Count"/>
/// entries that follow in time order. The measured entries are new to that engine (never processed twice by it), and the
/// engine's state does not grow from one iteration to the next. Baseline in the same run: the Dictionary increment
/// per entry on counts that already hold every clerk; also the raw loop over the same entries.
/// </summary>
/// <remarks><see cref="DetectorUpdateBenchmarks"/> (a fresh engine per iteration) stays: it also charges the growth of every
/// principal's state (about 12 MB) and its promotion by the GC, which a monitor pays once after a start.</remarks>
[SimpleJob(RunStrategy.Monitoring, warmupCount: 2, iterationCount: 15, invocationCount: 1)]
[MemoryDiagnoser]
public class DetectorUpdateSteadyBenchmarks
{
    private AccessEntry[] _entries = [];
    private int _first;
    private MonitorEngine? _engine;
    private LiveMonitorPath? _live;
    private Dictionary<string, int> _counts = [];

    [GlobalSetup]
    public void Setup()
    {
        _entries = MonitorWorkload.SteadyEntries;
        _first = MonitorWorkload.SteadyWarmup.Length;
    }

    [IterationSetup(Target = nameof(DictionaryIncrement))]
    public void WarmCounts() => _counts = MonitorWorkload.WarmedCounts();

    [IterationSetup(Target = nameof(EngineLive))]
    public void WarmLive() => _engine = MonitorWorkload.WarmedEngine();

    [IterationSetup(Target = nameof(EngineWithHardLimits))]
    public void WarmReplay() => _engine = MonitorWorkload.WarmedEngine(new MonitorOptions());

    [IterationSetup(Target = nameof(LivePath))]
    public void WarmLivePath() => _live = LiveMonitorPath.Warmed();

    [Benchmark(Baseline = true, OperationsPerInvoke = MonitorWorkload.Count, Description = "steady: baseline: Dictionary increment per entry (clerks known)")]
    public int DictionaryIncrement() => MonitorWorkload.CountByAccount(_entries, _counts);

    [Benchmark(OperationsPerInvoke = MonitorWorkload.Count, Description = "steady: raw loop: each entry's time, account, terminal and subjects read")]
    public long RawLoop() => MonitorWorkload.Touch(_entries);

    [Benchmark(OperationsPerInvoke = MonitorWorkload.Count, Description = "steady: MonitorEngine.Process, live detectors, after 30 days")]
    public int EngineLive() => Feed();

    [Benchmark(OperationsPerInvoke = MonitorWorkload.Count, Description = "steady: MonitorEngine.Process, live detectors + hard limits, after 30 days")]
    public int EngineWithHardLimits() => Feed();

    [Benchmark(OperationsPerInvoke = MonitorWorkload.Count, Description = "steady: live path as AccessMonitor runs it: live detectors + hard limits (DistinctSubjectsDetector, clerk and terminal, IsLatched), after 30 days")]
    public int LivePath()
    {
        var live = _live ?? throw new InvalidOperationException("No warmed live path: the iteration setup did not run.");
        _live = null;
        return live.Feed(_entries, _first);
    }

    private int Feed()
    {
        // Each measured entry is processed once by this engine, continuing the warm-up's sequences and times.
        var engine = _engine ?? throw new InvalidOperationException("No warmed engine: the iteration setup did not run.");
        _engine = null;
        var decisions = 0;
        var entries = _entries;
        for (var i = 0; i < entries.Length; i++)
        {
            decisions += engine.Process(_first + i, entries[i]).Count;
        }

        return decisions;
    }
}

/// <summary>
/// The guard's inline risk check, <see cref="AccessMonitor.CurrentAction"/> then <see cref="AccessMonitor.CurrentRisk"/>
/// (what <c>LookupGuard</c> and the standing endpoint call), on a monitor whose engine has seen 100,000 entries of 300
/// clerks' traffic, cycling over the 300 clerks. Baseline in the same run: a plain dictionary lookup of the same keys.
/// Target: p99 ≤ 100 µs (issue 5). The monitor is not started (no I/O happens on this path).
/// </summary>
[MemoryDiagnoser]
public class RiskCheckBenchmarks : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "custodian-bench-" + Guid.NewGuid().ToString("N"));
    private AccessMonitor _monitor = null!;
    private string[] _clerks = [];
    private Dictionary<Principal, int> _plain = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        Directory.CreateDirectory(_directory);
        var entries = MonitorWorkload.Entries;
        var engine = MonitorEngine.CreateDefault(new DetectionOptions());
        for (var i = 0; i < entries.Length; i++)
        {
            engine.Process(i, entries[i]);
        }

        var last = entries[^1].Time;
        var time = new FixedTime(last);
        var db = new CustodianDatabase(Path.Combine(_directory, "custodian.db")); // never opened on this path
        var stream = new InProcessAccessEventStream();
        var ledger = new UnusedLedger();
        _monitor = new AccessMonitor(
            stream, ledger, ledger, new AlertStore(db, time), new SuspensionRegistry(db, time), new DistinctSubjectsDetector(new MonitorOptions()),
            engine, time, NullLogger<AccessMonitor>.Instance);
        _clerks = [.. entries.Select(e => e.Account).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        _plain = _clerks.ToDictionary(c => new Principal(PrincipalKind.Clerk, c), c => c.Length);
    }

    [Benchmark(Baseline = true, Description = "baseline: Dictionary lookup")]
    public int DictionaryLookup()
    {
        var clerk = NextClerk();
        return _plain.TryGetValue(new Principal(PrincipalKind.Clerk, clerk), out var v) ? v : 0;
    }

    [Benchmark(Description = "AccessMonitor.CurrentAction + CurrentRisk")]
    public int RiskCheck()
    {
        var clerk = NextClerk();
        return (int)_monitor.CurrentAction(PrincipalKind.Clerk, clerk) + _monitor.CurrentRisk(PrincipalKind.Clerk, clerk);
    }

    private string NextClerk()
    {
        var i = _next;
        _next = i + 1 == _clerks.Length ? 0 : i + 1;
        return _clerks[i];
    }

    /// <summary>Number of clerks cycled over.</summary>
    public int Clerks => _clerks.Length;

    [GlobalCleanup]
    public void Dispose()
    {
        _monitor?.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private sealed class UnusedLedger : IAccessLedger, IAccessLedgerReader
    {
        public ValueTask<CommittedEntry> AppendAsync(AccessEntry entry, CancellationToken cancellationToken = default) => throw new NotSupportedException("the risk check never appends");

        public ValueTask<long> GetSizeAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public IAsyncEnumerable<CommittedEntry> ReadAsync(long fromSequence, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public IAsyncEnumerable<CommittedEntry> ReadSinceAsync(DateTimeOffset since, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<CommittedEntry>> ReadBySubjectAsync(SubscriberId subject, long? before, int limit, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}

/// <summary>
/// The live monitor's per-entry work as <see cref="AccessMonitor"/> does it for a committed entry (its
/// <c>ProcessAsync</c> and <c>ProcessHardLimitsAsync</c>), without the asynchronous and database parts, which run only
/// for findings and breaches (none in the normal workload): under one lock, <see cref="MonitorEngine.Process"/> with the
/// live detectors; then, for an allowed read with subjects, under the lock again, for the clerk and then the terminal:
/// <see cref="DistinctSubjectsDetector.IsLatched"/> (a latched principal that is not suspended is
/// <see cref="DistinctSubjectsDetector.Reset"/>: nobody is suspended here) and <see cref="DistinctSubjectsDetector.Observe"/>;
/// <c>suspended</c> / <c>restored</c> entries latch / reset their target; every ledger minute,
/// <see cref="DistinctSubjectsDetector.Prune"/> (keeping no latched principal: none is suspended).
/// <see cref="DistinctSubjectsDetector.LimitFactor"/> is set as the server sets it (<c>QuotaRaises.FactorFor</c>: the clock,
/// then the raises in force, none here), see <see cref="NoQuotaRaises"/>.
/// </summary>
internal sealed class LiveMonitorPath
{
    private static readonly long PruneEveryMs = (long)TimeSpan.FromMinutes(1).TotalMilliseconds;
    private readonly Lock _gate = new();
    private readonly MonitorEngine _engine = MonitorEngine.CreateDefault(new DetectionOptions());
    private readonly DistinctSubjectsDetector _limits = new(new MonitorOptions()) { LimitFactor = NoQuotaRaises.FactorFor };
    private long _lastPruneMs;

    /// <summary>A live path that has processed <see cref="MonitorWorkload.SteadyWarmup"/> (sequences 0, 1, 2, …), then fully collected.</summary>
    public static LiveMonitorPath Warmed()
    {
        var path = new LiveMonitorPath();
        var warmup = MonitorWorkload.SteadyWarmup;
        for (var i = 0; i < warmup.Length; i++)
        {
            path.Process(i, warmup[i]);
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return path;
    }

    /// <summary>Feeds <paramref name="entries"/> with sequences from <paramref name="firstSequence"/>; returns the engine's decisions plus the breaches.</summary>
    public int Feed(AccessEntry[] entries, int firstSequence)
    {
        var results = 0;
        for (var i = 0; i < entries.Length; i++)
        {
            results += Process(firstSequence + i, entries[i]);
        }

        return results;
    }

    private int Process(long sequence, AccessEntry entry)
    {
        lock (_gate)
        {
            return _engine.Process(sequence, entry).Count + ObserveHardLimits(sequence, entry);
        }
    }

    // Under _gate, as AccessMonitor.ObserveHardLimits.
    private int ObserveHardLimits(long sequence, AccessEntry entry)
    {
        if (entry.Outcome != AccessOutcome.Allowed)
        {
            return 0;
        }

        if (entry.Task is AccessTask.Suspended or AccessTask.Restored)
        {
            if (Principal.TryParse(entry.Target, out var target))
            {
                if (entry.Task == AccessTask.Suspended)
                {
                    _limits.Latch(target.Value);
                }
                else
                {
                    _limits.Reset(target.Value);
                }
            }

            return 0;
        }

        if (!entry.Task.ReadsPersonalData() || entry.Subjects.Count == 0)
        {
            return 0;
        }

        var results = 0;
        if (entry.Account is { } account)
        {
            results += Observe(new Principal(PrincipalKind.Clerk, account), entry, sequence);
        }

        if (entry.Terminal is { } terminal)
        {
            results += Observe(new Principal(PrincipalKind.Terminal, terminal), entry, sequence);
        }

        var entryMs = entry.Time.ToUnixTimeMilliseconds();
        if (entryMs - _lastPruneMs >= PruneEveryMs)
        {
            _lastPruneMs = entryMs;
            _limits.Prune(entry.Time, _ => false);
        }

        return results;
    }

    private int Observe(Principal principal, AccessEntry entry, long sequence)
    {
        if (_limits.IsLatched(principal))
        {
            _limits.Reset(principal); // latched but not suspended: lifted elsewhere
        }

        return _limits.Observe(principal, entry.Time, entry.Subjects, sequence, out _) ? 1 : 0;
    }
}

/// <summary>
/// What the server's <c>QuotaRaises.FactorFor</c> (src/Custodian/Approvals) does per call when no raise is in force and its
/// copy is fresh: reads the clock, looks the principal up in an empty frozen dictionary, answers 1. The bench project does
/// not reference the server (which needs a database for the table), so this stands in for it.
/// </summary>
internal static class NoQuotaRaises
{
    private static readonly FrozenDictionary<Principal, (int Factor, long UntilMs)> Raises = FrozenDictionary<Principal, (int Factor, long UntilMs)>.Empty;
    private static readonly DateTimeOffset ReadAt = TimeProvider.System.GetUtcNow();

    /// <summary>The factor for <paramref name="principal"/> at ledger time <paramref name="nowMs"/>: always 1.</summary>
    public static int FactorFor(Principal principal, long nowMs) =>
        TimeProvider.System.GetUtcNow() - ReadAt < TimeSpan.MaxValue && Raises.TryGetValue(principal, out var raise) && raise.UntilMs > nowMs ? raise.Factor : 1;
}
