using System.Numerics;

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
    private const int CountingRange = 1024; // twice the values' span: 512 units, a 4 KB table of counts on the stack

    /// <summary>
    /// The median of <paramref name="values"/> (mean of the two middle values for an even count). May reorder the span
    /// (a selection, O(n) on average, not a full sort; or, for more than 16 values that are all non-negative multiples
    /// of 0.5 spanning fewer than 512 units, a count of each value, O(n) — the same result). NaN values are not allowed.
    /// </summary>
    /// <exception cref="ArgumentException">When <paramref name="values"/> is empty.</exception>
    public static double Median(Span<double> values)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("At least one value is needed.", nameof(values));
        }

        var n = values.Length;
        if (n > SortBelow && TryMedianByCounting(values, out var counted))
        {
            return counted;
        }

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

    // The median by counting, when every value is a non-negative multiple of 0.5 and twice the values span fewer than
    // CountingRange units (counts of subscribers and their deviations from a median: the baseline's peer groups). The
    // k-th smallest value is unique, so this gives exactly the selection's result, without the selection's hard to
    // predict branches: one pass to check and bound the values, one to count them, one walk over the counts. Doubling a
    // multiple of 0.5 and halving the integer back are exact, so the value returned is the very double of the input.
    private static bool TryMedianByCounting(ReadOnlySpan<double> values, out double median)
    {
        median = double.NaN;
        var min = double.PositiveInfinity;
        var max = double.NegativeInfinity;
        foreach (var v in values)
        {
            var twice = v * 2;
            if (double.IsNegative(twice) || twice != Math.Floor(twice))
            {
                return false; // negative (or -0.0), not a multiple of 0.5, or NaN
            }

            min = Math.Min(min, twice);
            max = Math.Max(max, twice);
        }

        if (!(max - min < CountingRange))
        {
            return false;
        }

        Span<int> counts = stackalloc int[(int)(max - min) + 1];
        foreach (var v in values)
        {
            counts[(int)((v * 2) - min)]++;
        }

        var n = values.Length;
        var k = n / 2;
        var lower = -1; // index of the (k-1)-th smallest value (for an even count)
        var seen = 0;
        var i = 0;

        // Whole blocks of counts that end before the (k-1)-th smallest value are skipped with one vector sum each.
        var width = Vector<int>.Count;
        while (i + width <= counts.Length)
        {
            var block = Vector.Sum(new Vector<int>(counts.Slice(i, width)));
            if (seen + block > k - 1)
            {
                break;
            }

            seen += block;
            i += width;
        }

        for (; ; i++)
        {
            seen += counts[i];
            if (lower < 0 && seen > k - 1)
            {
                lower = i;
            }

            if (seen > k)
            {
                var upperValue = (min + i) / 2;
                median = n % 2 == 1 ? upperValue : (((min + lower) / 2) + upperValue) / 2.0;
                return true;
            }
        }
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
    /// <see cref="UpperThreshold"/> of values already sorted in ascending order (no NaN), without touching them: the
    /// median is read at the middle, and the MAD is the middle of the deviations, which grow outwards from the middle
    /// on both sides, so merging the two runs from the centre finds it in n / 2 + 1 steps. The order statistics are
    /// those of the same multiset, so the doubles returned are the very ones <see cref="UpperThreshold"/> returns.
    /// </summary>
    /// <exception cref="ArgumentException">When <paramref name="sorted"/> is empty.</exception>
    internal static (double Threshold, double Median, double Mad) UpperThresholdOfSorted(ReadOnlySpan<double> sorted, double k, double minSpread)
    {
        if (sorted.IsEmpty)
        {
            throw new ArgumentException("At least one value is needed.", nameof(sorted));
        }

        var n = sorted.Length;
        var h = n / 2;
        var median = n % 2 == 1 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2.0;

        // Left of h every value is at most the median, from h on at least it: |v - median| does not decrease walking
        // left from h - 1 or right from h. The (h-1)-th and h-th smallest deviations are the merge's last two steps.
        var left = h - 1;
        var right = h;
        var previous = 0.0;
        var current = 0.0;
        for (var step = 0; step <= h; step++)
        {
            var l = left >= 0 ? Math.Abs(sorted[left] - median) : double.PositiveInfinity;
            var r = right < n ? Math.Abs(sorted[right] - median) : double.PositiveInfinity;
            previous = current;
            if (l <= r)
            {
                current = l;
                left--;
            }
            else
            {
                current = r;
                right++;
            }
        }

        var mad = n % 2 == 1 ? current : (previous + current) / 2.0;
        return (median + (k * Math.Max(MadToSigma * mad, minSpread)), median, mad);
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
