using Custodian.Storage;

namespace Custodian.Protection;

/// <summary>
/// Protection's tables. <c>subscribers</c> holds personal fields only as AES-256-GCM ciphertexts
/// (<c>*_ct</c>) and the keyed blind indexes used for exact-match search; no plaintext RRN, phone,
/// name or address is ever stored. Times are Unix milliseconds UTC; dates are <c>yyyy-MM-dd</c> text.
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
    ];
}
