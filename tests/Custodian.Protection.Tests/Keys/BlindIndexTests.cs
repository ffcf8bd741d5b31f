using System.Security.Cryptography;
using System.Text;
using Custodian.Protection.Keys;
using Custodian.Protection.Tests.Support;

namespace Custodian.Protection.Tests.Keys;

public sealed class BlindIndexTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ProtectionKeyring _keys;
    private readonly BlindIndex _index;

    public BlindIndexTests()
    {
        _keys = ProtectionKeyring.LoadOrCreate(_dir.Path, TimeProvider.System, TestEnvironment.MasterKey);
        _index = new BlindIndex(_keys);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Index_is_HMAC_SHA256_of_domain_prefix_and_value_under_the_blind_index_key()
    {
        var expectedPhone = HMACSHA256.HashData(_keys.BlindIndexKey.ToArray(), Encoding.ASCII.GetBytes("custodian-blind-index-v1\0phone\0+821012345678"));
        var expectedRrn = HMACSHA256.HashData(_keys.BlindIndexKey.ToArray(), Encoding.ASCII.GetBytes("custodian-blind-index-v1\0rrn\07112311234567"));

        Assert.Equal(expectedPhone, _index.ForPhone("+821012345678"));
        Assert.Equal(expectedRrn, _index.ForRrn("7112311234567"));
        Assert.Equal(32, _index.ForPhone("+821012345678").Length);
    }

    [Fact]
    public void Deterministic_and_exact_match_only()
    {
        Assert.Equal(_index.ForPhone("+821012345678"), _index.ForPhone("+821012345678"));
        Assert.NotEqual(_index.ForPhone("+821012345678"), _index.ForPhone("+821012345679"));
        Assert.NotEqual(_index.ForRrn("7112311234567"), _index.ForRrn("7112311234568"));
    }

    [Fact]
    public void Fields_are_domain_separated()
    {
        // The same digit string indexed as an RRN and as (part of) a phone number never collides.
        Assert.NotEqual(_index.ForRrn("8210123456780"), _index.ForPhone("+8210123456780"));
    }

    [Fact]
    public void Index_depends_on_the_key()
    {
        using var other = new TempDirectory();
        var otherIndex = new BlindIndex(ProtectionKeyring.LoadOrCreate(other.Path, TimeProvider.System, TestEnvironment.MasterKey));

        Assert.NotEqual(_index.ForPhone("+821012345678"), otherIndex.ForPhone("+821012345678"));
        Assert.NotEqual(_index.ForRrn("7112311234567"), otherIndex.ForRrn("7112311234567"));
    }

    [Fact]
    public void Blind_index_key_is_not_the_data_key()
    {
        Assert.NotEqual(_keys.CurrentDataKeyId, _keys.BlindIndexKeyId);
    }

    [Theory]
    [InlineData("01012345678")]
    [InlineData("+82-10-1234-5678")]
    [InlineData("+8")]
    [InlineData("")]
    public void Phone_must_be_E164(string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => _index.ForPhone(value));
        Assert.StartsWith("The phone number must be in E.164 form", ex.Message);
    }

    [Theory]
    [InlineData("711231-1234567")]
    [InlineData("711231123456")]
    [InlineData("71123112345678")]
    public void Rrn_must_be_13_digits(string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => _index.ForRrn(value));
        Assert.DoesNotContain(value, ex.Message);
    }
}
