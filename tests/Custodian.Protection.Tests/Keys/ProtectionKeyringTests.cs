using System.Text.Json;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Protection.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Protection.Tests.Keys;

public sealed class ProtectionKeyringTests
{
    private static readonly byte[] OtherMaster = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void First_use_creates_keyring_json_with_wrapped_data_and_blind_index_keys()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 30, 45, 123, TimeSpan.Zero));
        var keysDir = dir.Combine("keys");

        var keyring = ProtectionKeyring.LoadOrCreate(keysDir, time, TestEnvironment.MasterKey);

        Assert.Equal(1u, keyring.CurrentDataKeyId);
        Assert.Equal(2u, keyring.BlindIndexKeyId);
        Assert.Equal([1u], keyring.DataKeyIds.ToArray());
        Assert.Equal(Path.GetFullPath(keysDir), keyring.KeysDirectory);
        Assert.False(File.Exists(Path.Combine(keysDir, ProtectionKeyring.MasterKeyFileName)));

        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(keysDir, ProtectionKeyring.KeyringFileName)));
        var root = json.RootElement;
        Assert.Equal(1, root.GetProperty("format").GetInt32());
        Assert.Equal("HKDF-SHA256", root.GetProperty("kdf").GetString());
        Assert.Equal("AES-256-GCM", root.GetProperty("wrap").GetString());
        Assert.Equal(1u, root.GetProperty("currentDataKeyId").GetUInt32());
        Assert.Equal(2u, root.GetProperty("blindIndexKeyId").GetUInt32());
        var keys = root.GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(3, keys.Count);
        Assert.Equal(("data", 1u, 1, "AES-256-GCM"), (keys[0].GetProperty("purpose").GetString(), keys[0].GetProperty("id").GetUInt32(), keys[0].GetProperty("version").GetInt32(), keys[0].GetProperty("algorithm").GetString()));
        Assert.Equal(("blind-index", 2u, 1, "HMAC-SHA256"), (keys[1].GetProperty("purpose").GetString(), keys[1].GetProperty("id").GetUInt32(), keys[1].GetProperty("version").GetInt32(), keys[1].GetProperty("algorithm").GetString()));
        Assert.Equal("2026-03-01T12:30:45.123Z", keys[0].GetProperty("createdAt").GetString());
        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds(), keys[0].GetProperty("createdAtUnixMs").GetInt64());
        foreach (var key in keys)
        {
            // nonce 12 + wrapped key 32 + tag 16
            Assert.Equal(60, Convert.FromBase64String(key.GetProperty("wrapped").GetString()!).Length);
        }

        Assert.Empty(Directory.GetFiles(keysDir, "*.tmp"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(keysDir, ProtectionKeyring.KeyringFileName)));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(keysDir));
        }
    }

    [Fact]
    public void Reload_with_the_right_master_key_decrypts_what_the_first_instance_encrypted()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(TestEnvironment.Start);
        var first = ProtectionKeyring.LoadOrCreate(dir.Path, time, TestEnvironment.MasterKey);
        var id = SubscriberId.From(42);
        var ciphertext = new FieldCipher(first).Encrypt(id, "rrn", "7112311234567"u8);
        var index = new BlindIndex(first).ForRrn("7112311234567");
        var fileBefore = File.ReadAllBytes(Path.Combine(dir.Path, ProtectionKeyring.KeyringFileName));

        var second = ProtectionKeyring.LoadOrCreate(dir.Path, time, TestEnvironment.MasterKey);

        Assert.Equal("7112311234567"u8.ToArray(), new FieldCipher(second).Decrypt(id, "rrn", ciphertext));
        Assert.Equal(index, new BlindIndex(second).ForRrn("7112311234567"));
        Assert.Equal(fileBefore, File.ReadAllBytes(Path.Combine(dir.Path, ProtectionKeyring.KeyringFileName)));
    }

    [Fact]
    public void Reload_with_a_wrong_master_key_fails_with_a_one_line_message()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(TestEnvironment.Start);
        ProtectionKeyring.LoadOrCreate(dir.Path, time, TestEnvironment.MasterKey);

        var ex = Assert.Throws<InvalidOperationException>(() => ProtectionKeyring.LoadOrCreate(dir.Path, time, OtherMaster));

        Assert.Equal(
            $"The keyring in '{Path.GetFullPath(dir.Path)}' cannot be unwrapped with the configured master key (CUSTODIAN_MASTER_KEY or master.key): wrong master key or altered keyring.",
            ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Swapping_the_wrapped_keys_of_two_entries_is_detected()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(TestEnvironment.Start);
        ProtectionKeyring.LoadOrCreate(dir.Path, time, TestEnvironment.MasterKey);
        var path = Path.Combine(dir.Path, ProtectionKeyring.KeyringFileName);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        var keys = json["keys"]!.AsArray();
        var first = keys[0]!["wrapped"]!.GetValue<string>();
        keys[0]!["wrapped"] = keys[1]!["wrapped"]!.GetValue<string>();
        keys[1]!["wrapped"] = first;
        File.WriteAllText(path, json.ToJsonString());

        Assert.Throws<InvalidOperationException>(() => ProtectionKeyring.LoadOrCreate(dir.Path, time, TestEnvironment.MasterKey));
    }

    [Fact]
    public void Malformed_keyring_file_fails_clearly()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(Path.Combine(dir.Path, ProtectionKeyring.KeyringFileName), "{ not json");

        var ex = Assert.Throws<InvalidOperationException>(() => ProtectionKeyring.LoadOrCreate(dir.Path, TimeProvider.System, TestEnvironment.MasterKey));

        Assert.Equal($"The keyring file '{Path.Combine(Path.GetFullPath(dir.Path), ProtectionKeyring.KeyringFileName)}' is not valid keyring JSON.", ex.Message);
    }

    [Fact]
    public void Master_key_must_be_32_bytes()
    {
        using var dir = new TempDirectory();

        Assert.Throws<ArgumentException>(() => ProtectionKeyring.LoadOrCreate(dir.Path, TimeProvider.System, new byte[16]));
    }

    [Fact]
    public void Two_keyrings_created_with_the_same_master_key_hold_different_keys()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();
        var ka = ProtectionKeyring.LoadOrCreate(a.Path, TimeProvider.System, TestEnvironment.MasterKey);
        var kb = ProtectionKeyring.LoadOrCreate(b.Path, TimeProvider.System, TestEnvironment.MasterKey);

        Assert.NotEqual(new BlindIndex(ka).ForPhone("+821012345678"), new BlindIndex(kb).ForPhone("+821012345678"));
        var ct = new FieldCipher(ka).Encrypt(SubscriberId.From(1), "name", "김민준"u8);
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => new FieldCipher(kb).Decrypt(SubscriberId.From(1), "name", ct));
    }
}
