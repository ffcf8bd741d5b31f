using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Custodian.Problems;

namespace Custodian.Ledger.Checkpoints;

/// <summary>
/// A receipt for one ledger entry (docs/ledger-format.md, "Receipts"): the entry's canonical payload
/// (or, in the withheld form, only its leaf hash), its leaf index, an RFC 9162 §2.1.3 inclusion proof
/// and the signed (and normally cosigned) checkpoint whose root the proof leads to. Verifiable offline
/// with the log's and witnesses' public keys only. Immutable.
/// </summary>
/// <param name="Sequence">The entry's sequence number (leaf index), ≥ 0.</param>
/// <param name="Entry">The canonical payload (<see cref="LeafCodec"/>), or null in the withheld form.</param>
/// <param name="LeafHash">The 32-byte leaf hash <c>SHA-256(0x00 ‖ payload)</c>.</param>
/// <param name="TreeSize">The checkpoint's tree size (&gt; <paramref name="Sequence"/>).</param>
/// <param name="InclusionProof">The audit path from the leaf to the checkpoint's root, each node 32 bytes.</param>
/// <param name="Checkpoint">The checkpoint as a signed note, with its cosignatures.</param>
public sealed record LedgerReceipt(long Sequence, byte[]? Entry, byte[] LeafHash, long TreeSize, IReadOnlyList<byte[]> InclusionProof, string Checkpoint)
{
    /// <summary>The value of the <c>format</c> member.</summary>
    public const string FormatName = "custodian-receipt/v1";

    private static readonly HashSet<string> Members = new(StringComparer.Ordinal) { "format", "sequence", "entry", "leafHash", "treeSize", "inclusionProof", "checkpoint" };

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The receipt as indented UTF-8 JSON (members in the documented order) with a final newline.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("format", FormatName);
            writer.WriteNumber("sequence", Sequence);
            if (Entry is not null)
            {
                writer.WriteString("entry", Convert.ToBase64String(Entry));
            }

            writer.WriteString("leafHash", Convert.ToBase64String(LeafHash));
            writer.WriteNumber("treeSize", TreeSize);
            writer.WriteStartArray("inclusionProof");
            foreach (var node in InclusionProof)
            {
                writer.WriteStringValue(Convert.ToBase64String(node));
            }

