using System.Buffers.Binary;
using System.Text;
using Custodian.Problems;

namespace Custodian.Ledger.Checkpoints;

/// <summary>One signature line of a signed note: <c>— &lt;name&gt; base64(key ID ‖ signature)</c>.</summary>
/// <param name="KeyName">The key name.</param>
/// <param name="KeyId">The 32-bit key ID (the first 4 bytes of the base64 payload, big-endian).</param>
/// <param name="Signature">The signature bytes after the key ID (64 bytes for Ed25519; 8 + 64 for a cosignature/v1).</param>
public sealed record NoteSignature(string KeyName, uint KeyId, byte[] Signature)
{
    /// <summary>The signature line without its final newline, starting with U+2014 EM DASH and a space.</summary>
    public string Line
    {
        get
        {
            var payload = new byte[4 + Signature.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, KeyId);
            Signature.CopyTo(payload, 4);
            return SignedNote.LinePrefix + KeyName + " " + Convert.ToBase64String(payload);
        }
    }

    /// <summary>Parses one signature line (with or without its final newline) with the rules of <see cref="SignedNote.Parse"/>.</summary>
    /// <param name="line">The line.</param>
    /// <returns>The signature, or a <see cref="CheckpointErrors.NoteMalformed"/> error.</returns>
    public static Result<NoteSignature> Parse(string? line)
    {
        if (line is null)
        {
            return SignedNote.Malformed("a signature line is missing");
        }

        var text = line.EndsWith('\n') ? line[..^1] : line;
        if (!text.StartsWith(SignedNote.LinePrefix, StringComparison.Ordinal) || text.Contains('\n', StringComparison.Ordinal))
        {
            return SignedNote.Malformed("a signature line must start with U+2014 EM DASH and a space");
        }

        var rest = text[SignedNote.LinePrefix.Length..];
        var space = rest.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0)
        {
            return SignedNote.Malformed("a signature line must be '— <name> <base64>'");
        }

        var name = rest[..space];
        if (!NoteKeyIds.IsValidName(name))
        {
            return SignedNote.Malformed("a signature line's key name must be non-empty without spaces or '+'");
        }

        if (!StrictBase64.TryDecode(rest[(space + 1)..], out var payload) || payload.Length < 5)
        {
            return SignedNote.Malformed("a signature must be canonical base64 of a 4-byte key ID and at least one signature byte");
        }

        return new NoteSignature(name, BinaryPrimitives.ReadUInt32BigEndian(payload), payload[4..]);
    }
}

/// <summary>
/// A C2SP signed note: UTF-8 text ending in a newline, a blank line, and one or more signature lines
/// <c>— &lt;name&gt; base64(key ID ‖ signature)</c>, each ending in a newline. Signatures cover the text
/// including its final newline but not the blank line. Parsing follows golang.org/x/mod/sumdb/note
/// <c>Open</c>: valid UTF-8 with no control characters but newline, the text ends at the LAST blank
/// line, at most 100 signature lines, canonical base64. Identical repeated lines are dropped.
/// Immutable and thread-safe.
/// </summary>
public sealed class SignedNote
{
    /// <summary>The prefix of a signature line: U+2014 EM DASH and one space (bytes E2 80 94 20).</summary>
    public const string LinePrefix = "\u2014 ";

    /// <summary>The most signature lines accepted (as golang.org/x/mod/sumdb/note).</summary>
    public const int MaxSignatures = 100;

    /// <summary>The largest note accepted, in UTF-8 bytes (a defensive bound; checkpoints are a few hundred bytes).</summary>
    public const int MaxBytes = 64 * 1024;

    private SignedNote(string text, IReadOnlyList<NoteSignature> signatures)
    {
        Text = text;
        Signatures = signatures;
    }

    /// <summary>The signed text, ending in a newline.</summary>
    public string Text { get; }

    /// <summary>The signature lines in order (at least one).</summary>
    public IReadOnlyList<NoteSignature> Signatures { get; }

    /// <summary>Signs <paramref name="text"/> with an Ed25519 note key (<see cref="NoteAlgorithms.Ed25519"/>).</summary>
    /// <param name="text">Non-empty text ending in a newline, without a blank line or control characters other than newline.</param>
    /// <param name="key">The signer; its algorithm must be <see cref="NoteAlgorithms.Ed25519"/>.</param>
    /// <returns>The note with one signature.</returns>
    /// <exception cref="ArgumentException">When the text cannot be a note's text or the key is a cosigner key.</exception>
    public static SignedNote Sign(string text, NoteSigningKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (CheckText(text) is { } problem)
        {
            throw new ArgumentException("The note text is invalid: " + problem + ".", nameof(text));
        }

        if (key.Verifier.Algorithm != NoteAlgorithms.Ed25519)
        {
            throw new ArgumentException("A note is signed with an Ed25519 (0x01) key; cosigner keys sign cosignatures.", nameof(key));
        }

        return new SignedNote(text, [new NoteSignature(key.KeyName, key.KeyId, key.SignRaw(Encoding.UTF8.GetBytes(text)))]);
    }

