using System.Globalization;

namespace Custodian.Review;

/// <summary>
/// One review period: a calendar month (<c>2026-11</c>) or an ISO 8601 week (<c>2026-W48</c>, Monday
/// to Sunday), reckoned at a fixed UTC offset. Immutable; compare by <see cref="Id"/> and offset.
/// </summary>
public readonly record struct ReviewPeriod
{
    private ReviewPeriod(ReviewCycle cycle, string id, DateTimeOffset start, DateTimeOffset end)
    {
        Cycle = cycle;
        Id = id;
        Start = start;
        End = end;
    }

    /// <summary>Monthly or weekly.</summary>
    public ReviewCycle Cycle { get; }

    /// <summary>The period's name: <c>yyyy-MM</c> or <c>yyyy-'W'ww</c> (ISO week-numbering year).</summary>
    public string Id { get; }

    /// <summary>First instant of the period (inclusive), at the review offset.</summary>
    public DateTimeOffset Start { get; }

    /// <summary>End of the period (exclusive), at the review offset.</summary>
    public DateTimeOffset End { get; }

    /// <summary>Parses <c>yyyy-MM</c> (month, years 2000–9998) or <c>yyyy-Www</c> (ISO week).</summary>
    /// <param name="text">The period's name.</param>
    /// <param name="offset">The UTC offset periods are reckoned in.</param>
    /// <param name="period">The period on success.</param>
    /// <returns>False when the text is not one of the two forms or names no such month or week.</returns>
    public static bool TryParse(string? text, TimeSpan offset, out ReviewPeriod period)
    {
        period = default;
        if (text is null)
        {
            return false;
        }

        if (text.Length == 7 && DateTime.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var month) && month.Year is >= 2000 and <= 9998)
        {
            period = Month(month.Year, month.Month, offset);
            return true;
        }

        if (text.Length == 8 && text[4] == '-' && text[5] == 'W'
            && int.TryParse(text.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year) && year is >= 2000 and <= 9998
            && int.TryParse(text.AsSpan(6, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var week) && week >= 1 && week <= ISOWeek.GetWeeksInYear(year))
        {
            period = Week(year, week, offset);
            return true;
        }

        return false;
    }

    /// <summary>The period of <paramref name="cycle"/> holding <paramref name="instant"/>.</summary>
    public static ReviewPeriod Containing(ReviewCycle cycle, DateTimeOffset instant, TimeSpan offset)
    {
        var local = instant.ToOffset(offset).DateTime;
        return cycle == ReviewCycle.Monthly
            ? Month(local.Year, local.Month, offset)
            : Week(ISOWeek.GetYear(local), ISOWeek.GetWeekOfYear(local), offset);
    }

    /// <summary>The period just before this one.</summary>
    public ReviewPeriod Previous() => Containing(Cycle, Start.AddTicks(-1), Start.Offset);

    /// <summary>The name.</summary>
    public override string ToString() => Id;

    private static ReviewPeriod Month(int year, int month, TimeSpan offset)
    {
        var start = new DateTimeOffset(year, month, 1, 0, 0, 0, offset);
        return new ReviewPeriod(ReviewCycle.Monthly, start.ToString("yyyy-MM", CultureInfo.InvariantCulture), start, start.AddMonths(1));
    }

    private static ReviewPeriod Week(int year, int week, TimeSpan offset)
    {
        var monday = ISOWeek.ToDateTime(year, week, DayOfWeek.Monday);
        var start = new DateTimeOffset(monday, offset);
        return new ReviewPeriod(ReviewCycle.Weekly, string.Create(CultureInfo.InvariantCulture, $"{year:D4}-W{week:D2}"), start, start.AddDays(7));
    }
}
