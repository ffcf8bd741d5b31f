using System.ComponentModel.DataAnnotations;

namespace Custodian.Ledger.Retention;

/// <summary>
/// Settings of <see cref="LedgerRetention"/>. Bind from configuration section <c>Custodian:Retention</c>
/// (environment variables <c>Custodian__Retention__Years</c> …); validated when the retention job is created.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Custodian:Retention";

    /// <summary>
    /// How long an entry's payload is kept, in calendar years. An entry whose time is before
    /// <c>now.AddYears(-Years)</c> (UTC; 29 February maps to 28 February) is erased. The PIPA safety
    /// standard (개인정보의 안전성 확보조치 기준, Art. 8(1)) requires access logs to be kept for at
    /// least 2 years by a facilities-based telecommunications carrier (DESIGN.md).
    /// </summary>
    /// <value>2–100. The default is 2 years.</value>
    [Range(2, 100)]
    public int Years { get; set; } = 2;

    /// <summary>
    /// How long entries recording grants, changes and revocations of access rights
    /// (<see cref="AccessTasks.RecordsAccessRights"/>) are kept, in calendar years; they are erased only when older than
    /// both this and <see cref="Years"/>. PIPA safety standard Art. 5(3): at least 3 years.
    /// </summary>
    /// <value>3–100. The default is 3 years.</value>
    [Range(3, 100)]
    public int AccessRightsYears { get; set; } = 3;

    /// <summary>Most entries erased under one RetentionErasure entry (one writer transaction); bounds how long appends wait behind an erasure.</summary>
    /// <value>1–100,000. The default is 10,000.</value>
    [Range(1, 100_000)]
    public int MaxEntriesPerErasure { get; set; } = 10_000;

    /// <summary>How often the server runs the retention job (the first run is one interval after start).</summary>
    /// <value>1 minute to 7 days. The default is 1 day.</value>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Naming the setting and its range.</exception>
    public void Validate()
    {
        if (Years is < 2 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(Years), "Custodian:Retention:Years must be 2-100 (PIPA safety standard Art. 8(1): at least 2 years).");
        }

        if (AccessRightsYears is < 3 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(AccessRightsYears), "Custodian:Retention:AccessRightsYears must be 3-100 (PIPA safety standard Art. 5(3): records of access rights at least 3 years).");
        }

        if (MaxEntriesPerErasure is < 1 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEntriesPerErasure), "Custodian:Retention:MaxEntriesPerErasure must be 1-100000.");
        }

        if (Interval < TimeSpan.FromMinutes(1) || Interval > TimeSpan.FromDays(7))
        {
            throw new ArgumentOutOfRangeException(nameof(Interval), "Custodian:Retention:Interval must be 1 minute to 7 days.");
        }
    }
}
