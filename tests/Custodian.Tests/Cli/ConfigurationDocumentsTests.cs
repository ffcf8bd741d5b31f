using Custodian.Cli;
using Microsoft.Extensions.Configuration;

namespace Custodian.Tests.Cli;

/// <summary>A refused configuration value names the document that lists its values, and that document does.</summary>
public sealed class ConfigurationDocumentsTests
{
    private static readonly string Root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    public static TheoryData<string, string> Sections => new()
    {
        { "Custodian:Detection:StoreOpens", "docs/monitoring.md" },
        { "Custodian:Review:Cycle", "docs/review.md" },
        { "Custodian:Retention:Years", "docs/review.md" },
        { "Custodian:Gateway:Zones", "docs/access.md" },
        { "Custodian:OfficerDevices:Required", "docs/access.md" },
        { "Custodian:DormantAccounts:Days", "docs/access.md" },
        { "Custodian:Siem:TimeoutMs", "docs/siem.md" },
        { "Custodian:Checkpoints:IntervalSeconds", "docs/ledger-format.md" },
        { "Custodian:JetStream:Replicas", "docs/events.md" },
        { "Custodian:Events", "docs/events.md" },
    };

    [Theory]
    [MemberData(nameof(Sections))]
    public void Each_section_is_named_with_the_document_that_describes_it(string setting, string document)
    {
        Assert.Equal(document, ConfigurationBinding.DocumentFor(setting));
        Assert.Equal(document, ConfigurationBinding.DocumentFor(setting.ToLowerInvariant()));

        var segments = setting.Split(':');
        var section = string.Join("__", segments[..2]) + (segments.Length > 2 ? "__" : string.Empty); // Custodian:Events is a setting of its own
        Assert.Contains(section, File.ReadAllText(Path.Combine(Root, document)), StringComparison.Ordinal);
    }

    public static TheoryData<string> HandKeptRanges => new(ConfigurationBinding.AllowedNumbers.Keys.Order(StringComparer.Ordinal));

    // The table of ranges checked in code (ConfigurationBinding.AllowedNumbers) says what a refusal tells the operator; it
    // must be what the start checks enforce: every value it allows passes them, the values just outside are refused.
    [Theory]
    [MemberData(nameof(HandKeptRanges))]
    public void Each_hand_kept_range_is_the_one_the_start_checks_enforce(string key)
    {
        var text = ConfigurationBinding.AllowedNumbers[key];
        var range = System.Text.RegularExpressions.Regex.Match(text, @"^a (?:whole )?number from (-?[0-9.]+) to (-?[0-9.]+)(?:, with AlertRisk <= StepUpRisk <= SuspendRisk)?$");
        var (allowed, refused) = range.Success
            ? ([range.Groups[1].Value, range.Groups[2].Value], [Step(range.Groups[1].Value, -1), Step(range.Groups[2].Value, +1)])
            : (text.Replace(" or ", ", ", StringComparison.Ordinal).Split(", "), new[] { "0", "99" });

        foreach (var value in allowed)
        {
            Assert.True(Accepted(key, value), $"{key} = {value} is said to be allowed but the start checks refuse it");
        }

        foreach (var value in refused)
        {
            Assert.False(Accepted(key, value), $"{key} = {value} is outside what the refusal says but the start checks accept it");
        }

        static string Step(string bound, int by) =>
            (decimal.Parse(bound, System.Globalization.CultureInfo.InvariantCulture) + by).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    // Whether serve's start checks accept the single setting key = value: the detection settings, or the server's options
    // (masking; JetStream with the JetStream event log, where its settings apply).
    private static bool Accepted(string key, string value)
    {
        // The three risk thresholds are ordered (DetectionOptions.Validate): the others are set so that the order holds
        // for any value of this one in 1-100, which is then the range the refusal states.
        List<KeyValuePair<string, string?>> settings = key switch
        {
            "Custodian:Detection:AlertRisk" => [new("Custodian:Detection:StepUpRisk", "100"), new("Custodian:Detection:SuspendRisk", "100")],
            "Custodian:Detection:StepUpRisk" => [new("Custodian:Detection:AlertRisk", "1"), new("Custodian:Detection:SuspendRisk", "100")],
            "Custodian:Detection:SuspendRisk" => [new("Custodian:Detection:AlertRisk", "1"), new("Custodian:Detection:StepUpRisk", "1")],
            _ => [],
        };
        settings.Add(new(key, value));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        try
        {
            if (key.StartsWith("Custodian:Detection:", StringComparison.Ordinal))
            {
                _ = Custodian.Monitoring.DetectionSettings.Bind(configuration);
                return true;
            }

            var options = new Custodian.Hosting.CustodianOptions { DataDirectory = "/nonexistent/custodian-data", Events = "nats://127.0.0.1:4222" };
            ConfigurationBinding.Bind(configuration.GetSection(Custodian.Hosting.CustodianOptions.Section), options);
            return Custodian.Hosting.CustodianOptionsValidator.ValidateAll(options).Count == 0;
        }
        catch (CliException)
        {
            return false;
        }
    }

    [Theory]
    [InlineData("Custodian:Masking:Phone")]
    [InlineData("Custodian:PasswordIterations")]
    [InlineData("Custodian:ReviewX:Cycle")]
    public void A_setting_of_no_documented_section_points_to_the_readme_table(string setting) =>
        Assert.Equal("the README's Configuration table", ConfigurationBinding.DocumentFor(setting));

    [Fact]
    public void A_masking_value_that_cannot_be_read_points_to_the_readme()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Custodian:Masking:AddressTokensKept", "two")]).Build();
        var target = new Custodian.Protection.Masking.MaskingOptions();

        var refused = Assert.Throws<CliException>(() => ConfigurationBinding.Bind(configuration.GetSection("Custodian:Masking"), target));

        Assert.Equal(
            "invalid configuration: Custodian:Masking:AddressTokensKept has a value that is not allowed: it must be 1, 2 or 3 (the README's Configuration table lists the values; as an environment variable it is Custodian__Masking__AddressTokensKept).",
            refused.Message);
        Assert.Equal(2, refused.ExitCode);
    }

