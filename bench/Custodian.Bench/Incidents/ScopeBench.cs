using System.Diagnostics;
using System.Globalization;
using System.Text;
using Custodian.Identity;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Storage;
using DuckDB.NET.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SQLitePCL;

namespace Custodian.Bench.Incidents;

internal sealed record ScopeBenchSettings(long Entries, string CacheDirectory, int Runs, string CommandLine);

/// <summary>
/// Incident scoping (issue 7, part 5; bench/README.md "Incident scoping"): Custodian's <see cref="IncidentScoper"/> over a
/// generated ledger of N format-1 entries, against DuckDB scanning the same entries exported to Parquet, in the same run,
/// for the same scopes; both must find the same affected set (same SHA-256). Prints a Markdown report.
/// </summary>
internal sealed class ScopeBench(ScopeBenchSettings settings)
{
    private const int Stores = 1_000;
    private const int TerminalsPerStore = 5;
    private const int ClerksPerStore = 4;
    private const long Subscribers = 17_000_000;
    private const int Days = 730;
    private static readonly DateTimeOffset Epoch = new(2024, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] SummaryFields = ["name", "phone", "rate-plan"];
    private static readonly string[] ViewFields = ["name", "rrn", "phone", "address", "rate-plan", "contract-dates"];

    private readonly StringBuilder _report = new();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var n = settings.Entries;
        var directory = Path.Combine(settings.CacheDirectory, n.ToString(CultureInfo.InvariantCulture));
        var sqlite = Path.Combine(directory, "ledger-projected.db"); // with the scoping projection (incidents-003), not the indexes on ledger_entries
        var parquet = Path.Combine(directory, "entries.parquet");
        var generated = "reused from the cache";
        if (!File.Exists(sqlite + ".complete") || !File.Exists(parquet + ".complete"))
        {
            generated = await GenerateAsync(directory, sqlite, parquet, n);
        }

