namespace Custodian.Ledger;

/// <summary>
/// A tree head of the access ledger: its size and Merkle root (RFC 9162 §2.1) after a committed batch.
/// Signed checkpoints (a later issue) sign exactly these two values plus a time.
/// </summary>
/// <param name="Size">Number of entries (leaves), ≥ 0.</param>
/// <param name="Root">MTH of the first <paramref name="Size"/> leaves, 32 bytes; <c>SHA-256("")</c> when the ledger is empty.</param>
/// <param name="Time">When the batch that produced this head was committed (UTC, millisecond precision); null for the empty ledger.</param>
public sealed record TreeHead(long Size, ReadOnlyMemory<byte> Root, DateTimeOffset? Time)
{
    /// <summary>The root as 64 lowercase hexadecimal characters.</summary>
    public string RootHex => Convert.ToHexStringLower(Root.Span);
}
