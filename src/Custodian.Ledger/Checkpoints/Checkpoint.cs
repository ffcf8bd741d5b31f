using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Custodian.Problems;

namespace Custodian.Ledger.Checkpoints;

/// <summary>
/// A checkpoint body (C2SP tlog-checkpoint): the origin line, the tree size in ASCII decimal without
/// leading zeros, the RFC 9162 root hash in standard base64, then optional non-empty extension lines;
/// every line ends in a newline. Custodian's logs write no extension lines. Immutable.
/// </summary>
public sealed class Checkpoint
{
    private readonly byte[] _root;

    /// <summary>Creates a checkpoint body.</summary>
    /// <param name="origin">The log's origin, a schema-less URL-like identity (non-empty, no control characters; by Custodian's convention also a valid key name, equal to the log key's name).</param>
    /// <param name="size">The tree size, ≥ 0.</param>
    /// <param name="root">The 32-byte root hash MTH of the first <paramref name="size"/> leaves; for size 0 the root of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1).</param>
    /// <param name="extensions">Extension lines (non-empty, no newline), usually none.</param>
    /// <exception cref="ArgumentException">When a value breaks the format, or the size is 0 and the root is not the empty tree's.</exception>
    public Checkpoint(string origin, long size, ReadOnlySpan<byte> root, IReadOnlyList<string>? extensions = null)
    {
        if (string.IsNullOrEmpty(origin) || origin.Any(char.IsControl))
        {
            throw new ArgumentException("The origin must be non-empty without control characters.", nameof(origin));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (root.Length != MerkleTree.HashSize)
        {
            throw new ArgumentException("The root hash must be 32 bytes.", nameof(root));
        }

        if (!IsPossibleRoot(size, root))
        {
            throw new ArgumentException(EmptyTreeRule, nameof(root));
        }

        extensions ??= [];
        if (extensions.Any(e => string.IsNullOrEmpty(e) || e.Any(char.IsControl)))
        {
            throw new ArgumentException("Extension lines must be non-empty without control characters.", nameof(extensions));
        }

        Origin = origin;
        Size = size;
        _root = root.ToArray();
        Extensions = extensions.ToArray();
    }

    /// <summary>The origin line (without newline).</summary>
    public string Origin { get; }

    /// <summary>The tree size.</summary>
    public long Size { get; }

    /// <summary>The 32-byte root hash (a copy).</summary>
    public byte[] Root => (byte[])_root.Clone();

    /// <summary>Extension lines, usually empty.</summary>
    public IReadOnlyList<string> Extensions { get; }

    /// <summary>The body text: origin, size, base64 root and extension lines, each ending in a newline.</summary>
    public string Body
    {
        get
        {
            var builder = new StringBuilder()
                .Append(Origin).Append('\n')
                .Append(Size.ToString(CultureInfo.InvariantCulture)).Append('\n')
                .Append(Convert.ToBase64String(_root)).Append('\n');
            foreach (var e in Extensions)
            {
                builder.Append(e).Append('\n');
            }

            return builder.ToString();
        }
    }

    /// <summary>Parses a checkpoint body strictly.</summary>
    /// <param name="body">The note text: at least three lines, each ending in a newline.</param>
    /// <returns>The checkpoint, or a <see cref="CheckpointErrors.CheckpointMalformed"/> error naming the line and rule (never the value).</returns>
    public static Result<Checkpoint> Parse(string? body)
    {
        if (string.IsNullOrEmpty(body) || body[^1] != '\n')
        {
            return Malformed("it must end with a newline");
        }

        var lines = body[..^1].Split('\n');
        if (lines.Length < 3)
        {
            return Malformed("it must have an origin line, a size line and a root hash line");
        }

        if (lines[0].Length == 0 || lines[0].Any(char.IsControl))
        {
            return Malformed("the origin line must be non-empty without control characters");
        }

        var sizeText = lines[1];
        if (sizeText.Length == 0 || sizeText.Length > 19 || !sizeText.All(char.IsAsciiDigit) || (sizeText.Length > 1 && sizeText[0] == '0')
            || !long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            return Malformed("the size line must be a decimal number from 0 to 2^63-1 without sign or leading zeros");
        }

        if (!StrictBase64.TryDecode(lines[2], out var root) || root.Length != MerkleTree.HashSize)
        {
            return Malformed("the root hash line must be the canonical base64 of 32 bytes");
        }

        if (!IsPossibleRoot(size, root))
        {
            return Malformed(EmptyTreeRule);
        }

        var extensions = lines[3..];
        if (extensions.Any(e => e.Length == 0 || e.Any(char.IsControl)))
        {
            return Malformed("extension lines must be non-empty");
        }

        return new Checkpoint(lines[0], size, root, extensions);
    }

    private const string EmptyTreeRule = "a checkpoint of size 0 must have the root of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1)";

    /// <summary>
    /// False when <paramref name="size"/> is 0 and <paramref name="root"/> is not <see cref="MerkleTree.EmptyRoot"/>: no tree of
    /// size 0 has another root, so a signature over such a body vouches for nothing and a verifier must not accept it as
    /// a prefix of every ledger.
    /// </summary>
    private static bool IsPossibleRoot(long size, ReadOnlySpan<byte> root) =>
        size != 0 || root.SequenceEqual(MerkleTree.EmptyRoot);

    internal static CustodianError Malformed(string rule) => CheckpointErrors.Error(CheckpointErrors.CheckpointMalformed, "The checkpoint is malformed: " + rule + ".");
}

/// <summary>
/// cosignature/v1 (C2SP tlog-cosignature, Ed25519): a witness's statement that, as of a time, the
/// consistent tree head with the largest size it has observed for the checkpoint's origin has that
/// root. The signed message is <c>cosignature/v1\ntime &lt;POSIX seconds&gt;\n</c> followed by the whole
/// checkpoint body; the note signature is the 8-byte big-endian timestamp followed by the 64-byte
/// Ed25519 signature; the key ID uses algorithm byte 0x04.
/// </summary>
public static class CosignatureV1
{
    /// <summary>The header line of the signed message (domain separation).</summary>
    public const string Header = "cosignature/v1";

