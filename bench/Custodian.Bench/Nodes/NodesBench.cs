using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Npgsql;

namespace Custodian.Bench.Nodes;

/// <summary>
/// <c>nodes</c>: guarded searches per second with one API node against two API nodes of one deployment, in the same run
/// (docs/capacity.md, bench/README.md "API nodes: 1 vs 2"). Every phase is a fresh deployment: a new PostgreSQL schema
/// and a new JetStream stream. With two nodes both run in this process (two Kestrel servers, two projectors, two
/// monitors) over one schema and one stream, and the clerks are split evenly between them. CPU per request is given
/// for this process (both nodes and the load driver) and, separately, for the processes named by <c>--count-pid</c>
/// (e.g. nats-server and the postmaster with its backends: each PID and its direct children, from /proc).
/// </summary>
internal static class NodesBench
{
    public static Command Create()
    {
        var nats = new Option<string>("--nats") { Description = "NATS server (or one node of a cluster) with JetStream, e.g. nats://127.0.0.1:4222.", Required = true };
        var postgres = new Option<string>("--postgres") { Description = "Npgsql connection string of a database where the bench may create and drop schemas.", Required = true };
        var replicas = new Option<int>("--replicas") { Description = "Stream replicas: 1 for one nats-server, 3 for a cluster.", DefaultValueFactory = _ => 1 };
        var subscribers = new Option<int>("--subscribers") { Description = "Synthetic subscribers imported per phase (1,000–1,000,000).", DefaultValueFactory = _ => 5_000 };
        var clients = new Option<int>("--clients") { Description = "Closed-loop workers, each a clerk at its own terminal (2–256, even).", DefaultValueFactory = _ => 32 };
        var duration = new Option<double>("--duration") { Description = "Measured seconds per phase (1–600).", DefaultValueFactory = _ => 10 };
        var warmup = new Option<double>("--warmup") { Description = "Unmeasured warm-up seconds per phase (0–60).", DefaultValueFactory = _ => 5 };
        var rounds = new Option<int>("--rounds") { Description = "1-node-then-2-node rounds (1–10).", DefaultValueFactory = _ => 2 };
        var pids = new Option<int[]>("--count-pid") { Description = "Also count the CPU of this process and its direct children (repeatable): nats-server, the postmaster.", AllowMultipleArgumentsPerToken = true };
        replicas.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 5) { r.AddError("--replicas must be 1–5."); } });
        subscribers.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1_000 or > 1_000_000) { r.AddError("--subscribers must be 1,000–1,000,000."); } });
        clients.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 2 or > 256 || r.GetValueOrDefault<int>() % 2 != 0) { r.AddError("--clients must be an even number, 2–256."); } });
        duration.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 1 or > 600) { r.AddError("--duration must be 1–600 seconds."); } });
        warmup.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 0 or > 60) { r.AddError("--warmup must be 0–60 seconds."); } });
        rounds.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 10) { r.AddError("--rounds must be 1–10."); } });
        var command = new Command("nodes", "Guarded searches/s with 1 vs 2 API nodes on one PostgreSQL schema and one JetStream stream, in the same run (docs/capacity.md).")
        {
            nats, postgres, replicas, subscribers, clients, duration, warmup, rounds, pids,
        };
        command.SetAction(async (parse, _) => await RunAsync(
            parse.GetValue(nats)!,
            parse.GetValue(postgres)!,
            parse.GetValue(replicas),
            parse.GetValue(subscribers),
            parse.GetValue(clients),
            TimeSpan.FromSeconds(parse.GetValue(warmup)),
            TimeSpan.FromSeconds(parse.GetValue(duration)),
            parse.GetValue(rounds),
            parse.GetValue(pids) ?? []));
        return command;
    }

    private static async Task<int> RunAsync(string nats, string postgres, int replicas, int subscribers, int clients, TimeSpan warmup, TimeSpan duration, int rounds, int[] pids)
    {
        // As in `events`: store-local noon, and the open-lookups detector out of the way of a clerk reading hundreds a second.
        var hour = TimeProvider.System.GetUtcNow().Hour;
        var offset = TimeSpan.FromHours(12 - hour);
        Environment.SetEnvironmentVariable("Custodian__Detection__LocalOffset", (offset < TimeSpan.Zero ? "-" : string.Empty) + offset.Duration().ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture));
        Environment.SetEnvironmentVariable("Custodian__Detection__OpenLookupsAllowed", "10000");
        var rows = new List<(int Round, int Nodes, PhaseResult Result, double ExternalCpuMs, string Load)>();
        var sizes = new List<(long Entries, long TableBytes, long StreamMessages, long StreamBytes)>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var nodes in new[] { 1, 2 })
            {
                var run = Guid.NewGuid().ToString("N")[..8];
                var schema = "bench_" + run;
                await ExecuteAsync(postgres, $"CREATE SCHEMA {schema}");
                try
                {
                    var storage = new NpgsqlConnectionStringBuilder(postgres) { SearchPath = schema, MaxPoolSize = 40 }.ConnectionString;
                    void Configure(Custodian.Hosting.CustodianOptions o)
                    {
                        o.Storage = storage;
                        o.Events = nats;
                        o.JetStream.Stream = "BENCH_" + run;
                        o.JetStream.SubjectPrefix = "bench." + run;
                        o.JetStream.Replicas = replicas;
                    }

                    var label = $"[{nodes} node{(nodes == 1 ? string.Empty : "s")} {round}]";
                    await using var a = await BenchHost.StartAsync(subscribers, null, m => Console.Error.WriteLine($"{label} {m}"), Configure);
                    await using var b = nodes == 2 ? await BenchHost.StartAsync(subscribers, null, m => Console.Error.WriteLine($"{label} B {m}"), Configure, a) : null;
                    var clerks = new Clerk[clients];
                    for (var i = 0; i < clients; i++)
                    {
                        clerks[i] = await (b is not null && i >= clients / 2 ? b : a).ClerkAsync(i, maxConnections: 1);
                    }

                    var bodies = a.Targets.Select(t => Encoding.UTF8.GetBytes($"{{\"phone\":\"{t.Phone}\"}}")).ToArray();
                    var random = Enumerable.Range(0, clients).Select(i => new Random(i)).ToArray();
                    var external = ExternalCpuMs(pids);
                    var result = await LoadDriver.ClosedLoopAsync(
                        $"{nodes} node(s) guarded search",
                        clients,
                        (w, _) => new Outgoing(clerks[w].Client, Post(bodies[random[w].Next(bodies.Length)])),
                        warmup,
                        duration,
                        _ => { });
                    rows.Add((round, nodes, result, ExternalCpuMs(pids) - external, (await File.ReadAllTextAsync("/proc/loadavg")).Split(' ')[0]));
                    foreach (var clerk in clerks)
                    {
                        clerk.Client.Dispose();
                    }

                    sizes.Add(await SizesAsync(storage, schema, nats, "BENCH_" + run));
                }
                finally
                {
                    await ExecuteAsync(postgres, $"DROP SCHEMA {schema} CASCADE");
                }
            }
        }

        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"Command: dotnet run -c Release --project bench/Custodian.Bench -- nodes --nats <url> --postgres <connection string> --replicas {replicas} --subscribers {subscribers} --clients {clients} --duration {duration.TotalSeconds} --warmup {warmup.TotalSeconds} --rounds {rounds}{string.Concat(pids.Select(_ => " --count-pid <pid>"))}");
        s.AppendLine();
        s.AppendLine("| Round | API nodes | Guarded search req/s | p50 / p99 ms | Bench process CPU µs / request | --count-pid CPU µs / request | Total CPU µs / request | Errors | Load average (1 min, at end) |");
        s.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (round, nodes, r, externalMs, load) in rows)
        {
            var cpuUs = r.Sent > 0 ? r.Runtime.CpuMs * 1000 / r.Sent : 0;
            var extUs = r.Sent > 0 ? externalMs * 1000 / r.Sent : 0;
            s.AppendLine(CultureInfo.InvariantCulture, $"| {round} | {nodes} | {r.RequestsPerSecond:N0} | {r.P50Ms:F2} / {r.P99Ms:F2} | {cpuUs:N0} | {extUs:N0} | {cpuUs + extUs:N0} | {r.Errors} | {load} |");
        }

        s.AppendLine();
        foreach (var group in rows.GroupBy(r => r.Round))
        {
            var one = group.Single(r => r.Nodes == 1);
            var two = group.Single(r => r.Nodes == 2);
            double Total((int, int, PhaseResult R, double Ext, string) row) => (row.R.Runtime.CpuMs + row.Ext) / row.R.Sent;
            s.AppendLine(CultureInfo.InvariantCulture, $"Round {group.Key}: 2 nodes / 1 node = {two.Result.RequestsPerSecond / one.Result.RequestsPerSecond:F2} (req/s), total CPU per request × {Total(two) / Total(one):F2}");
        }

        var (entries, tableBytes, messages, streamBytes) = (sizes.Sum(x => x.Entries), sizes.Sum(x => x.TableBytes), sizes.Sum(x => x.StreamMessages), sizes.Sum(x => x.StreamBytes));
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"Storage per ledger entry over all phases: PostgreSQL ledger_* tables with indexes and TOAST {(entries > 0 ? tableBytes / (double)entries : 0):N0} bytes ({entries:N0} entries); JetStream file store {(messages > 0 ? streamBytes / (double)messages : 0):N0} bytes per message per replica ({messages:N0} messages).");
        Console.WriteLine(s.ToString());
        return rows.Any(r => r.Result.Errors > 0) ? 1 : 0;
    }

    /// <summary>User + system CPU in milliseconds of each PID and its direct children (from /proc; 100 ticks a second), summed.</summary>
    private static double ExternalCpuMs(int[] pids)
    {
        if (pids.Length == 0)
        {
            return 0;
        }

        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue; // gone
            }

            // pid (comm) state ppid ... utime(14) stime(15): fields after the last ')' start at field 3.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
            if (pids.Contains(pid) || pids.Contains(ppid))
            {
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
        }

        return ticks * 10.0;
    }

    /// <summary>Ledger entries and the bytes of the schema's <c>ledger_*</c> tables (with indexes and TOAST); messages and bytes of the stream.</summary>
    private static async Task<(long Entries, long TableBytes, long StreamMessages, long StreamBytes)> SizesAsync(string storage, string schema, string nats, string stream)
    {
        await using var connection = new NpgsqlConnection(storage);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM ledger_entries", connection);
        var entries = (long)(await count.ExecuteScalarAsync())!;
        await using var bytes = new NpgsqlCommand("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = @schema AND c.relkind = 'r' AND c.relname LIKE 'ledger%'", connection);
        bytes.Parameters.AddWithValue("schema", schema);
        var tableBytes = (long)(await bytes.ExecuteScalarAsync())!;
        await using var client = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with { Url = nats });
        var info = await new NATS.Client.JetStream.NatsJSContext(client).GetStreamAsync(stream);
        return (entries, tableBytes, info.Info.State.Messages, info.Info.State.Bytes);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static HttpRequestMessage Post(byte[] json)
    {
        var content = new ByteArrayContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(HttpMethod.Post, "/api/v1/subscribers/search") { Content = content };
    }
}
