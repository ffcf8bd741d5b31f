using System.Xml.Linq;
using Custodian.Monitoring;

namespace Custodian.Tests.Monitoring;

public sealed class AlertChartTests
{
    private static readonly ChartLabels Labels = new("Activity of clerk:C0001 <script>", "entries", "limit", "own median");

    [Theory]
    [InlineData("orphans-7d 41: own median 20, MAD 3, threshold 42.2; peers (211) median 19", 20.0)]
    [InlineData("rate: own median 4.5, MAD 1", 4.5)]
    [InlineData("10 lookups without a completed service; risk 100", null)]
    [InlineData(null, null)]
    public void The_own_median_is_read_from_the_detectors_detail(string? detail, double? expected) =>
        Assert.Equal(expected, AlertChart.OwnMedian(detail));

    [Fact]
    public void The_chart_is_well_formed_svg_with_a_step_per_entry_the_limit_and_the_baseline_and_escaped_text()
    {
        var start = new DateTimeOffset(2026, 11, 2, 1, 0, 0, TimeSpan.Zero);
        var svg = AlertChart.Svg([start.AddMinutes(10), start, start.AddMinutes(5)], 3, 2, 1.5, Labels);

        var doc = XDocument.Parse(svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal("Activity of clerk:C0001 <script>", doc.Root!.Element(ns + "title")!.Value);
        Assert.DoesNotContain("<script>", svg, StringComparison.Ordinal);
        var line = doc.Descendants(ns + "polyline").Single();
        // From (50, 220) up one step at each entry: x 50 -> 375 -> 700 (plot width 650 over 10 minutes), y by 180/3 = 60 per entry.
        Assert.Equal("50.0,220.0 50.0,220.0 50.0,160.0 375.0,160.0 375.0,100.0 700.0,100.0 700.0,40.0", line.Attribute("points")!.Value);
        var limit = doc.Descendants(ns + "line").Single(l => (string?)l.Attribute("class") == "limit");
        Assert.Equal("100.0", limit.Attribute("y1")!.Value);
        var baseline = doc.Descendants(ns + "line").Single(l => (string?)l.Attribute("class") == "baseline");
        Assert.Equal("130.0", baseline.Attribute("y1")!.Value);
        Assert.Contains("entries 3 · limit 2 · own median 1.5", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_entries_the_chart_shows_only_the_limit()
    {
        var svg = AlertChart.Svg([], 0, 12, null, Labels);
        Assert.DoesNotContain("<polyline", svg, StringComparison.Ordinal);
        Assert.Contains("class=\"limit\"", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("class=\"baseline\"", svg, StringComparison.Ordinal);
    }
}
