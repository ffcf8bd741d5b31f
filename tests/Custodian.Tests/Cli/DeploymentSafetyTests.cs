using Custodian.Tests.Infrastructure;
using Npgsql;

namespace Custodian.Tests.Cli;

/// <summary>
/// Deployment safety through the real command line (docs/storage.md, "One data directory, one database" and "First start is
/// all or nothing"): a data directory records its storage backend and refuses verbs, <c>serve</c> and <c>init</c> configured
/// for another; <c>init</c> refuses an initialised or held data directory; a failed first start leaves nothing behind.
/// </summary>
[Collection(nameof(CliCollection))]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes; Custodian runs on Linux hosts
public sealed class DeploymentSafetyTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-deploy-");

    private string Data => Path.Combine(_dir.FullName, "data");

    [Fact]
    public async Task A_postgres_data_directory_refuses_verbs_serve_and_init_without_its_storage_and_never_gets_a_sqlite_database()
    {
        await using var schema = await TestStorage.CreateSchemaAsync();
        var env = new Dictionary<string, string> { ["Custodian__Storage"] = schema.ConnectionString };
        var init = await CliProcess.RunAsync(env, "init", "--data", Data);
        Assert.True(init.Exit == 0, init.Error);

        var b = new NpgsqlConnectionStringBuilder(schema.ConnectionString);
        var target = $"{b.Host}:{b.Port}/{b.Database}";
        var record = await File.ReadAllTextAsync(Path.Combine(Data, "storage.json"));
        Assert.Equal($"{{\"backend\":\"postgres\",\"target\":\"{target}\",\"events\":{{\"backend\":\"embedded\"}}}}\n", record);
        Assert.DoesNotContain(b.Password!, record, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Data, "storage.json")));
        var database = Path.Combine(Data, "custodian.db");
        Assert.False(File.Exists(database));

        // Without the deployment's storage: every way in is refused, naming both backends; no SQLite database appears.
        var root = Path.GetFullPath(Data);
        var expected = $"error: the data directory {root} belongs to a deployment on storage postgres {target}, but the configured storage is sqlite: set Custodian__Storage (or Custodian__StorageFile; serve --storage) as the deployment's server has it (docs/storage.md).";
        var verb = await CliCapture.RunAsync(["staff", "list", "--data", Data]);
        Assert.Equal((2, expected), (verb.Code, verb.Stderr.Trim()));
        var serve = await CliCapture.RunAsync(["serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0"]);
        Assert.Equal((2, expected), (serve.Code, serve.Stderr.Trim()));
        var again = await CliCapture.RunAsync(["init", "--data", Data]);
        Assert.Equal((2, expected), (again.Code, again.Stderr.Trim()));
        Assert.False(File.Exists(database));

        // Another PostgreSQL database is not the deployment's either (refused before connecting).
        var other = new Dictionary<string, string> { ["Custodian__Storage"] = new NpgsqlConnectionStringBuilder(schema.ConnectionString) { Database = "elsewhere" }.ConnectionString };
        var elsewhere = await CliProcess.RunAsync(other, "staff", "list", "--data", Data);
        Assert.Equal(2, elsewhere.Exit);
        Assert.Equal($"error: the data directory {root} belongs to a deployment on storage postgres {target}, but the configured storage is postgres {b.Host}:{b.Port}/elsewhere: set Custodian__Storage (or Custodian__StorageFile; serve --storage) as the deployment's server has it (docs/storage.md).", elsewhere.Error.Trim());

        // With it, the verbs work; init is refused as the directory is initialised.
        var list = await CliProcess.RunAsync(env, "staff", "list", "--data", Data);
        Assert.True(list.Exit == 0, list.Error);
        Assert.Contains("officer", list.Output, StringComparison.Ordinal);
        var second = await CliProcess.RunAsync(env, "init", "--data", Data);
        Assert.Equal(2, second.Exit);
        Assert.Equal($"error: the data directory {root} is already initialised (storage postgres {target}); init changed nothing.", second.Error.Trim());
        Assert.False(File.Exists(database));
    }

    [Fact]
    public async Task Init_takes_the_storage_on_the_command_line_as_serve_does()
    {
        await using var schema = await TestStorage.CreateSchemaAsync();
        var init = await CliCapture.RunAsync(["init", "--data", Data, "--storage", schema.ConnectionString]);
        Assert.True(init.Code == 0, init.Stderr);

        var b = new NpgsqlConnectionStringBuilder(schema.ConnectionString);
        var target = $"{b.Host}:{b.Port}/{b.Database}";
        Assert.Equal($"{{\"backend\":\"postgres\",\"target\":\"{target}\",\"events\":{{\"backend\":\"embedded\"}}}}\n", await File.ReadAllTextAsync(Path.Combine(Data, "storage.json")));
        Assert.False(File.Exists(Path.Combine(Data, "custodian.db")));

        // The deployment is PostgreSQL now: a verb without its storage is refused, as after Custodian__Storage.
        var verb = await CliCapture.RunAsync(["staff", "list", "--data", Data]);
        Assert.Equal(2, verb.Code);
        Assert.StartsWith($"error: the data directory {Path.GetFullPath(Data)} belongs to a deployment on storage postgres {target}, but the configured storage is sqlite", verb.Stderr, StringComparison.Ordinal);
        var sqlite = await CliCapture.RunAsync(["init", "--data", Path.Combine(_dir.FullName, "other"), "--storage", "sqlite"]);
        Assert.True(sqlite.Code == 0, sqlite.Stderr);
        Assert.Equal("{\"backend\":\"sqlite\",\"events\":{\"backend\":\"embedded\"}}\n", await File.ReadAllTextAsync(Path.Combine(_dir.FullName, "other", "storage.json")));
    }

    [Fact]
    public async Task Init_refuses_a_data_directory_held_by_a_server_or_already_initialised()
    {
        var root = Path.GetFullPath(Data);
        Directory.CreateDirectory(Data);
        await using (new FileStream(Path.Combine(Data, "server.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var held = await CliCapture.RunAsync(["init", "--data", Data]);
            // Which process holds the lock cannot be known (another init, masking adopt or a server): the message names each.
            Assert.Equal((2, $"error: another Custodian process holds the data directory {root} (a running server, or init or masking adopt at work); init changed nothing."), (held.Code, held.Stderr.Trim()));
        }

        Assert.False(File.Exists(Path.Combine(Data, "custodian.db")));
        Assert.False(File.Exists(Path.Combine(Data, "storage.json")));

        var init = await CliCapture.RunAsync(["init", "--data", Data]);
        Assert.Equal(0, init.Code);
        Assert.Contains("  one-time password:  ", init.Stdout, StringComparison.Ordinal); // the first officer, shown once
        Assert.Equal("{\"backend\":\"sqlite\",\"events\":{\"backend\":\"embedded\"}}\n", await File.ReadAllTextAsync(Path.Combine(Data, "storage.json")));

        var again = await CliCapture.RunAsync(["init", "--data", Data]);
        Assert.Equal((2, $"error: the data directory {root} is already initialised (storage sqlite); init changed nothing."), (again.Code, again.Stderr.Trim()));
        Assert.DoesNotContain("one-time password", again.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_first_start_with_a_bad_master_key_or_an_unreachable_event_log_leaves_the_data_directory_as_it_was()
    {
        // serve with a malformed master key: the directory did not exist and does not exist afterwards.
        var failed = await CliProcess.RunAsync(new Dictionary<string, string> { ["CUSTODIAN_MASTER_KEY"] = "not-a-key" }, "serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0");
        Assert.Equal(2, failed.Exit);
        Assert.Equal("error: The environment variable CUSTODIAN_MASTER_KEY must be base64 of exactly 32 bytes.", failed.Error.Trim());
        Assert.False(Directory.Exists(Data));

        // A directory prepared by the operator (the master key placed beforehand), then a first start whose event log is
        // unreachable after the keyring was made: exactly the operator's file is left.
        var keys = Path.Combine(Data, "keys");
        Directory.CreateDirectory(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var masterKey = Path.Combine(keys, "master.key");
        await File.WriteAllTextAsync(masterKey, Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()) + "\n");
        File.SetUnixFileMode(masterKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var unreachable = await CliProcess.RunAsync(new Dictionary<string, string> { ["Custodian__Events"] = "nats://127.0.0.1:1" }, "init", "--data", Data);
        Assert.Equal(2, unreachable.Exit);
        Assert.Equal("error: events nats 127.0.0.1:1 is unavailable: the server is unreachable (connection refused or timed out).", unreachable.Error.Trim());
        Assert.Equal(
            ["keys", Path.Combine("keys", "master.key")],
            Directory.EnumerateFileSystemEntries(Data, "*", SearchOption.AllDirectories).Select(e => Path.GetRelativePath(Data, e)).Order(StringComparer.Ordinal));

        // The next start is a first start again: the officer is created and shown, with the operator's master key.
        var init = await CliCapture.RunAsync(["init", "--data", Data]);
        Assert.True(init.Code == 0, init.Stderr);
        Assert.Contains("  one-time password:  ", init.Stdout, StringComparison.Ordinal); // the first officer, shown once
        Assert.True(File.Exists(Path.Combine(keys, "keyring.json")));
        Assert.True(File.Exists(Path.Combine(Data, "custodian.db")));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }
}
