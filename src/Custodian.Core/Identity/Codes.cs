using System.Buffers;

namespace Custodian.Identity;

/// <summary>
/// Validation of the short operator-chosen codes that name stores, terminals and staff accounts
/// (for example <c>S001</c>, <c>counter-1</c>, <c>C0042</c>). Codes are 1–64 characters of ASCII
/// letters, digits, <c>-</c>, <c>_</c> and <c>.</c>, starting with a letter or digit. They are
/// not personal data and may appear in logs and ledger entries.
/// </summary>
public static class Codes
{
    /// <summary>Longest accepted code, in characters.</summary>
    public const int MaxLength = 64;

    /// <summary>
    /// The rule, in the words every refusal of a code uses (HTTP problems, import and CLI messages):
    /// <c>1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit</c>. "ASCII" because a
    /// Korean store or account name (매장1, 김철수) is made of letters too, and a rule that said only "letters" refused it
    /// without saying why. The 64 is <see cref="MaxLength"/>.
    /// </summary>
    public const string Rule = "1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit";

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

    /// <summary>Returns whether <paramref name="code"/> is a well-formed code.</summary>
    public static bool IsValid(string? code) =>
        !string.IsNullOrEmpty(code)
        && code.Length <= MaxLength
        && char.IsAsciiLetterOrDigit(code[0])
        && !code.AsSpan().ContainsAnyExcept(Allowed);

    /// <summary>
    /// The rule against personal numbers used as codes, in the words every refusal uses (staff store codes, terminal names,
    /// a subscriber's <c>home_store</c>): a code goes into ledger entries, the SIEM export and the database and is kept for years.
    /// </summary>
    public const string NotPersonalNumberRule = "must not be a phone number or resident registration number";

    /// <summary>
    /// True for a code made only of digits and separators ('-', '.') that has the shape of a Korean mobile number
    /// (10 or 11 digits starting <c>01</c>) or of a resident registration number (13 digits). The one copy of the shape
    /// test behind <see cref="NotPersonalNumberRule"/>.
    /// </summary>
    /// <param name="code">A well-formed code (any string is accepted; null is not).</param>
    /// <exception cref="ArgumentNullException">When <paramref name="code"/> is null.</exception>
    public static bool LooksLikePersonalNumber(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        var digits = 0;
        foreach (var c in code)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (c is not ('-' or '.'))
            {
                return false;
            }
        }

        var leading = code.TrimStart('-', '.');
        return digits == 13 || (digits is 10 or 11 && leading.StartsWith("01", StringComparison.Ordinal));
    }

    /// <summary>Throws when <paramref name="code"/> is not well formed.</summary>
    /// <param name="code">The code to check.</param>
    /// <param name="what">What the code names, for the message (e.g. "store").</param>
    /// <exception cref="ArgumentException">When the code is empty, too long or has other characters.</exception>
    public static string Require(string? code, string what)
    {
        if (!IsValid(code))
        {
            throw new ArgumentException(
                $"The {what} code must be {Rule}.",
                what);
        }

        return code!;
    }
}
