using System.Security.Cryptography;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Protection.Tests.Support;

namespace Custodian.Protection.Tests.Keys;

public sealed class FieldCipherTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ProtectionKeyring _keys;
    private readonly FieldCipher _cipher;
    private static readonly SubscriberId Alice = SubscriberId.From(1001);
    private static readonly SubscriberId Bob = SubscriberId.From(1002);

    public FieldCipherTests()
    {
        _keys = ProtectionKeyring.LoadOrCreate(_dir.Path, TimeProvider.System, TestEnvironment.MasterKey);
        _cipher = new FieldCipher(_keys);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Round_trip_and_layout()
    {
        var plaintext = "7112311234567"u8.ToArray();

        var ct = _cipher.Encrypt(Alice, "rrn", plaintext);

        Assert.Equal(plaintext.Length + 33, ct.Length);
        Assert.Equal(FieldCipher.FormatVersion, ct[0]);
        Assert.Equal(new byte[] { 0, 0, 0, 1 }, ct[1..5]); // data key id 1, big-endian
        Assert.Equal(plaintext, _cipher.Decrypt(Alice, "rrn", ct));
        Assert.Equal(-1, ct.AsSpan().IndexOf(plaintext));
    }

    [Fact]
    public void Same_plaintext_encrypts_differently_each_time()
    {
        var a = _cipher.EncryptString(Alice, "name", "김민준");
        var b = _cipher.EncryptString(Alice, "name", "김민준");

        Assert.NotEqual(a, b);
        Assert.Equal("김민준", _cipher.DecryptString(Alice, "name", a));
        Assert.Equal("김민준", _cipher.DecryptString(Alice, "name", b));
    }

    [Fact]
    public void Empty_plaintext_round_trips()
    {
        var ct = _cipher.Encrypt(Alice, "address", ReadOnlySpan<byte>.Empty);

        Assert.Equal(33, ct.Length);
        Assert.Empty(_cipher.Decrypt(Alice, "address", ct));
    }

    [Fact]
    public void Ciphertext_copied_to_another_subscriber_fails()
    {
        var ct = _cipher.EncryptString(Alice, "rrn", "7112311234567");

        Assert.Throws<AuthenticationTagMismatchException>(() => _cipher.Decrypt(Bob, "rrn", ct));
    }

    [Fact]
    public void Ciphertext_copied_to_another_field_fails()
    {
        var ct = _cipher.EncryptString(Alice, "phone", "+821012345678");

        Assert.Throws<AuthenticationTagMismatchException>(() => _cipher.Decrypt(Alice, "name", ct));
        Assert.Throws<AuthenticationTagMismatchException>(() => _cipher.Decrypt(Alice, "phon", ct));
    }

    [Theory]
    [InlineData(5)]   // first nonce byte
    [InlineData(16)]  // last nonce byte
    [InlineData(17)]  // first ciphertext byte
    [InlineData(-1)]  // last tag byte
    [InlineData(-16)] // first tag byte
    public void Any_flipped_bit_fails(int position)
    {
        var ct = _cipher.EncryptString(Alice, "rrn", "7112311234567");
        var index = position >= 0 ? position : ct.Length + position;
        ct[index] ^= 0x01;

        Assert.Throws<AuthenticationTagMismatchException>(() => _cipher.Decrypt(Alice, "rrn", ct));
    }

    [Fact]
    public void Unknown_key_id_version_and_short_input_fail_as_cryptographic_exceptions()
    {
        var ct = _cipher.EncryptString(Alice, "rrn", "7112311234567");
        var otherKey = (byte[])ct.Clone();
        otherKey[4] = 9;
        var otherVersion = (byte[])ct.Clone();
        otherVersion[0] = 2;

        Assert.Equal("The field ciphertext names a data key the keyring does not hold.", Assert.Throws<CryptographicException>(() => _cipher.Decrypt(Alice, "rrn", otherKey)).Message);
        Assert.Equal("The field ciphertext has an unsupported format version.", Assert.Throws<CryptographicException>(() => _cipher.Decrypt(Alice, "rrn", otherVersion)).Message);
        Assert.Equal("The field ciphertext is too short.", Assert.Throws<CryptographicException>(() => _cipher.Decrypt(Alice, "rrn", ct.AsSpan(0, 32))).Message);
    }

    [Fact]
    public void Truncated_ciphertext_fails()
    {
        var ct = _cipher.EncryptString(Alice, "rrn", "7112311234567");

        Assert.Throws<AuthenticationTagMismatchException>(() => _cipher.Decrypt(Alice, "rrn", ct.AsSpan(0, ct.Length - 1)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("이름")]
    [InlineData("a-field-name-that-is-much-longer-than-sixty-four-characters-in-total")]
    public void Field_names_must_be_short_ascii(string field)
    {
        Assert.Throws<ArgumentException>(() => _cipher.Encrypt(Alice, field, "x"u8));
    }

    [Fact]
    public void Concurrent_use_is_safe()
    {
        var failures = 0;
        Parallel.For(0, 2_000, i =>
        {
            var id = SubscriberId.From(i + 1);
            var text = "value-" + i;
            if (_cipher.DecryptString(id, "name", _cipher.EncryptString(id, "name", text)) != text)
            {
                Interlocked.Increment(ref failures);
            }
        });

        Assert.Equal(0, failures);
    }
}