    public static TheoryData<string, string, string> UnreadableValues => new()
    {
        {
            "Custodian:Masking", "Name",
            "invalid configuration: Custodian:Masking:Name has a value that is not allowed: it must be FirstAndLast or FirstOnly (the README's Configuration table lists the values; as an environment variable it is Custodian__Masking__Name)."
        },
        {
            "Custodian", "TerminalPort",
            "invalid configuration: Custodian:TerminalPort has a value that is not allowed: it must be a whole number from 0 to 65535 (the README's Configuration table lists the values; as an environment variable it is Custodian__TerminalPort)."
        },
        {
            "Custodian", "Masking:Phone",
            "invalid configuration: Custodian:Masking:Phone has a value that is not allowed: it must be LastFour or Middle (the README's Configuration table lists the values; as an environment variable it is Custodian__Masking__Phone)."
        },
        {
            "Custodian", "JetStream:Replicas",
            "invalid configuration: Custodian:JetStream:Replicas has a value that is not allowed: it must be a whole number from 1 to 5 (docs/events.md lists the values; as an environment variable it is Custodian__JetStream__Replicas)."
        },
    };

    [Theory]
    [MemberData(nameof(UnreadableValues))]
    public void A_value_that_cannot_be_read_is_refused_with_what_the_setting_takes_never_the_value(string section, string setting, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new($"{section}:{setting}", "Nope-7f3a")]).Build();
        object target = section == "Custodian" ? new Custodian.Hosting.CustodianOptions() : new Custodian.Protection.Masking.MaskingOptions();

        var refused = Assert.Throws<CliException>(() => ConfigurationBinding.Bind(configuration.GetSection(section), target));

        Assert.Equal(expected, refused.Message);
        Assert.DoesNotContain("7f3a", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duration_that_cannot_be_read_gets_the_format_hint()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Custodian:Retention:Interval", "one day")]).Build();
        var target = new Custodian.Ledger.Retention.RetentionOptions();

        var refused = Assert.Throws<CliException>(() => ConfigurationBinding.Bind(configuration.GetSection("Custodian:Retention"), target));

        Assert.Equal(
            "invalid configuration: Custodian:Retention:Interval has a value that is not allowed (docs/review.md lists the values; a time of day or a duration is written hh:mm:ss, e.g. 09:30:00, or d.hh:mm:ss for days; as an environment variable it is Custodian__Retention__Interval).",
            refused.Message);
    }
}
