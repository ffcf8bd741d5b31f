using Custodian.Problems;

namespace Custodian.Protection.Validation;

/// <summary>
/// Korean resident registration numbers (주민등록번호, RRN): 13 digits <c>YYMMDD-GNNNNNN</c>, where
/// YYMMDD is the birth date and G (the 7th digit) gives the century, sex and residency:
/// 9/0 → 1800s; 1/2 → 1900s; 3/4 → 2000s (Korean nationals); 5/6 → 1900s and 7/8 → 2000s (foreign
/// residents' registration numbers); odd = male, even = female.
/// <para>
/// Only the structure is checked: a real calendar date in the century G names (so 000229 is valid
/// with G = 3 or 4 — 2000 is a leap year — and invalid with G = 1, 2, 9 or 0), not after today.
/// The old check digit (13th digit, weighted mod-11) is deliberately NOT required: RRNs issued since
/// 5 October 2020 replace the region code and check digit with random digits (numbering change
/// under the Resident Registration Act's enforcement rules), and foreign residents' registration
/// numbers used a different formula.
/// </para>
/// <para>"Today" is the date in Korea Standard Time (UTC+09:00, no daylight saving) by the injected clock.</para>
/// </summary>
public static class ResidentRegistrationNumbers
{
    /// <summary>Field name used in errors.</summary>
    public const string Field = "rrn";

    /// <summary>Korea Standard Time's fixed offset from UTC (+09:00).</summary>
    public static readonly TimeSpan KoreaStandardTimeOffset = TimeSpan.FromHours(9);

    /// <summary>
    /// Normalizes an RRN to 13 digits without hyphen. Accepts <c>7112311234567</c> and
    /// <c>711231-1234567</c> (surrounding whitespace ignored). Fails with
    /// <see cref="ErrorCodes.ValidationFailed"/> (400) naming the field and the rule: wrong shape,
    /// not a real birth date, or a birth date after today (KST).
    /// </summary>
    /// <param name="input">The RRN as typed.</param>
    /// <param name="time">Clock deciding "today".</param>
    /// <returns>The 13 digits, or the error.</returns>
    public static Result<string> Normalize(string? input, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (string.IsNullOrWhiteSpace(input))
        {
            return FieldRule.Error(ErrorCodes.ValidationFailed, Field, "is required");
        }

        var span = input.AsSpan().Trim();
        Span<char> digits = stackalloc char[13];
        if (span.Length == 13 && IsDigits(span))
        {
            span.CopyTo(digits);
        }
        else if (span.Length == 14 && span[6] == '-' && IsDigits(span[..6]) && IsDigits(span[7..]))
        {
            span[..6].CopyTo(digits);
            span[7..].CopyTo(digits[6..]);
        }
        else
        {
            return FieldRule.Error(ErrorCodes.ValidationFailed, Field, "must be 13 digits, optionally with a hyphen after the sixth");
        }

        if (!TryGetBirthDate(digits, out var birthDate))
        {
            return FieldRule.Error(ErrorCodes.ValidationFailed, Field, "must start with a real birth date (YYMMDD) in the century its 7th digit names");
        }

        if (birthDate > TodayInKorea(time))
        {
            return FieldRule.Error(ErrorCodes.ValidationFailed, Field, "must not have a birth date in the future");
        }

        return new string(digits);
    }

    /// <summary>The birth date encoded in a normalized RRN.</summary>
    /// <param name="digits">13 digits.</param>
    /// <returns>The birth date.</returns>
    /// <exception cref="ArgumentException">When the value is not 13 digits with a real date (the message does not echo it).</exception>
    public static DateOnly GetBirthDate(string digits)
    {
        ArgumentNullException.ThrowIfNull(digits);
        if (digits.Length != 13 || !IsDigits(digits) || !TryGetBirthDate(digits, out var date))
        {
            throw new ArgumentException("The resident registration number must be 13 digits starting with a real birth date.", nameof(digits));
        }

        return date;
    }

    /// <summary>Whether a normalized RRN is a foreign resident's registration number (7th digit 5–8).</summary>
    /// <param name="digits">13 digits.</param>
    /// <returns>True for 7th digit 5, 6, 7 or 8.</returns>
    /// <exception cref="ArgumentException">When the value is not 13 digits.</exception>
    public static bool IsForeignResident(string digits)
    {
        RequireDigits(digits);
        return digits[6] is >= '5' and <= '8';
    }

    /// <summary>Formats 13 digits as <c>YYMMDD-GNNNNNN</c>.</summary>
    /// <param name="digits">13 digits.</param>
    /// <returns>The hyphenated form.</returns>
    /// <exception cref="ArgumentException">When the value is not 13 digits.</exception>
    public static string FormatWithHyphen(string digits)
    {
        RequireDigits(digits);
        return string.Concat(digits.AsSpan(0, 6), "-", digits.AsSpan(6));
    }

    /// <summary>The century a 7th digit names (1800, 1900 or 2000).</summary>
    /// <param name="genderDigit">'0'–'9'.</param>
    /// <returns>The first year of the century.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the character is not a digit.</exception>
    public static int CenturyOf(char genderDigit) => genderDigit switch
    {
        '9' or '0' => 1800,
        '1' or '2' or '5' or '6' => 1900,
        '3' or '4' or '7' or '8' => 2000,
        _ => throw new ArgumentOutOfRangeException(nameof(genderDigit), "The 7th digit of an RRN must be a digit."),
    };

    internal static DateOnly TodayInKorea(TimeProvider time) =>
        DateOnly.FromDateTime(time.GetUtcNow().ToOffset(KoreaStandardTimeOffset).DateTime);

    private static bool TryGetBirthDate(ReadOnlySpan<char> digits, out DateOnly date)
    {
        var year = CenturyOf(digits[6]) + ((digits[0] - '0') * 10) + (digits[1] - '0');
        var month = ((digits[2] - '0') * 10) + (digits[3] - '0');
        var day = ((digits[4] - '0') * 10) + (digits[5] - '0');
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            date = default;
            return false;
        }

        date = new DateOnly(year, month, day);
        return true;
    }

    private static void RequireDigits(string digits)
    {
        ArgumentNullException.ThrowIfNull(digits);
        if (digits.Length != 13 || !IsDigits(digits))
        {
            throw new ArgumentException("The resident registration number must be 13 digits without hyphen.", nameof(digits));
        }
    }

    private static bool IsDigits(ReadOnlySpan<char> value) => !value.ContainsAnyExceptInRange('0', '9');
}
