namespace Custodian.Protection.Import;

/// <summary>
/// Whether <see cref="SubscriberImporter"/> may hold the database's write lock for long, or must share it with a running
/// server. Matters only on SQLite, whose one write lock every lookup needs first (for its ledger entry); on PostgreSQL both
/// values write in one transaction, which does not keep the ledger's writer out.
/// </summary>
public enum ImportConcurrency
{
    /// <summary>
    /// The default: no server uses the database. An <see cref="ImportMode.AllOrNothing"/> import is one transaction (a bulk
    /// load when the table is empty); <see cref="ImportMode.SkipBadRows"/> commits every <see cref="SubscriberImporter.BatchSize"/>
    /// rows. A server running meanwhile answers lookups with 503 ledger-unavailable once its lock wait runs out.
    /// </summary>
    Exclusive = 0,

    /// <summary>
    /// A server is (or may be) running on the database. On SQLite the whole file is validated, encrypted and checked for
    /// duplicate phone numbers first, into a temporary table of the import's own connection (ciphertexts and blind indexes
    /// only), without taking the write lock; then, if rows are to be written, they are copied in short transactions
    /// (about <see cref="SubscriberImporter.StagedTransactionBudget"/> each), with a pause of
    /// <see cref="SubscriberImporter.StagedPause"/> after each commit in which waiting writers (the ledger) take the lock.
    /// <see cref="ImportMode.AllOrNothing"/> stays all or nothing: each transaction records the range of rows it added
    /// (<c>subscriber_import_batches</c>), and a failure, a cancellation or — at the next import or server start — a crash
    /// removes them again (<see cref="SubscriberImporter.RecoverAsync"/>). Readers see the rows appear batch by batch.
    /// </summary>
    BesideServer = 1,
}
