extern alias LibPhoneNumber;

using System.Text.RegularExpressions;
using System.Xml.Linq;
using Custodian.Problems;
using PhoneNumbers = Custodian.Protection.Validation.PhoneNumbers;

namespace Custodian.Protection.Tests.Validation;

public sealed class PhoneNumbersTests
{
    [Theory]
    [InlineData("010-1234-5678", "+821012345678")]
    [InlineData("01012345678", "+821012345678")]
    [InlineData("+82 10 1234 5678", "+821012345678")]
    [InlineData("+82-10-1234-5678", "+821012345678")]
    [InlineData("+82 010 1234 5678", "+821012345678")]
    [InlineData("010.1234.5678", "+821012345678")]
    [InlineData("(010) 1234-5678", "+821012345678")]
    [InlineData(" 010 1234 5678 ", "+821012345678")]
    [InlineData("010-9999-0000", "+821099990000")]
    [InlineData("011-234-5678", "+82112345678")]
    [InlineData("016-2345-6789", "+821623456789")]
    [InlineData("019-876-5432", "+82198765432")]
    public void Normalizes_mobile_numbers_to_E164(string input, string expected)
    {
        var result = PhoneNumbers.NormalizeKorean(input);
        var mobile = PhoneNumbers.NormalizeKoreanMobile(input);

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(expected, result.Value);
        Assert.Equal(expected, mobile.Value);
        Assert.True(PhoneNumbers.IsMobile(expected));
    }

    [Theory]
    [InlineData("02-123-4567", "+8221234567")]    // Seoul fixed line
    [InlineData("031-123-4567", "+82311234567")]  // Gyeonggi fixed line
    [InlineData("070-1234-5678", "+827012345678")] // VoIP
    [InlineData("1544-1234", "+8215441234")]       // UAN
    public void Valid_non_mobile_numbers_normalize_but_are_not_mobile(string input, string expected)
    {
        Assert.Equal(expected, PhoneNumbers.NormalizeKorean(input).Value);
        Assert.False(PhoneNumbers.IsMobile(expected));
        var mobile = PhoneNumbers.NormalizeKoreanMobile(input);
        Assert.Equal(ErrorCodes.PhoneInvalid, mobile.Error!.Code);
        Assert.Equal("phone: must be a Korean mobile number", mobile.Error.Message);
    }

    [Theory]
    [InlineData(null, "is required")]
    [InlineData("", "is required")]
    [InlineData("   ", "is required")]
    [InlineData("hello", "may contain only digits, spaces, '-', '.', '(', ')' and a leading '+'")]
    [InlineData("010-CALL-ME", "may contain only digits, spaces, '-', '.', '(', ')' and a leading '+'")] // letters are not read as keypad digits
    [InlineData("010+1234+5678", "may contain only digits, spaces, '-', '.', '(', ')' and a leading '+'")]
    [InlineData("010-5970-1234", "must be a valid Korean number")]   // KR metadata: 105 9[0-6] only
    [InlineData("010-1234-56789", "must be a valid Korean number")]
    [InlineData("010-123-456", "must be a valid Korean number")]
    [InlineData("+1 202 555 0100", "must be a valid Korean number")] // valid US number, not Korean
    [InlineData("+81 90 1234 5678", "must be a valid Korean number")]
    [InlineData("010-1234-5678 ext. 3", "may contain only digits, spaces, '-', '.', '(', ')' and a leading '+'")]
    [InlineData("010-1234-5678-010-1234-5678-010-1234-5678", "must be at most 40 characters")]
    public void Rejects_naming_the_field_and_rule(string? input, string rule)
    {
        var result = PhoneNumbers.NormalizeKorean(input);

        Assert.False(result.IsSuccess);
        Assert.Equal(ErrorCodes.PhoneInvalid, result.Error!.Code);
        Assert.Equal(400, result.Error.Status);
        Assert.Equal("phone: " + rule, result.Error.Message);
        Assert.Equal([rule], result.Error.Errors!["phone"]);
        Assert.False(PhoneNumbers.IsMobile(input));
    }

    [Theory]
    [InlineData("+821012345678", "010-1234-5678")]
    [InlineData("+82112345678", "011-234-5678")]
    [InlineData("+821623456789", "016-2345-6789")]
    [InlineData("+8221234567", "02-123-4567")]
    public void Formats_national(string e164, string expected)
    {
        Assert.Equal(expected, PhoneNumbers.FormatNational(e164));
    }

    [Fact]
    public void FormatNational_refuses_invalid_numbers_without_echoing_them()
    {
        var ex = Assert.Throws<ArgumentException>(() => PhoneNumbers.FormatNational("+821059701234"));
        Assert.DoesNotContain("5970", ex.Message);
    }

    /// <summary>Every example number in libphonenumber's KR metadata is accepted, typed as its section says.</summary>
    [Fact]
    public void Agrees_with_the_example_numbers_of_the_KR_metadata()
    {
        var territory = KrMetadata.Territory;
        var checkedTypes = new List<string>();
        foreach (var section in territory.Elements().Where(e => e.Element("exampleNumber") is not null))
        {
            var example = section.Element("exampleNumber")!.Value.Trim();
            var e164 = "+82" + example;
            var fromNational = PhoneNumbers.NormalizeKorean("0" + example);
            var fromInternational = PhoneNumbers.NormalizeKorean(e164);

            Assert.True(fromNational.IsSuccess, $"{section.Name.LocalName}: {fromNational.Error?.Message}");
            Assert.Equal(e164, fromNational.Value);
            Assert.Equal(e164, fromInternational.Value);
            Assert.Equal(section.Name.LocalName == "mobile", PhoneNumbers.IsMobile(e164));
            Assert.Matches(KrMetadata.Pattern(section.Name.LocalName), example);
            checkedTypes.Add(section.Name.LocalName);
        }

        Assert.Equal(["fixedLine", "mobile", "pager", "tollFree", "premiumRate", "personalNumber", "voip", "uan"], checkedTypes);
    }

