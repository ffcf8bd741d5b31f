using System.Text;
using Custodian.Access.Staff;

namespace Custodian.Access.Tests.Staff;

public sealed class TotpCodesTests
{
    private static readonly byte[] Rfc6238Sha1Seed = Encoding.ASCII.GetBytes("12345678901234567890");

    /// <summary>RFC 6238 Appendix B, SHA-1 rows: Unix time, T (hex), 8-digit TOTP. Custodian uses the last 6 digits.</summary>
    [Theory]
    [InlineData(59L, 0x1L, "94287082")]
    [InlineData(1111111109L, 0x23523ECL, "07081804")]
    [InlineData(1111111111L, 0x23523EDL, "14050471")]
    [InlineData(1234567890L, 0x273EF07L, "89005924")]
    [InlineData(2000000000L, 0x3F940AAL, "69279037")]
    [InlineData(20000000000L, 0x27BC86AAL, "65353130")]
    public void Matches_the_RFC_6238_reference_values(long unixSeconds, long step, string eightDigits)
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        var expected = eightDigits[2..];

        Assert.Equal(expected, TotpCodes.Compute(Rfc6238Sha1Seed, at));
        Assert.Equal(step, TotpCodes.StepOf(at));
        Assert.True(TotpCodes.TryMatch(Rfc6238Sha1Seed, expected, at, tolerance: 0, out var matched));
        Assert.Equal(step, matched);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("28708")]
    [InlineData("2870822")]
    [InlineData("28708a")]
    [InlineData("２８７０８２")]
    public void Malformed_codes_never_match(string? code)
    {
        Assert.False(TotpCodes.TryMatch(Rfc6238Sha1Seed, code, DateTimeOffset.FromUnixTimeSeconds(59), tolerance: 1, out _));
    }

    [Fact]
    public void Spaces_inside_the_code_are_ignored()
    {
        Assert.True(TotpCodes.TryMatch(Rfc6238Sha1Seed, "287 082", DateTimeOffset.FromUnixTimeSeconds(59), tolerance: 0, out _));
    }
}
