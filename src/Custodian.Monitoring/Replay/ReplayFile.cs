using System.Globalization;
using System.Text.Json;
using CsvHelper;
using Custodian.Identity;
using Custodian.Ledger;

namespace Custodian.Monitoring.Replay;

/// <summary>One parsed row of a replay file.</summary>
/// <param name="Line">1-based line number in the file.</param>
/// <param name="Entry">The ledger-shaped entry; subscribers are numbered in order of first appearance of their token.</param>
public sealed record ReplayRow(int Line, AccessEntry Entry);

/// <summary>A row that could not be read: its line and which field broke which rule (never the value).</summary>
/// <param name="Line">1-based line number.</param>
/// <param name="Message">E.g. <c>field 'time' must be an ISO 8601 date-time with an offset</c>.</param>
public sealed record ReplayError(int Line, string Message);

/// <summary>
/// Reads a recorded access log for <c>custodian monitor replay</c>: JSON lines or CSV of ledger-shaped entries
/// (format in docs/monitoring.md, "Replay file format"). Works on entries alone — subscribers appear only as tokens
/// (e.g. FF1 tokens from <c>Tokenizer.TokenizeSubscriber</c>, or any stable pseudonym), which are numbered in order
/// of first appearance; no subscriber database is needed. Rows are stably sorted by time.
/// </summary>
public static class ReplayFile
{
    /// <summary>The CSV header: required columns first, optional ones after.</summary>
    public static readonly string[] CsvColumns = ["time", "clerk", "terminal", "store", "subscriber", "task", "purpose", "fields", "outcome", "role", "error", "unmasked"];

    /// <summary>The longest line read, in UTF-16 characters: 65,536 (a ledger-shaped row is a few hundred).</summary>
    public const int MaxLineLength = 65_536;

    private const int RequiredCsvColumns = 9;

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
        while (NextLine(reader, cancellationToken) is { } text)
        {
            line++;
            if (text.Length == 0 || (json && string.IsNullOrWhiteSpace(text)))
            {
                continue;
            }

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
                header = text.Split(',').Select(h => h.Trim()).ToArray();
                if (header.Length < RequiredCsvColumns || header.Length > CsvColumns.Length || !header.SequenceEqual(CsvColumns.Take(header.Length), StringComparer.Ordinal))
                {
                    errors.Add(new ReplayError(line, $"the header must be '{string.Join(',', CsvColumns.Take(RequiredCsvColumns))}' optionally followed by ',role', ',error', ',unmasked' in that order"));
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
                var cells = text.Split(',');
                if (cells.Length != header!.Length)
                {
                    errors.Add(new ReplayError(line, $"expected {header.Length} comma-separated fields, found {cells.Length}"));
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

        if (!json && header is null)
        {
            errors.Add(new ReplayError(Math.Max(1, line), "the file is empty; a CSV replay file needs a header"));
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
        var options = new CsvReaderOptions
        {
            Separator = ',',
            DetectSeparatorHint = false,
            HasHeader = false,
            Mode = CsvMode.Rfc4180,
            TrackLineNumbers = true,
            SkipEmptyLines = true,
            AllowLineBreaksInQuotes = true,
            IncludeValuesInExceptions = false,
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            MissingField = CsvMissingFieldHandling.ReturnEmpty,
            MaxRecordSize = MaxLineLength,
        };
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
                if (!CsvColumns.Contains(p.Name, StringComparer.Ordinal) && p.Name != "subscribers")
                {
                    error = $"unknown member '{(p.Name.Length <= 32 && p.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? p.Name : "?")}'; allowed: {string.Join(", ", CsvColumns)}, subscribers";
                    return false;
                }

                values[p.Name == "subscribers" ? "subscriber" : p.Name] = p.Value.ValueKind switch
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

    private static AccessEntry? ToEntry(Dictionary<string, string?> v, Dictionary<string, long> tokens, out string? error)
    {
        error = null;
        string? Get(string name) => v.TryGetValue(name, out var x) ? x : null;

        if (!DateTimeOffset.TryParse(Get("time"), CultureInfo.InvariantCulture, DateTimeStyles.None, out var time) || Get("time")!.IndexOfAny(['Z', '+']) < 0 && Get("time")!.LastIndexOf('-') <= 10)
        {
            error = "field 'time' must be an ISO 8601 date-time with an offset, e.g. 2026-11-02T10:15:00+09:00";
            return null;
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
        };
    }

    private static string[] Split(string? value) =>
        string.IsNullOrEmpty(value) ? [] : value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
