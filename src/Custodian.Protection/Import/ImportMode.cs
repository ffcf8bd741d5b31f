namespace Custodian.Protection.Import;

/// <summary>What <see cref="SubscriberImporter"/> does with a file that has bad rows.</summary>
public enum ImportMode
{
    /// <summary>
    /// The default: any bad row (invalid field, malformed CSV, duplicate phone number) means nothing
    /// is written; the report lists every bad row. The whole import runs in one transaction, so it
    /// holds the database's write lock until it ends — run large all-or-nothing imports off-hours.
    /// </summary>
    AllOrNothing = 0,

    /// <summary>Good rows are kept (committed in batches of <see cref="SubscriberImporter.BatchSize"/>), bad rows are reported and skipped.</summary>
    SkipBadRows = 1,
}
