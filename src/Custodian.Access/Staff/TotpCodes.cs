using OtpNet;

namespace Custodian.Access.Staff;

/// <summary>TOTP (RFC 6238) as used for staff: HMAC-SHA-1, 6 digits, 30-second steps from the Unix epoch, computed by Otp.NET.</summary>
internal static class TotpCodes
{
    public const int Digits = 6;
    public const int StepSeconds = 30;

    /// <summary>
    /// Finds the time step, within ±<paramref name="tolerance"/> steps of <paramref name="now"/>, whose code
    /// equals <paramref name="code"/> (6 ASCII digits; spaces ignored).
    /// </summary>
    public static bool TryMatch(byte[] secret, string? code, DateTimeOffset now, int tolerance, out long step)
    {
        step = -1;
        var digits = code?.Replace(" ", string.Empty, StringComparison.Ordinal);
        if (digits is null || digits.Length != Digits || !digits.All(char.IsAsciiDigit))
        {
            return false;
        }

        var totp = new Totp(secret, StepSeconds, OtpHashMode.Sha1, Digits);
        return totp.VerifyTotp(now.UtcDateTime, digits, out step, new VerificationWindow(previous: tolerance, future: tolerance));
    }

    /// <summary>The code for the step containing <paramref name="at"/> (for tests and tooling).</summary>
    public static string Compute(byte[] secret, DateTimeOffset at) =>
        new Totp(secret, StepSeconds, OtpHashMode.Sha1, Digits).ComputeTotp(at.UtcDateTime);

    /// <summary>The step number containing <paramref name="at"/>.</summary>
    public static long StepOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / StepSeconds;
}
