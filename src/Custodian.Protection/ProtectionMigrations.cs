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
    ];
}
