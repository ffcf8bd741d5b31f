using Custodian.Monitoring.Detection;

namespace Custodian.Monitoring.Tests.Detection;

public sealed class RiskPolicyTests
{
    [Theory]
    [InlineData(new int[0], 0)]
    [InlineData(new[] { 50 }, 50)]
    [InlineData(new[] { 50, 50 }, 75)]
    [InlineData(new[] { 60, 50, 25 }, 85)]
    [InlineData(new[] { 100, 10 }, 100)]
    [InlineData(new[] { 150, -5 }, 100)]
    public void Scores_combine_as_a_noisy_or(int[] scores, int risk) => Assert.Equal(risk, RiskPolicy.Combine(scores));

    [Theory]
    [InlineData(39, MonitorAction.None)]
    [InlineData(40, MonitorAction.Alert)]
    [InlineData(59, MonitorAction.Alert)]
    [InlineData(60, MonitorAction.StepUp)]
    [InlineData(89, MonitorAction.StepUp)]
    [InlineData(90, MonitorAction.Suspend)]
    public void Risk_maps_to_the_documented_action(int risk, MonitorAction action) => Assert.Equal(action, RiskPolicy.ActionFor(risk, new DetectionOptions()));

    [Theory]
    [InlineData(39, AlertSeverity.Low)]
    [InlineData(40, AlertSeverity.Medium)]
    [InlineData(59, AlertSeverity.Medium)]
    [InlineData(60, AlertSeverity.High)]
    [InlineData(75, AlertSeverity.High)]
    [InlineData(89, AlertSeverity.High)]
    [InlineData(90, AlertSeverity.Critical)]
    public void Severity_follows_risk_under_the_default_thresholds(int risk, AlertSeverity severity) =>
        Assert.Equal(severity, RiskPolicy.SeverityFor(risk, new DetectionOptions()));

    [Theory]
    [InlineData(19, AlertSeverity.Low)]
    [InlineData(20, AlertSeverity.Medium)]
    [InlineData(29, AlertSeverity.Medium)]
    [InlineData(30, AlertSeverity.High)]
    [InlineData(49, AlertSeverity.High)]
    [InlineData(50, AlertSeverity.Critical)]
    [InlineData(95, AlertSeverity.Critical)]
    public void Severity_follows_the_configured_thresholds_not_the_defaults(int risk, AlertSeverity severity) =>
        Assert.Equal(severity, RiskPolicy.SeverityFor(risk, new DetectionOptions { AlertRisk = 20, StepUpRisk = 30, SuspendRisk = 50 }));

    [Theory]
    [InlineData(MonitorAction.None, AlertSeverity.Low)]
    [InlineData(MonitorAction.Alert, AlertSeverity.Medium)]
    [InlineData(MonitorAction.StepUp, AlertSeverity.High)]
    [InlineData(MonitorAction.Suspend, AlertSeverity.Critical)]
    public void Severity_is_the_action_levels(MonitorAction action, AlertSeverity severity) => Assert.Equal(severity, RiskPolicy.SeverityOf(action));

    [Fact]
    public void Robust_statistics_resist_one_extreme_value()
    {
        double[] values = [10, 12, 11, 13, 9, 400];
        var (threshold, median, mad) = RobustStatistics.UpperThreshold(values, 5, 0);
        Assert.Equal(11.5, median);
        Assert.Equal(1.5, mad);
        Assert.Equal(11.5 + (5 * 1.4826 * 1.5), threshold, 9);
    }

    [Fact]
    public void Options_out_of_range_name_the_setting()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new DetectionOptions { StepUpRisk = 95 }.Validate());
        Assert.Equal(nameof(DetectionOptions.AlertRisk), ex.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DetectionOptions { OrphanAfter = TimeSpan.FromMinutes(1) }.Validate());
    }
}
