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

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

    /// <summary>Returns whether <paramref name="code"/> is a well-formed code.</summary>
    public static bool IsValid(string? code) =>
        !string.IsNullOrEmpty(code)
        && code.Length <= MaxLength
        && char.IsAsciiLetterOrDigit(code[0])
        && !code.AsSpan().ContainsAnyExcept(Allowed);

    /// <summary>Throws when <paramref name="code"/> is not well formed.</summary>
    /// <param name="code">The code to check.</param>
    /// <param name="what">What the code names, for the message (e.g. "store").</param>
    /// <exception cref="ArgumentException">When the code is empty, too long or has other characters.</exception>
    public static string Require(string? code, string what)
    {
        if (!IsValid(code))
        {
            throw new ArgumentException(
                $"The {what} code must be 1-{MaxLength} characters of letters, digits, '-', '_' or '.', starting with a letter or digit.",
                what);
        }

        return code!;
    }
}
