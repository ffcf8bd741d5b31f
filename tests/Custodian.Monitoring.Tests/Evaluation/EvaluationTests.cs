using Custodian.Monitoring.Evaluation;

namespace Custodian.Monitoring.Tests.Evaluation;

public sealed class EvaluationTests
{
    /// <summary>Every scenario (docs/monitoring.md, "Evaluation").</summary>
    public static TheoryData<string> ContainedScenarios() => [.. Scenarios.All.Select(s => s.ToName())];

    /// <summary>The short evaluation CI runs: 60 clerks, 16 days, attacks from day 9.</summary>
    [Theory]
    [MemberData(nameof(ContainedScenarios))]
    public void Every_scenario_is_contained_on_a_short_workload(string name)
    {
        Assert.True(Scenarios.TryParse(name, out var scenario));
        var result = Evaluator.Run(new WorkloadOptions { Days = 16, Clerks = 60, AttackDay = 9, Seed = 7 }, scenario);
        Assert.True(result.Contained, $"{name} was not contained");
        Assert.Equal(0, result.ExposedUnmasked);
        Assert.InRange(result.ExposedMasked, 0, EvaluationReport.MaxExposed);
        Assert.Equal(0, result.FalseSuspensions);
        Assert.True(result.ClerkDays > 500, $"only {result.ClerkDays} clerk-days");
        if (scenario == Scenario.Scraper)
        {
            Assert.InRange(result.TimeToContainment!.Value, TimeSpan.Zero, EvaluationReport.MaxScraperContainment);
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_result_and_the_report_names_misses()
    {
        var options = new WorkloadOptions { Days = 12, Clerks = 30, AttackDay = 8, Seed = 3 };
        var a = Evaluator.Run(options, Scenario.Scraper);
        var b = Evaluator.Run(options, Scenario.Scraper);
        Assert.Equal(a with { AttackDetectors = [] }, b with { AttackDetectors = [] });
        Assert.Equal(a.AttackDetectors, b.AttackDetectors);

        var missed = a with { Contained = false, ExposedMasked = 51, FalseSuspensions = 1, TimeToContainment = TimeSpan.FromMinutes(11) };
        Assert.Equal(
            ["scraper (seed 3): not contained", "scraper (seed 3): 51 subscribers exposed (target <= 50)", "scraper (seed 3): scraper contained after 11:00 (target <= 10 min)", "scraper (seed 3): 1 false suspension (target 0)"],
            EvaluationReport.Misses(missed));
        Assert.Equal(
            ["scraper (seed 3): 1 RRN unmasked without consent", "scraper (seed 3): 2 false suspensions (target 0)"],
            EvaluationReport.Misses(a with { ExposedUnmasked = 1, FalseSuspensions = 2 }));
        var markdown = EvaluationReport.ToMarkdown([a], options, "custodian evaluate --scenario scraper");
        Assert.Contains("| scraper | 3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("Command: `custodian evaluate --scenario scraper`", markdown, StringComparison.Ordinal);
        Assert.Contains($"clerk-days, {EvaluationReport.Count(a.FalseAlerts, "false alert")} (", markdown, StringComparison.Ordinal);
        Assert.Contains(", 0 false suspensions.", markdown, StringComparison.Ordinal);
        Assert.Contains($"| {a.ExposedUnmasked} | yes |", markdown, StringComparison.Ordinal);
        var normal = EvaluationReport.ToMarkdown([a with { Scenario = Scenario.Normal }], options, "custodian evaluate --scenario normal");
        Assert.Contains($"| normal | 3 | {a.ExposedMasked} | {a.ExposedUnmasked} | n/a (no attack) |", normal, StringComparison.Ordinal); // no attack: nothing to contain
    }

    /// <summary>The full evaluation of docs/monitoring.md: 30 days, 300 clerks, seed 1 (about 2 minutes).</summary>
    [Fact]
    [Trait("Category", "Long")]
    public void Thirty_days_of_300_clerks_meet_the_false_alarm_targets_and_contain_every_attack()
    {
        var options = new WorkloadOptions { Seed = 1 };
        var results = Scenarios.All.Select(s => Evaluator.Run(options, s)).ToList();
        Assert.Empty(EvaluationReport.Misses(results));
    }
}
