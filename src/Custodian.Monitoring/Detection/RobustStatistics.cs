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

    private const int SortBelow = 16;

    /// <summary>
    /// The median of <paramref name="values"/> (mean of the two middle values for an even count). Reorders the span
    /// (a selection, O(n) on average, not a full sort). NaN values are not allowed.
    /// </summary>
    /// <exception cref="ArgumentException">When <paramref name="values"/> is empty.</exception>
    public static double Median(Span<double> values)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("At least one value is needed.", nameof(values));
        }

        var n = values.Length;
        var upper = Select(values, n / 2);
        if (n % 2 == 1)
        {
            return upper;
        }

        // After the selection every value left of n / 2 is at most `upper`: the lower middle value is their maximum.
        var lower = values[0];
        for (var i = 1; i < n / 2; i++)
        {
            lower = Math.Max(lower, values[i]);
        }

        return (lower + upper) / 2.0;
    }

    // Hoare's selection (quickselect) with a median-of-three pivot: afterwards values[k] holds the k-th smallest value,
    // everything left of it is at most that and everything right of it at least that. Up to SortBelow values (a store's
    // peer group) are sorted by insertion instead, which is cheaper at that size and leaves the same k-th value.
    private static double Select(Span<double> values, int k)
    {
        if (values.Length <= SortBelow)
        {
            for (var i = 1; i < values.Length; i++)
            {
                var v = values[i];
                var j = i - 1;
                while (j >= 0 && values[j] > v)
                {
                    values[j + 1] = values[j];
                    j--;
                }

                values[j + 1] = v;
            }

            return values[k];
        }

        var lo = 0;
        var hi = values.Length - 1;
        while (hi > lo)
        {
            var mid = lo + ((hi - lo) / 2);
            if (values[mid] < values[lo])
            {
                (values[mid], values[lo]) = (values[lo], values[mid]);
            }

            if (values[hi] < values[lo])
            {
                (values[hi], values[lo]) = (values[lo], values[hi]);
            }

            if (values[hi] < values[mid])
            {
                (values[hi], values[mid]) = (values[mid], values[hi]);
            }

            var pivot = values[mid];
            var i = lo;
            var j = hi;
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (values[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                break; // j < k < i: values[k] equals the pivot and is in place
            }
        }

        return values[k];
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
