using Custodian.Classification;
using Custodian.Protection.Sample;

namespace Custodian.Tests.Protection;

/// <summary>
/// Free text kept in the ledger (reasons, notes, titles) never holds a phone number or RRN: every shape a clerk or
/// officer might type is caught, and the numbers the product itself writes there (tokens, references, dates, counts) are not.
/// </summary>
public sealed class FreeTextTests
{
    [Theory]
    [InlineData("call 010-9406-2730 back")]
    [InlineData("01094062730")]
    [InlineData("010 9406 2730")]
    [InlineData("011-234-5678")]
    [InlineData("+82 10-9406-2730")]
    [InlineData("+821094062730")]
    [InlineData("home 02-123-4567")]
    [InlineData("031.123.4567")]
    [InlineData("070-1234-5678")]
    [InlineData("rrn 790405-1602390")]
    [InlineData("7904051602390")]
    [InlineData("790405 5602390")] // a foreign resident (5)
    [InlineData("041231-3123456, asked twice")]
    public void Phone_numbers_and_rrns_are_found(string text) => Assert.True(FreeText.ContainsPersonalData(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("monthly review follow-up")]
    [InlineData("token 4812093377120938471 asked who viewed the record")] // a 19-digit subscriber token
    [InlineData("claim:CLM-1 amount=300000 reference=TX-20261130-01")]
    [InlineData("incident:INC-20261130-ABC123")]
    [InlineData("access-log rows=1234 clerk=C0001 from 2026-11-01 to 2026-11-30")]
    [InlineData("791305-1602390")] // month 13: not a birth date
    [InlineData("790405-9602390")] // 9 is no gender/century digit
    [InlineData("0109406273012")] // inside a longer run of digits
    [InlineData("010-12")]
    public void Product_numbers_and_ordinary_text_pass(string? text) => Assert.False(FreeText.ContainsPersonalData(text));

    [Fact]
    public void Every_generated_subscriber_phone_and_rrn_is_found()
    {
        var population = new SampleGenerator().Generate(2_000, 5, 11, new DateOnly(2026, 11, 30)).ToList();
        Assert.All(population, s => Assert.True(FreeText.ContainsPersonalData($"about {s.Phone}."), "a generated phone number was not found"));
        Assert.All(population, s => Assert.True(FreeText.ContainsPersonalData($"about {s.Rrn}."), "a generated RRN was not found"));
        Assert.All(population, s => Assert.True(FreeText.ContainsPersonalData(s.Phone.Replace("-", string.Empty, StringComparison.Ordinal)), "a phone number without hyphens was not found"));
    }

    [Fact]
    public void The_refusal_names_the_field_and_rule_never_the_text()
    {
        var error = FreeText.Check("call 010-9406-2730", "note")!;
        Assert.Equal((Problems.ErrorCodes.PersonalDataInText, 400), (error.Code, error.Status));
        Assert.Equal("note: " + FreeText.Rule + ".", error.Message);
        Assert.Equal([FreeText.Rule], error.Errors!["note"]);
        Assert.Null(FreeText.Check("call the clerk", "note"));
        var thrown = Assert.Throws<PersonalDataInTextException>(() => FreeText.EnsureNoPersonalData("7904051602390", "reason"));
        Assert.Equal(("reason", "reason: " + FreeText.Rule + "."), (thrown.Field, thrown.Message));
    }

    [Fact]
    public void The_tests_ledger_check_ignores_a_sha256_digest_but_not_a_phone_number_beside_it()
    {
        const string digest = "ab0239294501cdef00112233445566778899aabbccddeeff00112233445566ff";
        var scoped = new Ledger.AccessEntry
        {
            Time = DateTimeOffset.UnixEpoch,
            Task = Ledger.AccessTask.IncidentScoped,
            Outcome = Ledger.AccessOutcome.Allowed,
            Target = $"incident:INC-1 ledger-size=5 sha256:{digest}",
        };
        Assert.True(FreeText.ContainsPersonalData(scoped.Target)); // the shape check alone reads 02-3929-4501 in it
        Assert.False(Infrastructure.LedgerText.HoldsPersonalData(scoped));
        Assert.True(Infrastructure.LedgerText.HoldsPersonalData(scoped with { Reason = "called 010-1234-5678" }));
        Assert.True(Infrastructure.LedgerText.HoldsPersonalData(scoped with { Target = $"sha256:{digest} 0212345678" }));
    }
}
