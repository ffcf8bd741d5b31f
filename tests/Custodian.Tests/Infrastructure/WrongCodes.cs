using System.Globalization;

namespace Custodian.Tests.Infrastructure;

/// <summary>Six-digit one-time codes that are certainly wrong, for tests of failed checks (consent and portal sign-in codes).</summary>
internal static class WrongCodes
{
    /// <summary>A six-digit code of one repeated digit that is none of <paramref name="codes"/>.</summary>
    /// <param name="codes">The codes it must differ from (at most nine, so one repeated digit is always free).</param>
    /// <returns>E.g. <c>000000</c>, or <c>111111</c> when <c>000000</c> is among <paramref name="codes"/>.</returns>
    public static string NoneOf(params string[] codes) =>
        Enumerable.Range(0, 10).Select(d => new string((char)('0' + d), 6)).First(c => !codes.Contains(c));

    /// <summary>The six-digit code after <paramref name="code"/> (<c>999999</c> wraps to <c>000000</c>): never equal to it.</summary>
    /// <param name="code">A six-digit code.</param>
    /// <returns>The next code, six digits with leading zeros.</returns>
    public static string Next(string code) =>
        ((int.Parse(code, CultureInfo.InvariantCulture) + 1) % 1_000_000).ToString("000000", CultureInfo.InvariantCulture);
}
