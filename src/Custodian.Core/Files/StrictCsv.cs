using CsvHelper;

namespace Custodian.Files;

/// <summary>
/// The one set of CSV reader options every import of Custodian starts from (subscriber import, HR feed, store areas,
/// the monitor's replay of a review export), so that they read the same dialect and keep personal data out of errors.
/// </summary>
public static class StrictCsv
{
    /// <summary>
    /// Options for a comma-separated file read by RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180), without a header row
    /// of the reader's own (each import checks its header itself): separator <c>,</c> (never guessed), line numbers
    /// tracked so that errors name the line a record starts on, empty lines skipped, field values never copied into
    /// exception messages (they may be personal data), malformed quoting recovered, records with too few or too many
    /// fields returned as read (missing fields empty) so that the import reports them by line number itself.
    /// </summary>
    /// <param name="maxRecordSize">The largest record the reader grows its buffer for, in bytes of UTF-8 input; a longer
    /// record is refused by the reader (guards against an unclosed quote swallowing the file). At least 1.</param>
    /// <param name="lineBreaksInQuotes">Whether a quoted field may hold a line break (RFC 4180 allows it). False when no
    /// field of the file may hold one: every line break then ends a record, so one stray quote spoils only its line.</param>
    /// <param name="onMalformedRecord">Called for each malformed record (bad quoting), with its record number and reason;
    /// null for none. Setting it turns on the reader's malformed-quote detection.</param>
    /// <returns>New options; the caller may change them before creating a reader.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxRecordSize"/> is less than 1.</exception>
    public static CsvReaderOptions Options(int maxRecordSize, bool lineBreaksInQuotes, Action<CsvMalformedRecord>? onMalformedRecord)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecordSize, 1);
        return new CsvReaderOptions
        {
            Separator = ',',
            DetectSeparatorHint = false,
            HasHeader = false,
            Mode = CsvMode.Rfc4180,
            TrackLineNumbers = true,
            SkipEmptyLines = true,
            AllowLineBreaksInQuotes = lineBreaksInQuotes,
            IncludeValuesInExceptions = false,
            MalformedData = CsvMalformedDataHandling.Recover,
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            MissingField = CsvMissingFieldHandling.ReturnEmpty,
            MaxRecordSize = maxRecordSize,
            OnMalformedRecord = onMalformedRecord,
        };
    }
}
