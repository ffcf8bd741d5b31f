using System.Diagnostics;
using Custodian.Cli;
using Custodian.Monitoring;
using Microsoft.Extensions.Configuration;

namespace Custodian.Tests.Monitoring;

public sealed class DetectionSettingsTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Unset_settings_keep_the_documented_defaults()
    {
        var options = DetectionSettings.Bind(Config());
        Assert.Equal(TimeSpan.FromHours(9), options.LocalOffset);
        Assert.Equal(TimeSpan.FromHours(9), options.StoreOpens);
        Assert.Equal(TimeSpan.FromHours(21), options.StoreCloses);
        Assert.Equal(TimeSpan.FromMinutes(45), options.HoursGrace);
        Assert.Equal(TimeSpan.FromMinutes(1), options.BaselineOpenDayInterval);
    }

    [Fact]
    public void Store_hours_and_offset_are_read_from_the_detection_section()
    {
        var options = DetectionSettings.Bind(Config(
            ("Custodian:Detection:LocalOffset", "-03:00:00"),
            ("Custodian:Detection:StoreOpens", "10:00:00"),
            ("Custodian:Detection:StoreCloses", "22:30:00"),
            ("Custodian:Detection:OpenLookupsAllowed", "8")));
        Assert.Equal(TimeSpan.FromHours(-3), options.LocalOffset);
        Assert.Equal(TimeSpan.FromHours(10), options.StoreOpens);
        Assert.Equal(new TimeSpan(22, 30, 0), options.StoreCloses);
        Assert.Equal(8, options.OpenLookupsAllowed);
    }

    [Fact]
    public void A_value_that_cannot_be_read_names_the_setting_and_not_the_value()
    {
        var ex = Assert.Throws<CliException>(() => DetectionSettings.Bind(Config(("Custodian:Detection:StoreOpens", "nine o'clock"))));
        Assert.Equal(
            "invalid configuration: Custodian:Detection:StoreOpens has a value that is not allowed (docs/monitoring.md lists the values; a time of day or a duration is written hh:mm:ss, e.g. 09:30:00, or d.hh:mm:ss for days; as an environment variable it is Custodian__Detection__StoreOpens).",
            ex.Message);
        Assert.Equal(2, ex.ExitCode);
    }

    [Fact]
    public void A_value_out_of_range_names_the_setting_and_the_rule()
    {
        var ex = Assert.Throws<CliException>(() => DetectionSettings.Bind(Config(("Custodian:Detection:LocalOffset", "15:00:00"))));
        Assert.Equal("invalid configuration: Custodian:Detection:LocalOffset must be within ±14 hours (docs/monitoring.md lists the values; as an environment variable it is Custodian__Detection__LocalOffset).", ex.Message);
        var order = Assert.Throws<CliException>(() => DetectionSettings.Bind(Config(("Custodian:Detection:StoreOpens", "22:00:00"))));
        Assert.Equal("invalid configuration: Custodian:Detection:StoreOpens must be before StoreCloses, both within one day (docs/monitoring.md lists the values; as an environment variable it is Custodian__Detection__StoreOpens).", order.Message);
        var interval = Assert.Throws<CliException>(() => DetectionSettings.Bind(Config(("Custodian:Detection:BaselineOpenDayInterval", "00:00:00.500"))));
        Assert.Equal("invalid configuration: Custodian:Detection:BaselineOpenDayInterval must be 1 second to 1 hour (docs/monitoring.md lists the values; as an environment variable it is Custodian__Detection__BaselineOpenDayInterval).", interval.Message);
    }

    [Fact]
    public async Task Serve_refuses_a_bad_detection_setting_before_it_creates_anything()
    {
        var data = Path.Combine(Path.GetTempPath(), "custodian-det-" + Guid.NewGuid().ToString("N"));
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "custodian.dll"), "serve", "--data", data, "--terminal-port", "0", "--portal-port", "0" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["Custodian__Detection__LocalOffset"] = "15:00:00"; // a child process: the setting must not reach other tests
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("error: invalid configuration: Custodian:Detection:LocalOffset must be within ±14 hours (docs/monitoring.md lists the values; as an environment variable it is Custodian__Detection__LocalOffset).", (await stderr).Trim() + (await stdout).Trim());
        Assert.False(Directory.Exists(data), "a refused start must not create the data directory");
    }
}
