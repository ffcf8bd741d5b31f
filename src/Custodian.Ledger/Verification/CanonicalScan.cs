using System.Buffers;
using System.Text.Unicode;
using Custodian.Identity;

namespace Custodian.Ledger;

/// <summary>
/// The verifier's fast check of a payload (docs/ledger-format.md §5, "How it runs"): accepts only the
/// exact canonical encoding of format 1 (§1: the properties in order, no whitespace, integers without
/// leading zeros, non-empty lists) whose strings hold no escape, and reports where the values the
/// verifier compares with the query columns lie in the payload, without materialising an
/// <see cref="AccessEntry"/>. Everything it accepts, <see cref="LeafCodec.Decode"/> accepts with the
/// same values (valid UTF-8, known task, outcome and role names, positive 64-bit subjects, nothing
/// after the object). It returns false for anything else (an escape, another property order, a value
/// it does not take apart), and the verifier then decodes the payload with <see cref="LeafCodec.Decode"/>
/// as before: false means "not on the fast path", not "invalid". Thread-safe.
/// </summary>
internal static class CanonicalScan
{
    // Longest integers taken on the fast path: 18 digits never overflow a long.
    private const int MaxDigits = 18;

    // What ends a string on the fast path: the closing quote, or an escape or control character (not taken).
    private static readonly SearchValues<byte> StringStops =
        SearchValues.Create([(byte)'"', (byte)'\\', .. Enumerable.Range(0, 0x20).Select(b => (byte)b)]);

    private static readonly byte[][] TaskNames =
        [.. Enum.GetValues<AccessTask>().Select(t => System.Text.Encoding.UTF8.GetBytes(t.ToName()))];

    private static readonly byte[][] RoleNames =
        [.. Enum.GetValues<StaffRole>().Select(r => System.Text.Encoding.UTF8.GetBytes(r.ToName()))];

    /// <summary>Scans <paramref name="p"/>; on success fills <paramref name="entry"/> and appends the subjects (in payload order, duplicates kept) to <paramref name="subjects"/>.</summary>
    /// <returns>True when the payload is canonical format 1 on the fast path; false when it must be decoded with <see cref="LeafCodec.Decode"/>.</returns>
    public static bool TryScan(ReadOnlySpan<byte> p, ref ScannedEntry entry, List<long> subjects)
    {
        var subjectStart = subjects.Count;
        if (!Utf8.IsValid(p) || !Scan(p, ref entry, subjects))
        {
            subjects.RemoveRange(subjectStart, subjects.Count - subjectStart);
            return false;
        }

        entry.SubjectStart = subjectStart;
        entry.SubjectCount = subjects.Count - subjectStart;
        return true;
    }

    private static bool Scan(ReadOnlySpan<byte> p, ref ScannedEntry e, List<long> subjects)
    {
        var i = 0;
        if (!Literal(p, ref i, "{\"v\":1,\"time\":"u8) || !Integer(p, ref i, out e.TimeMs)
            || !Literal(p, ref i, ",\"task\":"u8) || !String(p, ref i, out e.Task) || !IsName(p.Slice(e.Task.Start, e.Task.Length), TaskNames)
            || !Literal(p, ref i, ",\"outcome\":"u8) || !String(p, ref i, out e.Outcome))
        {
            return false;
        }

        var outcome = p.Slice(e.Outcome.Start, e.Outcome.Length);
        if (!outcome.SequenceEqual("allowed"u8) && !outcome.SequenceEqual("denied"u8))
        {
            return false;
        }

        e.Account = e.Terminal = e.Store = Span.Absent;
        if (!OptionalString(p, ref i, ",\"account\":"u8, out e.Account) || !OptionalString(p, ref i, ",\"role\":"u8, out var role)
            || (role.Length >= 0 && !IsName(p.Slice(role.Start, role.Length), RoleNames))
            || !OptionalString(p, ref i, ",\"terminal\":"u8, out e.Terminal) || !OptionalString(p, ref i, ",\"store\":"u8, out e.Store)
            || !OptionalString(p, ref i, ",\"ip\":"u8, out _) || !OptionalString(p, ref i, ",\"purpose\":"u8, out _))
        {
            return false;
        }

        if (Literal(p, ref i, ",\"subjects\":["u8))
        {
            do
            {
                if (!Integer(p, ref i, out var subject) || subject <= 0)
                {
                    return false;
                }

                subjects.Add(subject);
            }
            while (Literal(p, ref i, ","u8));

            if (!Literal(p, ref i, "]"u8))
            {
                return false;
            }
        }

        return OptionalStrings(p, ref i, ",\"fields\":["u8) && OptionalStrings(p, ref i, ",\"unmasked\":["u8)
            && OptionalString(p, ref i, ",\"error\":"u8, out _) && OptionalString(p, ref i, ",\"target\":"u8, out _)
            && OptionalString(p, ref i, ",\"reason\":"u8, out _) && OptionalSignals(p, ref i) && Literal(p, ref i, "}"u8) && i == p.Length;
    }

