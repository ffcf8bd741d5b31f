using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Custodian.Ledger.Checkpoints;

namespace Custodian.Ledger.Tests.Checkpoints;

/// <summary>
/// C2SP signed-note, tlog-checkpoint and tlog-cosignature formats. Third-party vectors: the
/// "PeterNeumann" example of golang.org/x/mod/sumdb/note (its package documentation and tests), and
/// the cosignature example of C2SP tlog-cosignature.md.
/// </summary>
public sealed class SignedNoteTests
{
    private const string PeterSignerKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    private const string PeterVerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    private const string PeterText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    private const string PeterNote = PeterText + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    [Fact]
    public void Go_note_example_verifier_key_parses_and_its_signed_note_verifies_exactly()
    {
        var key = NoteVerifierKey.Parse(PeterVerifierKey);
        Assert.True(key.IsSuccess, key.Error?.Message);
        Assert.Equal("PeterNeumann", key.Value.KeyName);
        Assert.Equal(0xc74f20a3u, key.Value.KeyId);
        Assert.Equal(NoteAlgorithms.Ed25519, key.Value.Algorithm);
        Assert.Equal(PeterVerifierKey, key.Value.ToString());

        var note = SignedNote.Parse(PeterNote);
        Assert.True(note.IsSuccess, note.Error?.Message);
        Assert.Equal(PeterText, note.Value.Text);
        Assert.True(note.Value.Verify(key.Value).IsSuccess);
        Assert.Equal(PeterNote, note.Value.Format());
    }

    [Fact]
    public void Go_note_example_signer_key_reproduces_the_same_signature_and_verifier_key()
    {
        var signer = NoteSigningKey.Parse(PeterSignerKey);
        Assert.True(signer.IsSuccess);
        Assert.Equal(PeterVerifierKey, signer.Value.Verifier.ToString());
        Assert.Equal(PeterSignerKey, signer.Value.ToPrivateKeyString());
        Assert.Equal(PeterNote, SignedNote.Sign(PeterText, signer.Value).Format());
    }

