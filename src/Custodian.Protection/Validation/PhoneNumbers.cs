using Custodian.Problems;
using Lib = global::PhoneNumbers;

namespace Custodian.Protection.Validation;

/// <summary>
/// Korean phone numbers (MSISDNs), parsed and validated with libphonenumber-csharp against
/// libphonenumber's KR territory metadata (ITU-T E.164; national prefix 0, country code 82).
/// Thread-safe.
/// </summary>
public static class PhoneNumbers
{
    /// <summary>Field name used in errors.</summary>
    public const string Field = "phone";

    /// <summary>Longest input accepted before parsing, in characters.</summary>
    public const int MaxInputLength = 40;

    private static readonly Lib.PhoneNumberUtil Util = Lib.PhoneNumberUtil.GetInstance();

    private const int KoreaCountryCode = 82;

    /// <summary>
    /// Normalizes a Korean phone number to E.164 (<c>+821012345678</c>). Accepts national forms with
    /// or without separators (<c>010-1234-5678</c>, <c>01012345678</c>, <c>010.1234.5678</c>) and
    /// international forms (<c>+82 10 1234 5678</c>). Accepts only numbers libphonenumber says are
    /// valid for region KR (mobile, fixed-line, VoIP, …); use <see cref="IsMobile"/> to require a
    /// mobile number. Numbers with an extension are refused.
    /// </summary>
    /// <param name="input">The number as typed.</param>
    /// <returns>The E.164 string, or <see cref="ErrorCodes.PhoneInvalid"/> (400) naming the field and rule.</returns>
    public static Result<string> NormalizeKorean(string? input)
    {
        var parsed = Parse(input);
        return parsed.IsSuccess ? Util.Format(parsed.Value, Lib.PhoneNumberFormat.E164) : parsed.Error!;
    }

    /// <summary>Normalizes like <see cref="NormalizeKorean"/> and additionally requires a mobile number (010, 011, 016–019 ranges).</summary>
    /// <param name="input">The number as typed.</param>
    /// <returns>The E.164 string, or <see cref="ErrorCodes.PhoneInvalid"/> (400).</returns>
    public static Result<string> NormalizeKoreanMobile(string? input)
    {
        var parsed = Parse(input, checkValidity: false);
        if (!parsed.IsSuccess)
        {
            return parsed.Error!;
        }

        // A Korean number (+82) whose type by the KR metadata is MOBILE is valid for KR by definition, so the
        // validity check (which classifies the number again) runs only on the error path, to name the rule.
        var number = parsed.Value;
        if (number.CountryCode == KoreaCountryCode && Util.GetNumberType(number) == Lib.PhoneNumberType.MOBILE)
        {
            return Util.Format(number, Lib.PhoneNumberFormat.E164);
        }

        return Util.IsValidNumberForRegion(number, "KR")
            ? FieldRule.Error(ErrorCodes.PhoneInvalid, Field, "must be a Korean mobile number")
            : FieldRule.Error(ErrorCodes.PhoneInvalid, Field, "must be a valid Korean number");
    }

    /// <summary>Whether <paramref name="e164"/> is a valid Korean mobile number per libphonenumber's KR metadata.</summary>
    /// <param name="e164">A number in E.164 form (other forms are parsed as Korean numbers too).</param>
    /// <returns>True for a valid KR number of type MOBILE; false otherwise, including unparseable input.</returns>
    public static bool IsMobile(string? e164)
    {
        var parsed = Parse(e164);
        return parsed.IsSuccess && Util.GetNumberType(parsed.Value) == Lib.PhoneNumberType.MOBILE;
    }

    /// <summary>Formats a Korean number in the national format with hyphens, e.g. <c>+821012345678</c> → <c>010-1234-5678</c>.</summary>
    /// <param name="e164">A valid Korean number, normally E.164.</param>
    /// <returns>The national format.</returns>
    /// <exception cref="ArgumentException">When the value is not a valid Korean number (the message does not echo it).</exception>
    public static string FormatNational(string e164)
    {
        var parsed = Parse(e164);
        if (!parsed.IsSuccess)
        {
            throw new ArgumentException("The phone number is not a valid Korean number.", nameof(e164));
        }

        return Util.Format(parsed.Value, Lib.PhoneNumberFormat.NATIONAL);
    }

