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
return await root.Parse(args).InvokeAsync();
