using System.Text.RegularExpressions;

namespace Custodian.Classification;

/// <summary>
/// Guards the free text that staff write into records kept for years and exported (reasons, notes, titles, questions):
/// such text may name a subscriber only by token, never by phone number or resident registration number, because the
/// ledger keeps it for at least two years and the SIEM export carries it (DESIGN.md: personal data is never exported in
/// clear). Detects Korean phone numbers — mobile <c>01[016789]</c>, area-code landlines (<c>02</c>, <c>0[3-6][1-5]</c>),
/// <c>070</c> and <c>050x</c>, each with or without <c>-</c>, <c>.</c> or space separators, and mobiles written
/// <c>+82 10…</c> — and resident registration numbers (6 digits of a valid month and day, optional <c>-</c>, a
/// gender/century digit 1–8, 6 digits; Resident Registration Act Enforcement Rule, DESIGN.md). A number inside a
/// longer run of digits (a 19-digit subscriber token, a payout reference) is not a match. Names cannot be recognised
/// reliably and are not checked; the staff guidance (docs/access.md) covers them.
/// </summary>
public static partial class FreeText
{
    /// <summary>The rule as shown in errors: names the rule, never the text.</summary>
    public const string Rule = "must not contain a phone number or a resident registration number; name a subscriber by token";

    /// <summary>Whether <paramref name="text"/> contains something shaped like a Korean phone number or an RRN.</summary>
    /// <param name="text">Any text; null and empty contain nothing.</param>
    /// <returns>True when a phone number or RRN shape is found.</returns>
    public static bool ContainsPersonalData(string? text) =>
        !string.IsNullOrEmpty(text) && text.AsSpan().ContainsAnyInRange('0', '9') && PersonalData().IsMatch(text);

    /// <summary>The bidi rule as shown in errors: names the characters, never the text.</summary>
    public const string BidiRule = "must not contain Unicode bidirectional control characters (U+202A-U+202E, U+2066-U+2069)";

    /// <summary>
    /// Whether <paramref name="text"/> contains a Unicode bidirectional embedding, override or isolate control
    /// (U+202A–U+202E, U+2066–U+2069; Unicode UAX #9): stored notes and reasons are shown to other officers, exported and
    /// reviewed for years, and these characters make text display in another order than it is stored ("Trojan Source",
    /// CVE-2021-42574), so a note could read differently on screen than in the record.
    /// </summary>
    /// <param name="text">Any text; null and empty contain nothing.</param>
    /// <returns>True when such a character is found.</returns>
    public static bool ContainsBidiControl(string? text) =>
        !string.IsNullOrEmpty(text) && (text.AsSpan().ContainsAnyInRange('\u202A', '\u202E') || text.AsSpan().ContainsAnyInRange('\u2066', '\u2069'));

    /// <summary>The control-character rule as shown in errors: names the characters, never the text.</summary>
    public const string ControlRule = "must not contain control characters (U+0000-U+001F other than tab, line feed and carriage return; U+007F-U+009F)";

    /// <summary>
    /// Whether <paramref name="text"/> contains a C0 control character other than tab (U+0009), line feed (U+000A) and
    /// carriage return (U+000D), DEL (U+007F) or a C1 control character (U+0080–U+009F). Stored notes, reasons and
    /// titles are printed to officers' terminals by the CLI (tables, <c>review query</c>, <c>incident show</c>) and
    /// shown in exports for years; ESC (U+001B) starts an ANSI/ECMA-48 escape sequence that a terminal executes
    /// (colours, cursor moves that overwrite earlier lines, window titles), BEL rings, NUL cuts strings in C tools.
    /// </summary>
    /// <param name="text">Any text; null and empty contain nothing.</param>
    /// <returns>True when such a character is found.</returns>
    public static bool ContainsControlCharacter(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        foreach (var c in text)
        {
            if ((c < '\u0020' && c is not ('\t' or '\n' or '\r')) || c is >= '\u007F' and <= '\u009F')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The refusal for <paramref name="text"/> in <paramref name="field"/>: 400 <see cref="Problems.ErrorCodes.BidiControlInText"/>
    /// with <see cref="BidiRule"/> when it holds a bidirectional control (<see cref="ContainsBidiControl"/>), else 400
    /// <see cref="Problems.ErrorCodes.ControlCharacterInText"/> with <see cref="ControlRule"/> when it holds a control
    /// character (<see cref="ContainsControlCharacter"/>), else 400
    /// <see cref="Problems.ErrorCodes.PersonalDataInText"/> with the field's rule when it holds a phone number or RRN, or
    /// null. Never quotes the text.
    /// </summary>
    /// <param name="text">The text to check.</param>
    /// <param name="field">The field's name, e.g. <c>reason</c>.</param>
    /// <returns>The error, or null.</returns>
    public static Problems.CustodianError? Check(string? text, string field)
    {
        if (ContainsBidiControl(text))
        {
            return new Problems.CustodianError(Problems.ErrorCodes.BidiControlInText, 400, $"{field}: {BidiRule}.") { Errors = new Dictionary<string, string[]> { [field] = [BidiRule] } };
        }

        if (ContainsControlCharacter(text))
        {
            return new Problems.CustodianError(Problems.ErrorCodes.ControlCharacterInText, 400, $"{field}: {ControlRule}.") { Errors = new Dictionary<string, string[]> { [field] = [ControlRule] } };
        }

        return ContainsPersonalData(text)
            ? new Problems.CustodianError(Problems.ErrorCodes.PersonalDataInText, 400, $"{field}: {Rule}.") { Errors = new Dictionary<string, string[]> { [field] = [Rule] } }
            : null;
    }

    /// <summary>Throws <see cref="PersonalDataInTextException"/> when <paramref name="text"/> contains personal data.</summary>
    /// <param name="text">The text to check.</param>
    /// <param name="field">The field's name for the error (e.g. <c>reason</c>).</param>
    /// <exception cref="PersonalDataInTextException">When <see cref="ContainsPersonalData"/> is true.</exception>
    public static void EnsureNoPersonalData(string? text, string field)
    {
        if (ContainsPersonalData(text))
        {
            throw new PersonalDataInTextException(field);
        }
    }

    [GeneratedRegex(
        @"(?<![0-9])(?:"
        + @"(?:\+82[ .-]?(?:0)?1[016789]|01[016789]|02|0[3-6][1-5]|070|050[2-8])[ .-]?[0-9]{3,4}[ .-]?[0-9]{4}"
        + @"|[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[ -]?[1-8][0-9]{6}"
        + @")(?![0-9])",
        RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex PersonalData();
}

/// <summary>
/// Free text (a reason, note, title or question) contained a phone number or resident registration number
/// (<see cref="FreeText"/>). HTTP: 400 <c>personal-data-in-text</c>; CLI: one line, exit 1. The message names the
/// field and the rule, never the text.
/// </summary>
public sealed class PersonalDataInTextException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="field"/>.</summary>
    /// <param name="field">The field's name, e.g. <c>reason</c>.</param>
    public PersonalDataInTextException(string field)
        : base($"{field}: {FreeText.Rule}.") => Field = field;

    /// <summary>Creates the exception for an unnamed field.</summary>
    public PersonalDataInTextException()
        : this("text")
    {
    }

    /// <summary>Creates the exception with a message (for serialisation conventions); prefer the field constructor.</summary>
    /// <param name="message">The message; must not contain the text.</param>
    /// <param name="innerException">The cause.</param>
    public PersonalDataInTextException(string message, Exception? innerException)
        : base(message, innerException) => Field = "text";

    /// <summary>The field's name.</summary>
    public string Field { get; }
}