    [Fact]
    public void Tampered_note_or_signature_or_another_key_is_refused()
    {
        var key = NoteVerifierKey.Parse(PeterVerifierKey).Value;
        var tampered = SignedNote.Parse(PeterNote.Replace("cryptography", "cryptographY", StringComparison.Ordinal)).Value;
        Assert.Equal(CheckpointErrors.SignatureInvalid, tampered.Verify(key).Error!.Code);

        var badSignature = SignedNote.Parse(PeterNote.Replace("x08go/ZJ", "x08go/ZK", StringComparison.Ordinal)).Value;
        Assert.Equal(CheckpointErrors.SignatureInvalid, badSignature.Verify(key).Error!.Code);

        var other = NoteSigningKey.Generate("PeterNeumann", NoteAlgorithms.Ed25519).Verifier;
        Assert.Equal(CheckpointErrors.SignatureMissing, SignedNote.Parse(PeterNote).Value.Verify(other).Error!.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("PeterNeumann+c74f20a3")]
    [InlineData("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")]
    [InlineData("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")]
    [InlineData("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")]
    [InlineData("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T")]
    [InlineData("PeterNeumann+c74f20a3+AhpcnQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")]
    [InlineData("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+x")]
    public void Malformed_verifier_keys_are_refused_with_a_stable_code(string text)
    {
        var key = NoteVerifierKey.Parse(text);
        Assert.False(key.IsSuccess);
        Assert.Equal(CheckpointErrors.KeyInvalid, key.Error!.Code);
        Assert.DoesNotContain("ARpc2Q", key.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text\n")] // no signature block
    [InlineData("text\n\n")] // empty signature block
    [InlineData("text\n\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=")] // no final newline
    [InlineData("text\n\n-- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")]
    [InlineData("text\n\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAN=\n")] // non-canonical base64
    [InlineData("text\n\n\u2014 Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")]
    [InlineData("te\txt\n\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")]
    [InlineData("text\n\n\u2014 PeterNeumann AAAA\n")] // key ID but no signature
    public void Malformed_notes_are_refused(string message)
    {
        var note = SignedNote.Parse(message);
        Assert.False(note.IsSuccess);
        Assert.Equal(CheckpointErrors.NoteMalformed, note.Error!.Code);
    }

    [Fact]
    public void More_than_100_signature_lines_are_refused()
    {
        var lines = string.Concat(Enumerable.Range(0, 101).Select(i => $"\u2014 k{i} AAAAAAA=\n"));
        Assert.Equal(CheckpointErrors.NoteMalformed, SignedNote.Parse("text\n\n" + lines).Error!.Code);
        Assert.True(SignedNote.Parse("text\n\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"\u2014 k{i} AAAAAAA=\n"))).IsSuccess);
    }

    [Fact]
    public void Checkpoint_round_trips_and_signs_as_a_note()
    {
        var root = SHA256.HashData("root"u8);
        var checkpoint = new Checkpoint("custodian/test", 20852163, root);
        Assert.Equal($"custodian/test\n20852163\n{Convert.ToBase64String(root)}\n", checkpoint.Body);
        var parsed = Checkpoint.Parse(checkpoint.Body);
        Assert.True(parsed.IsSuccess);
        Assert.Equal(20852163, parsed.Value.Size);
        Assert.Equal(root, parsed.Value.Root);

        var key = NoteSigningKey.Generate("custodian/test", NoteAlgorithms.Ed25519);
        var note = SignedNote.Sign(checkpoint.Body, key).Format();
        var opened = CheckpointVerifier.Open(note, key.Verifier, [], 0);
        Assert.True(opened.IsSuccess, opened.Error?.Message);
        Assert.Equal(checkpoint.Body, opened.Value.Checkpoint.Body);

        // The origin must be the log key's name.
        var other = NoteSigningKey.Generate("custodian/other", NoteAlgorithms.Ed25519);
        Assert.Equal(CheckpointErrors.CheckpointMalformed, CheckpointVerifier.Open(SignedNote.Sign(checkpoint.Body, other).Format(), other.Verifier, [], 0).Error!.Code);

        var withExtension = Checkpoint.Parse(checkpoint.Body + "extension line\n");
        Assert.Equal(["extension line"], withExtension.Value.Extensions);
    }

    [Theory]
    [InlineData("origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "end with a newline")]
    [InlineData("origin\n5\n", "origin line, a size line and a root hash line")]
    [InlineData("\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "origin line")]
    [InlineData("origin\n05\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "size line")]
    [InlineData("origin\n-5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "size line")]
    [InlineData("origin\n+5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "size line")]
    [InlineData("origin\n9223372036854775808\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "size line")]
    [InlineData("origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", "root hash line")]
    [InlineData("origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n", "root hash line")]
    [InlineData("origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n", "extension lines")]
    [InlineData("origin\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "size 0 must have the root of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1)")]
    public void Checkpoint_parsing_is_strict_and_names_the_line(string body, string rule)
    {
        var parsed = Checkpoint.Parse(body);
        Assert.False(parsed.IsSuccess);
        Assert.Equal(CheckpointErrors.CheckpointMalformed, parsed.Error!.Code);
        Assert.Contains(rule, parsed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_signed_checkpoint_of_size_0_opens_only_with_the_root_of_the_empty_tree()
    {
        var key = NoteSigningKey.Generate("custodian/test", NoteAlgorithms.Ed25519);
        var empty = SHA256.HashData(ReadOnlySpan<byte>.Empty); // RFC 9162 §2.1.1: MTH({}) = SHA-256()
        var good = CheckpointVerifier.Open(SignedNote.Sign($"custodian/test\n0\n{Convert.ToBase64String(empty)}\n", key).Format(), key.Verifier, [], 0);
        Assert.True(good.IsSuccess, good.Error?.Message);
        Assert.Equal(0, good.Value.Checkpoint.Size);
        Assert.Equal(empty, good.Value.Checkpoint.Root);

        // Properly signed by the log key, but no tree of size 0 has this root: refused, never taken as a prefix of every ledger.
        var wrong = SHA256.HashData("not empty"u8);
        var opened = CheckpointVerifier.Open(SignedNote.Sign($"custodian/test\n0\n{Convert.ToBase64String(wrong)}\n", key).Format(), key.Verifier, [], 0);
        Assert.Equal(
            (CheckpointErrors.CheckpointMalformed, "The checkpoint is malformed: a checkpoint of size 0 must have the root of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1)."),
            (opened.Error!.Code, opened.Error.Message));
        Assert.Throws<ArgumentException>(() => new Checkpoint("custodian/test", 0, wrong));
    }

    [Fact]
    public void Cosignature_v1_signs_the_documented_message_with_a_0x04_key_id_and_a_big_endian_timestamp()
    {
        var witness = NoteSigningKey.Generate("witness.example/w1", NoteAlgorithms.CosignatureV1);
        var public32 = witness.Verifier.PublicKey;
        var expectedId = BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData([.. "witness.example/w1\n"u8, 0x04, .. public32]));
        Assert.Equal(expectedId, witness.KeyId);
        var vkey = witness.Verifier.ToString().Split('+', 3);
        Assert.Equal(["witness.example/w1", expectedId.ToString("x8", System.Globalization.CultureInfo.InvariantCulture)], vkey[..2]);
        Assert.Equal([0x04, .. public32], Convert.FromBase64String(vkey[2]));

        var body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        var signature = CosignatureV1.Sign(witness, body, 1679315147);
        Assert.Equal(72, signature.Signature.Length);
        Assert.Equal(1679315147, BinaryPrimitives.ReadInt64BigEndian(signature.Signature));
        Assert.Equal(
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            System.Text.Encoding.UTF8.GetString(CosignatureV1.Message(1679315147, body)));
        Assert.True(witness.Verifier.VerifyRaw(CosignatureV1.Message(1679315147, body), signature.Signature.AsSpan(8)));
        Assert.Equal(1679315147, CosignatureV1.Verify(witness.Verifier, signature, body).Value);
        Assert.Equal(CheckpointErrors.CosignatureInvalid, CosignatureV1.Verify(witness.Verifier, signature, body.Replace("20852163", "20852164", StringComparison.Ordinal)).Error!.Code);

        var parsedVerifier = NoteVerifierKey.Parse(witness.Verifier.ToString());
        Assert.Equal(NoteAlgorithms.CosignatureV1, parsedVerifier.Value.Algorithm);
    }

    [Fact]
    public void The_tlog_cosignature_example_line_has_the_documented_layout()
    {
        // C2SP tlog-cosignature.md: "— witness.example.com/w1 jWbPPwAAAABkGFDL…": key ID, then the
        // 8-byte big-endian timestamp 1679315147 (the time in its example message), then 64 bytes.
        var line = NoteSignature.Parse("\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==");
        Assert.True(line.IsSuccess);
        Assert.Equal(0x8d66cf3fu, line.Value.KeyId);
        Assert.Equal(72, line.Value.Signature.Length);
        Assert.Equal(1679315147, BinaryPrimitives.ReadInt64BigEndian(line.Value.Signature));
    }

    [Fact]
    public void Cosigned_checkpoint_opens_with_witness_keys_and_fails_on_a_bad_or_missing_cosignature()
    {
        var log = NoteSigningKey.Generate("custodian/test", NoteAlgorithms.Ed25519);
        var w1 = NoteSigningKey.Generate("w1", NoteAlgorithms.CosignatureV1);
        var w2 = NoteSigningKey.Generate("w2", NoteAlgorithms.CosignatureV1);
        var body = new Checkpoint("custodian/test", 3, SHA256.HashData("x"u8)).Body;
        var note = SignedNote.Sign(body, log).WithSignatures([CosignatureV1.Sign(w1, body, 100)]);

        var opened = CheckpointVerifier.Open(note.Format(), log.Verifier, [w1.Verifier, w2.Verifier], 1);
        Assert.True(opened.IsSuccess, opened.Error?.Message);
        Assert.Equal([new VerifiedCosignature("w1", 100)], opened.Value.Cosignatures);
        Assert.Equal(CheckpointErrors.SignatureMissing, CheckpointVerifier.Open(note.Format(), log.Verifier, [w1.Verifier, w2.Verifier], 2).Error!.Code);

        var forged = SignedNote.Sign(body, log).WithSignatures([CosignatureV1.Sign(w1, body.Replace("3\n", "4\n", StringComparison.Ordinal), 100)]);
        Assert.Equal(CheckpointErrors.CosignatureInvalid, CheckpointVerifier.Open(forged.Format(), log.Verifier, [w1.Verifier], 0).Error!.Code);
    }
}
