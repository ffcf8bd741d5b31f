using Custodian.Problems;

namespace Custodian.Ledger.Checkpoints;

/// <summary>
/// Stable error codes (kebab-case, <c>urn:custodian:error:&lt;code&gt;</c>) of checkpoints, signed notes,
/// cosignatures and receipts. Codes never change meaning once shipped.
/// </summary>
public static class CheckpointErrors
{
    /// <summary>A signed note is not well-formed (C2SP signed-note: text, blank line, signature lines) (400).</summary>
    public const string NoteMalformed = "note-malformed";

    /// <summary>A checkpoint body is not well-formed (C2SP tlog-checkpoint: origin, size, root hash lines) (400).</summary>
    public const string CheckpointMalformed = "checkpoint-malformed";

    /// <summary>A verifier or signer key string is not well-formed or its key ID does not match (400).</summary>
    public const string KeyInvalid = "key-invalid";

    /// <summary>A note carries a signature line of the expected key whose signature does not verify (400).</summary>
    public const string SignatureInvalid = "signature-invalid";

    /// <summary>A note carries no signature line of the expected key (400).</summary>
    public const string SignatureMissing = "signature-missing";

    /// <summary>A cosignature is from a witness whose verifier key the server was not configured with (403).</summary>
    public const string WitnessUnknown = "witness-unknown";

    /// <summary>A cosignature names a checkpoint the server never signed (404).</summary>
    public const string CheckpointUnknown = "checkpoint-unknown";

    /// <summary>A cosignature's signature or timestamp is not acceptable (400).</summary>
    public const string CosignatureInvalid = "cosignature-invalid";

    /// <summary>No signed checkpoint covers the entry yet; the server signs one within its checkpoint interval (503, transient).</summary>
    public const string ReceiptPending = "receipt-pending";

    /// <summary>A receipt document is not well-formed (400).</summary>
    public const string ReceiptMalformed = "receipt-malformed";

    /// <summary>
    /// A well-formed receipt that does not verify: its entry does not hash to its leaf hash, or its inclusion proof does
    /// not lead from the leaf to the checkpoint's root (RFC 9162 §2.1.3.2): altered or not from this log (400 where an API
    /// answers it; <c>verify-receipt</c> exits 3).
    /// </summary>
    public const string ReceiptInvalid = "receipt-invalid";

    internal static CustodianError Error(string code, string message, int status = 400) => new(code, status, message);
}
