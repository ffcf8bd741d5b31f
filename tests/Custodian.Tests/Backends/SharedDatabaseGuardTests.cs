using System.Diagnostics;
using System.Text;
using Custodian.Tests.Events;
using Custodian.Tests.Infrastructure;
using Npgsql;

namespace Custodian.Tests.Backends;

/// <summary>
/// One PostgreSQL database, one deployment (docs/storage.md, "A server runs on the database" and "One database, one
/// deployment"), through the real command line: a data directory copied from a node cannot adopt another masking policy
/// while a server of another directory runs on the database; a new data directory with no event log cannot attach to
/// a JetStream deployment's database, and neither can a verb of a directory whose record lacks the event log.
/// </summary>
public sealed class SharedDatabaseGuardTests
{
    [Fact]
    public async Task Masking_adopt_from_a_copied_directory_is_refused_while_another_directorys_server_runs_on_the_database()
    {
        await using var schema = await TestStorage.CreateSchemaAsync();
        var root = Directory.CreateTempSubdirectory("custodian-dbguard-");
        try
        {
            var a = Path.Combine(root.FullName, "a");
            var c = Path.Combine(root.FullName, "c");
            var storage = new Dictionary<string, string> { ["Custodian__Storage"] = schema.ConnectionString };
            var init = await CliProcess.RunAsync(storage, "init", "--data", a);
            Assert.True(init.Exit == 0, init.Error);
            CopyDirectory(a, c);

            using (var serve = StartServe(storage, a))
            {
                var output = new StringBuilder();
                serve.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
                serve.BeginOutputReadLine();
                await WaitForAsync(serve, () => { lock (output) { return output.ToString().Contains("Press Ctrl+C to stop.", StringComparison.Ordinal); } });
                Assert.Equal("phone=last-four", await AdoptedPhoneMaskAsync(schema)); // the server adopted the default policy

                var middle = new Dictionary<string, string>(storage) { ["Custodian__Masking__Phone"] = "Middle" };
                var refused = await CliProcess.RunAsync(middle, "masking", "adopt", "--data", c);

                Assert.Equal(2, refused.Exit);
                Assert.Equal(
                    $"error: a Custodian server is running on the deployment's database ({Describe(schema)}), from this or another data directory: stop every server of the deployment, then run 'masking adopt' with the same Custodian__Masking__* settings.",
                    refused.Error.Trim());
                Assert.Equal("phone=last-four", await AdoptedPhoneMaskAsync(schema)); // the shared policy is unchanged

                CliProcess.Signal(serve, "INT");
                await CliProcess.WaitForExitAsync(serve);
            }

            // Every server stopped: adopting on purpose works, from any of the deployment's directories.
            var adopted = await CliProcess.RunAsync(new Dictionary<string, string>(storage) { ["Custodian__Masking__Phone"] = "Middle" }, "masking", "adopt", "--data", c);
            Assert.True(adopted.Exit == 0, adopted.Error);
            Assert.Equal("phone=middle", await AdoptedPhoneMaskAsync(schema));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_server_whose_lock_session_is_lost_while_a_verb_takes_the_lock_stops_and_exits_2()
    {
        await using var schema = await TestStorage.CreateSchemaAsync();
        var root = Directory.CreateTempSubdirectory("custodian-dbguard-");
        try
        {
            var a = Path.Combine(root.FullName, "a");
            var storage = new Dictionary<string, string> { ["Custodian__Storage"] = schema.ConnectionString, ["Custodian__ServerLockCheckSeconds"] = "2" };
            var init = await CliProcess.RunAsync(storage, "init", "--data", a);
            Assert.True(init.Exit == 0, init.Error);
            using var serve = StartServe(storage, a);
            var output = new StringBuilder();
            serve.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            serve.BeginOutputReadLine();
            await WaitForAsync(serve, () => { lock (output) { return output.ToString().Contains("Press Ctrl+C to stop.", StringComparison.Ordinal); } });

            // The server's session ends (as by a network failure) and, before its next check, a verb takes the lock exclusively.
            await using var verb = new NpgsqlConnection(schema.ConnectionString);
            await verb.OpenAsync();
            await using (var terminate = new NpgsqlCommand(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1129665364 AND objid = hashtext(current_schema())::oid AND objsubid = 2 AND mode = 'ShareLock' AND granted",
                verb))
            {
                Assert.Equal(true, await terminate.ExecuteScalarAsync());
            }

            await using (var exclusive = new NpgsqlCommand("SELECT pg_try_advisory_lock(1129665364, hashtext(current_schema()))", verb))
            {
                Assert.Equal(true, await exclusive.ExecuteScalarAsync());
            }

            await CliProcess.WaitForExitAsync(serve); // within one check interval, without a signal
            var error = await serve.StandardError.ReadToEndAsync();
            Assert.Equal(
                (2, "error: the server stopped: its PostgreSQL session was lost and a verb that must not run beside a server (masking adopt) took the deployment's server lock meanwhile (log event 5701; docs/storage.md, \"A server runs on the database\")."),
                (serve.ExitCode, error.Trim().Split('\n')[^1]));
            var password = new NpgsqlConnectionStringBuilder(schema.ConnectionString).Password!;
            lock (output)
            {
                Assert.DoesNotContain(password, output + error, StringComparison.Ordinal); // the connection string is never printed
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_new_directory_without_the_event_log_is_refused_on_a_jetstream_deployments_database_and_writes_nothing()
    {
        await using var nats = await NatsServer.StartNewAsync();
        await using var schema = await TestStorage.CreateSchemaAsync();
        var root = Directory.CreateTempSubdirectory("custodian-dbguard-");
        try
        {
            var a = Path.Combine(root.FullName, "a");
            var init = await CliProcess.RunAsync(new Dictionary<string, string> { ["Custodian__Storage"] = schema.ConnectionString, ["Custodian__Events"] = nats.Url }, "init", "--data", a);
            Assert.True(init.Exit == 0, init.Error);
            Assert.Equal(1L, await LedgerCountAsync(schema)); // the first officer, through the stream

            // A new data directory, no event log: refused naming Custodian__Events; nothing created, nothing appended.
            var n = Path.Combine(root.FullName, "n");
            var fresh = await CliProcess.RunAsync(new Dictionary<string, string>(), "init", "--data", n, "--storage", schema.ConnectionString);
            Assert.Equal(2, fresh.Exit);
            Assert.Equal(
                $"error: the database {Describe(schema)} belongs to a deployment whose event log is NATS JetStream stream CUSTODIAN_LEDGER (subject prefix custodian.ledger), but the configured event log is embedded: set Custodian__Events to the deployment's nats://host:port (serve --events) as the deployment's server has it; nothing was changed (docs/events.md).",
                fresh.Error.Trim());
            Assert.False(Directory.Exists(n));
            Assert.Equal(1L, await LedgerCountAsync(schema));

            // A copy of the deployment's directory whose storage.json predates the event-log record: its verbs are refused too.
            var legacy = Path.Combine(root.FullName, "legacy");
            CopyDirectory(a, legacy);
            await File.WriteAllTextAsync(Path.Combine(legacy, "storage.json"), "{\"backend\":\"postgres\"}\n");
            var verb = await CliProcess.RunAsync(new Dictionary<string, string> { ["Custodian__Storage"] = schema.ConnectionString }, "staff", "add", "--id", "C0001", "--role", "clerk", "--store", "S001", "--data", legacy);
            Assert.Equal(2, verb.Exit);
            Assert.Equal(fresh.Error.Trim(), verb.Error.Trim());
            Assert.Equal(1L, await LedgerCountAsync(schema));

            // A database whose deployment predates the record: a new directory is still refused, even with the event log.
            await ExecuteAsync(schema, "DELETE FROM deployment_records");
            var unrecorded = await CliProcess.RunAsync(new Dictionary<string, string> { ["Custodian__Events"] = nats.Url }, "init", "--data", n, "--storage", schema.ConnectionString);
            Assert.Equal(2, unrecorded.Exit);
            Assert.Equal(
                $"error: the database {Describe(schema)} already holds a deployment, and this data directory ({Path.GetFullPath(n)}) is new, with keys of its own: make each node's data directory a copy of the deployment's first one (docs/events.md, \"Several API nodes\"); nothing was changed.",
                unrecorded.Error.Trim());
            Assert.False(Directory.Exists(n));
            Assert.Equal(1L, await LedgerCountAsync(schema));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static string Describe(PostgresSchema schema)
    {
        var b = new NpgsqlConnectionStringBuilder(schema.ConnectionString);
        return $"postgres {b.Host}:{b.Port}/{b.Database} as {b.Username}";
    }

    private static async Task<string> AdoptedPhoneMaskAsync(PostgresSchema schema)
    {
        await using var connection = new NpgsqlConnection(schema.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT descriptor FROM masking_policy WHERE id = 1", connection);
        var descriptor = (string)(await command.ExecuteScalarAsync())!;
        return descriptor.Split(';').Single(p => p.StartsWith("phone=", StringComparison.Ordinal));
    }

    private static async Task<long> LedgerCountAsync(PostgresSchema schema)
    {
        await using var connection = new NpgsqlConnection(schema.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM ledger_entries", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(PostgresSchema schema, string sql)
    {
        await using var connection = new NpgsqlConnection(schema.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    // 'custodian serve' as its own process with Ctrl-C at its default action (CliProcess.StartWithDefaultSigint) and extra environment.
    private static Process StartServe(Dictionary<string, string> environment, string data)
    {
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, StandardOutputEncoding = Encoding.UTF8 };
        foreach (var argument in new[] { "--default-signal=INT", Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet", Path.Combine(AppContext.BaseDirectory, "custodian.dll"), "serve", "--data", data, "--terminal-port", "0", "--portal-port", "0" })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }

    private static async Task WaitForAsync(Process process, Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.False(process.HasExited, "serve exited: " + (process.HasExited ? await process.StandardError.ReadToEndAsync() : string.Empty));
            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), "serve did not start");
            await Task.Delay(200);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) == "server.lock")
            {
                continue;
            }

            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(target, File.GetUnixFileMode(file));
            }
        }

        if (!OperatingSystem.IsWindows())
        {
            foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories).Prepend(from))
            {
                var target = Path.Combine(to, Path.GetRelativePath(from, directory));
                Directory.CreateDirectory(target);
                File.SetUnixFileMode(target, File.GetUnixFileMode(directory));
            }
        }
    }
}
