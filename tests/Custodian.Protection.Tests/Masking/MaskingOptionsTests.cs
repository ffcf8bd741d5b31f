using Custodian.Protection.Masking;
using Custodian.Protection.Tests.Support;

namespace Custodian.Protection.Tests.Masking;

/// <summary>The per-deployment masking options and the one-policy-per-data-directory record.</summary>
public sealed class MaskingOptionsTests
{
    private static readonly MaskingPolicy Strict = new(new MaskingOptions
    {
        Name = NameMask.FirstOnly,
        RrnDigitsShown = 6,
        Phone = PhoneMask.Middle,
        AddressTokensKept = 1,
    });

    [Theory]
    [InlineData("김민용", "김**")]
    [InlineData("김민", "김*")]
    [InlineData("김", "*")]
    [InlineData("남궁민수", "남***")]
    [InlineData("", "")]
    public void First_only_name_mask_keeps_the_first_character(string name, string expected)
    {
        Assert.Equal(expected, Strict.MaskName(name));
    }

    [Fact]
    public void Six_digit_RRN_mask_hides_the_century_and_sex_digit_too()
    {
        Assert.Equal("711231-*******", Strict.MaskRrn("7112311234567"));
    }

    [Theory]
    [InlineData("+821012345678", "010-****-5678")]
    [InlineData("+82112345678", "011-***-5678")]
    [InlineData("+821698765432", "016-****-5432")]
    public void Middle_phone_mask_hides_the_middle_group(string e164, string expected)
    {
        Assert.Equal(expected, Strict.MaskPhone(e164));
    }

    [Theory]
    [InlineData(1, "서울특별시 ***")]
    [InlineData(2, "서울특별시 강남구 ***")]
    [InlineData(3, "서울특별시 강남구 역삼동 ***")]
    public void Address_mask_keeps_the_configured_number_of_tokens(int kept, string expected)
    {
        var policy = new MaskingPolicy(new MaskingOptions { AddressTokensKept = kept });
        Assert.Equal(expected, policy.MaskAddress("서울특별시 강남구 역삼동 123-45"));
    }

    [Fact]
    public void Descriptors_name_every_setting_canonically()
    {
        Assert.Equal("name=first-and-last;rrn=7;phone=last-four;address=2", MaskingPolicy.Default.Descriptor);
        Assert.Equal("name=first-only;rrn=6;phone=middle;address=1", Strict.Descriptor);
    }

    [Fact]
    public void Invalid_options_are_refused_with_every_problem_named()
    {
        var options = new MaskingOptions { RrnDigitsShown = 13, AddressTokensKept = 0, Phone = (PhoneMask)7, Name = (NameMask)9 };
        Assert.Equal(
            [
                "Custodian:Masking:Name must be FirstAndLast or FirstOnly.",
                "Custodian:Masking:RrnDigitsShown must be 6 (birth date) or 7 (birth date and century/sex digit).",
                "Custodian:Masking:Phone must be LastFour or Middle.",
                "Custodian:Masking:AddressTokensKept must be 1, 2 or 3.",
            ],
            options.Validate());
        Assert.Throws<ArgumentException>(() => new MaskingPolicy(options));
    }

    [Fact]
    public async Task A_data_directory_keeps_its_first_policy_until_a_change_is_adopted()
    {
        using var env = await TestEnvironment.CreateAsync();
        var record = new MaskingPolicyRecord(env.Database, env.Time);
        Assert.Null(await record.GetAsync());

        Assert.True((await record.EnsureAsync(MaskingPolicy.Default)).IsSuccess);
        Assert.Equal(("name=first-and-last;rrn=7;phone=last-four;address=2", TestEnvironment.Start), await record.GetAsync());

        var changed = await record.EnsureAsync(Strict);
        Assert.False(changed.IsSuccess);
        Assert.Equal(MaskingPolicyRecord.PolicyChanged, changed.Error!.Code);
        Assert.Equal(409, changed.Error.Status);
        Assert.Equal(
            "The configured masking policy (name=first-only;rrn=6;phone=middle;address=1) differs from the one this data directory shows " +
            "(name=first-and-last;rrn=7;phone=last-four;address=2). Two masks of the same value combine to reveal it; to change the policy on purpose, " +
            "run 'custodian masking adopt' with the new configuration.",
            changed.Error.Message);

        env.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal("name=first-and-last;rrn=7;phone=last-four;address=2", await record.AdoptAsync(Strict));
        Assert.True((await record.EnsureAsync(Strict)).IsSuccess);
        Assert.Equal((Strict.Descriptor, TestEnvironment.Start.AddDays(1)), await record.GetAsync());
        Assert.False((await record.EnsureAsync(MaskingPolicy.Default)).IsSuccess);

        // Adopting the policy already adopted writes nothing: it stays adopted since the day it was.
        env.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(Strict.Descriptor, await record.AdoptAsync(Strict));
        Assert.Equal((Strict.Descriptor, TestEnvironment.Start.AddDays(1)), await record.GetAsync());
    }
}
