using System.Globalization;
using System.Text.Json;
using CsvHelper;
using Custodian.Classification;
using Custodian.Identity;
using Custodian.Ledger;

namespace Custodian.Monitoring.Replay;

/// <summary>One parsed row of a replay file.</summary>
/// <param name="Line">1-based line number in the file.</param>
/// <param name="Entry">The ledger-shaped entry; subscribers are numbered in order of first appearance of their token.</param>
public sealed record ReplayRow(int Line, AccessEntry Entry);

/// <summary>A row that could not be read: its line and which field broke which rule (never the value).</summary>
/// <param name="Line">1-based line number; 0 for an error about the file as a whole (an empty file).</param>
/// <param name="Message">E.g. <c>field 'time' must be an ISO 8601 date-time with an offset</c>.</param>
public sealed record ReplayError(int Line, string Message)
{
    /// <summary>
    /// True when the error is about the file, not a row: a CSV header that is not the replay header, or a file with no
    /// header and no rows. Nothing else is read after it, and it is not counted as a bad row. Default false.
    /// </summary>
    public bool FileLevel { get; init; }
}

/// <summary>
/// Reads a recorded access log for <c>custodian monitor replay</c>: JSON lines or CSV of ledger-shaped entries
/// (format in docs/monitoring.md, "Replay file format"). Works on entries alone — subscribers appear only as tokens
/// (e.g. FF1 tokens from <c>Tokenizer.TokenizeSubscriber</c>, or any stable pseudonym), which are numbered in order
/// of first appearance; no subscriber database is needed. Rows are stably sorted by time.
/// </summary>
public static class ReplayFile
{
    /// <summary>The CSV header: required columns first, optional ones after.</summary>
    /// <remarks>The last four, <c>block</c>, <c>ending</c>, <c>away</c> and <c>household</c>, are the entry's
    /// <see cref="AccessSignals"/> (docs/ledger-format.md §1.1); JSON lines carry them in one <c>signals</c> object instead.</remarks>
    public static readonly string[] CsvColumns = ["time", "clerk", "terminal", "store", "subscriber", "task", "purpose", "fields", "outcome", "role", "error", "unmasked", "block", "ending", "away", "household"];

    /// <summary>The members of a JSON line: the CSV columns up to <c>unmasked</c>, then <c>subscribers</c> and <c>signals</c>.</summary>
    private static readonly string[] JsonMembers = [.. CsvColumns.Take(12), "subscribers", "signals"];

    /// <summary>The members of a JSON line's <c>signals</c> object, in the ledger's canonical order (docs/ledger-format.md §1.1).</summary>
    private static readonly string[] SignalMembers = ["block", "ending", "away", "household"];

    /// <summary>The longest line read, in UTF-16 characters: 65,536 (a ledger-shaped row is a few hundred).</summary>
    public const int MaxLineLength = 65_536;

    private const int RequiredCsvColumns = 9;

