using System.Globalization;
using System.Text;
using Custodian.Protection.Subscribers;

namespace Custodian.Protection.Masking;

/// <summary>
/// Custodian's one masking policy. The PIPA safety standard's practice requires the same mask in
/// every screen and export (different masks combine to reveal the value), so there is exactly one
/// implementation, configured once per deployment by <see cref="MaskingOptions"/>, and every view goes
/// through it. The defaults:
/// <list type="bullet">
/// <item>name: first and last character kept, every character between masked (<c>김*용</c>; <c>남궁민수</c> → <c>남**수</c>: the rule does not try to recognise two-syllable surnames); a 2-character name keeps its first (<c>김*</c>); a 1-character name is fully masked (<c>*</c>);</item>
/// <item>RRN: birth date and the 7th (century/sex) digit kept, the other six masked (<c>711231-1******</c>);</item>
/// <item>phone: national format with the last four digits masked (<c>010-1234-****</c>, <c>011-234-****</c>);</item>
/// <item>address: the first two whitespace-separated tokens kept (province/city and district), the rest replaced by one <c>***</c> (<c>서울특별시 강남구 ***</c>) — always appended so the mask does not reveal whether there was more.</item>
/// </list>
/// The options can keep only a name's first character, show only the RRN's birth date, mask a phone's middle
/// group instead of its last four digits, and keep one to three address tokens.
/// Characters are counted as text elements (grapheme clusters) after Unicode NFC normalization, so
/// decomposed Hangul is masked like precomposed Hangul. Stateless and thread-safe.
/// </summary>
public sealed class MaskingPolicy
{
    /// <summary>The mask character.</summary>
    public const char MaskChar = '*';

    /// <summary>What replaces an address after its kept tokens.</summary>
    public const string AddressMask = "***";

    private readonly NameMask _name;
    private readonly int _rrnShown;
    private readonly PhoneMask _phone;
    private readonly int _addressTokens;

    /// <summary>The default policy (<see cref="MaskingOptions"/> defaults).</summary>
    public MaskingPolicy()
        : this(new MaskingOptions())
    {
    }

    /// <summary>The policy configured by <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">When the options are invalid (<see cref="MaskingOptions.Validate"/>).</exception>
    public MaskingPolicy(MaskingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } failures)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(options));
        }

        _name = options.Name;
        _rrnShown = options.RrnDigitsShown;
        _phone = options.Phone;
        _addressTokens = options.AddressTokensKept;
        Descriptor = options.Descriptor;
    }

    /// <summary>The default policy as a shared instance (stateless and thread-safe).</summary>
    public static MaskingPolicy Default { get; } = new();

    /// <summary>The policy in one canonical line (<see cref="MaskingOptions.Descriptor"/>).</summary>
    public string Descriptor { get; }

    /// <summary>Masks a name: <c>김민용</c> → <c>김*용</c>, <c>김민</c> → <c>김*</c>, <c>남궁민수</c> → <c>남**수</c> (first and last kept; with <see cref="NameMask.FirstOnly"/>, <c>김**</c>, <c>김*</c>, <c>남***</c>).</summary>
    /// <param name="name">The full name; surrounding whitespace is ignored.</param>
    /// <returns>The masked name; empty for an empty name.</returns>
    public string MaskName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var normalized = name.Trim().Normalize(NormalizationForm.FormC);
        var elements = StringInfo.ParseCombiningCharacters(normalized);
        var count = elements.Length;
        if (count == 0)
        {
            return string.Empty;
        }

        if (count == 1)
        {
            return MaskChar.ToString();
        }

        var first = normalized[..elements[1]];
        if (count == 2 || _name == NameMask.FirstOnly)
        {
            return first + new string(MaskChar, count - 1);
        }

        var last = normalized[elements[count - 1]..];
        return string.Concat(first, new string(MaskChar, count - 2), last);
    }

    /// <summary>Masks an RRN: <c>7112311234567</c> → <c>711231-1******</c> (or <c>711231-*******</c> when 6 digits are shown).</summary>
    /// <param name="digits13">The normalized RRN, 13 digits.</param>
    /// <returns>The masked RRN, 14 characters.</returns>
    /// <exception cref="ArgumentException">When the value is not 13 digits (the message does not echo it).</exception>
    public string MaskRrn(string digits13)
    {
        ArgumentNullException.ThrowIfNull(digits13);
        if (digits13.Length != 13 || digits13.AsSpan().ContainsAnyExceptInRange('0', '9'))
        {
            throw new ArgumentException("The resident registration number must be 13 digits without hyphen.", nameof(digits13));
        }

        return _rrnShown == 7
            ? string.Concat(digits13.AsSpan(0, 6), "-", digits13.AsSpan(6, 1), "******")
            : string.Concat(digits13.AsSpan(0, 6), "-*******");
    }

    /// <summary>Masks a phone number: <c>+821012345678</c> → <c>010-1234-****</c> (or <c>010-****-5678</c> with <see cref="PhoneMask.Middle"/>).</summary>
    /// <param name="e164">A valid Korean number, normally E.164.</param>
    /// <returns>The national format with its last four digits replaced by <c>*</c>.</returns>
    /// <exception cref="ArgumentException">When the value is not a valid Korean number (the message does not echo it).</exception>
    public string MaskPhone(string e164)
    {
        ArgumentNullException.ThrowIfNull(e164);
        var national = Validation.PhoneNumbers.FormatNational(e164).ToCharArray();
        if (_phone == PhoneMask.Middle)
        {
            var firstHyphen = Array.IndexOf(national, '-');
            var lastHyphen = Array.LastIndexOf(national, '-');
            if (firstHyphen >= 0 && lastHyphen > firstHyphen + 1)
            {
                for (var i = firstHyphen + 1; i < lastHyphen; i++)
                {
                    national[i] = MaskChar;
                }

                return new string(national);
            }

            // A number with no middle group in its national format: mask the last four digits, as the default does.
        }

        var toMask = 4;
        for (var i = national.Length - 1; i >= 0 && toMask > 0; i--)
        {
            if (char.IsAsciiDigit(national[i]))
            {
                national[i] = MaskChar;
                toMask--;
            }
        }

        return new string(national);
    }

    /// <summary>Masks an address: <c>서울특별시 강남구 역삼동 123-45</c> → <c>서울특별시 강남구 ***</c>.</summary>
    /// <param name="address">The full address.</param>
    /// <returns>The first <see cref="MaskingOptions.AddressTokensKept"/> tokens (single-space separated) followed by <c> ***</c>; empty for an empty address.</returns>
    public string MaskAddress(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var tokens = address.Normalize(NormalizationForm.FormC).Split((char[]?)null, _addressTokens + 1, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (tokens.Length == 0)
        {
            return string.Empty;
        }

        var kept = tokens.Take(_addressTokens);
        return string.Join(' ', kept) + " " + AddressMask;
    }

    /// <summary>The masked view of a subscriber record (non-personal fields copied as they are).</summary>
    /// <param name="record">The decrypted record.</param>
    /// <returns>The masked view.</returns>
    public MaskedSubscriber Mask(SubscriberRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new MaskedSubscriber(
            record.Id,
            MaskName(record.Name),
            MaskRrn(record.Rrn),
            MaskPhone(record.Phone),
            MaskAddress(record.Address),
            record.RatePlan,
            record.ContractStart,
            record.ContractEnd,
            record.HomeStore);
    }
}
