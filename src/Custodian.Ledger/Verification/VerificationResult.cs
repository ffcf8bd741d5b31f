namespace Custodian.Ledger;

/// <summary>Stable reason codes of a failed ledger verification (kebab-case; never change meaning).</summary>
public static class VerificationFailures
{
    /// <summary>An entry's stored leaf hash is not <c>SHA-256(0x00 ‖ payload)</c> (RFC 9162 §2.1.1): the payload or the hash was changed.</summary>
    public const string LeafHashMismatch = "leaf-hash-mismatch";

    /// <summary>Sequence numbers are not gap-free from 0: an entry was deleted. The position is the first missing sequence.</summary>
    public const string SequenceGap = "sequence-gap";

    /// <summary>The root recomputed from the payloads differs from a stored tree head: entries covered by that head were changed and their leaf hashes recomputed. The position is the first entry after the last good head.</summary>
    public const string RootMismatch = "root-mismatch";

    /// <summary>The newest tree head covers more entries than exist: the tail was cut. The position is the first missing sequence.</summary>
    public const string Truncated = "truncated";

    /// <summary>A payload's hash matches but it is not a valid format-1 encoding (<see cref="LeafCodec.Decode"/> fails).</summary>
    public const string UndecodablePayload = "undecodable-payload";

    /// <summary>Entries exist beyond the newest tree head: they were added outside the ledger writer (which writes each batch with its head). The position is the first such entry.</summary>
    public const string MissingTreeHead = "missing-tree-head";

    /// <summary>An entry's query columns (time, task, outcome, account, terminal, store) or its subject rows disagree with its payload: the query indexes were edited, e.g. to hide an access from a subscriber's history (a missing row) or to put one into it (an extra row; the position is that row's sequence).</summary>
    public const string ProjectionMismatch = "projection-mismatch";

    /// <summary>The frontier stored with the newest tree head does not equal the recomputed one; the next append would continue from a forged state. The position is that head's size.</summary>
    public const string FrontierMismatch = "frontier-mismatch";

    /// <summary>
    /// An entry's payload is missing or erased, but no intact RetentionErasure entry covers it (its
    /// <c>erased_by</c> is missing, or names an entry that is not a RetentionErasure entry whose range holds
    /// the sequence and whose cutoff is after the entry's time): personal-data evidence was removed outside
    /// retention. The position is that entry. See docs/ledger-format.md §13.
    /// </summary>
    public const string UnauthorisedErasure = "unauthorised-erasure";

    /// <summary>
    /// A stored subtree hash (<c>ledger_subtrees</c>, levels 4, 8, 12, …) is missing, extra or differs from the one recomputed
    /// from the payloads, while the tree heads around it are intact: the proof store was altered and proofs served from it
    /// would not verify. The position is the first leaf the bad subtree covers. See docs/ledger-format.md §15.
    /// </summary>
    public const string SubtreeMismatch = "subtree-mismatch";
}

/// <summary>The outcome of <see cref="LedgerVerifier.VerifyAsync"/>.</summary>
public sealed record VerificationResult
{
    /// <summary>True when every check passed.</summary>
    public required bool IsValid { get; init; }

    /// <summary>
    /// On success, the number of entries (the tree size). On failure, the size of the last tree head
    /// whose root was reproduced — the prefix of the ledger that is verified (0 when none).
    /// </summary>
    public required long TreeSize { get; init; }

    /// <summary>The root (32 bytes) of the first <see cref="TreeSize"/> entries as recomputed from their payloads.</summary>
    public required ReadOnlyMemory<byte> Root { get; init; }

    /// <summary>On failure, the first bad position (zero-based sequence); see each code in <see cref="VerificationFailures"/> for its meaning. Null on success.</summary>
    public long? FirstBadSequence { get; init; }

    /// <summary>On failure, a code from <see cref="VerificationFailures"/>; null on success.</summary>
    public string? Reason { get; init; }

    /// <summary>On failure, one sentence for an operator (no entry contents); null on success.</summary>
    public string? Message { get; init; }

    /// <summary>Number of entries read before the verification stopped.</summary>
    public long EntriesChecked { get; init; }

    /// <summary>The root as 64 lowercase hexadecimal characters.</summary>
    public string RootHex => Convert.ToHexStringLower(Root.Span);
}
