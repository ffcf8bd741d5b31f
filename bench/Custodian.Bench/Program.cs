using System.CommandLine;
using Custodian.Bench;

var subscribers = new Option<int>("--subscribers") { Description = "Synthetic subscribers imported before the run (1,000–1,000,000).", DefaultValueFactory = _ => 20_000 };
var clients = new Option<int>("--clients") { Description = "Concurrent closed-loop workers, each a signed-in clerk at its own terminal with one keep-alive HTTP/1.1 connection (1–256).", DefaultValueFactory = _ => 32 };
var duration = new Option<double>("--duration") { Description = "Measured seconds per closed-loop workload and for the open-loop run (1–600).", DefaultValueFactory = _ => 10 };
var warmup = new Option<double>("--warmup") { Description = "Unmeasured warm-up seconds before each measured window (0–60).", DefaultValueFactory = _ => 3 };
var rate = new Option<double>("--rate") { Description = "Offered rate of the open-loop search run, requests/s (1–50,000).", DefaultValueFactory = _ => 2_000 };
var quick = new Option<bool>("--quick") { Description = "Smoke mode (~20 s): 2,000 subscribers, 8 clients, 1 s windows, 0.5 s warm-ups, no /health reference, no component timings." };
var components = new Option<bool>("--components") { Description = "Also time the parts of a guarded lookup in process (ledger append alone, vault alone, guard without HTTP).", DefaultValueFactory = _ => true };
var dataParent = new Option<string?>("--data-parent") { Description = "Directory under which the temporary data directory is created (default: the system temp directory). It must be on the disk you mean to measure: the ledger commits with fsync." };
var jitWarmup = new Option<double>("--jit-warmup") { Description = "Untimed seconds of mixed traffic before the first measurement, so every phase runs on tier-1 JIT code (0–600).", DefaultValueFactory = _ => 10 };
var prefill = new Option<int>("--ledger-prefill") { Description = "Synthetic ledger entries appended before the first measurement, so the ledger has history (0–10,000,000).", DefaultValueFactory = _ => 0 };
prefill.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0 or > 10_000_000) { r.AddError("--ledger-prefill must be 0–10,000,000."); } });
var checkpointer = new Option<int>("--experiment-checkpointer") { Description = "EXPERIMENT, not the product: run PRAGMA wal_checkpoint(PASSIVE) from a background connection every N ms (0 = off, the default), to test whether the ledger writer's inline WAL checkpoints cause the latency tail.", DefaultValueFactory = _ => 0 };
var only = new Option<string[]>("--only") { Description = "Run only these workloads (health, search, view, unmask, open); default all.", AllowMultipleArgumentsPerToken = true };
subscribers.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1_000 or > 1_000_000) { r.AddError("--subscribers must be 1,000–1,000,000."); } });
clients.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 256) { r.AddError("--clients must be 1–256."); } });
duration.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 1 or > 600) { r.AddError("--duration must be 1–600 seconds."); } });
warmup.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 0 or > 60) { r.AddError("--warmup must be 0–60 seconds."); } });
jitWarmup.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 0 or > 600) { r.AddError("--jit-warmup must be 0–600 seconds."); } });
rate.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 1 or > 50_000) { r.AddError("--rate must be 1–50,000 requests/s."); } });
only.AcceptOnlyFromAmong("health", "search", "view", "unmask", "open"); // names separated by spaces; "view,unmask" is refused, not run as nothing

var root = new RootCommand("Load benchmark of Custodian's guarded lookups against an unguarded baseline, over HTTPS with client certificates.")
{
    subscribers, clients, duration, warmup, rate, quick, components, dataParent, only, checkpointer, jitWarmup, prefill,
};
root.SetAction(async (parse, cancellationToken) =>
{
    var isQuick = parse.GetValue(quick);
    bool Given(Option option) => parse.GetResult(option) is { Implicit: false };
    var settings = new BenchSettings(
        Subscribers: isQuick && !Given(subscribers) ? 2_000 : parse.GetValue(subscribers),
        Clients: isQuick && !Given(clients) ? 8 : parse.GetValue(clients),
        Duration: TimeSpan.FromSeconds(isQuick && !Given(duration) ? 1.0 : parse.GetValue(duration)),
        Warmup: TimeSpan.FromSeconds(isQuick && !Given(warmup) ? 0.5 : parse.GetValue(warmup)),
        Rate: parse.GetValue(rate),
        Components: !isQuick && parse.GetValue(components),
        DataParent: parse.GetValue(dataParent),
        Only: parse.GetValue(only) is { Length: > 0 } o ? new HashSet<string>(o, StringComparer.OrdinalIgnoreCase)
            : isQuick ? new HashSet<string>(["search", "view", "unmask", "open"], StringComparer.OrdinalIgnoreCase) : null,
        HandlesPerClerk: isQuick ? 25 : 200,
        CheckpointerMs: parse.GetValue(checkpointer),
        LedgerPrefill: parse.GetValue(prefill),
        JitWarmupSeconds: isQuick && !Given(jitWarmup) ? 2 : parse.GetValue(jitWarmup),
        CommandLine: "dotnet run -c Release --project bench/Custodian.Bench -- " + string.Join(' ', args));
    return await new Bench(settings).RunAsync(cancellationToken);
});

