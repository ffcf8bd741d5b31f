using System.Text;
using Custodian.Identity;
using Custodian.Protection.Masking;
using Custodian.Protection.Subscribers;

namespace Custodian.Protection.Tests.Masking;

public sealed class MaskingPolicyTests
{
    private readonly MaskingPolicy _policy = new();

    [Theory]
    [InlineData("김민용", "김*용")]
    [InlineData("김민", "김*")]
    [InlineData("김", "*")]
    [InlineData("남궁민수", "남**수")] // one rule for every name: first and last character kept
    [InlineData("제갈공명", "제**명")]
    [InlineData("  이서연 ", "이*연")]
    [InlineData("JOHN SMITH", "J********H")]
    [InlineData("", "")]
    public void Masks_names(string name, string expected)
    {
        Assert.Equal(expected, _policy.MaskName(name));
    }

    [Fact]
    public void Masks_decomposed_Hangul_like_precomposed_Hangul()
    {
        var decomposed = "김민용".Normalize(NormalizationForm.FormD);
        Assert.NotEqual(3, decomposed.Length);

        Assert.Equal("김*용", _policy.MaskName(decomposed));
    }

    [Theory]
    [InlineData("7112311234567", "711231-1******")]
    [InlineData("0506158000000", "050615-8******")]
    public void Masks_RRNs(string digits, string expected)
    {
        Assert.Equal(expected, _policy.MaskRrn(digits));
    }

    [Theory]
    [InlineData("711231-1234567")]
    [InlineData("711231123456")]
    [InlineData("71123112345x7")]
    public void MaskRrn_refuses_unnormalized_input_without_echoing_it(string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => _policy.MaskRrn(value));
        Assert.DoesNotContain("711231", ex.Message);
    }

    [Theory]
    [InlineData("+821012345678", "010-1234-****")]
    [InlineData("+82112345678", "011-234-****")]
    [InlineData("+821698765432", "016-9876-****")]
    public void Masks_phones(string e164, string expected)
    {
        Assert.Equal(expected, _policy.MaskPhone(e164));
    }

    [Theory]
    [InlineData("서울특별시 강남구 역삼동 123-45", "서울특별시 강남구 ***")]
    [InlineData("경기도 성남시 정자동 12 101동 1203호", "경기도 성남시 ***")]
    [InlineData("  부산광역시   해운대구\t우동 1  ", "부산광역시 해운대구 ***")]
    [InlineData("제주특별자치도 제주시", "제주특별자치도 제주시 ***")]
    [InlineData("세종특별자치시", "세종특별자치시 ***")]
    [InlineData("", "")]
    public void Masks_addresses(string address, string expected)
    {
        Assert.Equal(expected, _policy.MaskAddress(address));
    }

    [Fact]
    public void Masks_a_whole_record_and_its_ToString_shows_no_personal_data()
    {
        var record = new SubscriberRecord(
            SubscriberId.From(77), "홍길동", "7112311234567", "+821012345678", "서울특별시 종로구 청운동 1-1",
            "5G 슬림", new DateOnly(2025, 1, 2), new DateOnly(2027, 1, 1), "S001");

        var masked = _policy.Mask(record);

        Assert.Equal(
            new MaskedSubscriber(SubscriberId.From(77), "홍*동", "711231-1******", "010-1234-****", "서울특별시 종로구 ***", "5G 슬림", new DateOnly(2025, 1, 2), new DateOnly(2027, 1, 1), "S001"),
            masked);
        Assert.Equal("MaskedSubscriber { Id = 77, HomeStore = S001 }", masked.ToString());
        Assert.Equal("SubscriberRecord { Id = 77, HomeStore = S001 }", record.ToString());
    }

    [Fact]
    public void Default_is_the_same_policy()
    {
        Assert.Equal(_policy.MaskName("김민용"), MaskingPolicy.Default.MaskName("김민용"));
    }
}
