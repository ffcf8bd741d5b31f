namespace Custodian.Ledger.Tests.Verification;

/// <summary>
/// The verifier's fast path takes the <c>signals</c> member in its canonical form (docs/ledger-format.md §1.1) and
/// leaves any other form to <see cref="LeafCodec.Decode"/>; what it takes is what the encoder writes.
/// </summary>
public sealed class CanonicalScanSignalsTests
{
    private const string Head = "{\"v\":1,\"time\":1736123400000,\"task\":\"search\",\"outcome\":\"allowed\",\"account\":\"C0001\",\"subjects\":[7]";

    [Theory]
    [InlineData(",\"signals\":{\"block\":\"0123456789abcdef\"}")]
    [InlineData(",\"signals\":{\"ending\":true}")]
    [InlineData(",\"signals\":{\"away\":true,\"household\":true}")]
    [InlineData(",\"signals\":{\"block\":\"0123456789abcdef\",\"ending\":true,\"away\":true,\"household\":true}")]
    [InlineData(",\"signals\":{\"block\":\"ffffffffffffffff\",\"household\":true}")]
    public void Canonical_signals_are_on_the_fast_path_and_re_encode_to_the_same_bytes(string signals)
    {
        var payload = System.Text.Encoding.UTF8.GetBytes(Head + signals + "}");
        var scanned = default(ScannedEntry);
        var subjects = new List<long>();
        Assert.True(CanonicalScan.TryScan(payload, ref scanned, subjects));
        Assert.Equal([7L], subjects);
        Assert.Equal(payload, LeafCodec.Encode(LeafCodec.Decode(payload)));
    }

    [Theory]
    [InlineData(",\"signals\":{}")]
    [InlineData(",\"signals\":{\"household\":true,\"away\":true}")]
    [InlineData(",\"signals\":{\"away\":true,}")]
    [InlineData(",\"signals\":{,\"away\":true}")]
    [InlineData(",\"signals\":{\"away\":false}")]
    [InlineData(",\"signals\":{\"away\":true,\"away\":true}")]
    [InlineData(",\"signals\":{\"block\":\"0123456789ABCDEF\"}")]
    [InlineData(",\"signals\":{\"block\":\"0123456789abcde\"}")]
    [InlineData(",\"signals\":{\"ending\":true,\"block\":\"0123456789abcdef\"}")]
    [InlineData(",\"signals\":{\"ending\":true}x")]
    public void Other_forms_are_left_to_the_decoder(string signals)
    {
        var payload = System.Text.Encoding.UTF8.GetBytes(Head + signals + "}");
        var scanned = default(ScannedEntry);
        var subjects = new List<long>();
        Assert.False(CanonicalScan.TryScan(payload, ref scanned, subjects));
        Assert.Empty(subjects);
    }
}
