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
    };

    [Theory]
    [MemberData(nameof(Sections))]
    public void Each_section_is_named_with_the_document_that_describes_it(string setting, string document)
    {
        Assert.Equal(document, ConfigurationBinding.DocumentFor(setting));
        Assert.Equal(document, ConfigurationBinding.DocumentFor(setting.ToLowerInvariant()));

        var section = string.Join("__", setting.Split(':')[..2]) + "__";
        Assert.Contains(section, File.ReadAllText(Path.Combine(Root, document)), StringComparison.Ordinal);
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
            "invalid configuration: Custodian:Masking:AddressTokensKept has a value that is not allowed (the README's Configuration table lists the values; as an environment variable it is Custodian__Masking__AddressTokensKept).",
            refused.Message);
        Assert.Equal(2, refused.ExitCode);
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
