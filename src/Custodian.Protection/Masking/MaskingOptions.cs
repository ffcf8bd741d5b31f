using System.Globalization;

namespace Custodian.Protection.Masking;

/// <summary>How much of a name a mask keeps.</summary>
public enum NameMask
{
    /// <summary>First and last character kept (<c>김*용</c>, <c>남**수</c>); a 2-character name keeps its first (<c>김*</c>). The default.</summary>
    FirstAndLast = 0,

    /// <summary>Only the first character kept (<c>김**</c>, <c>남***</c>); a 1-character name is fully masked.</summary>
    FirstOnly = 1,
}

/// <summary>Which digits of a phone number a mask hides.</summary>
public enum PhoneMask
{
    /// <summary>The last four digits (<c>010-1234-****</c>). The default.</summary>
    LastFour = 0,

    /// <summary>The middle group (<c>010-****-5678</c>, <c>011-***-5678</c>), the form many Korean services print.</summary>
    Middle = 1,
}

/// <summary>
/// The deployment's one masking policy (configuration section <c>Custodian:Masking</c>, e.g. the environment
/// variable <c>Custodian__Masking__Phone=Middle</c>). Every screen, export and report masks the same way
/// because there is one <see cref="MaskingPolicy"/> built from these options; and because two different
/// masks of the same value combine to reveal it (an old screenshot with the last four digits hidden plus a
/// new one with the middle hidden give the whole number), the policy a data directory has shown is
/// remembered and a change must be adopted explicitly (<c>custodian masking adopt</c>).
/// </summary>
public sealed class MaskingOptions
{
    /// <summary>Configuration section under <c>Custodian</c>.</summary>
    public const string Section = "Masking";

    /// <summary>Name mask. Default <see cref="NameMask.FirstAndLast"/>.</summary>
    public NameMask Name { get; set; } = NameMask.FirstAndLast;

    /// <summary>
    /// Leading RRN digits shown: 7 (birth date and the century/sex digit, <c>711231-1******</c>; the default) or
    /// 6 (birth date only, <c>711231-*******</c>). The last six digits are never shown masked or not — they are
    /// what PIPA Art. 24-2 protects — so no value above 7 is accepted.
    /// </summary>
    public int RrnDigitsShown { get; set; } = 7;

    /// <summary>Phone mask. Default <see cref="PhoneMask.LastFour"/>.</summary>
    public PhoneMask Phone { get; set; } = PhoneMask.LastFour;

    /// <summary>Leading whitespace-separated address tokens kept: 1 (province/city) to 3; default 2 (province/city and district).</summary>
    public int AddressTokensKept { get; set; } = 2;

    /// <summary>
    /// The policy in one canonical line, e.g. <c>name=first-and-last;rrn=7;phone=last-four;address=2</c>: what the
    /// data directory remembers and what exports and reports name.
    /// </summary>
    public string Descriptor => string.Create(
        CultureInfo.InvariantCulture,
        $"name={(Name == NameMask.FirstOnly ? "first-only" : "first-and-last")};rrn={RrnDigitsShown};phone={(Phone == PhoneMask.Middle ? "middle" : "last-four")};address={AddressTokensKept}");

    /// <summary>Every problem with these options, each naming the setting and the allowed values; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(Name))
        {
            failures.Add("Custodian:Masking:Name must be FirstAndLast or FirstOnly.");
        }

        if (RrnDigitsShown is not (6 or 7))
        {
            failures.Add("Custodian:Masking:RrnDigitsShown must be 6 (birth date) or 7 (birth date and century/sex digit).");
        }

        if (!Enum.IsDefined(Phone))
        {
            failures.Add("Custodian:Masking:Phone must be LastFour or Middle.");
        }

        if (AddressTokensKept is < 1 or > 3)
        {
            failures.Add("Custodian:Masking:AddressTokensKept must be 1, 2 or 3.");
        }

        return failures;
    }
}