    /// <summary>The message a witness signs for <paramref name="checkpointBody"/> at <paramref name="timestamp"/>.</summary>
    /// <param name="timestamp">POSIX seconds, 0 … 2^63−1.</param>
    /// <param name="checkpointBody">The checkpoint note text (ending in a newline).</param>
    /// <returns>The UTF-8 bytes to sign.</returns>
    public static byte[] Message(long timestamp, string checkpointBody)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(timestamp);
        return Encoding.UTF8.GetBytes($"{Header}\ntime {timestamp.ToString(CultureInfo.InvariantCulture)}\n{checkpointBody}");
    }

    /// <summary>Cosigns <paramref name="checkpointBody"/>.</summary>
    /// <param name="key">The witness key; its algorithm must be <see cref="NoteAlgorithms.CosignatureV1"/>.</param>
    /// <param name="checkpointBody">The checkpoint note text.</param>
    /// <param name="timestamp">POSIX seconds of the signing time.</param>
    /// <returns>The signature line's content.</returns>
    /// <exception cref="ArgumentException">When the key is not a cosigner key.</exception>
    public static NoteSignature Sign(NoteSigningKey key, string checkpointBody, long timestamp)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Verifier.Algorithm != NoteAlgorithms.CosignatureV1)
        {
            throw new ArgumentException("A cosignature is made with a cosignature/v1 (0x04) key.", nameof(key));
        }

        var signature = new byte[8 + 64];
        BinaryPrimitives.WriteInt64BigEndian(signature, timestamp);
        key.SignRaw(Message(timestamp, checkpointBody)).CopyTo(signature, 8);
        return new NoteSignature(key.KeyName, key.KeyId, signature);
    }

    /// <summary>Verifies one cosignature line against a witness key and a checkpoint body.</summary>
    /// <param name="key">The witness's verifier key (algorithm 0x04).</param>
    /// <param name="signature">The signature line (name and key ID must be the key's).</param>
    /// <param name="checkpointBody">The checkpoint note text.</param>
    /// <returns>The cosignature's timestamp (POSIX seconds), or <see cref="CheckpointErrors.CosignatureInvalid"/>.</returns>
    public static Result<long> Verify(NoteVerifierKey key, NoteSignature signature, string checkpointBody)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(signature);
        if (key.Algorithm != NoteAlgorithms.CosignatureV1 || signature.KeyId != key.KeyId || !string.Equals(signature.KeyName, key.KeyName, StringComparison.Ordinal))
        {
            return Invalid($"the signature is not by cosigner key '{key.KeyName}'");
        }

        if (signature.Signature.Length != 8 + 64)
        {
            return Invalid("a cosignature/v1 is an 8-byte timestamp and a 64-byte Ed25519 signature");
        }

        var timestamp = BinaryPrimitives.ReadInt64BigEndian(signature.Signature);
        if (timestamp < 0)
        {
            return Invalid("the timestamp exceeds 2^63-1");
        }

        return key.VerifyRaw(Message(timestamp, checkpointBody), signature.Signature.AsSpan(8))
            ? timestamp
            : Invalid($"the signature of cosigner '{key.KeyName}' does not verify over this checkpoint");
    }

    /// <summary>Verifies the cosignature of <paramref name="key"/> in <paramref name="note"/>.</summary>
    /// <param name="note">A checkpoint note.</param>
    /// <param name="key">The witness key.</param>
    /// <returns>The timestamp; <see cref="CheckpointErrors.SignatureMissing"/> when the note has no line of that key; <see cref="CheckpointErrors.CosignatureInvalid"/> when it does not verify.</returns>
    public static Result<long> Verify(SignedNote note, NoteVerifierKey key)
    {
        ArgumentNullException.ThrowIfNull(note);
        ArgumentNullException.ThrowIfNull(key);
        var line = note.Find(key);
        return line is null
            ? CheckpointErrors.Error(CheckpointErrors.SignatureMissing, $"The checkpoint carries no cosignature of witness '{key.KeyName}'.")
            : Verify(key, line, note.Text);
    }

    private static CustodianError Invalid(string rule) => CheckpointErrors.Error(CheckpointErrors.CosignatureInvalid, "The cosignature is invalid: " + rule + ".");
}
