using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Custodian.Problems;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Custodian.Ledger.Checkpoints;

/// <summary>Signature types (the algorithm byte) of C2SP signed-note keys.</summary>
public static class NoteAlgorithms
{
    /// <summary>Ed25519 over the note text (C2SP signed-note, "Signature types": 0x01).</summary>
    public const byte Ed25519 = 0x01;

    /// <summary>Ed25519 cosignature/v1 over <c>cosignature/v1\ntime T\n</c> + checkpoint body (C2SP tlog-cosignature: 0x04).</summary>
    public const byte CosignatureV1 = 0x04;

    internal static bool IsSupported(byte algorithm) => algorithm is Ed25519 or CosignatureV1;
}

/// <summary>
/// A public key that verifies note signatures (C2SP signed-note "verifier keys"), written as
/// <c>&lt;name&gt;+&lt;8 hex digits key ID&gt;+&lt;base64(algorithm byte ‖ 32-byte Ed25519 public key)&gt;</c>,
/// e.g. <c>PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW</c>. The key ID is the
/// first 4 bytes (big-endian) of <c>SHA-256(name ‖ 0x0A ‖ algorithm ‖ public key)</c>. Immutable and thread-safe.
/// </summary>
public sealed class NoteVerifierKey
{
    private readonly byte[] _publicKey;

    internal NoteVerifierKey(string name, byte algorithm, byte[] publicKey)
    {
        KeyName = name;
        Algorithm = algorithm;
        _publicKey = publicKey;
        KeyId = NoteKeyIds.Compute(name, algorithm, publicKey);
    }

    /// <summary>The key name (non-empty; no whitespace, no '+').</summary>
    public string KeyName { get; }

    /// <summary>The 32-bit key ID.</summary>
    public uint KeyId { get; }

    /// <summary>The signature type: <see cref="NoteAlgorithms.Ed25519"/> or <see cref="NoteAlgorithms.CosignatureV1"/>.</summary>
    public byte Algorithm { get; }

    /// <summary>The 32-byte Ed25519 public key (a copy).</summary>
    public byte[] PublicKey => (byte[])_publicKey.Clone();

    /// <summary>
    /// Parses a verifier key string strictly: three '+'-separated parts, a valid name, exactly 8 hex
    /// digits, canonical standard base64 of a supported algorithm byte and a 32-byte key, and a key ID
    /// equal to the one computed from them.
    /// </summary>
    /// <param name="text">The verifier key string.</param>
    /// <returns>The key, or a <see cref="CheckpointErrors.KeyInvalid"/> error naming the rule broken (never echoing the value).</returns>
    public static Result<NoteVerifierKey> Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return Invalid("it is empty");
        }

        var parts = text.Split('+', 3); // the base64 key may itself contain '+'
        if (parts.Length != 3)
        {
            return Invalid("it must be <name>+<key ID>+<key>, three parts separated by '+'");
        }

        if (!NoteKeyIds.IsValidName(parts[0]))
        {
            return Invalid("the name must be non-empty without spaces or '+'");
        }

        if (parts[1].Length != 8 || !uint.TryParse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id))
        {
            return Invalid("the key ID must be 8 hexadecimal digits");
        }

        if (!StrictBase64.TryDecode(parts[2], out var key) || key.Length != 33 || !NoteAlgorithms.IsSupported(key[0]))
        {
            return Invalid("the key must be base64 of an algorithm byte (0x01 Ed25519 or 0x04 cosignature/v1) and a 32-byte Ed25519 public key");
        }

        var verifier = new NoteVerifierKey(parts[0], key[0], key[1..]);
        return verifier.KeyId == id ? verifier : Invalid("the key ID does not match the name and key");
    }

    /// <summary>Verifies a raw Ed25519 signature (RFC 8032 §5.1.7) over <paramref name="message"/>.</summary>
    /// <param name="message">The signed bytes.</param>
    /// <param name="signature">The 64-byte signature.</param>
    /// <returns>True when valid; false otherwise (including a wrong length or a public key that is not a curve point).</returns>
    public bool VerifyRaw(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 64)
        {
            return false;
        }

        try
        {
            var verifier = new Ed25519Signer();
            verifier.Init(false, new Ed25519PublicKeyParameters(_publicKey));
            verifier.BlockUpdate(message);
            return verifier.VerifySignature(signature.ToArray());
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The verifier key string.</summary>
    public override string ToString()
    {
        var key = new byte[33];
        key[0] = Algorithm;
        _publicKey.CopyTo(key, 1);
        return $"{KeyName}+{KeyId:x8}+{Convert.ToBase64String(key)}";
    }

    private static CustodianError Invalid(string rule) => CheckpointErrors.Error(CheckpointErrors.KeyInvalid, "The verifier key is invalid: " + rule + ".");
}

