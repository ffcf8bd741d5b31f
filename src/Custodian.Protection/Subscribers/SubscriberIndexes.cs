namespace Custodian.Protection.Subscribers;

/// <summary>
/// The secondary indexes of <c>subscribers</c> as migration <c>protection-import-002</c> creates them. The bulk path of
/// <see cref="Import.SubscriberImporter"/> drops them before loading an empty table and creates them again, with this
/// same text, after the rows (docs/protection-benchmarks.md). The text must equal the migration's (a later migration
/// that changes an index changes it here too); a test checks that the schema after a bulk import is identical to a freshly
/// migrated one. Portable SQL (SQLite and PostgreSQL).
/// </summary>
internal static class SubscriberIndexes
{
    /// <summary>The unique index on the phone blind index: one subscriber per phone number; the import's <c>ON CONFLICT</c> target.</summary>
    public const string PhoneIndexName = "ux_subscribers_phone_index";

    /// <summary>Creates <see cref="PhoneIndexName"/>.</summary>
    public const string PhoneIndex = "CREATE UNIQUE INDEX ux_subscribers_phone_index ON subscribers (phone_index)";

    /// <summary>
    /// The indexes under a pending blind-index key. While no rotation is pending every imported row has NULL in both columns,
    /// so its entry goes to the end of <c>ix_subscribers_phone_index_next</c> (NULL, then the increasing <c>seq</c>) and none to
    /// the partial <c>ix_subscribers_rrn_index_next</c>: the bulk path keeps them through the load instead of scanning the
    /// whole table once more for each after it.
    /// </summary>
    public static readonly IReadOnlyList<string> PendingKeyIndexNames = ["ix_subscribers_phone_index_next", "ix_subscribers_rrn_index_next"];

    /// <summary>
    /// Every secondary index (name, DDL), <see cref="PhoneIndex"/> first: the subscriber id (random, unique; the table's
    /// key is the sequential <c>seq</c>), the RRN blind index, and the indexes under a pending blind-index key
    /// (<c>rrn_index_next</c> partial, see <c>protection-import-001</c>; <c>phone_index_next</c> full, the rotation finds rows
    /// still to index with <c>IS NULL</c>).
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Sql)> All =
    [
        (PhoneIndexName, PhoneIndex),
        ("ux_subscribers_id", "CREATE UNIQUE INDEX ux_subscribers_id ON subscribers (id)"),
        ("ix_subscribers_rrn_index", "CREATE INDEX ix_subscribers_rrn_index ON subscribers (rrn_index)"),
        ("ix_subscribers_phone_index_next", "CREATE INDEX ix_subscribers_phone_index_next ON subscribers (phone_index_next)"),
        ("ix_subscribers_rrn_index_next", "CREATE INDEX ix_subscribers_rrn_index_next ON subscribers (rrn_index_next) WHERE rrn_index_next IS NOT NULL"),
    ];
}
