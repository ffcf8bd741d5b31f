using System.Buffers;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Custodian.Protection.Keys;

namespace Custodian.Protection.Households;

/// <summary>
/// Keyed indexes that let the guard tell, without decrypting anything, whether a subscriber belongs to the reading clerk's
/// household or family plan (issue 5, snooping; docs/households.md "Household and family-plan indexes").
/// <list type="bullet">
/// <item><b>Household index</b>: HMAC-SHA256 (RFC 2104) over <c>"custodian-household-v1\0" ‖ UTF-8(surname) ‖ "\0" ‖
/// UTF-8(normalised address)</c> — <see cref="Surname"/> and <see cref="NormalizeAddress"/> state the rules.</item>
/// <item><b>Family-plan index</b>: HMAC-SHA256 over <c>"custodian-family-plan-v1\0" ‖ ASCII(code in upper case)</c> — see
/// <see cref="IsFamilyPlanCode"/>.</item>
/// </list>
/// Key: 32 bytes derived from the keyring's key-encryption key (<see cref="ProtectionKeyring.DeriveSubkey"/>, purpose
/// <see cref="KeyPurpose"/>), not the rotating blind-index key. These indexes are only ever compared with one another
/// (a subscriber row against a clerk's link), never searched with a value typed at a terminal, so they need no
/// current/pending pair; a blind-index key rotation leaves them valid. They change only with the master secret, after
/// which subscribers are re-imported and clerks re-linked. Thread-safe (one HMAC per call).
/// </summary>
public sealed class HouseholdIndex
{
    /// <summary>Length of every index, in bytes (32).</summary>
    public const int Size = HMACSHA256.HashSizeInBytes;

    /// <summary>The <see cref="ProtectionKeyring.DeriveSubkey"/> purpose of the key: <c>household-index</c>.</summary>
    public const string KeyPurpose = "household-index";

    /// <summary>Longest family-plan code, in characters (32).</summary>
    public const int MaxFamilyPlanLength = 32;

    /// <summary>The rule a family-plan code must meet, as import reports and CLI messages state it.</summary>
    public const string FamilyPlanRule = "must be a family-plan group code: 1-32 characters, letters A-Z/a-z, digits and hyphens";

