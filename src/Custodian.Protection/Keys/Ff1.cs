using Org.BouncyCastle.Crypto.Fpe;
using Org.BouncyCastle.Crypto.Parameters;

namespace Custodian.Protection.Keys;

/// <summary>
/// FF1 format-preserving encryption (NIST SP 800-38G Rev.1 §5.1, AES as the block cipher) through
/// Bouncy Castle's <see cref="FpeFf1Engine"/>; this class only checks the domain and maps characters to
/// numerals. Domain (SP 800-38G Rev.1 §5.1 and §7): key 128, 192 or 256 bits; 2 ≤ radix ≤ 2^16;
/// every character in the alphabet; length ≥ 2 and radix^length ≥ 1,000,000; length ≤ 2^32.
/// Thread-safe (a new engine per call).
/// </summary>
internal static class Ff1
{
    /// <summary>Smallest domain size radix^length SP 800-38G Rev.1 allows.</summary>
    public const int MinimumDomain = 1_000_000;

    /// <summary>Decimal digits, the alphabet of RRN and phone tokens.</summary>
    public const string Decimal = "0123456789";

    /// <summary>Enciphers <paramref name="input"/> (FF1.Encrypt).</summary>
    /// <exception cref="ArgumentException">When the key, alphabet or input is outside the domain above (the message never echoes the input).</exception>
    public static string Encrypt(ReadOnlySpan<byte> key, string alphabet, ReadOnlySpan<byte> tweak, string input) => Process(true, key, alphabet, tweak, input);

    /// <summary>Deciphers <paramref name="input"/> (FF1.Decrypt).</summary>
    /// <exception cref="ArgumentException">As <see cref="Encrypt"/>.</exception>
    public static string Decrypt(ReadOnlySpan<byte> key, string alphabet, ReadOnlySpan<byte> tweak, string input) => Process(false, key, alphabet, tweak, input);

    private static string Process(bool encrypt, ReadOnlySpan<byte> key, string alphabet, ReadOnlySpan<byte> tweak, string input)
    {
        ArgumentNullException.ThrowIfNull(alphabet);
        ArgumentNullException.ThrowIfNull(input);
        if (key.Length is not (16 or 24 or 32))
        {
            throw new ArgumentException("The FF1 key must be an AES key of 128, 192 or 256 bits.", nameof(key));
        }

        var radix = alphabet.Length;
        if (radix is < 2 or > 256)
        {
            throw new ArgumentException("The FF1 alphabet must have 2-256 characters.", nameof(alphabet));
        }

        if (input.Length < 2 || !DomainLargeEnough(radix, input.Length))
        {
            throw new ArgumentException("The FF1 input is too short: SP 800-38G Rev.1 requires radix^length >= 1,000,000.", nameof(input));
        }

        var numerals = new byte[input.Length];
        for (var i = 0; i < input.Length; i++)
        {
            var value = alphabet.IndexOf(input[i], StringComparison.Ordinal);
            if (value < 0)
            {
                throw new ArgumentException("The FF1 input has a character outside the alphabet.", nameof(input));
            }

            numerals[i] = (byte)value;
        }

        var engine = new FpeFf1Engine();
        engine.Init(encrypt, new FpeParameters(new KeyParameter(key), radix, tweak.ToArray()));
        var output = new byte[numerals.Length];
        engine.ProcessBlock(numerals, 0, numerals.Length, output, 0);
        return string.Create(output.Length, (output, alphabet), static (span, state) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = state.alphabet[state.output[i]];
            }
        });
    }

    private static bool DomainLargeEnough(int radix, int length)
    {
        long size = 1;
        for (var i = 0; i < length && size < MinimumDomain; i++)
        {
            size *= radix;
        }

        return size >= MinimumDomain;
    }
}
