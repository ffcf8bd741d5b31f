using System.Text.Json;
using Custodian.Protection.Keys;
using Custodian.Protection.Tests.Validation;

namespace Custodian.Protection.Tests.Tokens;

/// <summary>
/// FF1 (NIST SP 800-38G Rev.1) against the third-party vectors in shared/testdata/fpe-sp800-38g:
/// the nine NIST samples, ACVP test group 1 and the full Wycheproof radix-10 file. Inputs outside the
/// Rev.1 domain (radix^length &lt; 1,000,000, digits outside the alphabet, non-AES key sizes) are rejected.
/// </summary>
public sealed class Ff1VectorTests
{
    private static string Dir => Path.Combine(TestData.Root, "fpe-sp800-38g");

    [Fact]
    public void All_nine_NIST_samples_encrypt_and_decrypt()
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, "ff1-nist-samples.json")));
        var count = 0;
        foreach (var v in json.RootElement.GetProperty("vectors").EnumerateArray())
        {
            var key = Convert.FromHexString(v.GetProperty("key").GetString()!);
            var tweak = Convert.FromHexString(v.GetProperty("tweak").GetString()!);
            var alphabet = v.GetProperty("alphabet").GetString()!;
            Assert.Equal(v.GetProperty("radix").GetInt32(), alphabet.Length);
            var pt = v.GetProperty("plaintext").GetString()!;
            var ct = v.GetProperty("ciphertext").GetString()!;

            Assert.Equal(ct, Ff1.Encrypt(key, alphabet, tweak, pt));
            Assert.Equal(pt, Ff1.Decrypt(key, alphabet, tweak, ct));
            count++;
        }

        Assert.Equal(9, count);
    }

    [Fact]
    public void Sample_1_gives_2433477484()
    {
        var key = Convert.FromHexString("2B7E151628AED2A6ABF7158809CF4F3C");
        Assert.Equal("2433477484", Ff1.Encrypt(key, Ff1.Decimal, [], "0123456789"));
    }

    [Fact]
    public void All_25_ACVP_test_group_1_cases_encrypt_and_decrypt()
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, "ff1-acvp-tg1-aes128-radix10.json")));
        var count = 0;
        foreach (var t in json.RootElement.GetProperty("tests").EnumerateArray())
        {
            var key = Convert.FromHexString(t.GetProperty("key").GetString()!);
            var tweak = Convert.FromHexString(t.GetProperty("tweak").GetString()!);
            var pt = t.GetProperty("pt").GetString()!;
            var ct = t.GetProperty("ct").GetString()!;

            Assert.Equal(ct, Ff1.Encrypt(key, Ff1.Decimal, tweak, pt));
            Assert.Equal(pt, Ff1.Decrypt(key, Ff1.Decimal, tweak, ct));
            count++;
        }

        Assert.Equal(25, count);
    }

    [Fact]
    public void Wycheproof_radix_10_valid_vectors_match_and_out_of_domain_inputs_are_rejected()
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, "wycheproof-aes_ff1_base10_test.json")));
        var failures = new List<string>();
        int matched = 0, rejected = 0, rejectedLegacy = 0;
        foreach (var group in json.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            var alphabet = group.GetProperty("alphabet").GetString()!;
            Assert.Equal(Ff1.Decimal, alphabet);
            foreach (var t in group.GetProperty("tests").EnumerateArray())
            {
                var id = t.GetProperty("tcId").GetInt32();
                var key = Convert.FromHexString(t.GetProperty("key").GetString()!);
                var tweak = Convert.FromHexString(t.GetProperty("tweak").GetString()!);
                var msg = t.GetProperty("msg").GetString()!;
                var ct = t.GetProperty("ct").GetString()!;
                var flags = t.GetProperty("flags").EnumerateArray().Select(f => f.GetString()).ToList();

                // SmallMessageSize is "valid" only under the original FF1 rule (radix^len >= 100); Rev.1 rejects it.
                var mustReject = t.GetProperty("result").GetString() == "invalid" || flags.Contains("SmallMessageSize");
                if (mustReject)
                {
                    // The ct of an InvalidPlaintext case is a well-formed digit string: only encryption must refuse.
                    var decryptMustThrow = !flags.Contains("InvalidPlaintext");
                    if (Throws(() => Ff1.Encrypt(key, alphabet, tweak, msg)) && (!decryptMustThrow || Throws(() => Ff1.Decrypt(key, alphabet, tweak, ct))))
                    {
                        rejected++;
                        rejectedLegacy += flags.Contains("SmallMessageSize") ? 1 : 0;
                    }
                    else
                    {
                        failures.Add($"tcId {id}: accepted an input outside the Rev.1 domain");
                    }

                    continue;
                }

                if (Ff1.Encrypt(key, alphabet, tweak, msg) != ct || Ff1.Decrypt(key, alphabet, tweak, ct) != msg)
                {
                    failures.Add($"tcId {id}: wrong result");
                }
                else
                {
                    matched++;
                }
            }
        }

        Assert.Empty(failures);
        Assert.Equal(3300, matched);
        Assert.Equal(545, rejected);
        Assert.Equal(12, rejectedLegacy);
    }

    [Theory]
    [InlineData("12345")] // 10^5 < 10^6
    [InlineData("1")]
    [InlineData("")]
    public void Inputs_below_the_Rev1_minimum_domain_are_rejected(string input)
    {
        var ex = Assert.Throws<ArgumentException>(() => Ff1.Encrypt(new byte[32], Ff1.Decimal, [], input));
        Assert.Contains("1,000,000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Six_digits_are_the_shortest_decimal_input_accepted()
    {
        var token = Ff1.Encrypt(new byte[32], Ff1.Decimal, [], "123456");
        Assert.Equal(6, token.Length);
        Assert.Equal("123456", Ff1.Decrypt(new byte[32], Ff1.Decimal, [], token));
    }

    [Fact]
    public void A_non_digit_or_a_non_AES_key_is_rejected_without_echoing_the_input()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ff1.Encrypt(new byte[32], Ff1.Decimal, [], "71123112345X7"));
        Assert.DoesNotContain("71123112345X7", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ff1.Encrypt(new byte[20], Ff1.Decimal, [], "7112311234567"));
    }

    private static bool Throws(Action action)
    {
        try
        {
            action();
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