    /// <summary>Mobile numbers accepted by the normalizer match the metadata's mobile pattern, and near-misses outside it are refused.</summary>
    [Theory]
    [InlineData("1012345678", true)]
    [InlineData("1059601234", true)]
    [InlineData("1059701234", false)]
    [InlineData("122131234", true)]    // 1 22[13]\d \d{4,5}
    [InlineData("112345678", true)]
    [InlineData("1212345678", true)]
    [InlineData("1252345678", true)]   // 2[013-9] includes 5
    [InlineData("1222345678", false)]  // 122 only as 122[13] with 4-5 more digits
    public void Mobile_acceptance_follows_the_metadata_mobile_pattern(string national, bool mobile)
    {
        Assert.Equal(mobile, Regex.IsMatch(national, KrMetadata.Pattern("mobile")));
        Assert.Equal(mobile, PhoneNumbers.IsMobile("+82" + national));
    }
}

/// <summary>Reads /work/shared/testdata/libphonenumber-kr/PhoneNumberMetadata.KR-territory.xml.</summary>
/// <summary>
/// The domestic fast path of <see cref="PhoneNumbers"/> (<c>01X-NNNN-NNNN</c> without <c>PhoneNumberUtil.Parse</c>) must
/// answer exactly as the full libphonenumber path does, for every prefix of that shape.
/// </summary>
public sealed class PhoneNumbersFastPathTests
{
    private static readonly LibPhoneNumber::PhoneNumbers.PhoneNumberUtil Util = LibPhoneNumber::PhoneNumbers.PhoneNumberUtil.GetInstance();

    [Fact]
    public void Every_domestic_mobile_shape_gets_the_same_answer_as_the_full_libphonenumber_path()
    {
        var random = new Random(20261130);
        var checkedInputs = 0;
        for (var prefix = 0; prefix < 10_000; prefix++)
        {
            // 01X + a 3-digit start of the middle group: every place the KR metadata could draw a line.
            var head = "01" + prefix.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);
            foreach (var middleLength in new[] { 3, 4 })
            {
                var middle = head[3..] + (middleLength == 4 ? random.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty);
                var last = random.Next(10_000).ToString("D4", System.Globalization.CultureInfo.InvariantCulture);
                foreach (var input in new[] { $"{head[..3]}-{middle}-{last}", head[..3] + middle + last })
                {
                    Assert.Equal(Expected(input), Describe(PhoneNumbers.NormalizeKoreanMobile(input)));
                    Assert.Equal(ExpectedAny(input), Describe(PhoneNumbers.NormalizeKorean(input)));
                    checkedInputs++;
                }
            }
        }

        Assert.Equal(40_000, checkedInputs);
    }

    [Theory]
    [InlineData("010-12345-678")]
    [InlineData("01-01234-5678")]
    [InlineData("010--1234-5678")]
    [InlineData("-010-1234-5678")]
    [InlineData("010-1234-5678-")]
    [InlineData("0101234-5678")]
    [InlineData("010123456789")]
    [InlineData("020-1234-5678")]
    [InlineData("010-123-45678")]
    public void Other_shapes_take_the_full_path_with_the_same_answer(string input)
    {
        Assert.Equal(Expected(input), Describe(PhoneNumbers.NormalizeKoreanMobile(input)));
    }

    private static string Describe(Result<string> result) => result.IsSuccess ? result.Value : "error: " + result.Error!.Message;

    private static string Rule(string rule) => "error: " + Custodian.Protection.Validation.FieldRule.Error(ErrorCodes.PhoneInvalid, PhoneNumbers.Field, rule).Message;

    /// <summary>What the full path gives: Parse, then valid for KR, then MOBILE, then E.164.</summary>
    private static string Expected(string input)
    {
        var any = ExpectedAny(input);
        if (any.StartsWith("error: ", StringComparison.Ordinal))
        {
            return any;
        }

        return Util.GetNumberType(Util.Parse(input, "KR")) == LibPhoneNumber::PhoneNumbers.PhoneNumberType.MOBILE
            ? any
            : Rule("must be a Korean mobile number");
    }

    private static string ExpectedAny(string input)
    {
        LibPhoneNumber::PhoneNumbers.PhoneNumber number;
        try
        {
            number = Util.Parse(input, "KR");
        }
        catch (LibPhoneNumber::PhoneNumbers.NumberParseException)
        {
            return Rule("must be a phone number");
        }

        return Util.IsValidNumberForRegion(number, "KR")
            ? Util.Format(number, LibPhoneNumber::PhoneNumbers.PhoneNumberFormat.E164)
            : Rule("must be a valid Korean number");
    }
}

internal static class KrMetadata
{
    public static XElement Territory { get; } = XElement.Load(Path.Combine(TestData.Root, "libphonenumber-kr", "PhoneNumberMetadata.KR-territory.xml"));

    /// <summary>The whole-string regex of a number type's nationalNumberPattern (whitespace removed as libphonenumber's build does).</summary>
    public static string Pattern(string type)
    {
        var raw = Territory.Element(type)!.Element("nationalNumberPattern")!.Value;
        return "^(?:" + Regex.Replace(raw, @"\s+", string.Empty) + ")$";
    }
}

internal static class TestData
{
    /// <summary>The shared third-party test data directory (../shared/testdata relative to the repository root).</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "testdata");
            if (Directory.Exists(Path.Combine(candidate, "libphonenumber-kr")))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new DirectoryNotFoundException("shared/testdata not found above the test output directory.");
    }
}