// `ledger`: the access-ledger goals of issue 4 (append vs raw fsync, verification, proof latency); see bench/README.md, "Ledger".
var ledgerParts = new Option<string[]>("--only") { Description = "Run only these parts (append, verify, proof); default all.", AllowMultipleArgumentsPerToken = true };
var appendSeconds = new Option<double>("--append-seconds") { Description = "Measured seconds of the append run, after 3 s of warm-up (1–600).", DefaultValueFactory = _ => 10 };
var appendCallers = new Option<int>("--callers") { Description = "Concurrent AppendAsync callers in the append run (1–65,536).", DefaultValueFactory = _ => 4_096 };
var verifyEntries = new Option<long>("--verify-entries") { Description = "Entries of the ledger verified in part (b) (1,000–100,000,000).", DefaultValueFactory = _ => 10_000_000 };
var proofEntries = new Option<long>("--proof-entries") { Description = "Leaves of the synthetic proof store of part (c) (1,000–1,000,000,000).", DefaultValueFactory = _ => 100_000_000 };
var proofSamples = new Option<int>("--proof-samples") { Description = "Timed inclusion proofs per store (100–1,000,000).", DefaultValueFactory = _ => 10_000 };
var checkpointMs = new Option<int>("--checkpoint-ms") { Description = "LedgerOptions.CheckpointInterval of the append run in ms (0 = off: the writer checkpoints inline, the behaviour before background checkpoints; 0–10,000).", DefaultValueFactory = _ => 200 };
checkpointMs.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0 or > 10_000) { r.AddError("--checkpoint-ms must be 0–10,000."); } });
var appendSubjects = new Option<string>("--subjects") { Description = "Subjects of the appended entries: random (one random subscriber of 17 M, the realistic case; default), sequential or none (diagnosis: the cost of the by-subject index).", DefaultValueFactory = _ => "random" };
appendSubjects.AcceptOnlyFromAmong("random", "sequential", "none");
var incidentIndexes = new Option<bool>("--incident-indexes") { Description = "Also apply incidents-001 (three indexes on ledger_entries, as the product had them before incidents-003 moved scoping to a post-commit projection) to the append run's database, to measure their cost." };
var cacheDirectory = new Option<string>("--cache-dir") { Description = "Where the generated ledgers of (b) and (c) are kept between runs (several GiB at the defaults).", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "custodian-ledger-bench-cache") };
appendSeconds.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 1 or > 600) { r.AddError("--append-seconds must be 1–600."); } });
appendCallers.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 65_536) { r.AddError("--callers must be 1–65,536."); } });
verifyEntries.Validators.Add(r => { if (r.GetValueOrDefault<long>() is < 1_000 or > 100_000_000) { r.AddError("--verify-entries must be 1,000–100,000,000."); } });
proofEntries.Validators.Add(r => { if (r.GetValueOrDefault<long>() is < 1_000 or > 1_000_000_000) { r.AddError("--proof-entries must be 1,000–1,000,000,000."); } });
proofSamples.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 100 or > 1_000_000) { r.AddError("--proof-samples must be 100–1,000,000."); } });
ledgerParts.Validators.Add(r =>
{
    foreach (var part in r.GetValueOrDefault<string[]>() ?? [])
    {
        if (part is not ("append" or "verify" or "proof"))
        {
            r.AddError("--only takes append, verify or proof.");
        }
    }
});
var ledgerCommand = new Command("ledger", "Access-ledger benchmarks: durable append vs raw fsync'd writes, verification rate, proof latency.")
{
    ledgerParts, appendSeconds, appendCallers, verifyEntries, proofEntries, proofSamples, cacheDirectory, dataParent, checkpointMs, appendSubjects,
    incidentIndexes,
};
ledgerCommand.SetAction(async (parse, cancellationToken) => await new Custodian.Bench.Ledger.LedgerBench(new Custodian.Bench.Ledger.LedgerBenchSettings(
    Parts: parse.GetValue(ledgerParts) is { Length: > 0 } p ? new HashSet<string>(p) : new HashSet<string>(["append", "verify", "proof"]),
    AppendSeconds: parse.GetValue(appendSeconds),
    Callers: parse.GetValue(appendCallers),
    VerifyEntries: parse.GetValue(verifyEntries),
    ProofEntries: parse.GetValue(proofEntries),
    ProofSamples: parse.GetValue(proofSamples),
    CacheDirectory: parse.GetValue(cacheDirectory)!,
    CheckpointMs: parse.GetValue(checkpointMs),
    Subjects: parse.GetValue(appendSubjects)!,
    DataParent: parse.GetValue(dataParent),
    CommandLine: "dotnet run -c Release --project bench/Custodian.Bench -- " + string.Join(' ', args))
{
    IncidentIndexes = parse.GetValue(incidentIndexes),
}).RunAsync(cancellationToken));
root.Subcommands.Add(ledgerCommand);
root.Subcommands.Add(Custodian.Bench.Events.EventsBench.Create()); // `events`: JetStream vs embedded guarded searches (docs/events.md)
root.Subcommands.Add(Custodian.Bench.Workers.WorkersBench.Create()); // `workers`: monitor throughput with 1 vs 2 sharded workers (docs/events.md)
root.Subcommands.Add(Custodian.Bench.Nodes.NodesBench.Create()); // `nodes`: 1 vs 2 API nodes on one PostgreSQL schema and one stream (docs/capacity.md)