    // docs/ledger-format.md §1.1: ,"signals":{ then block (16 lowercase hex), ending, away, household in this order,
    // each optional, at least one, comma-separated.
    private static bool OptionalSignals(ReadOnlySpan<byte> p, ref int i)
    {
        if (!Literal(p, ref i, ",\"signals\":{"u8))
        {
            return true;
        }

        var any = false;
        if (Literal(p, ref i, "\"block\":"u8))
        {
            if (!String(p, ref i, out var block) || !IsNumberBlock(p.Slice(block.Start, block.Length)))
            {
                return false;
            }

            any = true;
        }

        Flag(p, ref i, "\"ending\":true"u8, ref any);
        Flag(p, ref i, "\"away\":true"u8, ref any);
        Flag(p, ref i, "\"household\":true"u8, ref any);
        return any && Literal(p, ref i, "}"u8);
    }

    // A flag member: taken when the next bytes are it (after a comma when a member came before); otherwise nothing is read.
    private static void Flag(ReadOnlySpan<byte> p, ref int i, ReadOnlySpan<byte> member, ref bool any)
    {
        var at = i;
        if ((!any || Literal(p, ref i, ","u8)) && Literal(p, ref i, member))
        {
            any = true;
            return;
        }

        i = at;
    }

    private static bool IsNumberBlock(ReadOnlySpan<byte> value)
    {
        if (value.Length != AccessSignals.NumberBlockLength)
        {
            return false;
        }

        foreach (var b in value)
        {
            if (b is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f')))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Literal(ReadOnlySpan<byte> p, ref int i, ReadOnlySpan<byte> literal)
    {
        if (!p[i..].StartsWith(literal))
        {
            return false;
        }

        i += literal.Length;
        return true;
    }

    // A canonical integer: optional minus, no leading zero, at most 18 digits.
    private static bool Integer(ReadOnlySpan<byte> p, ref int i, out long value)
    {
        value = 0;
        var negative = i < p.Length && p[i] == '-';
        var start = negative ? i + 1 : i;
        var end = start;
        while (end < p.Length && p[end] is >= (byte)'0' and <= (byte)'9')
        {
            value = (value * 10) + (p[end] - '0');
            end++;
        }

        var digits = end - start;
        if (digits is 0 or > MaxDigits || (digits > 1 && p[start] == '0') || (negative && value == 0))
        {
            return false;
        }

        value = negative ? -value : value;
        i = end;
        return true;
    }

    // A string without escapes or control characters (UTF-8 validity is checked once for the payload).
    private static bool String(ReadOnlySpan<byte> p, ref int i, out Span value)
    {
        value = Span.Absent;
        if (i >= p.Length || p[i] != '"')
        {
            return false;
        }

        var start = i + 1;
        var rest = p[start..];

        // One vectorised pass: the string must end at the first of these, and that must be the closing quote.
        var length = rest.IndexOfAny(StringStops);
        if (length < 0 || rest[length] != '"')
        {
            return false;
        }

        value = new Span(start, length);
        i = start + length + 1;
        return true;
    }

    private static bool OptionalString(ReadOnlySpan<byte> p, ref int i, ReadOnlySpan<byte> prefix, out Span value)
    {
        value = Span.Absent;
        return !Literal(p, ref i, prefix) || String(p, ref i, out value);
    }

    private static bool OptionalStrings(ReadOnlySpan<byte> p, ref int i, ReadOnlySpan<byte> prefix)
    {
        if (!Literal(p, ref i, prefix))
        {
            return true;
        }

        do
        {
            if (!String(p, ref i, out _))
            {
                return false;
            }
        }
        while (Literal(p, ref i, ","u8));

        return Literal(p, ref i, "]"u8);
    }

    private static bool IsName(ReadOnlySpan<byte> value, byte[][] names)
    {
        foreach (var name in names)
        {
            if (value.SequenceEqual(name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Where a value lies in the payload: start and length in bytes; length −1 when absent.</summary>
    internal readonly record struct Span(int Start, int Length)
    {
        public static Span Absent => new(0, -1);
    }
}

/// <summary>What <see cref="CanonicalScan.TryScan"/> found: the values the verifier compares with the query columns.</summary>
internal struct ScannedEntry
{
    /// <summary>The <c>time</c> property (Unix ms).</summary>
    public long TimeMs;

    /// <summary>Positions of <c>task</c>, <c>outcome</c>, <c>account</c>, <c>terminal</c> and <c>store</c> (UTF-8, unescaped: the fast path takes no escapes).</summary>
    public CanonicalScan.Span Task, Outcome, Account, Terminal, Store;

    /// <summary>Where the entry's subjects start in the list given to the scan, and how many there are.</summary>
    public int SubjectStart, SubjectCount;
}
