using System.Security.Cryptography;

namespace Custodian.Ledger.Tests.Merkle;

/// <summary>
/// The Merkle tree hashes through OpenSSL's low-level SHA-256 (<see cref="Sha256Direct"/>) must be
/// byte for byte those of <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>, and on Linux
/// (where the product runs and CI tests) the direct path must be the one in use.
/// </summary>
public sealed class Sha256DirectTests
{
    [Fact]
    public void Direct_path_is_in_use_on_linux()
    {
        Assert.Equal(OperatingSystem.IsLinux(), Sha256Direct.Instance is not null);
    }

    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void Fips_180_examples(string message, string digest)
    {
        // FIPS 180-4 / NIST CSRC examples for SHA-256, split as prefix ‖ a ‖ b.
        var bytes = System.Text.Encoding.ASCII.GetBytes(message);
        var direct = Sha256Direct.Instance;
        Assert.NotNull(direct);
        var hash = new byte[32];
        if (bytes.Length == 0)
        {
            // The empty message: no prefix byte, which Hash always writes, so check the tree's empty root instead.
            Assert.Equal(digest, Convert.ToHexStringLower(MerkleTree.EmptyRoot));
            return;
        }

        direct.Hash(bytes[0], bytes.AsSpan(1, bytes.Length / 2), bytes.AsSpan(1 + (bytes.Length / 2)), hash);
        Assert.Equal(digest, Convert.ToHexStringLower(hash));
    }

    [Fact]
    public void Equals_dotnet_sha256_for_every_length_and_split_up_to_two_kilobytes()
    {
        var direct = Sha256Direct.Instance;
        Assert.NotNull(direct);
        var random = new Random(6962);
        var input = new byte[2049];
        random.NextBytes(input);
        var expected = new byte[32];
        var actual = new byte[32];
        for (var length = 0; length < input.Length - 1; length++)
        {
            var split = random.Next(length + 1);
            direct.Hash(input[0], input.AsSpan(1, split), input.AsSpan(1 + split, length - split), actual);
            SHA256.HashData(input.AsSpan(0, 1 + length), expected);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"length {length}, split {split}");
        }
    }

    [Fact]
    public void Destination_may_overlap_the_inputs()
    {
        // CompactRange hashes a node into its right child's buffer: HashChildren(left, node, node).
        var left = SHA256.HashData("left"u8);
        var right = SHA256.HashData("right"u8);
        var expected = SHA256.HashData([0x01, .. left, .. right]);
        MerkleTree.HashChildren(left, right, right);
        Assert.Equal(expected, right);
    }
}
