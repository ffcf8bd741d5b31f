using System.Text;
using Custodian.Identity;
using Custodian.Ledger.Checkpoints;

namespace Custodian.Ledger.Tests.Checkpoints;

/// <summary>Receipts verify offline with public keys only, and any single flipped byte is caught.</summary>
public sealed class LedgerReceiptTests
{
    private static readonly NoteSigningKey Log = NoteSigningKey.Generate("custodian/receipts", NoteAlgorithms.Ed25519);
    private static readonly NoteSigningKey Witness = NoteSigningKey.Generate("witness.example/w1", NoteAlgorithms.CosignatureV1);

    [Fact]
    public void Receipt_verifies_and_every_single_flipped_byte_fails()
    {
        var (receipt, _) = Build(7, 13, withhold: false);
        var json = receipt.ToJson();
        Assert.True(receipt.Verify(Log.Verifier, [Witness.Verifier], 1).IsSuccess);
        var parsed = LedgerReceipt.Parse(json);
        Assert.True(parsed.IsSuccess, parsed.Error?.Message);
        Assert.True(parsed.Value.Verify(Log.Verifier, [Witness.Verifier], 1).IsSuccess);
        Assert.Equal(json, parsed.Value.ToJson());

        var bytes = System.Text.Encoding.UTF8.GetBytes(json);
        foreach (var mask in new byte[] { 0x01, 0x20, 0x80 })
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                var copy = (byte[])bytes.Clone();
                copy[i] ^= mask;
                string text;
                try
                {
                    text = new UTF8Encoding(false, true).GetString(copy);
                }
                catch (DecoderFallbackException)
                {
                    continue; // not UTF-8: the CLI refuses the file before parsing
                }

                var flipped = LedgerReceipt.Parse(text);
                Assert.False(flipped.IsSuccess && flipped.Value.Verify(Log.Verifier, [Witness.Verifier], 1).IsSuccess, $"byte {i} xor 0x{mask:x2} still verifies");
            }
        }
    }

    [Fact]
    public void Withheld_form_proves_the_leaf_hash_and_wrong_keys_or_missing_cosignatures_fail()
    {
        var (receipt, leaves) = Build(0, 1, withhold: true);
        Assert.Null(receipt.Entry);
        Assert.Equal(leaves[0], receipt.LeafHash);
        Assert.True(LedgerReceipt.Parse(receipt.ToJson()).Value.Verify(Log.Verifier, [Witness.Verifier], 1).IsSuccess);

        var otherLog = NoteSigningKey.Generate("custodian/receipts", NoteAlgorithms.Ed25519).Verifier;
        Assert.Equal(CheckpointErrors.SignatureMissing, receipt.Verify(otherLog, [], 0).Error!.Code);
        var otherWitness = NoteSigningKey.Generate("witness.example/w2", NoteAlgorithms.CosignatureV1).Verifier;
        var missing = receipt.Verify(Log.Verifier, [otherWitness], 1).Error!;
        Assert.Equal(CheckpointErrors.SignatureMissing, missing.Code);
        Assert.Equal("The checkpoint carries valid cosignatures of 0 of the given witnesses (counted by key name); at least 1 is required.", missing.Message);

        var (late, _) = Build(12, 13, withhold: false);
        var wrongIndex = late with { Sequence = 11 };
        Assert.Equal(CheckpointErrors.ReceiptInvalid, wrongIndex.Verify(Log.Verifier, [], 0).Error!.Code);
        Assert.Equal("The inclusion proof does not lead from the entry to the checkpoint's root.", wrongIndex.Verify(Log.Verifier, [], 0).Error!.Message);

        var (signed, _) = Build(12, 13, withhold: false);
        var altered = signed with { Entry = [.. signed.Entry!.Take(signed.Entry!.Length - 1), (byte)(signed.Entry![^1] ^ 1)] };
        var tampered = altered.Verify(Log.Verifier, [], 0).Error!;
        Assert.Equal((CheckpointErrors.ReceiptInvalid, "The receipt's entry does not hash to its leaf hash."), (tampered.Code, tampered.Message));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("{\"format\":\"custodian-receipt/v2\"}")]
    [InlineData("not json")]
    public void Malformed_documents_are_refused(string json) =>
        Assert.Equal(CheckpointErrors.ReceiptMalformed, LedgerReceipt.Parse(json).Error!.Code);

    private static (LedgerReceipt Receipt, List<byte[]> Leaves) Build(long sequence, int size, bool withhold)
    {
        var payloads = Enumerable.Range(0, size).Select(i => LeafCodec.Encode(new AccessEntry
        {
            Time = new DateTimeOffset(2026, 11, 1, 9, 0, i, TimeSpan.Zero),
            Task = AccessTask.View,
            Outcome = AccessOutcome.Allowed,
            Account = "C0001",
            Store = "S001",
            Purpose = "plan-change",
            Subjects = [new SubscriberId(1000 + i)],
        })).ToList();
        var leaves = payloads.Select(p => MerkleTree.HashLeaf(p)).ToList();
        var body = new Checkpoint(Log.KeyName, size, MerkleTree.ComputeRoot(leaves, size)).Body;
        var note = SignedNote.Sign(body, Log).WithSignatures([CosignatureV1.Sign(Witness, body, 1_700_000_000)]).Format();
        var receipt = new LedgerReceipt(sequence, withhold ? null : payloads[(int)sequence], leaves[(int)sequence], size, MerkleTree.InclusionProof(sequence, size, leaves), note);
        return (receipt, leaves);
    }
}