// `portal`: issue 6's goal, one subscriber's history among 10 M ledger entries (docs/portal.md, "Performance").
var portalEntries = new Option<long>("--entries") { Description = "Ledger entries (10,000–100,000,000).", DefaultValueFactory = _ => 10_000_000 };
var portalSamples = new Option<int>("--samples") { Description = "Timed calls per row (100–100,000).", DefaultValueFactory = _ => 2_000 };
portalEntries.Validators.Add(r => { if (r.GetValueOrDefault<long>() is < 10_000 or > 100_000_000) { r.AddError("--entries must be 10,000–100,000,000."); } });
portalSamples.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 100 or > 100_000) { r.AddError("--samples must be 100–100,000."); } });
var portalCommand = new Command("portal", "Subscriber portal: one subscriber's history among N ledger entries vs the bare by-subject query.") { portalEntries, portalSamples, cacheDirectory };
portalCommand.SetAction(async (parse, cancellationToken) => await new Custodian.Bench.Portal.PortalHistoryBench(new Custodian.Bench.Portal.PortalBenchSettings(
    parse.GetValue(portalEntries), parse.GetValue(portalSamples), parse.GetValue(cacheDirectory)!, "dotnet run -c Release --project bench/Custodian.Bench -- " + string.Join(' ', args))).RunAsync(cancellationToken));
root.Subcommands.Add(portalCommand);
// `scope`: incident scoping against DuckDB over the same entries in Parquet (issue 7); see bench/README.md, "Incident scoping".
var scopeEntries = new Option<long>("--entries") { Description = "Ledger entries generated and scoped (100,000–1,000,000,000).", DefaultValueFactory = _ => 100_000_000 };
scopeEntries.Validators.Add(r => { if (r.GetValueOrDefault<long>() is < 100_000 or > 1_000_000_000) { r.AddError("--entries must be 100,000–1,000,000,000."); } });
var scopeRuns = new Option<int>("--runs") { Description = "Timed runs per scope and engine; the best is reported (1–20).", DefaultValueFactory = _ => 3 };
scopeRuns.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 20) { r.AddError("--runs must be 1–20."); } });
var scopeCache = new Option<string>("--cache-dir") { Description = "Where the generated ledger and Parquet file are kept between runs (tens of GiB at 100 M entries).", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "custodian-scope-bench-cache") };
var scopeCommand = new Command("scope", "Incident scoping over a generated ledger, against DuckDB scanning the same entries exported to Parquet.") { scopeEntries, scopeRuns, scopeCache };
scopeCommand.SetAction(async (parse, cancellationToken) => await new Custodian.Bench.Incidents.ScopeBench(new Custodian.Bench.Incidents.ScopeBenchSettings(
    parse.GetValue(scopeEntries), parse.GetValue(scopeCache)!, parse.GetValue(scopeRuns), "dotnet run -c Release --project bench/Custodian.Bench -- " + string.Join(' ', args))).RunAsync(cancellationToken));
root.Subcommands.Add(scopeCommand);
return await root.Parse(args).InvokeAsync();
