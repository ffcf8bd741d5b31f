using System.ComponentModel.DataAnnotations;

namespace Custodian.Review;

/// <summary>How often the access log must be reviewed and signed off.</summary>
public enum ReviewCycle
{
    /// <summary>Calendar months (<c>2026-11</c>). The PIPA safety standard (개인정보의 안전성 확보조치 기준, Art. 8(2)) requires a review at least monthly.</summary>
    Monthly = 1,

    /// <summary>ISO 8601 weeks, Monday to Sunday (<c>2026-W48</c>): a stricter cycle for high-risk stores.</summary>
    Weekly = 2,
}

/// <summary>
/// Settings of the access-log review (<see cref="LedgerReview"/>). Bind from configuration section
/// <c>Custodian:Review</c> (environment variables <c>Custodian__Review__Cycle=weekly</c> …).
/// </summary>
public sealed class ReviewOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Custodian:Review";

    /// <summary>The review cycle. Only cycles of at most one month are offered: the PIPA safety standard Art. 8(2) requires a monthly review at least.</summary>
    /// <value>The default is <see cref="ReviewCycle.Monthly"/>.</value>
    public ReviewCycle Cycle { get; set; } = ReviewCycle.Monthly;

    /// <summary>
    /// The UTC offset in which periods and store hours are reckoned, in whole or half hours.
    /// </summary>
    /// <value>−12:00 to +14:00. The default is +09:00 (Korea Standard Time, no daylight saving since 1988).</value>
    [Range(typeof(TimeSpan), "-12:00:00", "14:00:00")]
    public TimeSpan UtcOffset { get; set; } = TimeSpan.FromHours(9);

    /// <summary>When stores open, local time (<see cref="UtcOffset"/>). A personal-data read at or after <see cref="StoreCloses"/> or before this is "outside store hours".</summary>
    /// <value>The default is 09:00.</value>
    public TimeOnly StoreOpens { get; set; } = new(9, 0);

    /// <summary>When stores close, local time; must be after <see cref="StoreOpens"/>.</summary>
    /// <value>The default is 21:00.</value>
    public TimeOnly StoreCloses { get; set; } = new(21, 0);

    /// <summary>How many earlier periods the report lists with their sign-off state.</summary>
    /// <value>1–60. The default is 12.</value>
    [Range(1, 60)]
    public int SignOffHistory { get; set; } = 12;

    /// <summary>Most items listed in each detail section of a report (denied accesses, reads outside store hours); counts are always complete.</summary>
    /// <value>1–100,000. The default is 1,000.</value>
    [Range(1, 100_000)]
    public int MaxListedItems { get; set; } = 1_000;

    /// <summary>Throws when a value is out of range or the store hours are inverted.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Naming the setting and its rule.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Cycle))
        {
            throw new ArgumentOutOfRangeException(nameof(Cycle), "Custodian:Review:Cycle must be monthly or weekly.");
        }

        if (UtcOffset < TimeSpan.FromHours(-12) || UtcOffset > TimeSpan.FromHours(14) || UtcOffset.Ticks % TimeSpan.FromMinutes(30).Ticks != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(UtcOffset), "Custodian:Review:UtcOffset must be -12:00 to +14:00 in half hours.");
        }

        if (StoreCloses <= StoreOpens)
        {
            throw new ArgumentOutOfRangeException(nameof(StoreCloses), "Custodian:Review:StoreCloses must be after Custodian:Review:StoreOpens.");
        }

        if (SignOffHistory is < 1 or > 60)
        {
            throw new ArgumentOutOfRangeException(nameof(SignOffHistory), "Custodian:Review:SignOffHistory must be 1-60.");
        }

        if (MaxListedItems is < 1 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxListedItems), "Custodian:Review:MaxListedItems must be 1-100000.");
        }
    }
}
