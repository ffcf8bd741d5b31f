using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Custodian.Access.Staff;

/// <summary>
/// Password hashing with PBKDF2-HMAC-SHA256 (RFC 8018 §5.2; NIST SP 800-132), a 16-byte random salt
/// and a 32-byte output, encoded <c>pbkdf2-sha256$&lt;iterations&gt;$&lt;salt b64&gt;$&lt;hash b64&gt;</c>.
/// Passwords are NFKC-normalized and UTF-8 encoded first (NIST SP 800-63B §5.1.1.2).
/// </summary>
internal static class PasswordHasher
{
    public const string Scheme = "pbkdf2-sha256";
    private const int SaltSize = 16;
    private const int HashSize = 32;
    private const int MaxIterations = 10_000_000;

    /// <summary>Hashes <paramref name="password"/>.</summary>
    /// <exception cref="ArgumentException">When the password is not valid Unicode.</exception>
    public static string Hash(string password, int iterations)
    {
        var bytes = Encode(password) ?? throw new ArgumentException("The password is not valid Unicode.", nameof(password));
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        try
        {
            var hash = Rfc2898DeriveBytes.Pbkdf2(bytes, salt, iterations, HashAlgorithmName.SHA256, HashSize);
            return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Verifies <paramref name="password"/> against <paramref name="encoded"/> in constant time.</summary>
    /// <param name="password">The candidate.</param>
    /// <param name="encoded">A value from <see cref="Hash"/>.</param>
    /// <param name="iterations">The iterations the hash was made with (0 when malformed), to decide on re-hashing.</param>
    public static bool Verify(string password, string encoded, out int iterations)
    {
        iterations = 0;
        var parts = encoded.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || count < 1 || count > MaxIterations)
        {
            return false;
        }

        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }

        if (salt.Length != SaltSize || expected.Length != HashSize)
        {
            return false;
        }

        iterations = count;
        var bytes = Encode(password);
        var actual = Rfc2898DeriveBytes.Pbkdf2(bytes ?? [], salt, count, HashAlgorithmName.SHA256, HashSize);
        try
        {
            return CryptographicOperations.FixedTimeEquals(actual, expected) && bytes is not null;
        }
        finally
        {
            if (bytes is not null)
            {
                CryptographicOperations.ZeroMemory(bytes);
            }
        }
    }

    /// <summary>NFKC then UTF-8; null when the string is not valid Unicode (lone surrogates).</summary>
    internal static byte[]? Encode(string password)
    {
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetBytes(password.Normalize(NormalizationForm.FormKC));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
