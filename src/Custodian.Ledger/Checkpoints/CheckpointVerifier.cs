using Custodian.Problems;

namespace Custodian.Ledger.Checkpoints;

/// <summary>A witness's valid cosignature on a checkpoint.</summary>
/// <param name="Witness">The witness key name.</param>
/// <param name="Timestamp">When it cosigned, POSIX seconds.</param>
public sealed record VerifiedCosignature(string Witness, long Timestamp);

/// <summary>A checkpoint whose log signature (and the requested cosignatures) verified.</summary>
/// <param name="Note">The signed note as parsed.</param>
/// <param name="Checkpoint">The checkpoint body.</param>
/// <param name="Cosignatures">The valid cosignatures of the witness keys given, in their order: one per witness (key name).</param>
public sealed record VerifiedCheckpoint(SignedNote Note, Checkpoint Checkpoint, IReadOnlyList<VerifiedCosignature> Cosignatures);

/// <summary>Opens a checkpoint note with the log's verifier key and optional witness keys. Pure and thread-safe.</summary>
public static class CheckpointVerifier
{
    /// <summary>
    /// Parses and verifies a checkpoint note: the note's syntax (<see cref="SignedNote.Parse"/>), the log's
    /// Ed25519 signature, the body (<see cref="Checkpoint.Parse"/>), an origin equal to the log key's name
    /// (Custodian's convention, as in C2SP tlog-checkpoint's examples), and every cosignature of the given
    /// witnesses that is present. A present but invalid cosignature of a given witness fails the whole
    /// note (as golang.org/x/mod/sumdb/note <c>Open</c> does); lines of keys not given are ignored.
    /// <paramref name="minimumCosignatures"/> counts witnesses, not keys: a key given twice is checked once, and
    /// cosignatures of several keys with one name (a witness that rotated its key) count once, so one witness
    /// never stands in for two.
    /// </summary>
    /// <param name="text">The note text.</param>
    /// <param name="logKey">The log's verifier key (algorithm 0x01).</param>
    /// <param name="witnessKeys">Witness verifier keys (algorithm 0x04); may be empty.</param>
    /// <param name="minimumCosignatures">How many distinct witnesses (key names) of <paramref name="witnessKeys"/> must have cosigned, 0 … count.</param>
    /// <returns>The verified checkpoint or the first error found.</returns>
    public static Result<VerifiedCheckpoint> Open(string? text, NoteVerifierKey logKey, IReadOnlyList<NoteVerifierKey> witnessKeys, int minimumCosignatures)
    {
        ArgumentNullException.ThrowIfNull(logKey);
        ArgumentNullException.ThrowIfNull(witnessKeys);
        var note = SignedNote.Parse(text);
        if (!note.IsSuccess)
        {
            return note.Error!;
        }

        var signed = note.Value.Verify(logKey);
        if (!signed.IsSuccess)
        {
            return signed.Error!;
        }

        var checkpoint = Checkpoint.Parse(note.Value.Text);
        if (!checkpoint.IsSuccess)
        {
            return checkpoint.Error!;
        }

        if (!string.Equals(checkpoint.Value.Origin, logKey.KeyName, StringComparison.Ordinal))
        {
            return Checkpoint.Malformed("the origin line is not the log key's name");
        }

        var cosignatures = new List<VerifiedCosignature>();
        var checkedKeys = new HashSet<(string, uint)>();
        var cosigners = new HashSet<string>(StringComparer.Ordinal);
        foreach (var witness in witnessKeys)
        {
            if (!checkedKeys.Add((witness.KeyName, witness.KeyId)))
            {
                continue; // the same key given twice: one witness, checked once
            }

            if (witness.Algorithm != NoteAlgorithms.CosignatureV1)
            {
                return CheckpointErrors.Error(CheckpointErrors.KeyInvalid, $"The witness key '{witness.KeyName}' is not a cosignature/v1 (0x04) key.");
            }

            if (note.Value.Find(witness) is null)
            {
                continue;
            }

            var verified = CosignatureV1.Verify(note.Value, witness);
            if (!verified.IsSuccess)
            {
                return verified.Error!;
            }

            if (cosigners.Add(witness.KeyName))
            {
                cosignatures.Add(new VerifiedCosignature(witness.KeyName, verified.Value));
            }
        }

        if (cosigners.Count < minimumCosignatures)
        {
            return CheckpointErrors.Error(
                CheckpointErrors.SignatureMissing,
                $"The checkpoint carries valid cosignatures of {cosigners.Count} of the given witnesses (counted by key name); at least {minimumCosignatures} {(minimumCosignatures == 1 ? "is" : "are")} required.");
        }

        return new VerifiedCheckpoint(note.Value, checkpoint.Value, cosignatures);
    }
}
