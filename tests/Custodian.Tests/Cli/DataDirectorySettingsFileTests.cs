using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Custodian.Tests.Cli;

/// <summary>
/// <c>appsettings.json</c> in the data directory: the sections the server reads from it are honoured, and any other
/// <c>Custodian</c> setting in it is refused by name instead of being ignored (an integrator's <c>Custodian:Storage</c>
/// there once started a node on its own embedded SQLite ledger without a word).
/// </summary>
[Collection(nameof(CliCollection))]
[Trait("Backend", "Sqlite")] // its servers and verbs run on a SQLite data directory whatever CUSTODIAN_TEST_BACKEND says: the PostgreSQL pass skips it (scripts/test.sh)
public sealed class DataDirectorySettingsFileTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("custodian-settings-file-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }

    private Task WriteSettingsAsync(string json) => File.WriteAllTextAsync(Path.Combine(_data.FullName, "appsettings.json"), json);

    [Fact]
    public async Task Serve_refuses_a_setting_the_file_is_not_read_for_naming_the_environment_variable_and_creates_nothing()
    {
        await WriteSettingsAsync("""{ "Custodian": { "Gateway": { "MaxRequestHeaderBytes": 20000 }, "Storage": "postgres://db.example/custodian" } }""");

        var (code, _, stderr) = await CliCapture.RunAsync(["serve", "--data", _data.FullName, "--terminal-port", "0", "--portal-port", "0"]);

        Assert.Equal(2, code);
        Assert.Equal(
            "error: invalid configuration: appsettings.json in the data directory sets Custodian:Storage, which is read only from the environment: "
            + "set Custodian__Storage instead (only Custodian:Gateway, OfficerDevices, DormantAccounts, Siem are read from this file)" + Environment.NewLine,
            stderr);
        Assert.Equal(["appsettings.json"], _data.EnumerateFileSystemInfos().Select(f => f.Name));
    }

    [Fact]
    public async Task A_port_in_the_file_is_refused_too()
    {
        await WriteSettingsAsync("""{ "Custodian": { "TerminalPort": 47630 } }""");

        var error = Assert.Throws<InvalidOperationException>(() => CustodianServer.Build(new CustodianOptions { DataDirectory = _data.FullName, TerminalPort = 0, PortalPort = 0 }, TimeProvider.System, configureLogging: _ => { }));

        Assert.Equal(
            "invalid configuration: appsettings.json in the data directory sets Custodian:TerminalPort, which is read only from the environment: "
            + "set Custodian__TerminalPort instead (only Custodian:Gateway, OfficerDevices, DormantAccounts, Siem are read from this file)",
            error.Message);
    }

    [Fact]
    public async Task Serve_with_the_embedded_event_log_refuses_a_JetStream_setting_and_creates_nothing()
    {
        var data = Path.Combine(_data.FullName, "node");

        var (exit, output, error) = await CliProcess.RunAsync(new Dictionary<string, string> { ["Custodian__JetStream__Replicas"] = "9" }, "serve", "--data", data, "--terminal-port", "0", "--portal-port", "0");

        Assert.Equal(
            (2, string.Empty, "error: invalid configuration: Custodian:JetStream:Replicas (environment variable Custodian__JetStream__Replicas) applies only with the JetStream event log "
                + "(serve --events nats://host:port, or Custodian__Events); this server uses the embedded event log, which does not read it (docs/events.md)"),
            (exit, output, error.TrimEnd('\n')));
        Assert.False(Directory.Exists(data));
    }

    [Fact]
    public async Task Serve_with_the_embedded_event_log_refuses_monitor_workers_naming_the_option_and_creates_nothing()
    {
        var data = Path.Combine(_data.FullName, "node");

        var (exit, output, error) = await CliProcess.RunAsync(new Dictionary<string, string>(), "serve", "--data", data, "--terminal-port", "0", "--portal-port", "0", "--monitor", "workers");

        Assert.Equal(
            (2, string.Empty, "error: --monitor workers needs the JetStream event log (serve --events nats://host:port, or Custodian__Events); "
                + "this server uses the embedded event log, whose monitor runs in this process (docs/events.md, \"Monitor workers\")."),
            (exit, output, error.TrimEnd('\n')));
        Assert.False(Directory.Exists(data));
    }

    [Fact]
    public void Build_refuses_a_JetStream_setting_with_the_embedded_event_log_and_not_with_JetStream()
    {
        var environment = new ConfigurationBuilder().AddInMemoryCollection([new("Custodian:JetStream:Monitor", "workers")]).Build();

        var refused = Assert.Throws<InvalidOperationException>(() => CustodianServer.RefuseSettingsNotRead(new CustodianOptions { DataDirectory = _data.FullName }, environment));
        CustodianServer.RefuseSettingsNotRead(new CustodianOptions { DataDirectory = _data.FullName, Events = "nats://127.0.0.1:4222" }, environment);

        Assert.Equal(
            "invalid configuration: Custodian:JetStream:Monitor (environment variable Custodian__JetStream__Monitor) applies only with the JetStream event log "
            + "(serve --events nats://host:port, or Custodian__Events); this server uses the embedded event log, which does not read it (docs/events.md)",
            refused.Message);
    }

    [Fact]
    public async Task The_gateway_section_in_the_file_is_read()
    {
        await WriteSettingsAsync("""{ "Custodian": { "Gateway": { "MaxRequestHeaderBytes": 20000 } } }""");

        await using var app = CustodianServer.Build(new CustodianOptions { DataDirectory = _data.FullName, TerminalPort = 0, PortalPort = 0, PasswordIterations = 1_000 }, TimeProvider.System, configureLogging: _ => { });

        Assert.Equal(20_000, app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.MaxRequestHeaderBytes);
    }
}
