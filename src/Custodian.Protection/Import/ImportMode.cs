namespace Custodian.Protection.Import;

/// <summary>What <see cref="SubscriberImporter"/> does with a file that has bad rows.</summary>
public enum ImportMode
{
    /// <summary>
    /// The default: any bad row (invalid field, malformed CSV, duplicate phone number) means nothing
    /// is written; the report lists every bad row. With <see cref="ImportConcurrency.Exclusive"/> the whole import runs in
    /// one transaction, holding the database's write lock until it ends; with <see cref="ImportConcurrency.BesideServer"/>
    /// on SQLite the file is checked first and then written in short transactions that are removed again if the import
    /// does not finish (see there).
    /// </summary>
    AllOrNothing = 0,

    /// <summary>
    /// Good rows are kept (committed in batches of <see cref="SubscriberImporter.BatchSize"/>), bad rows are reported and
    /// skipped. The frequent commits let other writers (the ledger) in between, but each rewrites a page of every index
    /// for nearly every row, so this mode is about twice as slow per row as <see cref="AllOrNothing"/> on large files
    /// (docs/protection-benchmarks.md): use it for small or dirty files, not for bulk loads.
    /// </summary>
    SkipBadRows = 1,
}