    /// <summary>
    /// The earliest accepted row time, inclusive: 2000-01-01T00:00:00Z. With <see cref="TimeLimit"/> it keeps every
    /// window end, day boundary and store-local time the detectors compute (at most days to weeks, offsets of ±14 h)
    /// decades inside <see cref="DateTimeOffset"/>'s range, so no row can make the replay's arithmetic overflow.
    /// </summary>
    public static readonly DateTimeOffset EarliestTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The first row time no longer accepted (exclusive end of the range): 2100-01-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset TimeLimit = new(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The refusal of a row whose time is outside [<see cref="EarliestTime"/>, <see cref="TimeLimit"/>).</summary>
    public const string TimeRangeRule = "field 'time' must be from 2000-01-01T00:00:00Z up to, not including, 2100-01-01T00:00:00Z";

    /// <summary>The start of the refusal of a JSON member no replay row has, when its name is a plain identifier (then quoted).</summary>
    public const string UnknownMember = "unknown member '";

    /// <summary>The refusal of a JSON member no replay row has whose name is not a plain identifier: the name is not shown (it may be personal data).</summary>
    public const string UnknownUnnamedMember = "an unknown member (its name is not shown: not a plain identifier)";

    /// <summary>Longest member or column name quoted in an error, in characters: 32.</summary>
    private const int MaxShownNameLength = 32;

    // Fields whose value can be printed in the report (principal, store, detail): none may hold a phone number or an RRN.
    private static readonly string[] PrintableFields = ["clerk", "terminal", "store", "task", "purpose", "fields", "unmasked", "outcome", "role", "error"];

    /// <summary>Reads <paramref name="reader"/>; <paramref name="json"/> selects JSON lines, else CSV with a header.</summary>
    /// <param name="reader">The access log's text. Not disposed.</param>
    /// <param name="json">JSON lines when true, else CSV with a header.</param>
    /// <param name="cancellationToken">Checked before each line: a cancelled read stops there and nothing is returned.</param>
    /// <returns>The good rows sorted by time, and every bad row's error in line order.</returns>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled.</exception>
    public static (IReadOnlyList<ReplayRow> Rows, IReadOnlyList<ReplayError> Errors) Read(TextReader reader, bool json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var rows = new List<ReplayRow>();
        var errors = new List<ReplayError>();
        var tokens = new Dictionary<string, long>(StringComparer.Ordinal);
        var line = 0;
        string[]? header = null;
        var content = false;
        while (NextLine(reader, cancellationToken) is { } text)
        {
            line++;
            if (text.Length == 0 || (json && string.IsNullOrWhiteSpace(text)))
            {
                continue;
            }

            content = true;
            if (text.Length > MaxLineLength)
            {
                errors.Add(new ReplayError(line, $"the line must be at most {MaxLineLength:N0} characters; it was skipped and the lines after it were read"));
                continue;
            }

            if (!json && header is null && string.Equals(text.TrimStart('\uFEFF').Trim(), ReviewExportHeader, StringComparison.Ordinal))
            {
                // The access-log review's export (docs/review.md): the rest of the file is read as RFC 4180 CSV.
                ReadReviewExport(reader, line, tokens, rows, errors, cancellationToken);
                return ([.. rows.OrderBy(r => r.Entry.Time)], errors);
            }

            if (!json && header is null)
            {
                header = (SplitCsv(text) ?? text.Split(',')).Select(h => h.Trim()).ToArray();
                if (header.Length < RequiredCsvColumns || header.Length > CsvColumns.Length || !header.SequenceEqual(CsvColumns.Take(header.Length), StringComparer.Ordinal))
                {
                    errors.Add(new ReplayError(line, HeaderError(header)) { FileLevel = true });
                    return (rows, errors);
                }

                continue;
            }

            Dictionary<string, string?> values;
            if (json)
            {
                if (!TryJson(text, out values, out var jsonError))
                {
                    errors.Add(new ReplayError(line, jsonError));
                    continue;
                }
            }
            else
            {
                var cells = SplitCsv(text);
                if (cells is null)
                {
                    errors.Add(new ReplayError(line, "the line is not valid RFC 4180 CSV (a quote not closed on its line, text after a closing quote, or a quote inside an unquoted cell); a quoted cell cannot span lines"));
                    continue;
                }

                if (cells.Length != header!.Length)
                {
                    errors.Add(new ReplayError(line, $"expected {header.Length} comma-separated fields, found {cells.Length} (a cell holding a comma must be quoted, and no field's rule allows a comma)"));
                    continue;
                }

                values = new Dictionary<string, string?>(StringComparer.Ordinal);
                for (var i = 0; i < cells.Length; i++)
                {
                    values[header[i]] = cells[i].Length == 0 ? null : cells[i];
                }
            }

            var entry = ToEntry(values, tokens, out var message);
            if (entry is null)
            {
                errors.Add(new ReplayError(line, message!));
                continue;
            }

            rows.Add(new ReplayRow(line, entry));
        }

        if (!content)
        {
            errors.Add(new ReplayError(0, json ? "the file is empty (no rows)" : "the file is empty (no header, no rows)") { FileLevel = true });
        }

        // Stable sort by time (OrderBy is stable), so entries of the same millisecond keep their file order.
        return ([.. rows.OrderBy(r => r.Entry.Time)], errors);
    }

    /// <summary>
    /// The header of <c>custodian review query --export</c> (and <c>POST /api/v1/review/exports</c>), docs/review.md: a file
    /// that starts with it is replayed as it is, so last month's export is the backtest's input. Its columns map to the
    /// replay fields as <c>time_utc</c> → time, <c>account</c> → clerk, <c>subject_tokens</c> → subscriber, and
    /// <c>terminal</c>, <c>store</c>, <c>task</c>, <c>purpose</c>, <c>fields</c>, <c>outcome</c>, <c>role</c>, <c>error</c>,
    /// <c>unmasked</c> by name (lists space-separated); <c>seq</c>, <c>ip</c>, <c>target</c> and <c>reason</c> are not used.
    /// </summary>
    public const string ReviewExportHeader = "seq,time_utc,task,outcome,account,role,terminal,store,ip,purpose,subject_tokens,fields,unmasked,error,target,reason";

    private static readonly string[] ReviewExportColumns = ReviewExportHeader.Split(',');

    // Replay field ← review export column.
    private static readonly (string Field, string Column)[] ReviewExportFields =
    [
        ("time", "time_utc"), ("clerk", "account"), ("terminal", "terminal"), ("store", "store"), ("subscriber", "subject_tokens"),
        ("task", "task"), ("purpose", "purpose"), ("fields", "fields"), ("outcome", "outcome"), ("role", "role"), ("error", "error"),
        ("unmasked", "unmasked"),
    ];

    // Each replay field's column index in the review export, resolved once rather than searched for on every record.
    private static readonly (string Field, int Column)[] ReviewExportFieldColumns =
        [.. ReviewExportFields.Select(f => (f.Field, Array.IndexOf(ReviewExportColumns, f.Column)))];

    /// <summary>
    /// Reads the records after a review export's header (line <paramref name="headerLine"/>) with an RFC 4180 reader —
    /// quoted cells, doubled quotes, line breaks inside quotes (a reason may hold one) — numbering errors by the line a
    /// record starts on. A cell the export escaped against spreadsheet formulas (a leading <c>'</c> before <c>=</c>,
    /// <c>@</c>, <c>+</c>, <c>-</c>, tab or CR) is unescaped first.
    /// </summary>
    private static void ReadReviewExport(TextReader reader, int headerLine, Dictionary<string, long> tokens, List<ReplayRow> rows, List<ReplayError> errors, CancellationToken cancellationToken)
    {
        var options = Files.StrictCsv.Options(MaxLineLength, lineBreaksInQuotes: true, onMalformedRecord: null);
        using var csv = CsvReader.Create(reader, options, leaveOpen: true);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int line;
            try
            {
                if (!csv.Read())
                {
                    return;
                }

                line = headerLine + (int)csv.LineNumber;
            }
            catch (CsvFormatException ex)
            {
                // Malformed or over-long: the reader cannot go on reliably past it.
                errors.Add(new ReplayError(headerLine + (int)Math.Max(1, ex.LineNumber), $"the record is not valid RFC 4180 CSV or is over {MaxLineLength:N0} characters; reading stopped there"));
                return;
            }

            if (csv.FieldCount != ReviewExportColumns.Length)
            {
                errors.Add(new ReplayError(line, $"expected {ReviewExportColumns.Length} fields of the review export, found {csv.FieldCount}"));
                continue;
            }

            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var (field, column) in ReviewExportFieldColumns)
            {
                var cell = Unescape(csv.GetString(column));
                values[field] = cell.Length == 0 ? null : field is "subscriber" or "fields" or "unmasked" ? cell.Replace(' ', ';') : cell;
            }

            var entry = ToEntry(values, tokens, out var message);
            if (entry is null)
            {
                errors.Add(new ReplayError(line, message!));
                continue;
            }

            rows.Add(new ReplayRow(line, entry));
        }
    }

    /// <summary>
    /// The refusal of a CSV header that is not the replay header: the expected columns, then the columns found by name,
    /// each shown only when it is a plain identifier (a header made of data must not be echoed).
    /// </summary>
    private static string HeaderError(string[] found)
    {
        var shown = found.Take(CsvColumns.Length + 1).Select(h => IsPlainName(h) ? h : "(a name not shown)");
        return $"the header must be '{string.Join(',', CsvColumns.Take(RequiredCsvColumns))}' optionally followed by ',role', ',error', ',unmasked', ',block', ',ending', ',away', ',household' in that order; "
            + $"found {found.Length} {(found.Length == 1 ? "column" : "columns")}: {string.Join(", ", shown)}{(found.Length > CsvColumns.Length + 1 ? ", …" : string.Empty)}";
    }

    /// <summary>Whether <paramref name="name"/> may be quoted in an error: an ASCII letter, then letters, digits or '_', at most 32, and no phone number or RRN inside.</summary>
    private static bool IsPlainName(string name) =>
        name.Length is > 0 and <= MaxShownNameLength
        && char.IsAsciiLetter(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
        && !FreeText.ContainsPersonalData(name);

    private static readonly CsvReaderOptions LineOptions = new()
    {
        Separator = ',',
        DetectSeparatorHint = false,
        HasHeader = false,
        Mode = CsvMode.Rfc4180,
        AllowLineBreaksInQuotes = false,
        IncludeValuesInExceptions = false,
        FieldCountMismatch = CsvFieldCountHandling.Allow,
        MissingField = CsvMissingFieldHandling.ReturnEmpty,
        MaxRecordSize = MaxLineLength,
    };

    /// <summary>
    /// The cells of one CSV line: split at commas when it has no quote (the common case), else read with the RFC 4180
    /// reader the review export uses (quoted cells, doubled quotes); null when the line is not valid RFC 4180.
    /// </summary>
    private static string[]? SplitCsv(string text)
    {
        if (!text.Contains('"', StringComparison.Ordinal))
        {
            return text.Split(',');
        }

        if (!IsStrictRfc4180(text))
        {
            return null;
        }

        try
        {
            using var csv = CsvReader.Create(new StringReader(text), LineOptions);
            if (!csv.Read())
            {
                return null;
            }

            var cells = new string[csv.FieldCount];
            for (var i = 0; i < cells.Length; i++)
            {
                cells[i] = csv.GetString(i);
            }

            return csv.Read() ? null : cells;
        }
        catch (CsvFormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether every quote in <paramref name="text"/> is where RFC 4180 allows it: a quoted cell opens at the cell's start,
    /// doubles its inner quotes and closes before a comma or the line's end; an unquoted cell holds no quote. The reader
    /// alone is lenient (it would read <c>"S002</c> to the line's end as one cell), and a lenient read misplaces fields.
    /// </summary>
    private static bool IsStrictRfc4180(string text)
    {
        var i = 0;
        while (true)
        {
            if (i < text.Length && text[i] == '"')
            {
                i++;
                while (true)
                {
                    var close = text.IndexOf('"', i);
                    if (close < 0)
                    {
                        return false; // not closed on its line
                    }

                    if (close + 1 < text.Length && text[close + 1] == '"')
                    {
                        i = close + 2; // a doubled quote
                        continue;
                    }

                    i = close + 1;
                    break;
                }

                if (i == text.Length)
                {
                    return true;
                }

                if (text[i] != ',')
                {
                    return false; // text after the closing quote
                }
            }
            else
            {
                var comma = text.IndexOf(',', i);
                var end = comma < 0 ? text.Length : comma;
                if (text.AsSpan(i, end - i).Contains('"'))
                {
                    return false; // a quote inside an unquoted cell
                }

                if (comma < 0)
                {
                    return true;
                }

                i = comma;
            }

            i++; // past the comma: the next cell
        }
    }

    private static string Unescape(string cell) =>
        cell.Length >= 2 && cell[0] == '\'' && cell[1] is '=' or '@' or '+' or '-' or '\t' or '\r' ? cell[1..] : cell;

    /// <summary>The next line, unless the read was cancelled (checked first, so a cancelled read takes no further line).</summary>
    private static string? NextLine(TextReader reader, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return reader.ReadLine();
    }

    private static bool TryJson(string text, out Dictionary<string, string?> values, out string error)
    {
        values = new Dictionary<string, string?>(StringComparer.Ordinal);
        error = string.Empty;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "each line must be one JSON object";
                return false;
            }

            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (!JsonMembers.Contains(p.Name, StringComparer.Ordinal))
                {
                    // The name is shown only when it is a plain identifier: a member named after a phone number is not echoed.
                    error = (IsPlainName(p.Name) ? UnknownMember + p.Name + "'" : UnknownUnnamedMember) + $"; allowed: {string.Join(", ", JsonMembers)}";
                    return false;
                }

                if (p.Name == "signals")
                {
                    if (values.ContainsKey("signals"))
                    {
                        error = "member 'signals' appears more than once";
                        return false;
                    }

                    values["signals"] = null;
                    if (!TrySignals(p.Value, values, out error))
                    {
                        return false;
                    }

                    continue;
                }

                var key = p.Name == "subscribers" ? "subscriber" : p.Name;
                if (values.ContainsKey(key))
                {
                    error = key == p.Name ? $"member '{p.Name}' appears more than once" : "members 'subscriber' and 'subscribers' are both given; give one";
                    return false;
                }

                if (p.Name == "subscribers" && p.Value.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
                {
                    error = "member 'subscribers' must be an array of subscriber tokens (or give 'subscriber' with tokens separated by ';')";
                    return false;
                }

                values[key] = p.Value.ValueKind switch
                {
                    JsonValueKind.Null => null,
                    JsonValueKind.String => p.Value.GetString(),
                    JsonValueKind.Array when p.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => string.Join(';', p.Value.EnumerateArray().Select(e => e.GetString())),
                    _ => "\u0000", // rejected below by the field's rule
                };
            }

            return true;
        }
        catch (JsonException)
        {
            error = "the line is not valid JSON";
            return false;
        }
    }

    /// <summary>
    /// Reads a JSON line's <c>signals</c> object into the CSV columns <c>block</c>, <c>ending</c>, <c>away</c> and
    /// <c>household</c> with the ledger's rules (docs/ledger-format.md §1.1): an object of at least one member, each at
    /// most once, <c>block</c> a string of 16 characters <c>0-9a-f</c>, the flags <c>true</c>. The error names the member, never the value.
    /// </summary>
    private static bool TrySignals(JsonElement signals, Dictionary<string, string?> values, out string error)
    {
        error = string.Empty;
        if (signals.ValueKind != JsonValueKind.Object)
        {
            error = "member 'signals' must be an object with one or more of block, ending, away, household";
            return false;
        }

        var any = false;
        foreach (var m in signals.EnumerateObject())
        {
            if (!SignalMembers.Contains(m.Name, StringComparer.Ordinal))
            {
                error = (IsPlainName(m.Name) ? $"unknown member 'signals.{m.Name}'" : "an unknown member of 'signals' (its name is not shown: not a plain identifier)") + "; allowed: block, ending, away, household";
                return false;
            }

            if (values.ContainsKey(m.Name))
            {
                error = $"member 'signals.{m.Name}' appears more than once";
                return false;
            }

            if (m.Name == "block")
            {
                if (m.Value.ValueKind != JsonValueKind.String || !AccessSignals.IsNumberBlock(m.Value.GetString()))
                {
                    error = "member 'signals.block' must be 16 lower-case hexadecimal characters (0-9, a-f)";
                    return false;
                }

                values["block"] = m.Value.GetString();
            }
            else
            {
                if (m.Value.ValueKind != JsonValueKind.True)
                {
                    error = $"member 'signals.{m.Name}' must be true (leave it out for false)";
                    return false;
                }

                values[m.Name] = "true";
            }

            any = true;
        }

        if (!any)
        {
            error = "member 'signals' must hold one or more of block, ending, away, household (leave it out when none is set)";
            return false;
        }

        return true;
    }

    // The entry's signals from the columns block, ending, away and household; null when none is set.
    private static AccessSignals? ToSignals(Func<string, string?> get, out string? error)
    {
        error = null;
        var block = get("block");
        if (block is not null && !AccessSignals.IsNumberBlock(block))
        {
            error = "field 'block' must be 16 lower-case hexadecimal characters (0-9, a-f) or empty";
            return null;
        }

        var flags = new bool[3];
        for (var i = 0; i < 3; i++)
        {
            var name = SignalMembers[i + 1];
            var value = get(name);
            if (value is not (null or "true"))
            {
                error = $"field '{name}' must be true or empty";
                return null;
            }

            flags[i] = value is "true";
        }

        var signals = new AccessSignals { NumberBlock = block, ContractEnding = flags[0], OtherArea = flags[1], SameHousehold = flags[2] };
        return signals.IsEmpty ? null : signals;
    }

    private static AccessEntry? ToEntry(Dictionary<string, string?> v, Dictionary<string, long> tokens, out string? error)
    {
        error = null;
        string? Get(string name) => v.TryGetValue(name, out var x) ? x : null;

        if (!DateTimeOffset.TryParse(Get("time"), CultureInfo.InvariantCulture, DateTimeStyles.None, out var time) || Get("time")!.IndexOfAny(['Z', '+']) < 0 && Get("time")!.LastIndexOf('-') <= 10)
        {
            error = "field 'time' must be an ISO 8601 date-time with an offset, e.g. 2026-11-02T10:15:00+09:00";
            return null;
        }

        if (time < EarliestTime || time >= TimeLimit)
        {
            error = TimeRangeRule;
            return null;
        }

        foreach (var name in PrintableFields)
        {
            if (FreeText.ContainsPersonalData(Get(name)))
            {
                // Refused by field, never by value: the report prints these (a clerk code of a phone number's digits, say).
                error = $"field '{name}' must not be or contain a phone number or a resident registration number";
                return null;
            }
        }

        foreach (var name in new[] { "clerk", "terminal", "store" })
        {
            if (Get(name) is { } code && !Codes.IsValid(code))
            {
                error = $"field '{name}' must be {Codes.Rule}";
                return null;
            }
        }

        if (!AccessTasks.TryParse(Get("task"), out var task))
        {
            error = "field 'task' must be a ledger task name, e.g. search, view, unmask, service-complete, sign-in, device-refused";
            return null;
        }

        var outcome = Get("outcome");
        if (outcome is not ("allowed" or "denied"))
        {
            error = "field 'outcome' must be allowed or denied";
            return null;
        }

        var subjects = new List<SubscriberId>();
        foreach (var token in Split(Get("subscriber")))
        {
            if (!Codes.IsValid(token))
            {
                error = "field 'subscriber' must be tokens of 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', separated by ';'";
                return null;
            }

            if (Classification.FreeText.ContainsPersonalData(token))
            {
                // A backtest never needs the number itself: the detectors see subscribers only as distinct tokens.
                error = "field 'subscriber' must be tokens, not phone numbers or resident registration numbers; export the log with subscriber tokens";
                return null;
            }

            if (!tokens.TryGetValue(token, out var id))
            {
                id = tokens.Count + 1;
                tokens[token] = id;
            }

            subjects.Add(new SubscriberId(id));
        }

        var fields = Split(Get("fields"));
        var unmasked = Split(Get("unmasked"));
        if (fields.Concat(unmasked).Any(f => f.Length > 32 || !f.All(c => char.IsAsciiLetterLower(c) || c == '-')))
        {
            error = "fields 'fields' and 'unmasked' must be field names of lower-case letters and '-', separated by ';'";
            return null;
        }

        StaffRole? role = null;
        if (Get("role") is { } r)
        {
            if (!StaffRoles.TryParse(r, out var parsed))
            {
                error = "field 'role' must be clerk, store-manager, security-officer or privacy-officer";
                return null;
            }

            role = parsed;
        }

        var errorCode = Get("error");
        if (errorCode is not null && (errorCode.Length > 64 || !errorCode.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')))
        {
            error = "field 'error' must be an error code of lower-case letters, digits and '-'";
            return null;
        }

        if (Get("purpose") is { } purpose && (purpose.Length > 64 || !purpose.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')))
        {
            error = "field 'purpose' must be a purpose code of lower-case letters, digits and '-'";
            return null;
        }

        var signals = ToSignals(Get, out error);
        if (error is not null)
        {
            return null;
        }

        return new AccessEntry
        {
            Time = time,
            Task = task,
            Outcome = outcome == "allowed" ? AccessOutcome.Allowed : AccessOutcome.Denied,
            Account = Get("clerk"),
            Role = role,
            Terminal = Get("terminal"),
            Store = Get("store"),
            Purpose = Get("purpose"),
            Subjects = subjects,
            Fields = fields,
            UnmaskedFields = unmasked,
            ErrorCode = errorCode,
            Signals = signals,
        };
    }

    private static string[] Split(string? value) =>
        string.IsNullOrEmpty(value) ? [] : value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
