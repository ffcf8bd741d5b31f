using System.Text.RegularExpressions;
using Custodian.Ledger;
using Custodian.Siem.Ocsf;

namespace Custodian.Siem.Tests;

/// <summary>
/// docs/siem.md's mapping table against <see cref="OcsfMapper"/>. Its "not exported" row once named ten tasks while thirty-one
/// were skipped, so a SIEM team could not know that approvals, incident exports and claim payouts never reached it; since
/// 2026-12-02 those are 6003 API Activity and the row is empty. Every ledger task (the product's own <see cref="AccessTask"/>
/// list) must be exported or named in that row, and the API Activity table must say what the mapper does, row by row.
/// </summary>
public sealed partial class SiemDocsTests
{
    private static readonly string[] Doc = File.ReadAllLines(Path.Combine(TestData.RepositoryRoot, "docs", "siem.md"));

    [Fact]
    public void The_not_exported_row_of_the_mapping_table_lists_exactly_the_tasks_the_mapper_skips()
    {
        var row = Doc.Single(l => l.StartsWith("| **not exported:**", StringComparison.Ordinal));
        var listed = Code().Matches(row).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();
        var skipped = Enum.GetValues<AccessTask>().Where(t => OcsfMapper.Classify(t) is null).Select(t => t.ToName()).Order(StringComparer.Ordinal).ToList();

        Assert.Empty(skipped);
        Assert.Equal(skipped, listed);
        Assert.StartsWith("| **not exported:** none |", row, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_ledger_task_is_either_exported_or_documented_as_deliberately_skipped()
    {
        var row = Doc.Single(l => l.StartsWith("| **not exported:**", StringComparison.Ordinal));
        var documentedSkips = Code().Matches(row).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var task in Enum.GetValues<AccessTask>())
        {
            var cls = OcsfMapper.Classify(task);
            if (cls is null && !documentedSkips.Contains(task.ToName()))
            {
                problems.Add(task.ToName() + ": neither exported nor documented as skipped");
            }

            if (cls is not null && documentedSkips.Contains(task.ToName()))
            {
                problems.Add(task.ToName() + ": exported but documented as skipped");
            }

            if ((cls == OcsfMapper.ApiActivity) != (OcsfMapper.ApiActivityOf(task) is not null))
            {
                problems.Add(task.ToName() + ": class and API Activity mapping disagree");
            }
        }

        Assert.Empty(problems);
        Assert.Equal(32, Enum.GetValues<AccessTask>().Count(t => OcsfMapper.Classify(t) == OcsfMapper.ApiActivity));
    }

    [Fact]
    public void The_api_activity_table_names_each_6003_task_once_with_the_mappers_activity_and_resource_type()
    {
        var rows = Doc.Select(l => ApiRow().Match(l)).Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => (Id: int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), Name: m.Groups[3].Value, Type: m.Groups[4].Value), StringComparer.Ordinal);
        var mapped = Enum.GetValues<AccessTask>().Where(t => OcsfMapper.ApiActivityOf(t) is not null).ToList();

        Assert.Equal(mapped.Select(t => t.ToName()).Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        foreach (var task in mapped)
        {
            var m = OcsfMapper.ApiActivityOf(task)!;
            var (id, name, type) = rows[task.ToName()];
            Assert.True(m.ActivityId == id, $"{task.ToName()}: docs say {id}, mapper {m.ActivityId}");
            Assert.Equal(m.ActivityId == 99 ? "Other" : m.ActivityName, name);
            Assert.Equal(m.ResourceType, type);
        }
    }

    [GeneratedRegex("`([a-z-]+)`", RegexOptions.CultureInvariant)]
    private static partial Regex Code();

    [GeneratedRegex(@"^\| `([a-z-]+)` \| (\d+) (Create|Read|Update|Delete|Other) \| `([a-z-]+)` \|$", RegexOptions.CultureInvariant)]
    private static partial Regex ApiRow();
}
