using System.Globalization;

namespace Custodian.Ledger.Retention;

/// <summary>
/// What a <see cref="AccessTask.RetentionErasure"/> entry records in its <see cref="AccessEntry.Target"/>:
/// the sequence range <c>[From, To)</c> it covers and the cutoff. Text form
/// <c>seq:&lt;From&gt;-&lt;To&gt;;cutoff:&lt;Unix ms&gt;</c>, e.g. <c>seq:0-1234;cutoff:1700000000000</c>
/// (decimal, no sign, no leading zeros). An erased entry is authorised by the record when
/// <c>From ≤ seq &lt; To</c> and its time is before the cutoff (docs/ledger-format.md §13).
/// </summary>
/// <param name="From">First sequence number covered (inclusive), ≥ 0.</param>
/// <param name="To">End of the range (exclusive), &gt; <paramref name="From"/>.</param>
/// <param name="CutoffMs">Entries with a time (Unix milliseconds UTC) strictly before this may be erased.</param>
public readonly record struct RetentionErasureRecord(long From, long To, long CutoffMs)
{
    private const string SeqPrefix = "seq:";
    private const string CutoffPrefix = ";cutoff:";

    /// <summary>The cutoff as a UTC time.</summary>
    public DateTimeOffset Cutoff => DateTimeOffset.FromUnixTimeMilliseconds(CutoffMs);

    /// <summary>Whether the record covers sequence <paramref name="sequence"/>.</summary>
    public bool Covers(long sequence) => sequence >= From && sequence < To;

    /// <summary>The target text.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{SeqPrefix}{From}-{To}{CutoffPrefix}{CutoffMs}");

    /// <summary>Parses the target text of a RetentionErasure entry; strict (the exact form <see cref="ToString"/> writes).</summary>
    /// <param name="target">The entry's target.</param>
    /// <param name="record">The record when the text is well formed with <c>0 ≤ From &lt; To</c>.</param>
    /// <returns>False otherwise.</returns>
    public static bool TryParse(string? target, out RetentionErasureRecord record)
    {
        record = default;
        if (target is null || !target.StartsWith(SeqPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = target.AsSpan(SeqPrefix.Length);
        var dash = rest.IndexOf('-');
        var semi = rest.IndexOf(CutoffPrefix, StringComparison.Ordinal);
        if (dash <= 0 || semi <= dash + 1
            || !TryParseNumber(rest[..dash], out var from)
            || !TryParseNumber(rest[(dash + 1)..semi], out var to)
            || !TryParseNumber(rest[(semi + CutoffPrefix.Length)..], out var cutoff)
            || to <= from)
        {
            return false;
        }

        record = new RetentionErasureRecord(from, to, cutoff);
        return record.ToString() == target; // canonical form only
    }

    private static bool TryParseNumber(ReadOnlySpan<char> text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