    private static readonly System.Buffers.SearchValues<char> AllowedCharacters = System.Buffers.SearchValues.Create("0123456789 -.()+");

    private static Result<Lib.PhoneNumber> Parse(string? input, bool checkValidity = true)
    {
        if (string.IsNullOrWhiteSpace(input))
        {
            return FieldRule.Error(ErrorCodes.PhoneInvalid, Field, "is required");
        }

        if (input.Length > MaxInputLength)
        {
            return FieldRule.Error(ErrorCodes.PhoneInvalid, Field, $"must be at most {MaxInputLength} characters");
        }

        // libphonenumber reads letters as keypad digits and strips trailing junk; a subscriber's
        // number as typed at a counter has only digits, separators and an optional leading '+'.
        if (input.AsSpan().ContainsAnyExcept(AllowedCharacters) || input.LastIndexOf('+') > 0)
        {
            return FieldRule.Error(ErrorCodes.PhoneInvalid, Field, "may contain only digits, spaces, '-', '.', '(', ')' and a leading '+'");
        }

        Lib.PhoneNumber number;
        if (TryParseDomesticMobileShape(input) is { } domestic)
        {
            // The shape clerks and files use (010-1234-5678, 01012345678): only the trunk prefix '0' to drop, which is
            // what Parse does for it too (a test checks both agree on every such shape); validity and type still come
            // from the KR metadata below and in the callers.
            number = domestic;
        }
        else
        {
            try
            {
                number = Util.Parse(input, "KR");
            }
            catch (Lib.NumberParseException)
            {
                return FieldRule.Error(ErrorCodes.PhoneInvalid, Field, "must be a phone number");
            }
        }

        if (number.HasExtension)
        {
            return FieldRule.Error(ErrorCodes.PhoneInvalid, Field, "must not have an extension");
        }

        if (checkValidity && !Util.IsValidNumberForRegion(number, "KR"))
        {
            return FieldRule.Error(ErrorCodes.PhoneInvalid, Field, "must be a valid Korean number");
        }

        return number;
    }

    /// <summary>
    /// <c>01X-NNN(N)-NNNN</c> with or without hyphens (10 or 11 digits, starting <c>01</c>): the number without its
    /// trunk prefix, as <c>PhoneNumberUtil.Parse(input, "KR")</c> gives it; null for any other shape.
    /// </summary>
    internal static Lib.PhoneNumber? TryParseDomesticMobileShape(string input)
    {
        Span<char> digits = stackalloc char[11];
        var count = 0;
        var groups = 1;
        var groupLength = 0;
        foreach (var c in input)
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == digits.Length)
                {
                    return null;
                }

                digits[count++] = c;
                groupLength++;
            }
            else if (c == '-' && groupLength > 0 && groups < 3)
            {
                groups++;
                groupLength = 0;
            }
            else
            {
                return null;
            }
        }

        if (groupLength == 0 || count < 10 || digits[0] != '0' || digits[1] != '1')
        {
            return null;
        }

        if (groups == 3)
        {
            // Hyphens only where Koreans write them: 3, then 3 or 4, then 4 digits.
            var first = input.IndexOf('-', StringComparison.Ordinal);
            var last = input.LastIndexOf('-');
            if (first != 3 || input.Length - last - 1 != 4 || last - first - 1 is not (3 or 4))
            {
                return null;
            }
        }
        else if (groups != 1)
        {
            return null;
        }

        return new Lib.PhoneNumber.Builder()
            .SetCountryCode(KoreaCountryCode)
            .SetNationalNumber(ulong.Parse(digits[1..count], System.Globalization.CultureInfo.InvariantCulture))
            .Build();
    }
}
