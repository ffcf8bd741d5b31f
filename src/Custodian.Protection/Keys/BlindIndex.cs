using System.Security.Cryptography;
using System.Text;

namespace Custodian.Protection.Keys;

/// <summary>
/// Keyed blind indexes for exact-match search without decryption: HMAC-SHA256 (RFC 2104, FIPS 198-1)
/// under the keyring's separate blind-index key over a per-field domain-separation prefix and the
/// normalized value. Without the key an index reveals nothing and cannot be brute-forced over the
/// small space of phone numbers or RRNs; with the key it only answers "is it exactly this value".
/// <para>Searches consult the current key and, during a blind-index key rotation, the pending one too (see <c>SubscriberVault</c>).</para>
/// <para>Prefixes: <c>"custodian-blind-index-v1\0phone\0"</c> and <c>"custodian-blind-index-v1\0rrn\0"</c>. Thread-safe (a small pool of HMAC instances).</para>
/// </summary>
public sealed class BlindIndex
{
    /// <summary>Length of every index, in bytes (32).</summary>
    public const int Size = HMACSHA256.HashSizeInBytes;

    private static readonly byte[] PhonePrefix = "custodian-blind-index-v1\0phone\0"u8.ToArray();
    private static readonly byte[] RrnPrefix = "custodian-blind-index-v1\0rrn\0"u8.ToArray();

    private readonly ProtectionKeyring _keys;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<uint, System.Collections.Concurrent.ConcurrentBag<HMACSHA256>> _pools = new();

    /// <summary>Creates the index function over <paramref name="keys"/>.</summary>
    /// <param name="keys">The keyring holding the blind-index key.</param>
    public BlindIndex(ProtectionKeyring keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys;
    }

    /// <summary>The index of a phone number in E.164 form (<c>+</c> and 8–15 digits, e.g. <c>+821012345678</c>).</summary>
    /// <param name="e164">The normalized number, as returned by <c>PhoneNumbers.NormalizeKorean</c>.</param>
    /// <returns>32 bytes.</returns>
    /// <exception cref="ArgumentException">When the value is not in E.164 form (the message does not echo it).</exception>
    public byte[] ForPhone(string e164) => ForPhone(e164, _keys.CurrentIndexKey);

    /// <summary>The index of a resident registration number as 13 digits without hyphen.</summary>
    /// <param name="digits">The normalized RRN, as returned by <c>ResidentRegistrationNumbers.Normalize</c>.</param>
    /// <returns>32 bytes.</returns>
    /// <exception cref="ArgumentException">When the value is not 13 ASCII digits (the message does not echo it).</exception>
    public byte[] ForRrn(string digits) => ForRrn(digits, _keys.CurrentIndexKey);

    /// <summary>The phone index under a given index key (current or pending).</summary>
    internal byte[] ForPhone(string e164, IndexKey key)
    {
        ArgumentNullException.ThrowIfNull(e164);
        if (e164.Length is < 9 or > 16 || e164[0] != '+' || !IsAsciiDigits(e164.AsSpan(1)))
        {
            throw new ArgumentException("The phone number must be in E.164 form ('+' and 8-15 digits).", nameof(e164));
        }

        return Compute(PhonePrefix, e164, key);
    }

    /// <summary>The RRN index under a given index key (current or pending).</summary>
    internal byte[] ForRrn(string digits, IndexKey key)
    {
        ArgumentNullException.ThrowIfNull(digits);
        if (digits.Length != 13 || !IsAsciiDigits(digits))
        {
            throw new ArgumentException("The resident registration number must be 13 digits without hyphen.", nameof(digits));
        }

        return Compute(RrnPrefix, digits, key);
    }

    private byte[] Compute(byte[] prefix, string value, IndexKey key)
    {
        var pool = _pools.GetOrAdd(key.Id, static _ => []);
        Span<byte> message = stackalloc byte[64];
        prefix.CopyTo(message);
        var length = prefix.Length + Encoding.ASCII.GetBytes(value, message[prefix.Length..]);
        var result = new byte[Size];
        var hmac = pool.TryTake(out var pooled) ? pooled : new HMACSHA256(key.Key);
        try
        {
            if (!hmac.TryComputeHash(message[..length], result, out _))
            {
                throw new CryptographicException("HMAC-SHA256 did not produce 32 bytes.");
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(message);
            if (pool.Count < Environment.ProcessorCount * 2)
            {
                pool.Add(hmac);
            }
            else
            {
                hmac.Dispose();
            }
        }

        return result;
    }

    private static bool IsAsciiDigits(ReadOnlySpan<char> value) => !value.IsEmpty && !value.ContainsAnyExceptInRange('0', '9');
}
