using Custodian.Storage;

namespace Custodian.Protection;

/// <summary>
/// Protection's tables. <c>subscribers</c> holds personal fields only as AES-256-GCM ciphertexts
/// (<c>*_ct</c>) and the keyed blind indexes used for exact-match search; no plaintext RRN, phone,
/// name or address is ever stored. Times are Unix milliseconds UTC; dates are <c>yyyy-MM-dd</c> text.
/// <c>protection-002</c> adds <c>phone_index_next</c>/<c>rrn_index_next</c> (the indexes under a pending
/// blind-index key, filled during an index key rotation, NULL otherwise) and <c>protection_jobs</c>
/// (the checkpoint of the resumable re-encryption job: last subscriber id done, target data key).
/// <c>protection-003</c> adds <c>masking_policy</c>: the one row naming the masking policy this data directory
/// shows (<see cref="Masking.MaskingPolicyRecord"/>).
/// <c>protection-import-001</c> makes <c>ix_subscribers_rrn_index_next</c> a partial index over the rows that have a pending RRN
/// index: outside a blind-index rotation the column is NULL in every row, and a full index made every insert (the bulk
/// import above all) pay for one more B-tree insert at a random place. Searches (<c>rrn_index_next = @x</c>) still use it
/// (SQLite and PostgreSQL both use a partial index whose <c>IS NOT NULL</c> condition the query's equality implies).
/// <c>ix_subscribers_phone_index_next</c> stays a full index: the rotation's rebuild finds the rows still to index with
/// <c>phone_index_next IS NULL</c>.
/// It also drops <c>ix_subscribers_home_store</c>, which no query used (subscribers are only ever found by id and blind
/// index) and which cost every insert one more B-tree insert; a feature that lists a store's subscribers adds it back.
/// <c>protection-import-002</c> rebuilds <c>subscribers</c> with a sequential key <c>seq</c> (the table's B-tree, the largest,
/// is then appended to: the importer gives new rows increasing <c>seq</c> values, where the random subscriber id put each row
/// at a random place) and the subscriber id as a unique secondary index; the unique phone index becomes a named index
/// (<c>ux_subscribers_phone_index</c>) that the importer can drop and build after a bulk load into an empty table. Existing
/// rows are numbered in id order. The importer's copy of the index definitions, <see cref="Subscribers.SubscriberIndexes.All"/>,
/// must stay identical to these (a test compares them).
/// <c>protection-import-003</c> adds <c>subscriber_import_runs</c> and <c>subscriber_import_batches</c>: an all-or-nothing import
/// written beside a running server (<see cref="Import.ImportConcurrency.BesideServer"/>) commits in short transactions and
/// records each one's <c>seq</c> range here, in the same transaction, so that a failure, a cancellation or a crash can remove
/// the rows again (<see cref="Import.SubscriberImporter.RecoverAsync"/>). Both tables are empty outside an import.
/// <c>protection-household-001</c> adds <c>subscribers.household_index</c> and <c>subscribers.family_plan_index</c> (keyed
/// indexes, <see cref="Households.HouseholdIndex"/>; filled by the import, NULL for rows imported before it until they are
/// imported again, and <c>family_plan_index</c> NULL for a subscriber on no family plan) and <c>staff_households</c>: per staff
/// account, the internal id and the two indexes of the clerk's own subscription (<see cref="Households.StaffHouseholds"/>).
/// No secondary index: the guard's check looks subscribers up by id and the link by account (both keys).
/// </summary>
public sealed class ProtectionMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new Migration(
            "protection-001",
            """
            CREATE TABLE subscribers (
                id INTEGER PRIMARY KEY,
                phone_index BLOB NOT NULL UNIQUE,
                rrn_index BLOB NOT NULL,
                name_ct BLOB NOT NULL,
                rrn_ct BLOB NOT NULL,
                phone_ct BLOB NOT NULL,
                address_ct BLOB NOT NULL,
                rate_plan TEXT NOT NULL,
                contract_start TEXT NOT NULL,
                contract_end TEXT NOT NULL,
                home_store TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE INDEX ix_subscribers_rrn_index ON subscribers (rrn_index);
            CREATE INDEX ix_subscribers_home_store ON subscribers (home_store);
            """),
        new Migration(
            "protection-002",
            """
            ALTER TABLE subscribers ADD COLUMN phone_index_next BLOB;
            ALTER TABLE subscribers ADD COLUMN rrn_index_next BLOB;
            CREATE INDEX ix_subscribers_phone_index_next ON subscribers (phone_index_next);
            CREATE INDEX ix_subscribers_rrn_index_next ON subscribers (rrn_index_next);
            CREATE TABLE protection_jobs (
                name TEXT PRIMARY KEY,
                cursor_id INTEGER NOT NULL,
                target_key_id INTEGER NOT NULL,
                rows_done INTEGER NOT NULL,
                started_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            """),
        new Migration(
            "protection-003",
            """
            CREATE TABLE masking_policy (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                descriptor TEXT NOT NULL,
                adopted_at INTEGER NOT NULL
            );
            """),
        new Migration(
            "protection-import-001",
            """
            DROP INDEX ix_subscribers_home_store;
            DROP INDEX ix_subscribers_rrn_index_next;
            CREATE INDEX ix_subscribers_rrn_index_next ON subscribers (rrn_index_next) WHERE rrn_index_next IS NOT NULL;
            """),
        new Migration(
            "protection-import-002",
            """
            CREATE TABLE subscribers_v2 (
                seq INTEGER PRIMARY KEY,
                id INTEGER NOT NULL,
                phone_index BLOB NOT NULL,
                rrn_index BLOB NOT NULL,
                name_ct BLOB NOT NULL,
                rrn_ct BLOB NOT NULL,
                phone_ct BLOB NOT NULL,
                address_ct BLOB NOT NULL,
                rate_plan TEXT NOT NULL,
                contract_start TEXT NOT NULL,
                contract_end TEXT NOT NULL,
                home_store TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                phone_index_next BLOB,
                rrn_index_next BLOB
            );
            INSERT INTO subscribers_v2 (seq, id, phone_index, rrn_index, name_ct, rrn_ct, phone_ct, address_ct, rate_plan, contract_start, contract_end, home_store, created_at, phone_index_next, rrn_index_next)
            SELECT ROW_NUMBER() OVER (ORDER BY id), id, phone_index, rrn_index, name_ct, rrn_ct, phone_ct, address_ct, rate_plan, contract_start, contract_end, home_store, created_at, phone_index_next, rrn_index_next
            FROM subscribers;
            DROP TABLE subscribers;
            ALTER TABLE subscribers_v2 RENAME TO subscribers;
            CREATE UNIQUE INDEX ux_subscribers_phone_index ON subscribers (phone_index);
            CREATE UNIQUE INDEX ux_subscribers_id ON subscribers (id);
            CREATE INDEX ix_subscribers_rrn_index ON subscribers (rrn_index);
            CREATE INDEX ix_subscribers_phone_index_next ON subscribers (phone_index_next);
            CREATE INDEX ix_subscribers_rrn_index_next ON subscribers (rrn_index_next) WHERE rrn_index_next IS NOT NULL;
            """),
        new Migration(
            "protection-import-003",
            """
            CREATE TABLE subscriber_import_runs (
                id TEXT PRIMARY KEY,
                started_at INTEGER NOT NULL
            );
            CREATE TABLE subscriber_import_batches (
                run_id TEXT NOT NULL,
                first_seq INTEGER NOT NULL,
                last_seq INTEGER NOT NULL,
                PRIMARY KEY (run_id, first_seq)
            );
            """),
        new Migration(
            "protection-household-001",
            """
            ALTER TABLE subscribers ADD COLUMN household_index BLOB;
            ALTER TABLE subscribers ADD COLUMN family_plan_index BLOB;
            CREATE TABLE staff_households (
                account TEXT PRIMARY KEY,
                subscriber_id INTEGER NOT NULL,
                household_index BLOB,
                family_plan_index BLOB,
                linked_at INTEGER NOT NULL
            );
            """),
    ];
}