    /// <summary>Parses a signed note strictly (syntax only; see <see cref="Verify"/> for signatures).</summary>
    /// <param name="message">The whole note.</param>
    /// <returns>The note, or a <see cref="CheckpointErrors.NoteMalformed"/> error naming the rule broken.</returns>
    public static Result<SignedNote> Parse(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return Malformed("it is empty");
        }

        if (Encoding.UTF8.GetByteCount(message) > MaxBytes)
        {
            return Malformed($"it is larger than {MaxBytes} bytes");
        }

        foreach (var c in message)
        {
            if ((c < 0x20 && c != '\n') || c == '\uFFFD')
            {
                return Malformed("it may contain no control characters other than newline, and only valid UTF-8");
            }
        }

        for (var i = 0; i < message.Length; i++)
        {
            if (char.IsHighSurrogate(message[i]) && i + 1 < message.Length && char.IsLowSurrogate(message[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(message[i]))
            {
                return Malformed("it must be valid UTF-8");
            }
        }

        var split = message.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0)
        {
            return Malformed("a blank line must separate the text from the signature lines");
        }

        var text = message[..(split + 1)];
        var block = message[(split + 2)..];
        if (block.Length == 0 || block[^1] != '\n')
        {
            return Malformed("the signature lines must follow the blank line and end with a newline");
        }

        var signatures = new List<NoteSignature>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in block[..^1].Split('\n'))
        {
            var signature = NoteSignature.Parse(line);
            if (!signature.IsSuccess)
            {
                return signature.Error!;
            }

            if (seen.Count >= MaxSignatures)
            {
                return Malformed($"it has more than {MaxSignatures} signature lines");
            }

            if (seen.Add(line))
            {
                signatures.Add(signature.Value);
            }
        }

        return new SignedNote(text, signatures);
    }

    /// <summary>The note as text: the text, a blank line, one line per signature.</summary>
    public string Format()
    {
        var builder = new StringBuilder(Text).Append('\n');
        foreach (var s in Signatures)
        {
            builder.Append(s.Line).Append('\n');
        }

        return builder.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Format();

    /// <summary>
    /// Checks the signature of an Ed25519 note key (<see cref="NoteAlgorithms.Ed25519"/>): the first line
    /// with the key's name and key ID must verify over <see cref="Text"/>. Lines of other keys are ignored.
    /// </summary>
    /// <param name="key">The verifier key.</param>
    /// <returns>Success, or <see cref="CheckpointErrors.SignatureMissing"/> / <see cref="CheckpointErrors.SignatureInvalid"/>.</returns>
    public Result<NoteSignature> Verify(NoteVerifierKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Algorithm != NoteAlgorithms.Ed25519)
        {
            return CheckpointErrors.Error(CheckpointErrors.KeyInvalid, "A note signature is checked with an Ed25519 (0x01) key; use a cosignature check for cosigner keys.");
        }

        var signature = Find(key);
        if (signature is null)
        {
            return CheckpointErrors.Error(CheckpointErrors.SignatureMissing, $"The note carries no signature of key '{key.KeyName}'.");
        }

        return key.VerifyRaw(Encoding.UTF8.GetBytes(Text), signature.Signature)
            ? signature
            : CheckpointErrors.Error(CheckpointErrors.SignatureInvalid, $"The signature of key '{key.KeyName}' does not verify: the note was altered or signed by another key.");
    }

    /// <summary>The first signature line with the name and key ID of <paramref name="key"/>, or null.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The signature line, or null.</returns>
    public NoteSignature? Find(NoteVerifierKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Signatures.FirstOrDefault(s => s.KeyId == key.KeyId && string.Equals(s.KeyName, key.KeyName, StringComparison.Ordinal));
    }

    /// <summary>A copy with <paramref name="signatures"/> added after the existing lines; a line of the same name and key ID replaces the old one.</summary>
    /// <param name="signatures">The signatures to add.</param>
    /// <returns>The new note.</returns>
    public SignedNote WithSignatures(IEnumerable<NoteSignature> signatures)
    {
        var list = Signatures.ToList();
        foreach (var s in signatures)
        {
            list.RemoveAll(x => x.KeyId == s.KeyId && string.Equals(x.KeyName, s.KeyName, StringComparison.Ordinal));
            list.Add(s);
        }

        return list.Count > MaxSignatures ? throw new ArgumentException($"A note carries at most {MaxSignatures} signatures.", nameof(signatures)) : new SignedNote(Text, list);
    }

    internal static CustodianError Malformed(string rule) => CheckpointErrors.Error(CheckpointErrors.NoteMalformed, "The signed note is malformed: " + rule + ".");

    private static string? CheckText(string? text)
    {
        if (string.IsNullOrEmpty(text) || text[^1] != '\n')
        {
            return "it must be non-empty and end with a newline";
        }

        if (text.Contains("\n\n", StringComparison.Ordinal) || text[0] == '\n')
        {
            return "it may not contain a blank line";
        }

        return text.Any(c => c < 0x20 && c != '\n') ? "it may contain no control characters other than newline" : null;
    }
}