    /// <summary>
    /// Korean two-syllable surnames (복성), recognised when a name of three or more syllables starts with one:
    /// 남궁, 황보, 제갈, 선우, 독고, 사공, 서문, 동방, 어금, 망절, 소봉, 장곡, 강전, 황목 — the compound surnames of Statistics Korea's
    /// 2015 census list of surnames (KOSIS, 성씨·본관별 인구). A two-syllable name starting with one (e.g. 선우) is read as a
    /// one-syllable surname and a one-syllable given name.
    /// </summary>
    public static FrozenSet<string> TwoSyllableSurnames { get; } = new[]
    {
        "남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방", "어금", "망절", "소봉", "장곡", "강전", "황목",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly byte[] HouseholdPrefix = "custodian-household-v1\0"u8.ToArray();
    private static readonly byte[] FamilyPlanPrefix = "custodian-family-plan-v1\0"u8.ToArray();
    private static readonly SearchValues<char> PlanChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");

    private readonly byte[] _key;

    /// <summary>Creates the index function with the key derived from <paramref name="keys"/>.</summary>
    /// <param name="keys">The protection keyring.</param>
    public HouseholdIndex(ProtectionKeyring keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _key = keys.DeriveSubkey(KeyPurpose);
    }

    /// <summary>
    /// The surname part of a full name. The name is trimmed and NFC-normalised. When it starts with a Hangul syllable
    /// (U+AC00–U+D7A3): its first two syllables when they are one of <see cref="TwoSyllableSurnames"/> and the name has
    /// at least three syllables (whitespace ignored), else its first syllable. Any other name (a foreign resident's, in
    /// Latin letters): its last whitespace-separated word in upper case (invariant culture).
    /// </summary>
    /// <param name="name">A full name as imported (1–50 characters).</param>
    /// <returns>The surname, never empty.</returns>
    /// <exception cref="ArgumentException">When the name is empty or only whitespace (the message does not echo it).</exception>
    public static string Surname(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var value = name.Trim().Normalize(NormalizationForm.FormC);
        if (value.Length == 0)
        {
            throw new ArgumentException("The name must not be empty.", nameof(name));
        }

        if (IsHangulSyllable(value[0]))
        {
            Span<char> syllables = stackalloc char[3];
            var count = 0;
            foreach (var c in value)
            {
                if (char.IsWhiteSpace(c))
                {
                    continue;
                }

                syllables[count++] = c;
                if (count == 3)
                {
                    break;
                }
            }

            var two = count == 3 ? new string(syllables[..2]) : null;
            return two is not null && TwoSyllableSurnames.Contains(two) ? two : value[..1];
        }

        var words = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return words[^1].ToUpperInvariant();
    }

    /// <summary>
    /// The normalised address: NFC, every run of whitespace (<see cref="char.IsWhiteSpace(char)"/>) replaced by one space
    /// U+0020, leading and trailing whitespace removed. Nothing else changes (no case folding, no abbreviation rules), so
    /// two addresses match only when they are written alike.
    /// </summary>
    /// <param name="address">A postal address as imported.</param>
    /// <returns>The normalised address (may be empty when the input is only whitespace).</returns>
    public static string NormalizeAddress(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var value = address.Normalize(NormalizationForm.FormC);
        var builder = new StringBuilder(value.Length);
        var pendingSpace = false;
        foreach (var c in value)
        {
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    /// <summary>Whether <paramref name="code"/> is a family-plan group code: 1–<see cref="MaxFamilyPlanLength"/> characters, ASCII letters, digits and <c>-</c>.</summary>
    /// <param name="code">The code, already trimmed.</param>
    /// <returns>True when well-formed.</returns>
    public static bool IsFamilyPlanCode(ReadOnlySpan<char> code) =>
        code.Length is >= 1 and <= MaxFamilyPlanLength && !code.ContainsAnyExcept(PlanChars);

    /// <summary>The household index of a subscriber (or a clerk's own subscription) from name and address.</summary>
    /// <param name="name">Full name; its <see cref="Surname"/> is indexed.</param>
    /// <param name="address">Postal address; its <see cref="NormalizeAddress"/> form is indexed.</param>
    /// <returns>32 bytes.</returns>
    /// <exception cref="ArgumentException">When the name is empty or the address is empty after normalisation (messages do not echo values).</exception>
    public byte[] ForHousehold(string name, string address)
    {
        var surname = Surname(name);
        var normalized = NormalizeAddress(address);
        if (normalized.Length == 0)
        {
            throw new ArgumentException("The address must not be empty.", nameof(address));
        }

        var surnameBytes = Encoding.UTF8.GetByteCount(surname);
        var addressBytes = Encoding.UTF8.GetByteCount(normalized);
        var message = new byte[HouseholdPrefix.Length + surnameBytes + 1 + addressBytes];
        try
        {
            HouseholdPrefix.CopyTo(message, 0);
            Encoding.UTF8.GetBytes(surname, message.AsSpan(HouseholdPrefix.Length));
            message[HouseholdPrefix.Length + surnameBytes] = 0;
            Encoding.UTF8.GetBytes(normalized, message.AsSpan(HouseholdPrefix.Length + surnameBytes + 1));
            return HMACSHA256.HashData(_key, message);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(message);
        }
    }

    /// <summary>The family-plan index of a plan group code; letters are compared without case (indexed in upper case).</summary>
    /// <param name="code">A code for which <see cref="IsFamilyPlanCode"/> holds (surrounding whitespace is trimmed first).</param>
    /// <returns>32 bytes.</returns>
    /// <exception cref="ArgumentException">When the code is not well-formed (the message states <see cref="FamilyPlanRule"/>, not the value).</exception>
    public byte[] ForFamilyPlan(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        var value = code.Trim();
        if (!IsFamilyPlanCode(value))
        {
            throw new ArgumentException("The family plan " + FamilyPlanRule + ".", nameof(code));
        }

        var message = new byte[FamilyPlanPrefix.Length + value.Length];
        FamilyPlanPrefix.CopyTo(message, 0);
        Encoding.ASCII.GetBytes(value.ToUpperInvariant(), message.AsSpan(FamilyPlanPrefix.Length));
        return HMACSHA256.HashData(_key, message);
    }

    private static bool IsHangulSyllable(char c) => c is >= '\uAC00' and <= '\uD7A3';
}
