using System.Security.Cryptography;
using Custodian.Access.Staff;
using Custodian.Access.Tests.Support;

namespace Custodian.Access.Tests.Staff;

public sealed class SecretProtectorTests : IDisposable
{
    private static readonly byte[] Seed = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
    private static readonly byte[] Binding = "custodian/staff-totp/C1"u8.ToArray();

    private readonly TestEnvironment _env = TestEnvironment.CreateAsync().GetAwaiter().GetResult();

    public void Dispose() => _env.Dispose();

    private string KeyFile => Path.Combine(_env.Directory, "keys", "secrets.key");

    [Fact]
    public void Round_trips_with_a_fresh_nonce_each_time()
    {
        var protector = SecretProtector.LoadOrCreate(KeyFile);

        var a = protector.Protect(Seed, Binding);
        var b = protector.Protect(Seed, Binding);

        Assert.Equal(1 + 12 + 16 + Seed.Length, a.Length);
        Assert.Equal(1, a[0]);
        Assert.NotEqual(a, b);
        Assert.Equal(Seed, protector.Unprotect(a, Binding));
        Assert.Equal(Seed, protector.Unprotect(b, Binding));
    }

    [Fact]
    public void Key_file_is_created_once_with_owner_only_access_and_reloaded()
    {
        var first = SecretProtector.LoadOrCreate(KeyFile);
        var text = File.ReadAllText(KeyFile);
        var second = SecretProtector.LoadOrCreate(KeyFile);

        Assert.Equal(text, File.ReadAllText(KeyFile));
        Assert.Equal(32, Convert.FromBase64String(text.Trim()).Length);
        Assert.Equal(Seed, second.Unprotect(first.Protect(Seed, Binding), Binding));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        }
    }

    [Fact]
    public void Value_bound_to_another_account_does_not_decrypt()
    {
        var protector = SecretProtector.LoadOrCreate(KeyFile);
        var value = protector.Protect(Seed, Binding);

        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(value, "custodian/staff-totp/C2"u8));
    }

    [Fact]
    public void Altered_value_does_not_decrypt()
    {
        var protector = SecretProtector.LoadOrCreate(KeyFile);
        var value = protector.Protect(Seed, Binding);
        value[^1] ^= 0x80;

        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(value, Binding));
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(value.AsSpan(0, 10), Binding));
    }

    [Fact]
    public void Another_key_does_not_decrypt()
    {
        var value = SecretProtector.LoadOrCreate(KeyFile).Protect(Seed, Binding);
        var other = new SecretProtector(RandomNumberGenerator.GetBytes(32));

        Assert.ThrowsAny<CryptographicException>(() => other.Unprotect(value, Binding));
    }

    [Fact]
    public void Known_answer_for_AES_256_GCM_layout()
    {
        // NIST GCM test case 16 (McGrew & Viega, "The Galois/Counter Mode of Operation", Appendix B):
        // 256-bit key, 96-bit IV, 60-byte plaintext, 20-byte AAD.
        var key = Convert.FromHexString("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        var iv = Convert.FromHexString("cafebabefacedbaddecaf888");
        var plaintext = Convert.FromHexString("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
        var aad = Convert.FromHexString("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        var ciphertext = Convert.FromHexString("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662");
        var tag = Convert.FromHexString("76fc6ece0f4e1768cddf8853bb2d551b");

        var value = new byte[] { 1 }.Concat(iv).Concat(tag).Concat(ciphertext).ToArray();

        Assert.Equal(plaintext, new SecretProtector(key).Unprotect(value, aad));
    }

    [Fact]
    public void Malformed_key_file_is_refused()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(KeyFile)!);
        File.WriteAllText(KeyFile, Convert.ToBase64String(new byte[16]));
        Assert.Throws<InvalidOperationException>(() => SecretProtector.LoadOrCreate(KeyFile));
        File.WriteAllText(KeyFile, "not base64!");
        Assert.Throws<InvalidOperationException>(() => SecretProtector.LoadOrCreate(KeyFile));
    }
}
