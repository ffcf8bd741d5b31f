using System.Globalization;
using System.Text;

namespace Custodian.Monitoring.Evaluation;

/// <summary>The evaluation's targets (issue 5) and the markdown report of a set of runs.</summary>
public static class EvaluationReport
{
    /// <summary>Most subscribers an attack may expose, even masked, before it is contained.</summary>
    public const int MaxExposed = 50;

    /// <summary>Longest time from a one-record-a-minute-or-faster scraper's first request to its containment.</summary>
    public static readonly TimeSpan MaxScraperContainment = TimeSpan.FromMinutes(10);

    /// <summary>Most false alerts per 1,000 clerk-days on normal work.</summary>
    public const double MaxFalseAlertsPer1000 = 1.0;

    /// <summary>
    /// Which targets <paramref name="result"/> misses, as one-line texts (empty when it meets them all): contained; no
    /// RRN unmasked without consent; at most <see cref="MaxExposed"/> exposed; the scraper (at ≤ 60 s per record)
    /// contained within <see cref="MaxScraperContainment"/>; and no false suspension. The false-alert rate target is
    /// judged over all runs together (<see cref="Misses(IReadOnlyList{ScenarioResult}, double)"/>).
    /// </summary>
    public static IReadOnlyList<string> Misses(ScenarioResult result, double scraperIntervalSeconds = 60)
    {
        ArgumentNullException.ThrowIfNull(result);
        var misses = new List<string>();
        var name = $"{result.Scenario.ToName()} (seed {result.Seed})";
        if (!result.Contained)
        {
            misses.Add($"{name}: not contained");
        }

        if (result.ExposedUnmasked > 0)
        {
            misses.Add($"{name}: {Count(result.ExposedUnmasked, "RRN")} unmasked without consent");
        }

        if (result.ExposedMasked > MaxExposed)
        {
            misses.Add($"{name}: {Count(result.ExposedMasked, "subscriber")} exposed (target <= {MaxExposed})");
        }

        if (result.Scenario == Scenario.Scraper && scraperIntervalSeconds <= 60 && (result.TimeToContainment is null || result.TimeToContainment > MaxScraperContainment))
        {
            misses.Add($"{name}: scraper contained after {Format(result.TimeToContainment)} (target <= 10 min)");
        }

        if (result.FalseSuspensions > 0)
        {
            misses.Add($"{name}: {Count(result.FalseSuspensions, "false suspension")} (target 0)");
        }

        return misses;
    }

    /// <summary>Every miss over <paramref name="results"/>, including the pooled false-alert rate.</summary>
    public static IReadOnlyList<string> Misses(IReadOnlyList<ScenarioResult> results, double scraperIntervalSeconds = 60)
    {
        ArgumentNullException.ThrowIfNull(results);
        var misses = results.SelectMany(r => Misses(r, scraperIntervalSeconds)).ToList();
        var clerkDays = results.Sum(r => r.ClerkDays);
        var falseAlerts = results.Sum(r => r.FalseAlerts);
        var rate = clerkDays == 0 ? 0 : 1000.0 * falseAlerts / clerkDays;
        if (rate > MaxFalseAlertsPer1000)
        {
            misses.Add(string.Create(CultureInfo.InvariantCulture, $"all runs: {rate:0.00} false alerts per 1,000 clerk-days (target <= 1)"));
        }

        return misses;
    }

    /// <summary>The markdown report: one table row per run, pooled false-alert and false-suspension rates, and the misses.</summary>
    public static string ToMarkdown(IReadOnlyList<ScenarioResult> results, WorkloadOptions options, string command)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(options);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# Monitor evaluation");
        sb.AppendLine();
        sb.AppendLine(inv, $"Command: `{command}`");
        sb.AppendLine();
        sb.AppendLine(inv, $"Workload: {options.Days} days, {options.Clerks} clerks ({options.ClerksPerStore} per store, plus one manager per store), {options.Subscribers:N0} subscribers, attacks from day {options.AttackDay}; scraper every {options.ScraperIntervalSeconds} s ± {options.ScraperJitter:P0}; slow scraper {options.SlowScraperPerDay} a day.");
        sb.AppendLine();
        sb.AppendLine("| Scenario | Seed | Exposed (masked) | RRN unmasked w/o consent | Contained | Time to containment | Time to suspension | Detectors on the attacker | Clerk-days | False alerts (/1,000 clerk-days) | False suspensions | False alerts by detector |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            sb.AppendLine(inv, $"| {r.Scenario.ToName()} | {r.Seed} | {r.ExposedMasked} | {r.ExposedUnmasked} | {(r.Scenario == Scenario.Normal ? "n/a (no attack)" : r.Contained ? "yes" : "NO")} | {Format(r.TimeToContainment)} | {Format(r.TimeToSuspension)} | {(r.AttackDetectors.Count == 0 ? "-" : string.Join(", ", r.AttackDetectors))} | {r.ClerkDays} | {r.FalseAlerts} ({r.FalseAlertsPer1000:0.00}) | {r.FalseSuspensions} | {r.FalseAlertDetectors} |");
        }

        var clerkDays = results.Sum(r => r.ClerkDays);
        sb.AppendLine();
        sb.AppendLine(inv, $"Pooled over all runs: {Count(clerkDays, "clerk-day")}, {Count(results.Sum(r => r.FalseAlerts), "false alert")} ({(clerkDays == 0 ? 0 : 1000.0 * results.Sum(r => r.FalseAlerts) / clerkDays):0.00} per 1,000 clerk-days), {Count(results.Sum(r => r.FalseSuspensions), "false suspension")}.");
        var misses = Misses(results, options.ScraperIntervalSeconds);
        sb.AppendLine();
        sb.AppendLine(misses.Count == 0 ? "Every target met." : "Targets missed:");
        foreach (var m in misses)
        {
            sb.AppendLine(inv, $"- {m}");
        }

        return sb.ToString();
    }

    /// <summary>
    /// A count with its noun in the right number, as the CLI writes counts (<c>1 false suspension</c>,
    /// <c>0 false suspensions</c>, <c>1,200 clerk-days</c>: thousands grouped, invariant culture).
    /// </summary>
    internal static string Count(long count, string singular) =>
        count.ToString("N0", CultureInfo.InvariantCulture) + " " + (count == 1 ? singular : singular + "s");

    /// <summary><c>m:ss</c> or <c>h:mm:ss</c> or <c>Nd h:mm</c>; <c>-</c> for null.</summary>
    public static string Format(TimeSpan? t) => t switch
    {
        null => "-",
        { TotalDays: >= 1 } d => d.ToString(@"d\d\ h\:mm", CultureInfo.InvariantCulture),
        { TotalHours: >= 1 } h => h.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture),
        var m => m.Value.ToString(@"m\:ss", CultureInfo.InvariantCulture),
    };
}
