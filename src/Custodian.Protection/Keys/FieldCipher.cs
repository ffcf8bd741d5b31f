using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Custodian.Identity;

namespace Custodian.Protection.Keys;

/// <summary>
/// Per-field authenticated encryption of personal data with AES-256-GCM (NIST SP 800-38D).
/// <para>
/// Ciphertext layout (format 1), <see cref="Overhead"/> = 33 bytes longer than the plaintext:
/// <c>format version (1 byte, 0x01) ‖ data key id (4 bytes, big-endian) ‖ nonce (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)</c>.
/// The associated data is <c>version ‖ key id ‖ subscriber id (8 bytes, big-endian) ‖ field name (UTF-8)</c>, so a
/// ciphertext copied into another subscriber's row or into another field of the same row fails to
/// decrypt. Random 96-bit nonces keep the SP 800-38D §8.3 limit of 2^32 encryptions per key far
/// above the 4 × 17 million fields a carrier holds.
/// </para>
/// <para>Thread-safe. Encrypting uses the keyring's current data key; decrypting uses the key named in the ciphertext.</para>
/// </summary>
public sealed class FieldCipher
{
    /// <summary>The format version byte of ciphertexts this class writes.</summary>
    public const byte FormatVersion = 1;

    /// <summary>Length of the AES-GCM nonce, in bytes.</summary>
    public const int NonceSize = 12;

    /// <summary>Length of the AES-GCM authentication tag, in bytes.</summary>
    public const int TagSize = 16;

    /// <summary>Length of the header (version byte and key id), in bytes.</summary>
    public const int HeaderSize = 5;

    /// <summary>Bytes a ciphertext adds to its plaintext: header, nonce and tag (33).</summary>
    public const int Overhead = HeaderSize + NonceSize + TagSize;

    /// <summary>Longest accepted field name, in UTF-8 bytes.</summary>
    public const int MaxFieldNameLength = 64;

    private readonly ProtectionKeyring _keys;

    /// <summary>Creates a cipher over <paramref name="keys"/>.</summary>
    /// <param name="keys">The keyring.</param>
    public FieldCipher(ProtectionKeyring keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys;
    }

    /// <summary>The data key id a ciphertext names (bytes 1–4, big-endian), without decrypting it.</summary>
    /// <param name="ciphertext">A ciphertext in the layout above.</param>
    /// <returns>The key id.</returns>
    /// <exception cref="CryptographicException">When the ciphertext is too short or has an unknown format version.</exception>
    public static uint KeyIdOf(ReadOnlySpan<byte> ciphertext)
    {
        if (ciphertext.Length < Overhead || ciphertext[0] != FormatVersion)
        {
            throw new CryptographicException("The field ciphertext is too short or has an unsupported format version.");
        }

        return BinaryPrimitives.ReadUInt32BigEndian(ciphertext.Slice(1, 4));
    }

    /// <summary>Encrypts one field value of one subscriber under the current data key.</summary>
    /// <param name="id">The subscriber the value belongs to (bound as associated data).</param>
    /// <param name="field">The field name, 1–64 ASCII characters, e.g. <c>rrn</c> (bound as associated data).</param>
    /// <param name="plaintext">The value's bytes (UTF-8 for text).</param>
    /// <returns>A new array of <c>plaintext.Length + 33</c> bytes in the layout above.</returns>
    /// <exception cref="ArgumentException">When <paramref name="field"/> is empty, not ASCII or longer than 64 characters.</exception>
    public byte[] Encrypt(SubscriberId id, string field, ReadOnlySpan<byte> plaintext)
    {
        var key = _keys.CurrentDataKey;
        var output = new byte[plaintext.Length + Overhead];
        output[0] = FormatVersion;
        BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(1, 4), key.Id);
        var nonce = output.AsSpan(HeaderSize, NonceSize);
        NonceSource.Fill(nonce);

        Span<byte> aad = stackalloc byte[HeaderSize + 8 + MaxFieldNameLength];
        aad = AssociatedData(aad, output.AsSpan(0, HeaderSize), id, field);

        var aes = key.Rent();
        try
        {
            aes.Encrypt(
                nonce,
                plaintext,
                output.AsSpan(HeaderSize + NonceSize, plaintext.Length),
                output.AsSpan(HeaderSize + NonceSize + plaintext.Length, TagSize),
                aad);
        }
        finally
        {
            key.Return(aes);
        }

