using Custodian.Problems;
using Custodian.Protection.Validation;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Protection.Tests.Validation;

public sealed class ResidentRegistrationNumbersTests
{
    // 2026-03-01T00:00Z = 2026-03-01 09:00 KST.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("711231-1234567", "7112311234567")]
    [InlineData("7112311234567", "7112311234567")]
    [InlineData("  711231-1234567\t", "7112311234567")]
    [InlineData("711231-1234560", "7112311234560")] // no check-digit requirement (post-2020 numbers have none)
    [InlineData("000101-9000000", "0001019000000")] // 9: 1800s, male
    [InlineData("991231-0000000", "9912310000000")] // 0: 1800s, female (1899-12-31)
    [InlineData("850615-1000000", "8506151000000")] // 1: 1900s, male
    [InlineData("850615-2000000", "8506152000000")] // 2: 1900s, female
    [InlineData("050615-3000000", "0506153000000")] // 3: 2000s, male
    [InlineData("050615-4000000", "0506154000000")] // 4: 2000s, female
    [InlineData("850615-5000000", "8506155000000")] // 5: foreign resident, 1900s, male
    [InlineData("850615-6000000", "8506156000000")] // 6: foreign resident, 1900s, female
    [InlineData("050615-7000000", "0506157000000")] // 7: foreign resident, 2000s, male
    [InlineData("050615-8000000", "0506158000000")] // 8: foreign resident, 2000s, female
    [InlineData("000229-3000000", "0002293000000")] // 2000 is a leap year
    [InlineData("000229-4000000", "0002294000000")]
    [InlineData("960229-1000000", "9602291000000")] // 1996 leap year
    [InlineData("240229-3000000", "2402293000000")] // 2024 leap year
    [InlineData("200229-8000000", "2002298000000")] // 2020, foreign resident
    [InlineData("040229-9000000", "0402299000000")] // 1804 was a leap year
    [InlineData("260301-3000000", "2603013000000")] // born today (KST)
    [InlineData("991231-1000000", "9912311000000")] // 1999, not 2099
    public void Accepts(string input, string expected)
    {
        var result = ResidentRegistrationNumbers.Normalize(input, _time);

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(expected, result.Value);
    }

    public static TheoryData<string?, string> Rejected => new()
    {
        { null, "is required" },
        { "", "is required" },
        { "   ", "is required" },
        { "7112311234", "must be 13 digits, optionally with a hyphen after the sixth" },
        { "71123112345678", "must be 13 digits, optionally with a hyphen after the sixth" },
        { "71123-11234567", "must be 13 digits, optionally with a hyphen after the sixth" },
        { "711231--234567", "must be 13 digits, optionally with a hyphen after the sixth" },
        { "711231 1234567", "must be 13 digits, optionally with a hyphen after the sixth" },
        { "711231-123456a", "must be 13 digits, optionally with a hyphen after the sixth" },
        { "７１１２３１-１２３４５６７", "must be 13 digits, optionally with a hyphen after the sixth" },
        { "711232-1234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "711301-1234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "710001-1234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "710100-1234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "710431-1234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "000229-1234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" }, // 1900 is not a leap year
        { "000229-2234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "000229-5234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "000229-9234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" }, // 1800 is not a leap year
        { "000229-0234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "970229-1234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "230229-3234567", "must start with a real birth date (YYMMDD) in the century its 7th digit names" },
        { "260302-3234567", "must not have a birth date in the future" },
        { "270101-4234567", "must not have a birth date in the future" },
        { "991231-3234567", "must not have a birth date in the future" }, // 2099
        { "300101-7234567", "must not have a birth date in the future" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Rejects_naming_the_field_and_rule_never_the_value(string? input, string rule)
    {
        var result = ResidentRegistrationNumbers.Normalize(input, _time);

        Assert.False(result.IsSuccess);
        var error = result.Error!;
        Assert.Equal(ErrorCodes.ValidationFailed, error.Code);
        Assert.Equal(400, error.Status);
        Assert.Equal("rrn: " + rule, error.Message);
        Assert.Equal([rule], error.Errors!["rrn"]);
        if (!string.IsNullOrWhiteSpace(input))
        {
            Assert.DoesNotContain(input.Trim()[..6], error.Message);
        }
    }

    [Fact]
    public void Today_is_the_date_in_Korea()
    {
        // 2026-02-28T15:30Z is already 2026-03-01 00:30 in Korea.
        var justAfterMidnightKst = new FakeTimeProvider(new DateTimeOffset(2026, 2, 28, 15, 30, 0, TimeSpan.Zero));
        var justBeforeMidnightKst = new FakeTimeProvider(new DateTimeOffset(2026, 2, 28, 14, 59, 0, TimeSpan.Zero));

        Assert.True(ResidentRegistrationNumbers.Normalize("260301-4000000", justAfterMidnightKst).IsSuccess);
        Assert.False(ResidentRegistrationNumbers.Normalize("260301-4000000", justBeforeMidnightKst).IsSuccess);
    }

    [Theory]
    [InlineData("7112311234567", 1971, 12, 31, false)]
    [InlineData("0001019000000", 1800, 1, 1, false)]
    [InlineData("0506157000000", 2005, 6, 15, true)]
    [InlineData("8506156000000", 1985, 6, 15, true)]
    [InlineData("0002294000000", 2000, 2, 29, false)]
    public void Birth_date_and_residency(string digits, int year, int month, int day, bool foreign)
    {
        Assert.Equal(new DateOnly(year, month, day), ResidentRegistrationNumbers.GetBirthDate(digits));
        Assert.Equal(foreign, ResidentRegistrationNumbers.IsForeignResident(digits));
    }

    [Fact]
    public void Formats_with_hyphen_and_maps_centuries()
    {
        Assert.Equal("711231-1234567", ResidentRegistrationNumbers.FormatWithHyphen("7112311234567"));
        Assert.Equal(
            [1800, 1900, 1900, 2000, 2000, 1900, 1900, 2000, 2000, 1800],
            "0123456789".Select(ResidentRegistrationNumbers.CenturyOf).ToArray());
        Assert.Throws<ArgumentException>(() => ResidentRegistrationNumbers.GetBirthDate("7113311234567"));
        Assert.Throws<ArgumentException>(() => ResidentRegistrationNumbers.FormatWithHyphen("711231-1234567"));
    }
}
