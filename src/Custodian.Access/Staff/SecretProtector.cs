using System.Security.Cryptography;
using Custodian.Access.Internal;

namespace Custodian.Access.Staff;

/// <summary>
/// Protects small secrets at rest (the staff TOTP seeds) with AES-256-GCM (NIST SP 800-38D) under a
/// 256-bit key kept in a file (mode 0600). Each value gets a random 96-bit nonce and is bound to
/// caller-given associated data (e.g. the account ID), so a protected value copied to another row
/// does not decrypt. Format: <c>0x01 ‖ nonce (12) ‖ tag (16) ‖ ciphertext</c>. Thread-safe.
/// </summary>
public sealed class SecretProtector
{
    /// <summary>Key length in bytes (AES-256).</summary>
    public const int KeySize = 32;

    private const byte FormatVersion = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int HeaderSize = 1 + NonceSize + TagSize;

    private readonly byte[] _key;

    /// <summary>Creates a protector over <paramref name="key"/> (copied).</summary>
    /// <param name="key">32 bytes.</param>
    /// <exception cref="ArgumentException">When the key is not 32 bytes.</exception>
    public SecretProtector(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"The key must be {KeySize} bytes.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>
    /// Loads the key from <paramref name="keyFile"/> (one line of base64), or creates a random one there
    /// (mode 0600, directory created if missing). Safe against two processes creating it at once.
    /// </summary>
    /// <param name="keyFile">Path of the key file.</param>
    /// <exception cref="InvalidOperationException">When the file does not hold a base64 256-bit key.</exception>
    public static SecretProtector LoadOrCreate(string keyFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyFile);
        if (!File.Exists(keyFile))
        {
            var fresh = RandomNumberGenerator.GetBytes(KeySize);
            try
            {
                if (SecureFiles.WriteAtomic(keyFile, Convert.ToBase64String(fresh) + "\n", secret: true, overwrite: false))
                {
                    return new SecretProtector(fresh);
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(fresh);
            }
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(File.ReadAllText(keyFile).Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException("The secrets key file must hold one line of base64.");
        }

        try
        {
            if (key.Length != KeySize)
            {
                throw new InvalidOperationException($"The secrets key file must hold a {KeySize * 8}-bit key.");
            }

            return new SecretProtector(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// Derives a purpose-specific 256-bit key from this protector's key with HKDF-SHA256 (RFC 5869, empty salt, info
    /// <c>"Custodian access-secrets subkey v1|" + purpose</c>). Deterministic: every node of a deployment holds the same
    /// access-secret key file (docs/events.md, "Several API nodes"), so each derives the same subkey; keys derived for two
    /// purposes are independent, and neither reveals this protector's key. Used for the HMAC of one-time codes stored in
    /// the database (<c>Custodian.Messaging.OneTimeCodes</c>, purpose <c>one-time-codes</c>) and of account IDs that name
    /// no account in <c>staff_unknown_failures</c> (<see cref="StaffDirectory.UnknownIdKeyPurpose"/>, <c>staff-unknown-ids</c>).
    /// </summary>
    /// <param name="purpose">A short, stable label naming what the key is for, e.g. <c>one-time-codes</c>; not empty.</param>
    /// <returns>A new 32-byte array; the caller owns it.</returns>
    /// <exception cref="ArgumentException">When <paramref name="purpose"/> is null or empty.</exception>
    public byte[] DeriveKey(string purpose)
    {
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, KeySize, salt: [], info: System.Text.Encoding.UTF8.GetBytes("Custodian access-secrets subkey v1|" + purpose));
    }

    /// <summary>Encrypts and authenticates <paramref name="plaintext"/>, bound to <paramref name="associatedData"/>.</summary>
    /// <returns>The protected value, 29 bytes longer than the plaintext.</returns>
    public byte[] Protect(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var output = new byte[HeaderSize + plaintext.Length];
        output[0] = FormatVersion;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(HeaderSize), output.AsSpan(1 + NonceSize, TagSize), associatedData);
        return output;
    }

    /// <summary>Decrypts a value made by <see cref="Protect"/> with the same key and associated data.</summary>
    /// <returns>The plaintext; the caller should zero it after use.</returns>
    /// <exception cref="CryptographicException">When the value is malformed, was altered, or was made with another key or associated data.</exception>
    public byte[] Unprotect(ReadOnlySpan<byte> protectedData, ReadOnlySpan<byte> associatedData)
    {
        if (protectedData.Length < HeaderSize || protectedData[0] != FormatVersion)
        {
            throw new CryptographicException("The protected value is malformed or of an unknown format version.");
        }

        var plaintext = new byte[protectedData.Length - HeaderSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(protectedData.Slice(1, NonceSize), protectedData[HeaderSize..], protectedData.Slice(1 + NonceSize, TagSize), plaintext, associatedData);
        return plaintext;
    }
}
