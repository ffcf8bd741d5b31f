namespace Custodian.Monitoring.Detection;

/// <summary>
/// Median and median absolute deviation (MAD): location and spread that a few extreme days (an opening day, an
/// attack) cannot drag, unlike mean and standard deviation. For normally distributed data 1.4826 × MAD estimates the
/// standard deviation (Rousseeuw &amp; Croux, "Alternatives to the Median Absolute Deviation", JASA 88(424), 1993).
/// </summary>
public static class RobustStatistics
{
    /// <summary>The factor that makes MAD a consistent estimator of the standard deviation of a normal distribution.</summary>
    public const double MadToSigma = 1.4826;

    /// <summary>The median of <paramref name="values"/> (mean of the two middle values for an even count). Reorders the span.</summary>
    /// <exception cref="ArgumentException">When <paramref name="values"/> is empty.</exception>
    public static double Median(Span<double> values)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("At least one value is needed.", nameof(values));
        }

        values.Sort();
        var n = values.Length;
        return n % 2 == 1 ? values[n / 2] : (values[(n / 2) - 1] + values[n / 2]) / 2.0;
    }

    /// <summary>The median absolute deviation from <paramref name="median"/>. Overwrites the span with the deviations.</summary>
    /// <exception cref="ArgumentException">When <paramref name="values"/> is empty.</exception>
    public static double Mad(Span<double> values, double median)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Math.Abs(values[i] - median);
        }

        return Median(values);
    }

    /// <summary>
    /// The robust upper threshold <c>median + k × max(1.4826 × MAD, minSpread)</c> of <paramref name="values"/>
    /// (the span is reordered and overwritten).
    /// </summary>
    /// <returns>The threshold, and the median and MAD it came from.</returns>
    public static (double Threshold, double Median, double Mad) UpperThreshold(Span<double> values, double k, double minSpread)
    {
        var median = Median(values);
        var mad = Mad(values, median);
        return (median + (k * Math.Max(MadToSigma * mad, minSpread)), median, mad);
    }
}
