using System.Globalization;
using System.Text;
using Custodian.Identity;

namespace Custodian.Protection.Keys;

/// <summary>
/// Format-preserving tokens for exports, analytics and SIEM events: the same RRN or phone number
/// always gives the same token under one token key, so joins work without plaintext, and the token
/// has the value's shape, so downstream schemas need no change.
/// <para>
/// Algorithm: FF1 (NIST SP 800-38G Rev.1, AES-256, radix 10) under the keyring's token key (separate
/// from data and blind-index keys, wrapped by the same KEK), with a per-field tweak
/// (<c>"custodian-token-v1|rrn"</c>, <c>"custodian-token-v1|phone"</c>) so the same digits in two
/// fields give unrelated tokens.
/// </para>
/// <list type="bullet">
/// <item>RRN: 13 digits → 13 digits (<see cref="TokenizeRrn"/>). A token may happen to look like a valid RRN; it is not one, and consumers must treat token columns as tokens.</item>
/// <item>Phone: E.164 <c>+821012345678</c> → the 8–15 digits after the <c>+</c>, enciphered, WITHOUT the <c>+</c> (<see cref="TokenizePhone"/>), so a token is never mistaken for a dialable E.164 number.</item>
/// </list>
/// <para>
/// Tokens are pseudonymous data (<c>CustodianTaxonomy.Pseudonymous</c>), not anonymous: whoever holds
/// the token key can reverse them. Reversal is internal to Protection (tests only); no public API
/// turns a token back into a value. Tokens are stable across data-key and blind-index rotations
/// (the token key is not rotated by <c>custodian keys rotate</c>: rotating it would break joins with
/// every earlier export). Thread-safe.
/// </para>
/// </summary>
public sealed class Tokenizer
{
    /// <summary>Length of an RRN token, in digits (13, like the RRN).</summary>
    public const int RrnTokenLength = 13;

    private static readonly byte[] RrnTweak = Encoding.ASCII.GetBytes("custodian-token-v1|rrn");
    private static readonly byte[] PhoneTweak = Encoding.ASCII.GetBytes("custodian-token-v1|phone");
    private static readonly byte[] SubscriberTweak = Encoding.ASCII.GetBytes("custodian-token-v1|subscriber");

    /// <summary>Length of a subscriber token, in digits (19: the decimal width of a positive 64-bit integer).</summary>
    public const int SubscriberTokenLength = 19;

    private readonly ProtectionKeyring _keys;

    /// <summary>Creates the tokenizer over <paramref name="keys"/>.</summary>
    /// <param name="keys">The keyring holding the token key.</param>
    public Tokenizer(ProtectionKeyring keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys;
    }

    /// <summary>The token of a resident registration number.</summary>
    /// <param name="rrnDigits">13 ASCII digits without hyphen, as returned by <c>ResidentRegistrationNumbers.Normalize</c>.</param>
    /// <returns>13 ASCII digits.</returns>
    /// <exception cref="ArgumentException">When the value is not 13 digits (the message does not echo it).</exception>
    public string TokenizeRrn(string rrnDigits)
    {
        ArgumentNullException.ThrowIfNull(rrnDigits);
        if (rrnDigits.Length != RrnTokenLength || rrnDigits.AsSpan().ContainsAnyExceptInRange('0', '9'))
        {
            throw new ArgumentException("The resident registration number must be 13 digits without hyphen.", nameof(rrnDigits));
        }

        return Ff1.Encrypt(_keys.TokenKey, Ff1.Decimal, RrnTweak, rrnDigits);
    }

    /// <summary>The token of a phone number.</summary>
    /// <param name="e164">The number in E.164 form (<c>+</c> and 8–15 digits), as returned by <c>PhoneNumbers.NormalizeKorean</c>.</param>
    /// <returns>As many ASCII digits as the number has after the <c>+</c> (12 for a Korean 010 mobile number), without <c>+</c>.</returns>
    /// <exception cref="ArgumentException">When the value is not in E.164 form (the message does not echo it).</exception>
    public string TokenizePhone(string e164)
    {
        ArgumentNullException.ThrowIfNull(e164);
        if (e164.Length is < 9 or > 16 || e164[0] != '+' || e164.AsSpan(1).ContainsAnyExceptInRange('0', '9'))
        {
            throw new ArgumentException("The phone number must be in E.164 form ('+' and 8-15 digits).", nameof(e164));
        }

        return Ff1.Encrypt(_keys.TokenKey, Ff1.Decimal, PhoneTweak, e164[1..]);
    }

    /// <summary>
    /// The token of an internal subscriber ID, for SIEM events, review queries and exports that must
    /// join on "the same subscriber" without carrying the ID that every internal table is keyed by.
    /// FF1 over the ID written as 19 zero-padded decimal digits, tweak <c>"custodian-token-v1|subscriber"</c>.
    /// </summary>
    /// <param name="subscriber">The subscriber.</param>
    /// <returns>19 ASCII digits.</returns>
    public string TokenizeSubscriber(SubscriberId subscriber) =>
        Ff1.Encrypt(_keys.TokenKey, Ff1.Decimal, SubscriberTweak, subscriber.Value.ToString("D19", CultureInfo.InvariantCulture));

    /// <summary>
    /// Reverses <see cref="TokenizeSubscriber"/>, so a reviewer holding a token from a SIEM event can
    /// query the ledger for that subscriber. The result is an internal ID, not a personal value.
    /// </summary>
    /// <param name="token">19 ASCII digits.</param>
    /// <param name="subscriber">The subscriber, when the token is well formed and decodes to a valid ID.</param>
    /// <returns>False when the token is not 19 digits or does not decode to a positive 64-bit ID.</returns>
    public bool TryDetokenizeSubscriber(string? token, out SubscriberId subscriber)
    {
        subscriber = default;
        if (token is null || token.Length != SubscriberTokenLength || token.AsSpan().ContainsAnyExceptInRange('0', '9'))
        {
            return false;
        }

        var digits = Ff1.Decrypt(_keys.TokenKey, Ff1.Decimal, SubscriberTweak, token);
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            return false;
        }

        subscriber = SubscriberId.From(value);
        return true;
    }

    /// <summary>Reverses <see cref="TokenizeRrn"/>. Internal: only Protection (and its tests) may reverse tokens.</summary>
    internal string DetokenizeRrn(string token) => Ff1.Decrypt(_keys.TokenKey, Ff1.Decimal, RrnTweak, token);

    /// <summary>Reverses <see cref="TokenizePhone"/> (returns E.164 with <c>+</c>). Internal.</summary>
    internal string DetokenizePhone(string token) => "+" + Ff1.Decrypt(_keys.TokenKey, Ff1.Decimal, PhoneTweak, token);
}
