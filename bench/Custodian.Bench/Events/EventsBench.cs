using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Custodian.Bench.Events;

/// <summary>
/// <c>events</c>: guarded searches per second with the JetStream event log against the embedded default, in the same run
/// (docs/events.md, "Performance"). Each round starts the real server twice — embedded, then with
/// <c>Custodian:Events</c> naming the given NATS server (a fresh stream and subject prefix per run) — signs in the same
/// number of clerks and runs the same closed loop of <c>POST /api/v1/subscribers/search</c>. Reports requests/s, p50/p99,
/// process CPU µs per request and the load average, and the JetStream / embedded ratio per round.
/// </summary>
internal static class EventsBench
{
    public static Command Create()
    {
        var nats = new Option<string>("--nats") { Description = "The NATS server with JetStream to measure against, e.g. nats://127.0.0.1:4222 (start one: nats-server -js -a 127.0.0.1 -p 4222 -sd $(mktemp -d)).", Required = true };
        var subscribers = new Option<int>("--subscribers") { Description = "Synthetic subscribers imported per server (1,000–1,000,000).", DefaultValueFactory = _ => 5_000 };
        var clients = new Option<int>("--clients") { Description = "Closed-loop workers, each a clerk at its own terminal (1–256).", DefaultValueFactory = _ => 32 };
        var duration = new Option<double>("--duration") { Description = "Measured seconds per run (1–600).", DefaultValueFactory = _ => 10 };
        var warmup = new Option<double>("--warmup") { Description = "Unmeasured warm-up seconds per run (0–60).", DefaultValueFactory = _ => 5 };
        var rounds = new Option<int>("--rounds") { Description = "Embedded-then-JetStream rounds (1–10).", DefaultValueFactory = _ => 2 };
        subscribers.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1_000 or > 1_000_000) { r.AddError("--subscribers must be 1,000–1,000,000."); } });
        clients.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 256) { r.AddError("--clients must be 1–256."); } });
        duration.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 1 or > 600) { r.AddError("--duration must be 1–600 seconds."); } });
        warmup.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 0 or > 60) { r.AddError("--warmup must be 0–60 seconds."); } });
        rounds.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 10) { r.AddError("--rounds must be 1–10."); } });
        var command = new Command("events", "Guarded searches/s with the NATS JetStream event log vs the embedded default, in the same run (docs/events.md).")
        {
            nats, subscribers, clients, duration, warmup, rounds,
        };
        command.SetAction(async (parse, _) => await RunAsync(
            parse.GetValue(nats)!,
            parse.GetValue(subscribers),
            parse.GetValue(clients),
            TimeSpan.FromSeconds(parse.GetValue(warmup)),
            TimeSpan.FromSeconds(parse.GetValue(duration)),
            parse.GetValue(rounds)));
        return command;
    }

    private static async Task<int> RunAsync(string nats, int subscribers, int clients, TimeSpan warmup, TimeSpan duration, int rounds)
    {
        // The detectors would rightly flag a clerk reading hundreds of customers a second at night: make it store-local noon
        // and allow that many open lookups (docs/monitoring.md, "Settings"); the hard limits are raised by BenchHost.
        var hour = TimeProvider.System.GetUtcNow().Hour;
        var offset = TimeSpan.FromHours(12 - hour);
        Environment.SetEnvironmentVariable("Custodian__Detection__LocalOffset", (offset < TimeSpan.Zero ? "-" : string.Empty) + offset.Duration().ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture));
        Environment.SetEnvironmentVariable("Custodian__Detection__OpenLookupsAllowed", "10000");
        var rows = new List<(int Round, string Mode, PhaseResult Result, string Load)>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var jetStream in new[] { false, true })
            {
                var mode = jetStream ? "jetstream" : "embedded";
                var run = Guid.NewGuid().ToString("N")[..8];
                await using var host = await BenchHost.StartAsync(
                    subscribers,
                    null,
                    m => Console.Error.WriteLine($"[{mode} {round}] {m}"),
                    jetStream ? o =>
                    {
                        o.Events = nats;
                        o.JetStream.Stream = "BENCH_" + run;
                        o.JetStream.SubjectPrefix = "bench." + run;
                    }
                    : null);
                var clerks = new Clerk[clients];
                for (var i = 0; i < clients; i++)
                {
                    clerks[i] = await host.ClerkAsync(i, maxConnections: 1);
                }

                var bodies = host.Targets.Select(t => Encoding.UTF8.GetBytes($"{{\"phone\":\"{t.Phone}\"}}")).ToArray();
                var random = Enumerable.Range(0, clients).Select(i => new Random(i)).ToArray();
                var result = await LoadDriver.ClosedLoopAsync(
                    $"{mode} guarded search",
                    clients,
                    (w, _) => new Outgoing(clerks[w].Client, Post(bodies[random[w].Next(bodies.Length)])),
                    warmup,
                    duration,
                    _ => { });
                rows.Add((round, mode, result, (await File.ReadAllTextAsync("/proc/loadavg")).Split(' ')[0]));
                foreach (var clerk in clerks)
                {
                    clerk.Client.Dispose();
                }
            }
        }

        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"Command: dotnet run -c Release --project bench/Custodian.Bench -- events --nats <url> --subscribers {subscribers} --clients {clients} --duration {duration.TotalSeconds} --warmup {warmup.TotalSeconds} --rounds {rounds}");
        s.AppendLine();
        s.AppendLine("| Round | Event log | Guarded search req/s | p50 / p99 ms | Process CPU µs / request | Process / machine CPU % | Errors | Load average (1 min, at end) |");
        s.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (round, mode, r, load) in rows)
        {
            var cpuUs = r.Sent > 0 ? r.Runtime.CpuMs * 1000 / r.Sent : 0;
            s.AppendLine(CultureInfo.InvariantCulture, $"| {round} | {mode} | {r.RequestsPerSecond:N0} | {r.P50Ms:F2} / {r.P99Ms:F2} | {cpuUs:N0} | {r.ProcessCpuPercent:F0} / {r.MachineCpuPercent:F0} | {r.Errors} | {load} |");
        }

        s.AppendLine();
        foreach (var group in rows.GroupBy(r => r.Round))
        {
            var embedded = group.Single(r => r.Mode == "embedded").Result;
            var js = group.Single(r => r.Mode == "jetstream").Result;
            s.AppendLine(CultureInfo.InvariantCulture, $"Round {group.Key}: JetStream / embedded = {js.RequestsPerSecond / embedded.RequestsPerSecond:F2} (req/s), CPU per request × {(js.Runtime.CpuMs / js.Sent) / (embedded.Runtime.CpuMs / embedded.Sent):F2}");
        }

        Console.WriteLine(s.ToString());
        return rows.Any(r => r.Result.Errors > 0) ? 1 : 0;
    }

    private static HttpRequestMessage Post(byte[] json)
    {
        var content = new ByteArrayContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(HttpMethod.Post, "/api/v1/subscribers/search") { Content = content };
    }
}
