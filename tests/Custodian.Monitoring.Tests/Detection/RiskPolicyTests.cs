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

    [Fact]
    public void Severity_follows_risk()
    {
        Assert.Equal(AlertSeverity.Medium, RiskPolicy.SeverityFor(40));
        Assert.Equal(AlertSeverity.High, RiskPolicy.SeverityFor(75));
        Assert.Equal(AlertSeverity.Critical, RiskPolicy.SeverityFor(90));
    }

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