        _report.AppendLine(CultureInfo.InvariantCulture, $"## Incident scoping results ({DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        _report.AppendLine();
        _report.AppendLine(CultureInfo.InvariantCulture, $"`{settings.CommandLine}`");
        _report.AppendLine();
        _report.AppendLine(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores; .NET {Environment.Version}; load average at start {LoadAverage()}. Ledger: {n:N0} entries over {Days} days, {Stores:N0} stores × {TerminalsPerStore} terminals × {ClerksPerStore} clerks, {Subscribers:N0} subscribers ({generated}). SQLite file {Size(sqlite)}, Parquet file {Size(parquet)}.");
        _report.AppendLine();
        _report.AppendLine("| Scope | Entries matched | Affected | Custodian s (best of runs) | DuckDB s (best of runs) | DuckDB / Custodian | Custodian CPU s | DuckDB CPU s | Same set |");
        _report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");

        var middle = Epoch.AddDays(Days / 2);
        var scopes = new (string Name, (string Kind, string Code)[] Principals, DateTimeOffset From, DateTimeOffset To)[]
        {
            ("a terminal and its clerk, 144 days (the 2012 case)", [("clerk", "C0042-1"), ("terminal", "S0042-t2")], middle.AddDays(-72), middle.AddDays(72)),
            ("one store, the whole ledger", [("store", "S0007")], Epoch, Epoch.AddDays(Days + 1)),
            ("ten stores, one month", [.. Enumerable.Range(100, 10).Select(s => ("store", $"S{s:D4}"))], middle, middle.AddDays(30)),
        };

        var ok = true;
        SqliteConnection.ClearAllPools();
        var db = new CustodianDatabase(sqlite);
        var scoper = new IncidentScoper(db, new IncidentScopeProjector(db, NullLogger<IncidentScopeProjector>.Instance), NullLogger<IncidentScoper>.Instance);
        using var duck = new DuckDBConnection("Data Source=:memory:");
        duck.Open();
        Exec(duck, "SET threads = 2");
        foreach (var (name, principals, from, to) in scopes)
        {
            ScopeResult? custodian = null;
            var custodianBest = double.MaxValue;
            var duckBest = double.MaxValue;
            var custodianCpu = double.MaxValue;
            var duckCpu = double.MaxValue;
            string? duckHash = null;
            for (var run = 0; run < settings.Runs; run++)
            {
                var cpu = Cpu();
                var clock = Stopwatch.StartNew();
                custodian = await scoper.ScanAsync(principals, from, to, n, TimeSpan.FromHours(9), null, cancellationToken);
                custodianBest = Math.Min(custodianBest, clock.Elapsed.TotalSeconds);
                custodianCpu = Math.Min(custodianCpu, Cpu() - cpu);

                cpu = Cpu();
                clock.Restart();
                duckHash = DuckScope(duck, parquet, principals, from, to);
                duckBest = Math.Min(duckBest, clock.Elapsed.TotalSeconds);
                duckCpu = Math.Min(duckCpu, Cpu() - cpu);
            }

            var same = duckHash == custodian!.SetSha256;
            ok &= same;
            _report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {custodian.EntriesMatched:N0} | {custodian.Counts.Total:N0} | {custodianBest:F3} | {duckBest:F3} | {duckBest / custodianBest:F1} | {custodianCpu:F3} | {duckCpu:F3} | {(same ? "yes" : "**NO**")} |");
        }

        _report.AppendLine();
        _report.AppendLine("Custodian: `IncidentScoper.ScanAsync` (catch-up of the scoping projection, then one range read per principal through its `(account|terminal|store, time_ms)` indexes joined to `ledger_entries` by sequence, payload decoded and re-checked, grades, timeline, set hash). DuckDB: `read_parquet` of the same entries (decoded columns, so DuckDB does not parse JSON), the same filters, `GROUP BY subject` with the most severe grade, the set hash computed from its rows the same way. Each run is timed separately; the best of the runs is shown, wall clock and process CPU (all threads; DuckDB runs 2). The OS page cache is warm for both after the first run.");
        _report.AppendLine(CultureInfo.InvariantCulture, $"Load average at the end {LoadAverage()}.");
        Console.Out.Write(_report.ToString());
        return ok ? 0 : 1;
    }

    private static string DuckScope(DuckDBConnection duck, string parquet, (string Kind, string Code)[] principals, DateTimeOffset from, DateTimeOffset to)
    {
        var where = string.Join(" OR ", principals.Select(p => $"{(p.Kind == "clerk" ? "account" : p.Kind)} = '{p.Code}'"));
        using var command = duck.CreateCommand();
        command.CommandText =
            $"SELECT subject, min(CASE WHEN list_contains(unmasked, 'rrn') THEN 1 WHEN len(unmasked) > 0 THEN 2 WHEN len(fields) > 0 THEN 3 ELSE 4 END) AS grade " +
            $"FROM read_parquet('{parquet}') WHERE ({where}) AND time_ms >= {from.ToUnixTimeMilliseconds()} AND time_ms < {to.ToUnixTimeMilliseconds()} " +
            "AND outcome = 'allowed' AND task IN ('search', 'view', 'unmask', 'print', 'download', 'export') AND subject IS NOT NULL GROUP BY subject ORDER BY subject";
        var rows = new List<(SubscriberId, ExposureGrade)>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add((new SubscriberId(reader.GetInt64(0)), (ExposureGrade)Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture)));
        }

