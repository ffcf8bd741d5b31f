using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Custodian.Monitoring.Tests.Detectors;

public sealed class MonitorOptionsTests
{
    private static ValidateOptionsResult Validate(MonitorOptions options) => new MonitorOptionsValidator().Validate(null, options);

    [Fact]
    public void Defaults_are_the_documented_windows_and_valid()
    {
        var options = new MonitorOptions();
        Assert.Equal(
            [
                new WindowLimit(TimeSpan.FromMinutes(10), 12, 16),
                new WindowLimit(TimeSpan.FromHours(1), 40, 60),
                new WindowLimit(TimeSpan.FromHours(24), 150, 220),
            ],
            options.Windows);
        Assert.Equal(TimeSpan.FromSeconds(2), options.GuardWaitTimeout);
        Assert.Equal(TimeSpan.FromHours(24), options.LargestWindow);
        Assert.True(Validate(options).Succeeded);
    }

    [Fact]
    public void Changing_one_options_instance_does_not_change_the_defaults()
    {
        var options = new MonitorOptions();
        options.Windows.Clear();
        Assert.Equal(3, new MonitorOptions().Windows.Count);
    }

    [Theory]
    [InlineData(0, 12, 16, "Window")]          // shorter than 1 minute
    [InlineData(10_081, 12, 16, "Window")]     // longer than 7 days
    [InlineData(10, 0, 16, "ClerkLimit")]
    [InlineData(10, 12, 1_000_001, "TerminalLimit")]
    public void Out_of_range_window_values_fail_naming_the_field(int minutes, int clerk, int terminal, string field)
    {
        var options = new MonitorOptions { Windows = [new WindowLimit(TimeSpan.FromMinutes(minutes), clerk, terminal)] };
        var result = Validate(options);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains(field, StringComparison.Ordinal));
        Assert.Throws<OptionsValidationException>(() => new DistinctSubjectsDetector(options));
    }

    [Fact]
    public void Guard_wait_timeout_is_range_checked()
    {
        var result = Validate(new MonitorOptions { GuardWaitTimeout = TimeSpan.FromMinutes(1) });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains(nameof(MonitorOptions.GuardWaitTimeout), StringComparison.Ordinal));
    }

    [Fact]
    public void No_windows_fails()
    {
        var result = Validate(new MonitorOptions { Windows = [] });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("Windows must hold 1-8 window limits.", StringComparison.Ordinal));
    }

    [Fact]
    public void Duplicate_window_lengths_fail()
    {
        var result = Validate(new MonitorOptions { Windows = [new(TimeSpan.FromMinutes(10), 12, 16), new(TimeSpan.FromMinutes(10), 20, 30)] });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("different Window length", StringComparison.Ordinal));
    }

    [Fact]
    public void Limits_that_shrink_as_windows_lengthen_fail()
    {
        var result = Validate(new MonitorOptions { Windows = [new(TimeSpan.FromHours(1), 40, 60), new(TimeSpan.FromMinutes(10), 50, 16)] });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("must not decrease", StringComparison.Ordinal));
    }

    [Fact]
    public void Binding_configured_windows_replaces_the_defaults()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Custodian:Monitoring:Windows:0:Window"] = "00:05:00",
            ["Custodian:Monitoring:Windows:0:ClerkLimit"] = "8",
            ["Custodian:Monitoring:Windows:0:TerminalLimit"] = "10",
            ["Custodian:Monitoring:Windows:1:Window"] = "08:00:00",
            ["Custodian:Monitoring:Windows:1:ClerkLimit"] = "100",
            ["Custodian:Monitoring:Windows:1:TerminalLimit"] = "150",
            ["Custodian:Monitoring:GuardWaitTimeout"] = "00:00:01",
        }).Build();

        var services = new ServiceCollection().AddCustodianMonitoring(configuration.GetSection("Custodian:Monitoring"));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<MonitorOptions>>().Value;
        Assert.Equal([new WindowLimit(TimeSpan.FromMinutes(5), 8, 10), new WindowLimit(TimeSpan.FromHours(8), 100, 150)], options.Windows);
        Assert.Equal(TimeSpan.FromSeconds(1), options.GuardWaitTimeout);
    }

    [Fact]
    public void Binding_without_windows_keeps_the_defaults_and_bad_values_fail_on_resolve()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GuardWaitTimeout"] = "00:05:00",
        }).Build();

        using var provider = new ServiceCollection().AddCustodianMonitoring(configuration).BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<MonitorOptions>>().Value);
        Assert.Contains(error.Failures, f => f.Contains(nameof(MonitorOptions.GuardWaitTimeout), StringComparison.Ordinal));

        var ok = new MonitorOptions();
        MonitoringServiceCollectionExtensions.Bind(ok, new ConfigurationBuilder().Build());
        Assert.Equal(MonitorOptions.DefaultWindows, ok.Windows);
    }
}