/// <summary>
/// A private Ed25519 key that signs notes (log checkpoints with <see cref="NoteAlgorithms.Ed25519"/>,
/// witness cosignatures with <see cref="NoteAlgorithms.CosignatureV1"/>). Stored as the
/// golang.org/x/mod/sumdb/note signer-key string
/// <c>PRIVATE+KEY+&lt;name&gt;+&lt;hex key ID&gt;+&lt;base64(algorithm ‖ 32-byte seed)&gt;</c>. Thread-safe.
/// </summary>
public sealed class NoteSigningKey
{
    private const string Prefix = "PRIVATE+KEY+";
    private readonly byte[] _seed;
    private readonly Ed25519PrivateKeyParameters _key;

    private NoteSigningKey(string name, byte algorithm, byte[] seed)
    {
        _seed = seed;
        _key = new Ed25519PrivateKeyParameters(seed);
        Verifier = new NoteVerifierKey(name, algorithm, _key.GeneratePublicKey().GetEncoded());
    }

    /// <summary>The matching verifier key (name, key ID, algorithm, public key).</summary>
    public NoteVerifierKey Verifier { get; }

    /// <summary>The key name.</summary>
    public string KeyName => Verifier.KeyName;

    /// <summary>The key ID.</summary>
    public uint KeyId => Verifier.KeyId;

    /// <summary>Creates a fresh key from 32 random bytes (<see cref="RandomNumberGenerator"/>).</summary>
    /// <param name="name">The key name: non-empty, no whitespace, no '+'.</param>
    /// <param name="algorithm"><see cref="NoteAlgorithms.Ed25519"/> for a log, <see cref="NoteAlgorithms.CosignatureV1"/> for a witness.</param>
    /// <returns>The new key.</returns>
    /// <exception cref="ArgumentException">When the name is invalid or the algorithm unsupported.</exception>
    public static NoteSigningKey Generate(string name, byte algorithm)
    {
        if (!NoteKeyIds.IsValidName(name))
        {
            throw new ArgumentException("A key name must be non-empty without spaces or '+'.", nameof(name));
        }

        if (!NoteAlgorithms.IsSupported(algorithm))
        {
            throw new ArgumentException("Only Ed25519 (0x01) and cosignature/v1 (0x04) keys are supported.", nameof(algorithm));
        }

        return new NoteSigningKey(name, algorithm, RandomNumberGenerator.GetBytes(32));
    }

    /// <summary>Parses a signer key string (<c>PRIVATE+KEY+name+id+key</c>), checking the key ID.</summary>
    /// <param name="text">The signer key string.</param>
    /// <returns>The key, or a <see cref="CheckpointErrors.KeyInvalid"/> error (the message never contains key material).</returns>
    public static Result<NoteSigningKey> Parse(string? text)
    {
        var trimmed = text?.TrimEnd('\n', '\r');
        if (trimmed is null || !trimmed.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return Invalid();
        }

        var parts = trimmed[Prefix.Length..].Split('+', 3);
        if (parts.Length != 3 || !NoteKeyIds.IsValidName(parts[0]) || parts[1].Length != 8
            || !uint.TryParse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id)
            || !StrictBase64.TryDecode(parts[2], out var key) || key.Length != 33 || !NoteAlgorithms.IsSupported(key[0]))
        {
            return Invalid();
        }