        return IncidentScoper.SetHash(rows);
    }

    /// <summary>One kind of generated entry: the task, the fields shown and those shown in full (when allowed).</summary>
    private sealed record Shape(AccessTask Task, string[] Fields, string[] Unmasked);

    /// <summary>Entry shapes by roll (0–99): 55 % searches, 30 % views, 3 % unmasks of the RRN, 2 % of the phone, 2 % exports, 8 % consent requests.</summary>
    private static readonly Shape[] Shapes =
    [
        new(AccessTask.Search, SummaryFields, []),
        new(AccessTask.View, ViewFields, []),
        new(AccessTask.Unmask, ["rrn"], ["rrn"]),
        new(AccessTask.Unmask, ["phone"], ["phone"]),
        new(AccessTask.Export, [], []),
        new(AccessTask.ConsentRequest, [], []),
    ];

    private const int BatchSize = 100_000;

    /// <summary>One batch of generated entries: their decoded columns, canonical payloads (concatenated) and leaf hashes.</summary>
    private sealed class Batch(long first, int count)
    {
        public long First { get; } = first;
        public int Count { get; } = count;
        public long[] Times { get; } = new long[count];
        public byte[] Shapes { get; } = new byte[count];
        public bool[] Denied { get; } = new bool[count];
        public short[] Stores { get; } = new short[count];
        public byte[] Clerks { get; } = new byte[count];
        public byte[] Terminals { get; } = new byte[count];
        public long[] Subjects { get; } = new long[count];
        public int[] PayloadEnds { get; } = new int[count];
        public byte[] Payloads { get; set; } = [];
        public byte[] Leaves { get; } = new byte[count * 32];
    }

    /// <summary>
    /// Writes N realistic format-1 entries (time ascending, as a ledger is) into a SQLite file with the ledger schema and the
    /// incident-scoping projection, and the same entries into a DuckDB table exported with DuckDB's own <c>COPY … TO 'x.parquet'</c>.
    /// A pipeline: batches of 100,000 entries are generated on worker threads (each batch from its own seeded random source,
    /// payloads by <see cref="LeafCodec.Encode"/>, leaf hashes by <see cref="MerkleTree.HashLeaf(ReadOnlySpan{byte}, Span{byte})"/>,
    /// exactly as the ledger writes them), then inserted in sequence order into SQLite (one prepared statement, one
    /// transaction per batch, UTF-8 bound directly) while DuckDB's appender takes the same batch as small integer codes that
    /// the Parquet export expands to the same strings and lists. Payloads are the codec's bytes with the variable parts filled in
    /// (<see cref="WritePayload"/>; every 4,096th is compared with <see cref="LeafCodec.Encode"/> and a difference stops the run).
    /// The ledger's time index exists during the load (entries arrive in time order, so it grows at its right edge); the
    /// incident-scoping projection (<c>incidents-003</c>: table, position, three indexes) is built after it, as the migration
    /// builds it for an existing ledger.
    /// </summary>
    private static async Task<string> GenerateAsync(string directory, string sqlite, string parquet, long n)
    {
        Directory.CreateDirectory(directory);
        foreach (var stale in new[] { sqlite, sqlite + "-wal", sqlite + "-shm", sqlite + ".complete", parquet, parquet + ".complete", Path.Combine(directory, "export.duckdb"), Path.Combine(directory, "export.duckdb.wal") })
        {
            File.Delete(stale);
        }

        var clock = Stopwatch.StartNew();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        await new CustodianDatabase(sqlite).MigrateAsync(new LedgerMigrations().Migrations, TimeProvider.System);
        SqliteConnection.ClearAllPools();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sqlite }.ToString());
        connection.Open();
        Exec(connection, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576");
        var handle = connection.Handle!;
        Check(handle, raw.sqlite3_prepare_v2(handle, "INSERT INTO ledger_entries (seq, time_ms, task, outcome, account, terminal, store, payload, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", out var insert));
        var accounts = Utf8Codes(Stores * ClerksPerStore, i => $"C{i / ClerksPerStore:D4}-{i % ClerksPerStore}");
        var terminals = Utf8Codes(Stores * TerminalsPerStore, i => $"S{i / TerminalsPerStore:D4}-t{i % TerminalsPerStore}");
        var stores = Utf8Codes(Stores, i => $"S{i:D4}");
        var taskNames = Shapes.Select(s => Encoding.UTF8.GetBytes(s.Task.ToName())).ToArray();
        byte[] allowed = "allowed"u8.ToArray(), denied = "denied"u8.ToArray();

        var duckFile = Path.Combine(directory, "export.duckdb");
        using var duck = new DuckDBConnection("Data Source=" + duckFile);
        duck.Open();
        Exec(duck, "SET threads = 2");
        Exec(duck, "CREATE OR REPLACE TABLE entries (seq BIGINT, time_ms BIGINT, shape INTEGER, denied BOOLEAN, store INTEGER, clerk INTEGER, terminal INTEGER, subject BIGINT)");
        var batches = (int)((n + BatchSize - 1) / BatchSize);
        var pending = new Queue<Task<Batch>>();
        var next = 0;
        using (var appender = duck.CreateAppender("entries"))
        {
            Task sqliteDone = Task.CompletedTask, duckDone = Task.CompletedTask;
            for (var b = 0; b < batches; b++)
            {
                while (next < batches && pending.Count < 4)
                {
                    var k = next++;
                    pending.Enqueue(Task.Run(() => Produce(k, n)));
                }

                var batch = await pending.Dequeue();
                await Task.WhenAll(sqliteDone, duckDone);
                sqliteDone = Task.Run(() =>
                {
                    Exec(connection, "BEGIN");
                    var start = 0;
                    for (var j = 0; j < batch.Count; j++)
                    {
                        int store = batch.Stores[j], shape = batch.Shapes[j];
                        raw.sqlite3_bind_int64(insert, 1, batch.First + j);
                        raw.sqlite3_bind_int64(insert, 2, batch.Times[j]);
                        raw.sqlite3_bind_text(insert, 3, taskNames[shape]);
                        raw.sqlite3_bind_text(insert, 4, batch.Denied[j] ? denied : allowed);
                        raw.sqlite3_bind_text(insert, 5, accounts[(store * ClerksPerStore) + batch.Clerks[j]]);
                        raw.sqlite3_bind_text(insert, 6, terminals[(store * TerminalsPerStore) + batch.Terminals[j]]);
                        raw.sqlite3_bind_text(insert, 7, stores[store]);
                        raw.sqlite3_bind_blob(insert, 8, batch.Payloads.AsSpan(start, batch.PayloadEnds[j] - start));
                        raw.sqlite3_bind_blob(insert, 9, batch.Leaves.AsSpan(j * 32, 32));
                        Check(handle, raw.sqlite3_step(insert), raw.SQLITE_DONE);
                        raw.sqlite3_reset(insert);
                        start = batch.PayloadEnds[j];
                    }

                    Exec(connection, "COMMIT");
                });
                duckDone = Task.Run(() =>
                {
                    for (var j = 0; j < batch.Count; j++)
                    {
                        appender.CreateRow()
                            .AppendValue(batch.First + j).AppendValue(batch.Times[j]).AppendValue((int)batch.Shapes[j]).AppendValue(batch.Denied[j])
                            .AppendValue((int)batch.Stores[j]).AppendValue((int)batch.Clerks[j]).AppendValue((int)batch.Terminals[j]).AppendValue(batch.Subjects[j])
                            .EndRow();
                    }
                });
                if ((b + 1) % 10 == 0 || b == batches - 1)
                {
                    var done = batch.First + batch.Count;
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scope bench: generated {done:N0} / {n:N0} ({done / clock.Elapsed.TotalSeconds:N0}/s, load {LoadAverage()})"));
                }
            }

            await Task.WhenAll(sqliteDone, duckDone);
        }

        insert.Dispose();
        var loaded = clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scope bench: loaded in {loaded:F0} s; building the incident-scoping projection"));
        Exec(connection, "PRAGMA threads = 2");

        // The product's incidents-003 without its DROP INDEX statements (incidents-001's indexes were never built here): the
        // projection table filled from ledger_entries, its position, then its three indexes.
        foreach (var migration in new IncidentMigrations().Migrations.Where(m => m.Id == "incidents-003"))
        {
            foreach (var statement in migration.Sql.Split(';').Where(s => !s.StartsWith("DROP INDEX", StringComparison.Ordinal)))
            {
                Exec(connection, statement);
            }
        }

        var indexed = clock.Elapsed.TotalSeconds;
        Exec(connection, "PRAGMA journal_mode = WAL");
        connection.Close();
        SqliteConnection.ClearAllPools();
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scope bench: projection built in {indexed - loaded:F0} s; exporting Parquet with DuckDB's COPY"));
        Exec(duck, $"COPY ({ExpandedEntriesSql()}) TO '{parquet}' (FORMAT parquet)");
        duck.Close();
        File.Delete(duckFile);
        File.Delete(duckFile + ".wal");
        File.WriteAllText(sqlite + ".complete", "complete\n");
        File.WriteAllText(parquet + ".complete", "complete\n");
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture, $"generated in {clock.Elapsed.TotalSeconds:F0} s: load {loaded:F0} s, scoping projection {indexed - loaded:F0} s, Parquet {clock.Elapsed.TotalSeconds - indexed:F0} s ({n / clock.Elapsed.TotalSeconds:N0} entries/s; process CPU {cpu:F0} s, {cpu * 1e6 / n:F1} µs per entry; load {LoadAverage()} at the end)");
    }

    /// <summary>Batch <paramref name="k"/>: its entries from a random source seeded with the batch number, encoded and hashed as the ledger does.</summary>
    private static Batch Produce(int k, long n)
    {
        var first = (long)k * BatchSize;
        var batch = new Batch(first, (int)Math.Min(BatchSize, n - first));
        var random = new Random(7_000_003 + k);
        var span = (double)Days * 86_400_000 / n;
        var payloads = new byte[batch.Count * 320];
        var used = 0;
        for (var j = 0; j < batch.Count; j++)
        {
            var store = random.Next(Stores);
            var roll = random.Next(100);
            var shapeIndex = roll switch { < 55 => 0, < 85 => 1, < 88 => 2, < 90 => 3, < 92 => 4, _ => 5 };
            var isDenied = random.Next(100) == 0;
            var clerk = random.Next(ClerksPerStore);
            var terminal = random.Next(TerminalsPerStore);
            var subject = 1 + random.NextInt64(Subscribers);
            var time = Epoch.ToUnixTimeMilliseconds() + (long)Math.Floor((first + j) * span);
            if (used + 512 > payloads.Length)
            {
                Array.Resize(ref payloads, payloads.Length * 2);
            }

            var length = WritePayload(payloads.AsSpan(used), time, shapeIndex, isDenied, store, clerk, terminal, subject);
            var payload = payloads.AsSpan(used, length);
            if (j % 4096 == 0 && !payload.SequenceEqual(LeafCodec.Encode(Entry(time, shapeIndex, isDenied, store, clerk, terminal, subject))))
            {
                throw new InvalidOperationException("The generator's payload differs from LeafCodec.Encode; fix WritePayload.");
            }

            used += length;
            MerkleTree.HashLeaf(payload, batch.Leaves.AsSpan(j * 32, 32));
            batch.Times[j] = time;
            batch.Shapes[j] = (byte)shapeIndex;
            batch.Denied[j] = isDenied;
            batch.Stores[j] = (short)store;
            batch.Clerks[j] = (byte)clerk;
            batch.Terminals[j] = (byte)terminal;
            batch.Subjects[j] = subject;
            batch.PayloadEnds[j] = used;
        }

        batch.Payloads = payloads;
        return batch;
    }

    /// <summary>The entry a generated row stands for (what <see cref="WritePayload"/> writes, checked against <see cref="LeafCodec.Encode"/>).</summary>
    private static AccessEntry Entry(long time, int shapeIndex, bool isDenied, int store, int clerk, int terminal, long subject) => new()
    {
        Time = DateTimeOffset.FromUnixTimeMilliseconds(time),
        Task = Shapes[shapeIndex].Task,
        Outcome = isDenied ? AccessOutcome.Denied : AccessOutcome.Allowed,
        ErrorCode = isDenied ? "purpose-required" : null,
        Account = $"C{store:D4}-{clerk}",
        Role = StaffRole.Clerk,
        Terminal = $"S{store:D4}-t{terminal}",
        Store = $"S{store:D4}",
        SourceIp = "10.20.30.40",
        Purpose = "in-store-service",
        Subjects = [new SubscriberId(subject)],
        Fields = isDenied ? [] : Shapes[shapeIndex].Fields,
        UnmaskedFields = isDenied ? [] : Shapes[shapeIndex].Unmasked,
    };

    /// <summary>Per shape and outcome (index shape × 2 + denied): the payload's bytes from the task to the account's opening quote, and from the subjects' closing bracket to the end.</summary>
    private static readonly (byte[] Head, byte[] Tail)[] Templates = [.. Enumerable.Range(0, Shapes.Length * 2).Select(Template)];

    private static (byte[] Head, byte[] Tail) Template(int index)
    {
        // Cut the codec's own encoding of a sample entry around the variable parts, so the templates cannot drift from it.
        var sample = Encoding.UTF8.GetString(LeafCodec.Encode(Entry(0, index / 2, index % 2 == 1, 0, 0, 0, 1)));
        var head = sample[sample.IndexOf(",\"task\"", StringComparison.Ordinal)..(sample.IndexOf(",\"account\":\"", StringComparison.Ordinal) + 12)];
        var tail = sample[(sample.IndexOf("\"subjects\":[1]", StringComparison.Ordinal) + 13)..];
        return (Encoding.UTF8.GetBytes(head), Encoding.UTF8.GetBytes(tail));
    }

    /// <summary>
    /// Writes the canonical payload of a generated entry into <paramref name="destination"/> (at least 512 bytes) and returns its
    /// length: the codec's bytes with time, principals and subject filled in. Every 4,096th is compared with <see cref="LeafCodec.Encode"/>.
    /// </summary>
    private static int WritePayload(Span<byte> destination, long time, int shapeIndex, bool isDenied, int store, int clerk, int terminal, long subject)
    {
        var (head, tail) = Templates[(shapeIndex * 2) + (isDenied ? 1 : 0)];
        var at = Put(destination, 0, "{\"v\":1,\"time\":"u8);
        System.Buffers.Text.Utf8Formatter.TryFormat(time, destination[at..], out var written);
        at += written;
        at = Put(destination, at, head);
        at = PutCode(destination, at, (byte)'C', store);
        destination[at++] = (byte)'-';
        destination[at++] = (byte)('0' + clerk);
        at = Put(destination, at, "\",\"role\":\"clerk\",\"terminal\":\""u8);
        at = PutCode(destination, at, (byte)'S', store);
        at = Put(destination, at, "-t"u8);
        destination[at++] = (byte)('0' + terminal);
        at = Put(destination, at, "\",\"store\":\""u8);
        at = PutCode(destination, at, (byte)'S', store);
        at = Put(destination, at, "\",\"ip\":\"10.20.30.40\",\"purpose\":\"in-store-service\",\"subjects\":["u8);
        System.Buffers.Text.Utf8Formatter.TryFormat(subject, destination[at..], out written);
        at += written;
        return Put(destination, at, tail);
    }

    private static int Put(Span<byte> destination, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination[at..]);
        return at + bytes.Length;
    }

    private static int PutCode(Span<byte> destination, int at, byte letter, int number)
    {
        destination[at] = letter;
        destination[at + 1] = (byte)('0' + (number / 1000));
        destination[at + 2] = (byte)('0' + (number / 100 % 10));
        destination[at + 3] = (byte)('0' + (number / 10 % 10));
        destination[at + 4] = (byte)('0' + (number % 10));
        return at + 5;
    }

    /// <summary>The DuckDB query expanding the appended codes to the decoded columns (task, outcome, principals, fields, unmasked) as the entries' payloads hold them.</summary>
    private static string ExpandedEntriesSql()
    {
        static string List(string[] items) => items.Length == 0 ? "[]::VARCHAR[]" : "[" + string.Join(", ", items.Select(i => $"'{i}'")) + "]";
        var task = string.Concat(Shapes.Select((s, i) => $" WHEN {i} THEN '{s.Task.ToName()}'"));
        var fields = string.Concat(Shapes.Select((s, i) => $" WHEN shape = {i} THEN {List(s.Fields)}"));
        var unmasked = string.Concat(Shapes.Select((s, i) => $" WHEN shape = {i} THEN {List(s.Unmasked)}"));
        return "SELECT seq, time_ms, CASE shape" + task + " END AS task, CASE WHEN denied THEN 'denied' ELSE 'allowed' END AS outcome, " +
            "printf('C%04d-%d', store, clerk) AS account, printf('S%04d-t%d', store, terminal) AS terminal, printf('S%04d', store) AS store, subject, " +
            "CASE WHEN denied THEN []::VARCHAR[]" + fields + " END AS fields, CASE WHEN denied THEN []::VARCHAR[]" + unmasked + " END AS unmasked FROM entries";
    }

    private static byte[][] Utf8Codes(int count, Func<int, string> code) => [.. Enumerable.Range(0, count).Select(i => Encoding.UTF8.GetBytes(code(i)))];

    private static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 0;
        command.ExecuteNonQuery();
    }

    private static void Exec(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void Check(sqlite3 handle, int rc, int expected = raw.SQLITE_OK)
    {
        if (rc != expected)
        {
            throw new InvalidOperationException("SQLite error " + rc.ToString(CultureInfo.InvariantCulture) + ": " + raw.sqlite3_errmsg(handle).utf8_to_string());
        }
    }

    private static string Size(string path) => File.Exists(path) ? $"{new FileInfo(path).Length / (1024.0 * 1024 * 1024):F2} GiB" : "-";

    private static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
