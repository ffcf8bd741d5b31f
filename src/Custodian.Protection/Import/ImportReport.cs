namespace Custodian.Protection.Import;

/// <summary>One problem found in an import file. Never carries the offending value.</summary>
/// <param name="Line">Physical line number in the CSV file where the record starts (the header is line 1; blank lines count).</param>
/// <param name="Field">The column name (e.g. <c>rrn</c>), <c>header</c> for header problems, or <c>row</c> for problems with the record as a whole.</param>
/// <param name="Rule">The rule the field broke, in English, e.g. "must be a date in the form yyyy-MM-dd".</param>
public sealed record ImportRowError(long Line, string Field, string Rule);

/// <summary>The outcome of <see cref="SubscriberImporter"/>.<c>ImportAsync</c>.</summary>
public sealed record ImportReport
{
    /// <summary>Data records read (header and blank lines excluded).</summary>
    public long RowsRead { get; init; }

    /// <summary>Records written to the database (0 when an <see cref="ImportMode.AllOrNothing"/> import had any bad row).</summary>
    public long RowsImported { get; init; }

    /// <summary>Records found bad (a record with several bad fields counts once).</summary>
    public long RowsRejected { get; init; }

    /// <summary>
    /// Every problem, in file order: one entry per bad field (so a record may appear more than once),
    /// or one <c>row</c> entry for a malformed record, or one <c>header</c> entry. At most
    /// <see cref="SubscriberImporter.MaxReportedErrors"/> entries; see <see cref="ErrorsTruncated"/>.
    /// </summary>
    public IReadOnlyList<ImportRowError> Errors { get; init; } = [];

    /// <summary>True when more problems existed than <see cref="SubscriberImporter.MaxReportedErrors"/>.</summary>
    public bool ErrorsTruncated { get; init; }

    /// <summary>True when the file had no problem at all.</summary>
    public bool Succeeded => Errors.Count == 0;
}

/// <summary>
/// <see cref="SubscriberImporter"/>.<c>ImportAsync</c> was cancelled. <see cref="Report"/> says what stayed written: in
/// <see cref="ImportMode.SkipBadRows"/> the batches committed before the cancellation (<see cref="ImportReport.RowsImported"/>;
/// the batch in progress was rolled back), in <see cref="ImportMode.AllOrNothing"/> nothing (0).
/// </summary>
public sealed class ImportCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception with an empty report.</summary>
    public ImportCanceledException()
        : this("The import was cancelled.")
    {
    }

    /// <summary>Creates the exception with an empty report.</summary>
    /// <param name="message">The message.</param>
    public ImportCanceledException(string message)
        : base(message)
    {
        Report = new ImportReport();
    }

    /// <summary>Creates the exception with an empty report.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ImportCanceledException(string message, Exception innerException)
        : base(message, innerException)
    {
        Report = new ImportReport();
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="report">What was read, kept and rejected until the cancellation.</param>
    /// <param name="cancellationToken">The token that was cancelled.</param>
    public ImportCanceledException(ImportReport report, CancellationToken cancellationToken)
        : base("The import was cancelled.", cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        Report = report;
    }

    /// <summary>The rows read, kept (committed) and rejected before the cancellation.</summary>
    public ImportReport Report { get; }
}
