using Custodian.Monitoring.Detection;

namespace Custodian.Monitoring.Tests.Detection;

/// <summary>
/// The median and MAD against a full sort, over the inputs each of the median's paths takes: up to 16 values (sorted
/// in place), counts within a small span (counted), and fractions, negative values or counts spanning too widely
/// (selected). Every path must give the very same double.
/// </summary>
public sealed class RobustStatisticsTests
{
    public static TheoryData<string> Shapes => ["small-counts", "counts", "half-counts", "wide-counts", "fractions", "negative", "with-negative-zero", "tiny"];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Median_and_mad_equal_those_of_a_full_sort(string shape)
    {
        var random = new Random(shape.GetHashCode(StringComparison.Ordinal) & 0x7fff);
        for (var round = 0; round < 400; round++)
        {
            var n = shape == "tiny" ? random.Next(1, 17) : random.Next(1, 400);
            var values = new double[n];
            for (var i = 0; i < n; i++)
            {
                values[i] = shape switch
                {
                    "small-counts" => random.Next(0, 20),
                    "counts" => random.Next(0, 500),
                    "half-counts" => random.Next(0, 1000) / 2.0,
                    "wide-counts" => random.Next(0, 100_000),
                    "fractions" => 100.0 * random.Next(0, 50) / random.Next(150, 400),
                    "negative" => random.Next(-50, 50),
                    "with-negative-zero" => random.Next(2) == 0 ? -0.0 : random.Next(0, 5),
                    _ => random.Next(0, 10),
                };
            }

            var sorted = values.Order().ToArray();
            var expectedMedian = SortedMedian(sorted);
            var deviations = values.Select(v => Math.Abs(v - expectedMedian)).Order().ToArray();
            var expectedMad = SortedMedian(deviations);

            Assert.Equal(expectedMedian, RobustStatistics.Median(values.ToArray()));
            var (threshold, median, mad) = RobustStatistics.UpperThreshold(values.ToArray(), 3.5, 4);
            Assert.Equal(expectedMedian, median);
            Assert.Equal(expectedMad, mad);
            Assert.Equal(expectedMedian + (3.5 * Math.Max(RobustStatistics.MadToSigma * expectedMad, 4)), threshold);
            Assert.Equal((threshold, median, mad), RobustStatistics.UpperThresholdOfSorted(sorted, 3.5, 4));
        }
    }

    private static double SortedMedian(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2.0;
}
