using Custodian.Cli;
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

    public static TheoryData<string, string> BadFiles => new()
    {
        // Not JSON: one line naming the file and where the parser stopped (never the content), not a stack trace.
        { "{ \"Custodian\": {", "appsettings.json in the data directory is not valid JSON (line 1, byte 17): correct it or remove it (README, \"Configuration\")" },
        // A value of a section the file may hold breaks its rule: the words the same value gets as an environment variable.
        { """{ "Custodian": { "DormantAccounts": { "Days": -1 } } }""", "Custodian:DormantAccounts:Days must be between 1 and 3650 (docs/access.md lists the values; as an environment variable it is Custodian__DormantAccounts__Days)." },
        { """{ "Custodian": { "OfficerDevices": { "Stores": [ "S001", "bad store" ] } } }""", "Custodian:OfficerDevices:Stores: every entry must be a store code of 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit (docs/access.md lists the values; as an environment variable it is Custodian__OfficerDevices__Stores__1)." },
        // A value that is not of the setting's type: named with its format, never echoed.
        { """{ "Custodian": { "Gateway": { "StepUpWindow": "banana" } } }""", "Custodian:Gateway:StepUpWindow has a value that is not allowed (docs/access.md lists the values; a time of day or a duration is written hh:mm:ss, e.g. 09:30:00, or d.hh:mm:ss for days; as an environment variable it is Custodian__Gateway__StepUpWindow)." },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task Serve_refuses_a_settings_file_that_is_not_JSON_or_holds_a_bad_value_in_one_line_and_creates_nothing(string json, string expected)
    {
        await WriteSettingsAsync(json);

        var (code, stdout, stderr) = await CliCapture.RunAsync(["serve", "--data", _data.FullName, "--terminal-port", "0", "--portal-port", "0"]);

        Assert.Equal((2, string.Empty, "error: invalid configuration: " + expected + Environment.NewLine), (code, stdout, stderr));
        Assert.DoesNotContain("banana", stderr, StringComparison.Ordinal);
        Assert.Equal(["appsettings.json"], _data.EnumerateFileSystemInfos().Select(f => f.Name));
    }

    [Fact]
    public async Task Serve_refuses_a_directory_where_the_settings_file_would_be()
    {
        _data.CreateSubdirectory("appsettings.json");

        var (code, stdout, stderr) = await CliCapture.RunAsync(["serve", "--data", _data.FullName, "--terminal-port", "0", "--portal-port", "0"]);

        Assert.Equal(
            (2, string.Empty, "error: invalid configuration: appsettings.json in the data directory is a directory, not a settings file: remove it, or put the settings in a JSON file of that name (README, \"Configuration\")" + Environment.NewLine),
            (code, stdout, stderr));
        Assert.Equal(["appsettings.json"], _data.EnumerateFileSystemInfos().Select(f => f.Name));
    }

    [Fact]
    public async Task An_environment_variable_overrides_a_bad_value_of_the_file_as_in_the_server()
    {
        await WriteSettingsAsync("""{ "Custodian": { "DormantAccounts": { "Days": -1 } } }""");
        var environment = new ConfigurationBuilder().AddInMemoryCollection([new("Custodian:DormantAccounts:Days", "90")]).Build();

        var settings = CustodianServer.ServerSettings(new CustodianOptions { DataDirectory = _data.FullName }, environment);

        Assert.Equal("90", settings["Custodian:DormantAccounts:Days"]);
        ServeStartChecks.CheckConfiguration(settings); // no refusal: the environment wins, as it does in the host
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
