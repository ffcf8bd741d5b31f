using System.Text.RegularExpressions;
using Custodian.Ledger;
using Custodian.Siem.Ocsf;

namespace Custodian.Siem.Tests;

/// <summary>
/// docs/siem.md's "not exported" row must name exactly the ledger tasks <see cref="OcsfMapper.Classify"/> passes over. It
/// once named ten of them while thirty-one were skipped, so a SIEM team could not know that approvals, incident exports
/// and claim payouts never reach it.
/// </summary>
public sealed partial class SiemDocsTests
{
    [Fact]
    public void The_not_exported_row_of_the_mapping_table_lists_exactly_the_tasks_the_mapper_skips()
    {
        var row = File.ReadLines(Path.Combine(TestData.RepositoryRoot, "docs", "siem.md"))
            .Single(l => l.StartsWith("| **not exported:**", StringComparison.Ordinal));
        var listed = Code().Matches(row).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();
        var skipped = Enum.GetValues<AccessTask>().Where(t => OcsfMapper.Classify(t) is null).Select(t => t.ToName()).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(31, skipped.Count);
        Assert.Equal(skipped, listed);
    }

    [GeneratedRegex("`([a-z-]+)`", RegexOptions.CultureInvariant)]
    private static partial Regex Code();
}
