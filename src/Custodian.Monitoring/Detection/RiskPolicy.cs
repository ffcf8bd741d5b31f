namespace Custodian.Monitoring.Detection;

/// <summary>What the policy does about a principal's current risk, in increasing order of force.</summary>
public enum MonitorAction
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>Raise an alert for an officer to review; reads continue.</summary>
    Alert = 1,

    /// <summary>Step-up: the guard refuses plain views (<c>step-up-required</c>); only consented reads (the subscriber present) go through.</summary>
    StepUp = 2,

    /// <summary>Suspend the clerk and the terminal of the entry; every read is refused until an officer restores them.</summary>
    Suspend = 3,
}

/// <summary>A principal's risk and the policy's action for it at one moment.</summary>
/// <param name="Risk">Combined risk, 0–100 (0 when nothing is in memory).</param>
/// <param name="Action">The action for that risk; <see cref="MonitorAction.None"/> at 0. <see cref="MonitorAction.Suspend"/> from the engine in embedded mode; in workers mode the <see cref="SuspensionRegistry"/> tells suspension.</param>
public readonly record struct RiskStanding(int Risk, MonitorAction Action)
{
    /// <summary>No risk, no action.</summary>
    public static RiskStanding None => default;
}

/// <summary>Stable names of <see cref="MonitorAction"/>: <c>none</c>, <c>alert</c>, <c>step-up</c>, <c>suspend</c>.</summary>
public static class MonitorActions
{
    /// <summary>The stable name.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For a value outside the enum.</exception>
    public static string ToName(this MonitorAction action) => action switch
    {
        MonitorAction.None => "none",
        MonitorAction.Alert => "alert",
        MonitorAction.StepUp => "step-up",
        MonitorAction.Suspend => "suspend",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    /// <summary>Parses a stable name (<see cref="ToName"/>), ordinal and case-sensitive.</summary>
    /// <param name="name">The name, or null.</param>
    /// <param name="action">The action; <see cref="MonitorAction.None"/> when the name is not one.</param>
    /// <returns>Whether <paramref name="name"/> is one of the stable names.</returns>
    public static bool TryParse(string? name, out MonitorAction action)
    {
        foreach (var candidate in Enum.GetValues<MonitorAction>())
        {
            if (string.Equals(candidate.ToName(), name, StringComparison.Ordinal))
            {
                action = candidate;
                return true;
            }
        }

        action = MonitorAction.None;
        return false;
    }
}

/// <summary>
/// Combines detector scores into a risk and maps risk to an action. Scores are 0–100; each detector contributes its
/// highest score still within that finding's <see cref="Finding.Memory"/>; contributions combine as a noisy-OR,
/// <c>risk = 100 × (1 − Π (1 − score/100))</c>, so two independent 50s make 75 and nothing exceeds 100. Actions:
/// risk ≥ <see cref="DetectionOptions.SuspendRisk"/> (90) suspend; ≥ <see cref="DetectionOptions.StepUpRisk"/> (60)
/// step-up; ≥ <see cref="DetectionOptions.AlertRisk"/> (40) alert; otherwise none. An alert's severity follows the action
/// (<see cref="SeverityOf"/>), so the same thresholds.
/// </summary>
public static class RiskPolicy
{
    /// <summary>The noisy-OR of <paramref name="scores"/> (each clamped to 0–100), rounded down; 0 for none.</summary>
    public static int Combine(IEnumerable<int> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var keep = 1.0;
        foreach (var s in scores)
        {
            keep *= 1.0 - (Math.Clamp(s, 0, 100) / 100.0);
        }

        return (int)Math.Floor((100.0 * (1.0 - keep)) + 1e-9);
    }

    /// <summary>The action for <paramref name="risk"/> under <paramref name="options"/>' thresholds.</summary>
    public static MonitorAction ActionFor(int risk, DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return risk >= options.SuspendRisk ? MonitorAction.Suspend
            : risk >= options.StepUpRisk ? MonitorAction.StepUp
            : risk >= options.AlertRisk ? MonitorAction.Alert
            : MonitorAction.None;
    }

    /// <summary>
    /// Alert severity for <paramref name="risk"/> under <paramref name="options"/>' thresholds, the severity of its action
    /// (<see cref="SeverityOf"/>): critical ≥ <see cref="DetectionOptions.SuspendRisk"/>, high ≥
    /// <see cref="DetectionOptions.StepUpRisk"/>, medium ≥ <see cref="DetectionOptions.AlertRisk"/>, else low — with the
    /// defaults 90, 60 and 40 (docs/monitoring.md, "Risk and actions"). Before 2026-12-03 the cut-offs were those defaults
    /// whatever the thresholds, so an alert at a lowered threshold was filed (and exported to the SIEM) as low.
    /// </summary>
    /// <param name="risk">The combined risk, 0–100.</param>
    /// <param name="options">The deployment's detection settings.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    public static AlertSeverity SeverityFor(int risk, DetectionOptions options) => SeverityOf(ActionFor(risk, options));

    /// <summary>
    /// Alert severity of an action level: <see cref="MonitorAction.Suspend"/> critical, <see cref="MonitorAction.StepUp"/>
    /// high, <see cref="MonitorAction.Alert"/> medium, <see cref="MonitorAction.None"/> low. A decision's alert takes the
    /// severity of its <see cref="MonitorDecision.Action"/>, which the configured thresholds chose.
    /// </summary>
    /// <param name="action">The action level.</param>
    public static AlertSeverity SeverityOf(MonitorAction action) => action switch
    {
        MonitorAction.Suspend => AlertSeverity.Critical,
        MonitorAction.StepUp => AlertSeverity.High,
        MonitorAction.Alert => AlertSeverity.Medium,
        _ => AlertSeverity.Low,
    };
}