        return output;
    }

    /// <summary>Encrypts a text value (UTF-8) of one subscriber's field.</summary>
    /// <param name="id">The subscriber.</param>
    /// <param name="field">The field name.</param>
    /// <param name="plaintext">The value.</param>
    /// <returns>The ciphertext (see <see cref="Encrypt(SubscriberId, string, ReadOnlySpan{byte})"/>).</returns>
    public byte[] EncryptString(SubscriberId id, string field, string plaintext)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        var max = Encoding.UTF8.GetMaxByteCount(plaintext.Length);
        Span<byte> buffer = max <= 512 ? stackalloc byte[512] : new byte[max];
        var written = Encoding.UTF8.GetBytes(plaintext, buffer);
        try
        {
            return Encrypt(id, field, buffer[..written]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer[..written]);
        }
    }

    /// <summary>Decrypts one field value of one subscriber.</summary>
    /// <param name="id">The subscriber the value is expected to belong to.</param>
    /// <param name="field">The field name the value is expected to belong to.</param>
    /// <param name="ciphertext">A ciphertext produced by <see cref="Encrypt"/>.</param>
    /// <returns>The plaintext bytes.</returns>
    /// <exception cref="CryptographicException">
    /// When the ciphertext is too short, has an unknown format version or key id, was altered, or
    /// belongs to another subscriber or field (<see cref="AuthenticationTagMismatchException"/>).
    /// </exception>
    /// <exception cref="ArgumentException">When <paramref name="field"/> is not a valid field name.</exception>
    public byte[] Decrypt(SubscriberId id, string field, ReadOnlySpan<byte> ciphertext)
    {
        if (ciphertext.Length < Overhead)
        {
            throw new CryptographicException("The field ciphertext is too short.");
        }

        if (ciphertext[0] != FormatVersion)
        {
            throw new CryptographicException("The field ciphertext has an unsupported format version.");
        }

        var keyId = BinaryPrimitives.ReadUInt32BigEndian(ciphertext.Slice(1, 4));
        if (!_keys.TryGetDataKey(keyId, out var key))
        {
            throw new CryptographicException("The field ciphertext names a data key the keyring does not hold.");
        }

        Span<byte> aad = stackalloc byte[HeaderSize + 8 + MaxFieldNameLength];
        aad = AssociatedData(aad, ciphertext[..HeaderSize], id, field);
        var length = ciphertext.Length - Overhead;
        var plaintext = new byte[length];
        var aes = key.Rent();
        try
        {
            aes.Decrypt(
                ciphertext.Slice(HeaderSize, NonceSize),
                ciphertext.Slice(HeaderSize + NonceSize, length),
                ciphertext.Slice(HeaderSize + NonceSize + length, TagSize),
                plaintext,
                aad);
        }
        finally
        {
            key.Return(aes);
        }

        return plaintext;
    }

    /// <summary>Decrypts a text value (UTF-8).</summary>
    /// <param name="id">The subscriber.</param>
    /// <param name="field">The field name.</param>
    /// <param name="ciphertext">The ciphertext.</param>
    /// <returns>The text.</returns>
    /// <exception cref="CryptographicException">As <see cref="Decrypt"/>.</exception>
    public string DecryptString(SubscriberId id, string field, ReadOnlySpan<byte> ciphertext)
    {
        var bytes = Decrypt(id, field, ciphertext);
        try
        {
            return Encoding.UTF8.GetString(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private static Span<byte> AssociatedData(Span<byte> buffer, ReadOnlySpan<byte> header, SubscriberId id, string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (field.Length is 0 or > MaxFieldNameLength || !Ascii.IsValid(field))
        {
            throw new ArgumentException($"The field name must be 1-{MaxFieldNameLength} ASCII characters.", nameof(field));
        }

        header.CopyTo(buffer);
        BinaryPrimitives.WriteInt64BigEndian(buffer.Slice(HeaderSize, 8), id.Value);
        var written = Encoding.ASCII.GetBytes(field, buffer[(HeaderSize + 8)..]);
        return buffer[..(HeaderSize + 8 + written)];
    }
}
