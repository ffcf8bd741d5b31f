using System.Globalization;

namespace Custodian.Identity;

/// <summary>
/// Internal identifier of a subscriber: a random positive 63-bit number assigned at import.
/// It is not personal data by itself, never derived from the RRN or the phone number, and is
/// what the ledger, monitor and portal work on. It is never shown to clerks (they receive
/// per-session handles instead) so that holding a session never lets anyone name a subscriber.
/// </summary>
/// <param name="Value">The identifier; always greater than zero.</param>
public readonly record struct SubscriberId(long Value)
{
    /// <summary>Creates an identifier, validating its range.</summary>
    /// <param name="value">A positive 64-bit value.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="value"/> is zero or negative.</exception>
    public static SubscriberId From(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
        return new SubscriberId(value);
    }

    /// <summary>Creates a fresh random identifier in [1, 2^63 − 1].</summary>
    public static SubscriberId NewRandom()
    {
        Span<byte> buffer = stackalloc byte[8];
        while (true)
        {
            System.Security.Cryptography.RandomNumberGenerator.Fill(buffer);
            var value = BitConverter.ToInt64(buffer) & long.MaxValue;
            if (value != 0)
            {
                return new SubscriberId(value);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}
