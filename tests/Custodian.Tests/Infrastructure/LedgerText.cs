using System.Text.RegularExpressions;
using Custodian.Ledger;

namespace Custodian.Tests.Infrastructure;

/// <summary>
/// Whether a ledger entry's free-text fields hold something shaped like a phone number or RRN
/// (<see cref="Classification.FreeText.ContainsPersonalData"/>), ignoring SHA-256 digests written as 64 hex digits
/// (<c>ca:&lt;hex&gt;</c>, <c>sha256:&lt;hex&gt;</c>): about one digest in 180 holds a run such as <c>0239294501</c> between
/// hex letters, which the shape check reads as a Seoul number, so a test asserting "no personal data in the ledger"
/// failed now and then on an incident's scope hash.
/// </summary>
public static partial class LedgerText
{
    /// <summary>True when the entry's reason or target holds a phone-number or RRN shape outside any SHA-256 digest.</summary>
    public static bool HoldsPersonalData(AccessEntry entry) =>
        Classification.FreeText.ContainsPersonalData(WithoutDigests(entry.Reason)) || Classification.FreeText.ContainsPersonalData(WithoutDigests(entry.Target));

    private static string? WithoutDigests(string? text) => text is null ? null : Digest().Replace(text, "<sha256>");

    [GeneratedRegex("(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])", RegexOptions.CultureInvariant)]
    private static partial Regex Digest();
}
