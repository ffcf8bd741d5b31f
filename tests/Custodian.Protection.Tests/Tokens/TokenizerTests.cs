using System.Text.Json;
using Custodian.Protection.Keys;
using Custodian.Protection.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Protection.Tests.Tokens;

public sealed class TokenizerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ProtectionKeyring _keys;
    private readonly Tokenizer _tokens;

    public TokenizerTests()
    {
        _keys = ProtectionKeyring.LoadOrCreate(_dir.Path, new FakeTimeProvider(TestEnvironment.Start), TestEnvironment.MasterKey);
        _tokens = new Tokenizer(_keys);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Rrn_token_is_FF1_of_the_13_digits_under_the_token_key_with_the_rrn_tweak()
    {
        var token = _tokens.TokenizeRrn("7112311234567");

        Assert.Equal(13, token.Length);
        Assert.All(token, c => Assert.InRange(c, '0', '9'));
        Assert.Equal(Ff1.Encrypt(_keys.TokenKey, Ff1.Decimal, "custodian-token-v1|rrn"u8, "7112311234567"), token);
        Assert.NotEqual("7112311234567", token);
        Assert.Equal("7112311234567", _tokens.DetokenizeRrn(token));
    }

    [Fact]
    public void Phone_token_is_the_enciphered_E164_digits_without_plus()
    {
        var token = _tokens.TokenizePhone("+821012345678");

        Assert.Equal(12, token.Length);
        Assert.All(token, c => Assert.InRange(c, '0', '9'));
        Assert.Equal(Ff1.Encrypt(_keys.TokenKey, Ff1.Decimal, "custodian-token-v1|phone"u8, "821012345678"), token);
        Assert.Equal("+821012345678", _tokens.DetokenizePhone(token));
    }

    [Fact]
    public void Subscriber_token_is_FF1_of_the_zero_padded_id_and_reverses_to_the_id()
    {
        var id = Custodian.Identity.SubscriberId.From(42);
        var token = _tokens.TokenizeSubscriber(id);

        Assert.Equal(19, token.Length);
        Assert.All(token, c => Assert.InRange(c, '0', '9'));
        Assert.Equal(Ff1.Encrypt(_keys.TokenKey, Ff1.Decimal, "custodian-token-v1|subscriber"u8, "0000000000000000042"), token);
        Assert.True(_tokens.TryDetokenizeSubscriber(token, out var back));
        Assert.Equal(id, back);
        Assert.True(_tokens.TryDetokenizeSubscriber(_tokens.TokenizeSubscriber(Custodian.Identity.SubscriberId.From(long.MaxValue)), out var max));
        Assert.Equal(long.MaxValue, max.Value);
        Assert.False(_tokens.TryDetokenizeSubscriber("123", out _));
        Assert.False(_tokens.TryDetokenizeSubscriber("12345678901234567x9", out _));
        Assert.False(_tokens.TryDetokenizeSubscriber(null, out _));
    }

    [Fact]
    public void Tokens_are_deterministic_so_joins_work_and_differ_per_field_and_value()
    {
        Assert.Equal(_tokens.TokenizeRrn("7112311234567"), new Tokenizer(ProtectionKeyring.LoadOrCreate(_dir.Path, TimeProvider.System, TestEnvironment.MasterKey)).TokenizeRrn("7112311234567"));
        Assert.NotEqual(_tokens.TokenizeRrn("7112311234567"), _tokens.TokenizeRrn("7112311234568"));
        Assert.NotEqual(_tokens.TokenizeRrn("8210123456781"), "8" + _tokens.TokenizePhone("+821012345678"));
        Assert.NotEqual(Ff1.Encrypt(_keys.TokenKey, Ff1.Decimal, "custodian-token-v1|rrn"u8, "821012345678"), _tokens.TokenizePhone("+821012345678"));
    }

    [Fact]
    public void Tokens_survive_data_and_blind_index_key_rotation()
    {
        var before = (_tokens.TokenizeRrn("7112311234567"), _tokens.TokenizePhone("+821012345678"));
        _keys.RotateDataKey();
        _keys.BeginBlindIndexRotation();
        _keys.CompleteBlindIndexRotation();

        Assert.Equal(before, (_tokens.TokenizeRrn("7112311234567"), _tokens.TokenizePhone("+821012345678")));
    }

    [Fact]
    public void A_different_keyring_gives_different_tokens()
    {
        using var other = new TempDirectory();
        var otherTokens = new Tokenizer(ProtectionKeyring.LoadOrCreate(other.Path, TimeProvider.System, TestEnvironment.MasterKey));
        Assert.NotEqual(_tokens.TokenizeRrn("7112311234567"), otherTokens.TokenizeRrn("7112311234567"));
    }

    [Theory]
    [InlineData("711231-1234567")]
    [InlineData("711231123456")]
    [InlineData("71123112345678")]
    [InlineData("71123112345a7")]
    public void Malformed_rrn_is_rejected_naming_the_rule_not_the_value(string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => _tokens.TokenizeRrn(value));
        Assert.Contains("13 digits", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("01012345678")]
    [InlineData("+82-10-1234-5678")]
    [InlineData("+8210")]
    public void Malformed_phone_is_rejected_naming_the_rule_not_the_value(string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => _tokens.TokenizePhone(value));
        Assert.Contains("E.164", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_keyring_written_before_tokens_gains_a_wrapped_token_key_once()
    {
        using var dir = new TempDirectory();
        ProtectionKeyring.LoadOrCreate(dir.Path, TimeProvider.System, TestEnvironment.MasterKey);
        var path = Path.Combine(dir.Path, ProtectionKeyring.KeyringFileName);

        // Strip the token key to get the pre-token format.
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        node["tokenKeyId"] = 0;
        var keys = node["keys"]!.AsArray();
        keys.RemoveAt(2);
        File.WriteAllText(path, node.ToJsonString());

        var upgraded = ProtectionKeyring.LoadOrCreate(dir.Path, TimeProvider.System, TestEnvironment.MasterKey);
        var again = ProtectionKeyring.LoadOrCreate(dir.Path, TimeProvider.System, TestEnvironment.MasterKey);

        Assert.Equal(3u, upgraded.TokenKeyId);
        Assert.Equal(new Tokenizer(upgraded).TokenizeRrn("7112311234567"), new Tokenizer(again).TokenizeRrn("7112311234567"));
        using var json = JsonDocument.Parse(File.ReadAllBytes(path));
        var token = json.RootElement.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("purpose").GetString() == "token");
        Assert.Equal(("AES-256 FF1", 60), (token.GetProperty("algorithm").GetString(), Convert.FromBase64String(token.GetProperty("wrapped").GetString()!).Length));
    }
}
