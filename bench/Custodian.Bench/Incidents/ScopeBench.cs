using System.Diagnostics;
using System.Globalization;
using System.Text;
using Custodian.Identity;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Storage;
using DuckDB.NET.Data;
using Microsoft.Data.Sqlite;
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
        var sqlite = Path.Combine(directory, "ledger.db");
        var parquet = Path.Combine(directory, "entries.parquet");
        var generated = "reused from the cache";
        if (!File.Exists(sqlite + ".complete") || !File.Exists(parquet + ".complete"))
        {
            generated = Generate(directory, sqlite, parquet, n);
        }

        _report.AppendLine(CultureInfo.InvariantCulture, $"## Incident scoping results ({DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        _report.AppendLine();
        _report.AppendLine(CultureInfo.InvariantCulture, $"`{settings.CommandLine}`");
        _report.AppendLine();
        _report.AppendLine(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores; .NET {Environment.Version}; load average at start {LoadAverage()}. Ledger: {n:N0} entries over {Days} days, {Stores:N0} stores × {TerminalsPerStore} terminals × {ClerksPerStore} clerks, {Subscribers:N0} subscribers ({generated}). SQLite file {Size(sqlite)}, Parquet file {Size(parquet)}.");
        _report.AppendLine();
        _report.AppendLine("| Scope | Entries matched | Affected | Custodian s (best of runs) | DuckDB s (best of runs) | DuckDB / Custodian | Same set |");
        _report.AppendLine("|---|---:|---:|---:|---:|---:|---|");

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
        var scoper = new IncidentScoper(db);
        using var duck = new DuckDBConnection("Data Source=:memory:");
        duck.Open();
        Exec(duck, "SET threads = 2");
        foreach (var (name, principals, from, to) in scopes)
        {
            ScopeResult? custodian = null;
            var custodianBest = double.MaxValue;
            var duckBest = double.MaxValue;
            string? duckHash = null;
            for (var run = 0; run < settings.Runs; run++)
            {
                var clock = Stopwatch.StartNew();
                custodian = await scoper.ScanAsync(principals, from, to, n, TimeSpan.FromHours(9), null, cancellationToken);
                custodianBest = Math.Min(custodianBest, clock.Elapsed.TotalSeconds);

                clock.Restart();
                duckHash = DuckScope(duck, parquet, principals, from, to);
                duckBest = Math.Min(duckBest, clock.Elapsed.TotalSeconds);
            }

            var same = duckHash == custodian!.SetSha256;
            ok &= same;
            _report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {custodian.EntriesMatched:N0} | {custodian.Counts.Total:N0} | {custodianBest:F3} | {duckBest:F3} | {duckBest / custodianBest:F1} | {(same ? "yes" : "**NO**")} |");
        }

        _report.AppendLine();
        _report.AppendLine("Custodian: `IncidentScoper.ScanAsync` (one range read per principal through the `(account|terminal|store, time_ms)` indexes, payload decoded and re-checked, grades, timeline, set hash). DuckDB: `read_parquet` of the same entries (decoded columns, so DuckDB does not parse JSON), the same filters, `GROUP BY subject` with the most severe grade, the set hash computed from its rows the same way. Each run is timed separately; the best of the runs is shown. The OS page cache is warm for both after the first run.");
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

    /// <summary>
    /// Writes N realistic format-1 entries (time ascending, as a ledger is) into a SQLite file with the ledger schema and the
    /// incident indexes, and the same entries into a DuckDB table exported with DuckDB's own <c>COPY … TO 'x.parquet'</c>.
    /// </summary>
    private static string Generate(string directory, string sqlite, string parquet, long n)
    {
        Directory.CreateDirectory(directory);
        foreach (var stale in new[] { sqlite, sqlite + "-wal", sqlite + "-shm", sqlite + ".complete", parquet, parquet + ".complete" })
        {
            File.Delete(stale);
        }

        var clock = Stopwatch.StartNew();
        new CustodianDatabase(sqlite).MigrateAsync(new LedgerMigrations().Migrations, TimeProvider.System).GetAwaiter().GetResult();
        SqliteConnection.ClearAllPools();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sqlite }.ToString());
        connection.Open();

        // Indexes are built after the load (the product's migration creates them on an existing ledger the same way).
        Exec(connection, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; DROP INDEX ledger_entries_time");
        var handle = connection.Handle!;
        Check(handle, raw.sqlite3_prepare_v2(handle, "INSERT INTO ledger_entries (seq, time_ms, task, outcome, account, terminal, store, payload, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", out var insert));

        using var duck = new DuckDBConnection("Data Source=" + Path.Combine(directory, "export.duckdb"));
        duck.Open();
        Exec(duck, "SET threads = 2");
        Exec(duck, "CREATE OR REPLACE TABLE entries (seq BIGINT, time_ms BIGINT, task VARCHAR, outcome VARCHAR, account VARCHAR, terminal VARCHAR, store VARCHAR, subject BIGINT, fields VARCHAR[], unmasked VARCHAR[])");
        var random = new Random(7);
        var span = (double)Days * 86_400_000 / n;
        var leaf = new byte[32];
        Exec(connection, "BEGIN");
        using (var appender = duck.CreateAppender("entries"))
        {
            for (long i = 0; i < n; i++)
            {
                var store = random.Next(Stores);
                var roll = random.Next(100);
                var (task, fields, unmasked) = roll switch
                {
                    < 55 => (AccessTask.Search, SummaryFields, Array.Empty<string>()),
                    < 85 => (AccessTask.View, ViewFields, Array.Empty<string>()),
                    < 88 => (AccessTask.Unmask, new[] { "rrn" }, new[] { "rrn" }),
                    < 90 => (AccessTask.Unmask, new[] { "phone" }, new[] { "phone" }),
                    < 92 => (AccessTask.Export, Array.Empty<string>(), Array.Empty<string>()),
                    _ => (AccessTask.ConsentRequest, Array.Empty<string>(), Array.Empty<string>()),
                };
                var denied = random.Next(100) == 0;
                var entry = new AccessEntry
                {
                    Time = Epoch.AddMilliseconds(Math.Floor(i * span)),
                    Task = task,
                    Outcome = denied ? AccessOutcome.Denied : AccessOutcome.Allowed,
                    ErrorCode = denied ? "purpose-required" : null,
                    Account = $"C{store:D4}-{random.Next(ClerksPerStore)}",
                    Role = StaffRole.Clerk,
                    Terminal = $"S{store:D4}-t{random.Next(TerminalsPerStore)}",
                    Store = $"S{store:D4}",
                    SourceIp = "10.20.30.40",
                    Purpose = "in-store-service",
                    Subjects = [new SubscriberId(1 + random.NextInt64(Subscribers))],
                    Fields = denied ? [] : fields,
                    UnmaskedFields = denied ? [] : unmasked,
                };
                var payload = LeafCodec.Encode(entry);
                MerkleTree.HashLeaf(payload, leaf);
                var time = entry.Time.ToUnixTimeMilliseconds();
                raw.sqlite3_bind_int64(insert, 1, i);
                raw.sqlite3_bind_int64(insert, 2, time);
                raw.sqlite3_bind_text(insert, 3, task.ToName());
                raw.sqlite3_bind_text(insert, 4, denied ? "denied" : "allowed");
                raw.sqlite3_bind_text(insert, 5, entry.Account);
                raw.sqlite3_bind_text(insert, 6, entry.Terminal);
                raw.sqlite3_bind_text(insert, 7, entry.Store);
                raw.sqlite3_bind_blob(insert, 8, payload);
                raw.sqlite3_bind_blob(insert, 9, leaf);
                Check(handle, raw.sqlite3_step(insert), raw.SQLITE_DONE);
                raw.sqlite3_reset(insert);

                appender.CreateRow()
                    .AppendValue(i).AppendValue(time).AppendValue(task.ToName()).AppendValue(denied ? "denied" : "allowed")
                    .AppendValue(entry.Account).AppendValue(entry.Terminal).AppendValue(entry.Store).AppendValue(entry.Subjects[0].Value)
                    .AppendValue(entry.Fields.ToList()).AppendValue(entry.UnmaskedFields.ToList())
                    .EndRow();
                if ((i + 1) % 1_000_000 == 0)
                {
                    Exec(connection, "COMMIT; BEGIN");
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scope bench: generated {i + 1:N0} / {n:N0} ({(i + 1) / clock.Elapsed.TotalSeconds:N0}/s)"));
                }
            }
        }

        insert.Dispose();
        Exec(connection, "COMMIT");
        Console.Error.WriteLine("scope bench: building the ledger's time index and the incident indexes");
        Exec(connection, "CREATE INDEX ledger_entries_time ON ledger_entries (time_ms)");
        foreach (var migration in new IncidentMigrations().Migrations.Where(m => m.Id == "incidents-001"))
        {
            foreach (var statement in migration.Sql.Split(';').Where(s => s.Contains("ON ledger_entries", StringComparison.Ordinal)))
            {
                Exec(connection, statement);
            }
        }

        Exec(connection, "PRAGMA journal_mode = WAL");
        connection.Close();
        SqliteConnection.ClearAllPools();
        Console.Error.WriteLine("scope bench: exporting Parquet with DuckDB's COPY");
        Exec(duck, $"COPY entries TO '{parquet}' (FORMAT parquet)");
        duck.Close();
        File.Delete(Path.Combine(directory, "export.duckdb"));
        File.Delete(Path.Combine(directory, "export.duckdb.wal"));
        File.WriteAllText(sqlite + ".complete", "complete\n");
        File.WriteAllText(parquet + ".complete", "complete\n");
        return string.Create(CultureInfo.InvariantCulture, $"generated in {clock.Elapsed.TotalSeconds:F0} s");
    }

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

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