        var signer = new NoteSigningKey(parts[0], key[0], key[1..]);
        return signer.KeyId == id ? signer : Invalid();
    }

    /// <summary>The signer key string, for the key file. Secret: write it only to an owner-only file.</summary>
    public string ToPrivateKeyString()
    {
        var key = new byte[33];
        key[0] = Verifier.Algorithm;
        _seed.CopyTo(key, 1);
        return $"{Prefix}{KeyName}+{KeyId:x8}+{Convert.ToBase64String(key)}";
    }

    /// <summary>Signs <paramref name="message"/> with Ed25519 (RFC 8032 §5.1.6, deterministic).</summary>
    /// <param name="message">The bytes to sign.</param>
    /// <returns>The 64-byte signature.</returns>
    public byte[] SignRaw(ReadOnlySpan<byte> message)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _key);
        signer.BlockUpdate(message);
        return signer.GenerateSignature();
    }

    private static CustodianError Invalid() =>
        CheckpointErrors.Error(CheckpointErrors.KeyInvalid, "The signer key is invalid: it must be PRIVATE+KEY+<name>+<key ID>+<base64 of an algorithm byte and a 32-byte seed> with a matching key ID.");
}

/// <summary>Key IDs and key names of C2SP signed-note.</summary>
public static class NoteKeyIds
{
    /// <summary>The key ID: the first 4 bytes, big-endian, of <c>SHA-256(name ‖ 0x0A ‖ algorithm ‖ public key)</c> (C2SP signed-note; tlog-cosignature for 0x04).</summary>
    /// <param name="name">The key name.</param>
    /// <param name="algorithm">The signature type byte.</param>
    /// <param name="publicKey">The public key bytes.</param>
    /// <returns>The 32-bit key ID.</returns>
    public static uint Compute(string name, byte algorithm, ReadOnlySpan<byte> publicKey)
    {
        ArgumentNullException.ThrowIfNull(name);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[nameBytes.Length + 2 + publicKey.Length];
        nameBytes.CopyTo(input, 0);
        input[nameBytes.Length] = 0x0A;
        input[nameBytes.Length + 1] = algorithm;
        publicKey.CopyTo(input.AsSpan(nameBytes.Length + 2));
        return BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(input));
    }

    /// <summary>Whether <paramref name="name"/> is a valid key name: non-empty, no Unicode white space, no '+' (C2SP signed-note).</summary>
    /// <param name="name">The candidate name.</param>
    /// <returns>True when valid.</returns>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && !name.Any(char.IsWhiteSpace) && !name.Contains('+', StringComparison.Ordinal) && !name.Any(char.IsControl) && !HasLoneSurrogate(name);

    private static bool HasLoneSurrogate(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Standard base64 (RFC 4648 §4, with padding) decoded strictly: only the canonical encoding of the bytes is accepted.</summary>
public static class StrictBase64
{
    /// <summary>Decodes <paramref name="text"/> when it is exactly the canonical base64 of some bytes (no whitespace, correct padding, zero trailing bits).</summary>
    /// <param name="text">The candidate base64 text.</param>
    /// <param name="bytes">The decoded bytes, or empty on failure.</param>
    /// <returns>True when decoded.</returns>
    public static bool TryDecode(string? text, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(text) || text.Length % 4 != 0)
        {
            return false;
        }

        var buffer = new byte[text.Length / 4 * 3];
        if (!Convert.TryFromBase64String(text, buffer, out var written))
        {
            return false;
        }

        var decoded = buffer[..written];
        if (!string.Equals(Convert.ToBase64String(decoded), text, StringComparison.Ordinal))
        {
            return false;
        }

        bytes = decoded;
        return true;
    }
}
