using System.Security.Cryptography;
using System.Text;
using Custodian.Protection.Households;
using Custodian.Protection.Tests.Support;

namespace Custodian.Protection.Tests.Households;

public sealed class HouseholdIndexTests
{
    /// <summary>The household key as the documented derivation gives it, computed here without the keyring's code.</summary>
    internal static byte[] ExpectedKey()
    {
        var kek = HKDF.DeriveKey(HashAlgorithmName.SHA256, TestEnvironment.MasterKey, 32, [], "Custodian keyring KEK v1"u8.ToArray());
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, kek, 32, [], "Custodian keyring subkey v1|household-index"u8.ToArray());
    }

    internal static byte[] ExpectedHousehold(string surname, string normalizedAddress) =>
        HMACSHA256.HashData(ExpectedKey(), Encoding.UTF8.GetBytes("custodian-household-v1\0" + surname + "\0" + normalizedAddress));

    internal static byte[] ExpectedFamilyPlan(string upperCode) =>
        HMACSHA256.HashData(ExpectedKey(), Encoding.ASCII.GetBytes("custodian-family-plan-v1\0" + upperCode));

    [Theory]
    [InlineData("김민준", "김")]
    [InlineData("  이 서연 ", "이")]
    [InlineData("남궁민수", "남궁")]
    [InlineData("황보 영", "황보")] // three syllables with a space: still the two-syllable surname
    [InlineData("제갈공명", "제갈")]
    [InlineData("선우재덕", "선우")]
    [InlineData("독고영재", "독고")]
    [InlineData("사공일", "사공")]
    [InlineData("서문탁", "서문")]
    [InlineData("선우", "선")] // two syllables: surname 선, given name 우
    [InlineData("남궁", "남")]
    [InlineData("김", "김")]
    [InlineData("John Smith", "SMITH")]
    [InlineData("nguyen van an", "AN")]
    public void Surname_follows_the_documented_rules(string name, string expected) =>
        Assert.Equal(expected, HouseholdIndex.Surname(name));

    [Fact]
    public void Surname_of_a_decomposed_name_is_the_composed_syllable()
    {
        var decomposed = "남궁민수".Normalize(NormalizationForm.FormD);
        Assert.NotEqual("남궁민수", decomposed);
        Assert.Equal("남궁", HouseholdIndex.Surname(decomposed));
        Assert.Equal("김", HouseholdIndex.Surname("김철수".Normalize(NormalizationForm.FormD)));
    }

    [Fact]
    public void The_documented_two_syllable_surnames_are_exactly_these()
    {
        Assert.Equal(
            ["강전", "남궁", "독고", "동방", "망절", "사공", "서문", "선우", "소봉", "어금", "장곡", "제갈", "황목", "황보"],
            HouseholdIndex.TwoSyllableSurnames.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("서울특별시 강남구 역삼동 123-4", "서울특별시 강남구 역삼동 123-4")]
    [InlineData("  서울특별시  강남구\t역삼동\u00A0123-4 \r\n", "서울특별시 강남구 역삼동 123-4")]
    [InlineData("서울특별시\u3000강남구  역삼동   101동 1203호", "서울특별시 강남구 역삼동 101동 1203호")]
    [InlineData("Seoul  Gangnam-gu", "Seoul Gangnam-gu")] // no case folding
    [InlineData(" \t ", "")]
    public void Address_normalisation_is_NFC_collapsed_whitespace_trimmed(string address, string expected) =>
        Assert.Equal(expected, HouseholdIndex.NormalizeAddress(address));

    [Fact]
    public void Address_normalisation_composes_Hangul()
    {
        var decomposed = "서울특별시 강남구".Normalize(NormalizationForm.FormD);
        Assert.Equal("서울특별시 강남구", HouseholdIndex.NormalizeAddress(decomposed));
    }

    [Fact]
    public async Task Household_index_is_the_HMAC_of_surname_and_normalised_address_under_the_derived_key()
    {
        using var env = await TestEnvironment.CreateAsync();
        var index = new HouseholdIndex(env.Keys);

        var plain = index.ForHousehold("남궁민수", "서울특별시 강남구 역삼동 123-4");
        var messy = index.ForHousehold(" 남궁 지우 ".Normalize(NormalizationForm.FormD), "  서울특별시   강남구\t역삼동 123-4 ");
        var other = index.ForHousehold("남민수", "서울특별시 강남구 역삼동 123-4");

        Assert.Equal(ExpectedHousehold("남궁", "서울특별시 강남구 역삼동 123-4"), plain);
        Assert.Equal(plain, messy);
        Assert.Equal(ExpectedHousehold("남", "서울특별시 강남구 역삼동 123-4"), other);
        Assert.Equal(
            "custodian-household-v1\0남궁\0서울특별시 강남구 역삼동 123-4",
            "custodian-household-v1\0" + HouseholdIndex.Surname("남궁민수") + "\0" + HouseholdIndex.NormalizeAddress("서울특별시 강남구 역삼동 123-4"));
        Assert.Equal(32, plain.Length);
    }

    [Fact]
    public async Task The_key_survives_a_blind_index_rotation_and_a_reload()
    {
        using var env = await TestEnvironment.CreateAsync();
        var before = new HouseholdIndex(env.Keys).ForHousehold("김민준", "부산광역시 해운대구 우동 1");

        env.Keys.BeginBlindIndexRotation();
        env.Keys.CompleteBlindIndexRotation();
        var after = new HouseholdIndex(env.Keys).ForHousehold("김민준", "부산광역시 해운대구 우동 1");
        var reloaded = new HouseholdIndex(Custodian.Protection.Keys.ProtectionKeyring.LoadOrCreate(env.Directory.Combine("keys"), env.Time, TestEnvironment.MasterKey))
            .ForHousehold("김민준", "부산광역시 해운대구 우동 1");

        Assert.Equal(ExpectedHousehold("김", "부산광역시 해운대구 우동 1"), before);
        Assert.Equal(before, after);
        Assert.Equal(before, reloaded);
    }

    [Theory]
    [InlineData("FP-001", "FP-001")]
    [InlineData("fp-001", "FP-001")]
    [InlineData(" Fam7 ", "FAM7")]
    [InlineData("A", "A")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")]
    public async Task Family_plan_index_is_the_HMAC_of_the_upper_case_code(string code, string upper)
    {
        using var env = await TestEnvironment.CreateAsync();

        Assert.Equal(ExpectedFamilyPlan(upper), new HouseholdIndex(env.Keys).ForFamilyPlan(code));
    }

    [Theory]
    [InlineData("")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456")] // 33
    [InlineData("FP_001")]
    [InlineData("FP 001")]
    [InlineData("가족1")]
    [InlineData("FP-００1")]
    public async Task Bad_family_plan_codes_are_refused_without_echoing_them(string code)
    {
        using var env = await TestEnvironment.CreateAsync();

        Assert.False(HouseholdIndex.IsFamilyPlanCode(code.Trim()));
        var error = Assert.Throws<ArgumentException>(() => new HouseholdIndex(env.Keys).ForFamilyPlan(code));
        Assert.Equal("The family plan must be a family-plan group code: 1-32 characters, letters A-Z/a-z, digits and hyphens. (Parameter 'code')", error.Message);
    }

    [Fact]
    public async Task Empty_names_and_addresses_are_refused_without_echoing_them()
    {
        using var env = await TestEnvironment.CreateAsync();
        var index = new HouseholdIndex(env.Keys);

        Assert.Equal("The name must not be empty. (Parameter 'name')", Assert.Throws<ArgumentException>(() => index.ForHousehold("  ", "서울")).Message);
        Assert.Equal("The address must not be empty. (Parameter 'address')", Assert.Throws<ArgumentException>(() => index.ForHousehold("김민준", " \t")).Message);
    }
}