            writer.WriteEndArray();
            writer.WriteString("checkpoint", Checkpoint);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>
    /// Whether <paramref name="json"/> is a receipt document at all — a JSON object with a <c>format</c> member equal to
    /// <see cref="FormatName"/> — whatever its other members hold. <c>custodian verify-receipt</c> uses it to tell a file
    /// that is not a receipt (exit 1, an input error) from a receipt that <see cref="Parse"/> refuses as
    /// <see cref="CheckpointErrors.ReceiptMalformed"/> (exit 3, a receipt that does not verify; docs/ledger-format.md §11).
    /// </summary>
    /// <param name="json">The document; null or anything not JSON gives false.</param>
    /// <returns>True when the document claims to be a receipt of this format.</returns>
    public static bool IsReceiptDocument(string? json)
    {
        try
        {
            using var document = JsonDocument.Parse(json ?? string.Empty, new JsonDocumentOptions { MaxDepth = 4 });
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.EnumerateObject().Any(m => m.NameEquals("format") && m.Value.ValueKind == JsonValueKind.String && m.Value.ValueEquals(FormatName));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Parses a receipt strictly: one JSON object with exactly the documented members (each once, right
    /// types), <c>format</c> = <see cref="FormatName"/>, canonical base64, 32-byte hashes.
    /// </summary>
    /// <param name="json">The document.</param>
    /// <returns>The receipt, or a <see cref="CheckpointErrors.ReceiptMalformed"/> error naming the member and rule.</returns>
    public static Result<LedgerReceipt> Parse(string? json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json ?? string.Empty, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException)
        {
            return Malformed("it is not valid JSON");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Malformed("it must be a JSON object");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var member in root.EnumerateObject())
            {
                if (!Members.Contains(member.Name) || !seen.Add(member.Name))
                {
                    return Malformed("it has an unknown or repeated member");
                }
            }

            if (!String(root, "format", out var format) || !string.Equals(format, FormatName, StringComparison.Ordinal))
            {
                return Malformed($"'format' must be \"{FormatName}\"");
            }

            if (!Integer(root, "sequence", out var sequence) || sequence < 0)
            {
                return Malformed("'sequence' must be a non-negative integer");
            }

            if (!Integer(root, "treeSize", out var treeSize) || treeSize <= sequence)
            {
                return Malformed("'treeSize' must be an integer greater than 'sequence'");
            }

            byte[]? entry = null;
            if (seen.Contains("entry") && (!String(root, "entry", out var entryText) || !StrictBase64.TryDecode(entryText, out entry)))
            {
                return Malformed("'entry' must be canonical base64");
            }

            if (!String(root, "leafHash", out var leafText) || !StrictBase64.TryDecode(leafText, out var leafHash) || leafHash.Length != MerkleTree.HashSize)
            {
                return Malformed("'leafHash' must be canonical base64 of 32 bytes");
            }

            if (!root.TryGetProperty("inclusionProof", out var proofElement) || proofElement.ValueKind != JsonValueKind.Array)
            {
                return Malformed("'inclusionProof' must be an array");
            }

            var proof = new List<byte[]>();
            foreach (var node in proofElement.EnumerateArray())
            {
                if (node.ValueKind != JsonValueKind.String || !StrictBase64.TryDecode(node.GetString(), out var hash) || hash.Length != MerkleTree.HashSize)
                {
                    return Malformed("each 'inclusionProof' node must be canonical base64 of 32 bytes");
                }

                proof.Add(hash);
            }

            if (!String(root, "checkpoint", out var checkpoint))
            {
                return Malformed("'checkpoint' must be a string");
            }

            return new LedgerReceipt(sequence, entry, leafHash, treeSize, proof, checkpoint!);
        }
    }

    /// <summary>
    /// Verifies the receipt offline: the checkpoint's log signature and cosignatures
    /// (<see cref="CheckpointVerifier.Open"/>), the tree size equal to the checkpoint's, the leaf hash
    /// recomputed from the payload (when present) and the payload decodable (<see cref="LeafCodec.Decode"/>),
    /// and the inclusion proof from the leaf to the checkpoint's root (RFC 9162 §2.1.3.2).
    /// </summary>
    /// <param name="logKey">The log's verifier key.</param>
    /// <param name="witnessKeys">Witness verifier keys.</param>
    /// <param name="minimumCosignatures">How many of <paramref name="witnessKeys"/> must have cosigned.</param>
    /// <returns>The verified checkpoint, or the first failure.</returns>
    public Result<VerifiedCheckpoint> Verify(NoteVerifierKey logKey, IReadOnlyList<NoteVerifierKey> witnessKeys, int minimumCosignatures)
    {
        var opened = CheckpointVerifier.Open(Checkpoint, logKey, witnessKeys, minimumCosignatures);
        if (!opened.IsSuccess)
        {
            return opened.Error!;
        }

        if (opened.Value.Checkpoint.Size != TreeSize)
        {
            return Malformed("'treeSize' differs from the checkpoint's size");
        }

        if (Entry is not null)
        {
            if (!CryptographicOperations.FixedTimeEquals(MerkleTree.HashLeaf(Entry), LeafHash))
            {
                return CheckpointErrors.Error(CheckpointErrors.ReceiptInvalid, "The receipt's entry does not hash to its leaf hash.");
            }

            try
            {
                LeafCodec.Decode(Entry);
            }
            catch (FormatException)
            {
                return Malformed("'entry' is not a valid ledger entry encoding");
            }
        }

        return MerkleTree.VerifyInclusion(Sequence, TreeSize, LeafHash, InclusionProof, opened.Value.Checkpoint.Root)
            ? opened.Value
            : CheckpointErrors.Error(CheckpointErrors.ReceiptInvalid, "The inclusion proof does not lead from the entry to the checkpoint's root.");
    }

    private static bool String(JsonElement root, string name, out string? value)
    {
        value = null;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = element.GetString();
        return true;
    }

    private static bool Integer(JsonElement root, string name, out long value)
    {
        value = 0;
        return root.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.Number
            && element.GetRawText().All(char.IsAsciiDigit) && element.TryGetInt64(out value);
    }

    private static CustodianError Malformed(string rule) => CheckpointErrors.Error(CheckpointErrors.ReceiptMalformed, "The receipt is malformed: " + rule + ".");
}
