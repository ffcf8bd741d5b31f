namespace Custodian.Ledger;

/// <summary>
/// Facts about a read that the guard records in its ledger entry for the monitor's detectors, computed from blind
/// indexes and clear columns before the entry is appended — never by decrypting, and never a personal value
/// (docs/ledger-format.md §1.1, docs/monitoring.md "Signals"). Every member is optional; an entry whose signals are all
/// unset encodes exactly as one without signals. For an entry with several subjects a flag holds when it holds for at
/// least one of them.
/// </summary>
public sealed record AccessSignals
{
    /// <summary>Length of <see cref="NumberBlock"/> in characters: 16 (the first 8 bytes of an HMAC-SHA256, lowercase hex).</summary>
    public const int NumberBlockLength = 16;

    /// <summary>
    /// For a search: a keyed pseudonym of the 100-number block of the phone number searched for (the number without its
    /// last two digits), 16 lowercase hex characters; null otherwise. Many searches in one block within an hour are
    /// enumeration (issue 5). Equal blocks give equal pseudonyms under one server key; the number cannot be recovered
    /// from it without the key.
    /// </summary>
    public string? NumberBlock { get; init; }

    /// <summary>A subject's contract ends within the configured number of days of the read's date (targeting: telemarketing lists of expiring contracts).</summary>
    public bool ContractEnding { get; init; }

    /// <summary>A subject's home store lies in another area than the store of the read (targeting: reads far from the customer's own area).</summary>
    public bool OtherArea { get; init; }

    /// <summary>A subject shares the reading clerk's household (surname and address, compared as keyed indexes) or family plan (snooping).</summary>
    public bool SameHousehold { get; init; }

    /// <summary>True when no member is set: such signals are not written (docs/ledger-format.md §1.1).</summary>
    public bool IsEmpty => NumberBlock is null && !ContractEnding && !OtherArea && !SameHousehold;

    /// <summary>Whether <paramref name="value"/> is a well-formed <see cref="NumberBlock"/>: exactly 16 characters <c>0-9a-f</c>.</summary>
    public static bool IsNumberBlock(ReadOnlySpan<char> value)
    {
        if (value.Length != NumberBlockLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
