using System.Security.Cryptography;
using Custodian.Storage;

namespace Custodian.Ledger.Checkpoints;

/// <summary>The outcome of <see cref="CheckpointAudit.CheckAsync"/>.</summary>
/// <param name="IsValid">True when the ledger's payloads reproduce the checkpoint's root at its size.</param>
/// <param name="FirstBadSequence">On failure, the first position that may differ from what was committed to: the size of the largest signed checkpoint below the first divergence whose root the payloads still reproduce (0 when none).</param>
/// <param name="DivergedAt">On failure, the smallest signed checkpoint size whose root the payloads do not reproduce (or the entry count when the ledger is shorter).</param>
/// <param name="Reason">On failure, <c>root-mismatch</c> or <c>truncated</c>; null on success.</param>
/// <param name="CheckpointsUsed">How many signed checkpoints (the given one and the server's stored, cosigned ones) were compared.</param>
public sealed record CheckpointAuditResult(bool IsValid, long? FirstBadSequence, long? DivergedAt, string? Reason, int CheckpointsUsed);

/// <summary>
/// Checks the ledger against signed checkpoints held outside the database's control: recomputes the
/// leaf hashes from the payloads (RFC 9162 §2.1.1) and the root at every checkpoint size, in one pass
/// in constant memory. Catches a history rewritten together with its leaf hashes and tree heads, which
/// <see cref="LedgerVerifier"/> alone cannot. Thread-safe.
/// </summary>
/// <param name="db">The database.</param>
/// <param name="store">The server's stored checkpoints (used to narrow the first bad position).</param>
public sealed class CheckpointAudit(CustodianDatabase db, CheckpointStore store)
{
    /// <summary>
    /// Compares the ledger with <paramref name="against"/> and with every stored checkpoint of size ≤
    /// its size that is signed by <paramref name="logKey"/> AND cosigned by at least one of
    /// <paramref name="witnessKeys"/>. A single checkpoint only says that something in [0, size)
    /// changed; each further cosigned checkpoint whose root still matches moves the first bad position
    /// up to its size. Checkpoints signed by the log alone are not used: a server reading a rewritten
    /// database signs the rewritten heads too, and only a witness's cosignature shows that a head was
    /// consistent with the history the witness saw before. Without witness keys no narrowing happens.
    /// </summary>
    /// <param name="against">A verified checkpoint (signatures checked by the caller).</param>
    /// <param name="logKey">The log's verifier key.</param>
    /// <param name="witnessKeys">Witness verifier keys; may be empty.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The result.</returns>
    public async Task<CheckpointAuditResult> CheckAsync(Checkpoint against, NoteVerifierKey logKey, IReadOnlyList<NoteVerifierKey> witnessKeys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(against);
        ArgumentNullException.ThrowIfNull(witnessKeys);
        var targets = new SortedDictionary<long, byte[]> { [against.Size] = against.Root };
        foreach (var stored in witnessKeys.Count == 0 ? [] : await store.ListAsync(against.Size, cancellationToken))
        {
            var opened = stored.Cosignatures == 0 ? null : (Custodian.Problems.Result<VerifiedCheckpoint>?)CheckpointVerifier.Open(await store.ComposeAsync(stored, cancellationToken), logKey, witnessKeys, 1);
            if (opened is { IsSuccess: true } o && o.Value.Checkpoint.Size != against.Size)
            {
                targets.TryAdd(o.Value.Checkpoint.Size, o.Value.Checkpoint.Root);
            }
        }

        var range = new CompactRange();
        var lastGood = 0L;
        var leaf = new byte[MerkleTree.HashSize];
        using var pending = targets.GetEnumerator();
        var hasTarget = pending.MoveNext();

        // Size 0: a Checkpoint of size 0 holds the empty tree's root (its constructor and Parse refuse any other,
        // RFC 9162 §2.1.1), which every ledger reproduces; skip it.
        while (hasTarget && pending.Current.Key == 0)
        {
            hasTarget = pending.MoveNext();
        }

        await using (var connection = await db.OpenAsync(cancellationToken))
        await using (var command = connection.Command("SELECT seq, payload, leaf_hash, erased_by FROM ledger_entries WHERE seq < @size ORDER BY seq", ("@size", against.Size)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (hasTarget && await reader.ReadAsync(cancellationToken))
            {
                if (reader.GetInt64(0) != range.Size || reader.GetValue(1) is not byte[] payload)
                {
                    // A gap: the tree the checkpoints describe cannot be rebuilt past this point.
                    return new CheckpointAuditResult(false, lastGood, pending.Current.Key, VerificationFailures.RootMismatch, targets.Count);
                }

                // Retention (docs/ledger-format.md §13): an erased entry keeps only its leaf hash, which the
                // ordinary verification has already accepted as covered by a RetentionErasure entry.
                if (!reader.IsDBNull(3) && reader.GetValue(2) is byte[] { Length: MerkleTree.HashSize } kept)
                {
                    kept.CopyTo(leaf, 0);
                }
                else
                {
                    MerkleTree.HashLeaf(payload, leaf);
                }

                range.Append(leaf);
                if (range.Size == pending.Current.Key)
                {
                    if (!CryptographicOperations.FixedTimeEquals(range.GetRoot(), pending.Current.Value))
                    {
                        return new CheckpointAuditResult(false, lastGood, range.Size, VerificationFailures.RootMismatch, targets.Count);
                    }

                    lastGood = range.Size;
                    hasTarget = pending.MoveNext();
                }
            }
        }

        return hasTarget
            ? new CheckpointAuditResult(false, Math.Min(lastGood, range.Size), range.Size, VerificationFailures.Truncated, targets.Count)
            : new CheckpointAuditResult(true, null, null, null, targets.Count);
    }
}
