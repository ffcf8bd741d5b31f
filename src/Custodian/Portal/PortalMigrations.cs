using Custodian.Storage;

namespace Custodian.Portal;

/// <summary>
/// Tables of the subscriber portal (docs/portal.md, "Tables"): the notice inbox, disclosure requests,
/// history deferrals, notice preferences, and the sign-in codes and their limits (<c>portal-003</c>, shared by every
/// API node: <see cref="Transparency.PortalCodeBook"/>). Portable SQL; times are Unix milliseconds UTC.
/// </summary>
public sealed class PortalMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new Migration(
            "portal-001",
            """
            CREATE TABLE portal_inbox (
                id TEXT PRIMARY KEY,
                subscriber_id INTEGER NOT NULL,
                kind TEXT NOT NULL,
                reference TEXT,
                title_ko TEXT NOT NULL,
                body_ko TEXT NOT NULL,
                title_en TEXT NOT NULL,
                body_en TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                read_ms INTEGER,
                sms_ms INTEGER
            );
            CREATE INDEX ix_portal_inbox_subscriber ON portal_inbox (subscriber_id, created_ms);
            CREATE UNIQUE INDEX ux_portal_inbox_reference ON portal_inbox (subscriber_id, kind, reference);
            """),
        new Migration(
            "portal-002",
            """
            CREATE TABLE portal_deferrals (
                entry_seq INTEGER NOT NULL,
                subscriber_id INTEGER NOT NULL,
                basis TEXT NOT NULL,
                until_ms INTEGER NOT NULL,
                recorded_seq INTEGER NOT NULL,
                PRIMARY KEY (subscriber_id, entry_seq)
            );
            CREATE TABLE portal_disclosure_requests (
                id TEXT PRIMARY KEY,
                subscriber_id INTEGER NOT NULL,
                entry_seq INTEGER NOT NULL,
                created_ms INTEGER NOT NULL,
                state TEXT NOT NULL,
                answered_ms INTEGER,
                answered_by TEXT,
                answer TEXT
            );
            CREATE UNIQUE INDEX ux_portal_disclosure_entry ON portal_disclosure_requests (subscriber_id, entry_seq);
            CREATE INDEX ix_portal_disclosure_state ON portal_disclosure_requests (state, created_ms);
            CREATE TABLE portal_notice_preferences (
                subscriber_id INTEGER PRIMARY KEY,
                usage_notice_sms INTEGER NOT NULL,
                updated_ms INTEGER NOT NULL
            );
            """),
        new Migration(
            "portal-003",
            """
            CREATE TABLE portal_signin_numbers (
                number_key TEXT PRIMARY KEY,
                quiet_ms INTEGER NOT NULL
            );
            CREATE INDEX ix_portal_signin_numbers_quiet ON portal_signin_numbers (quiet_ms);
            CREATE TABLE portal_signin_addresses (
                address_key TEXT PRIMARY KEY,
                quiet_ms INTEGER NOT NULL
            );
            CREATE INDEX ix_portal_signin_addresses_quiet ON portal_signin_addresses (quiet_ms);
            CREATE TABLE portal_signin_events (
                id TEXT PRIMARY KEY,
                number_key TEXT NOT NULL,
                address_key TEXT NOT NULL,
                kind INTEGER NOT NULL,
                at_ms INTEGER NOT NULL
            );
            CREATE INDEX ix_portal_signin_events_number ON portal_signin_events (number_key, at_ms);
            CREATE INDEX ix_portal_signin_events_address ON portal_signin_events (address_key, kind, at_ms);
            CREATE TABLE portal_signin_codes (
                number_key TEXT NOT NULL,
                address_key TEXT NOT NULL,
                issue_id TEXT NOT NULL,
                code_hmac BLOB NOT NULL,
                expires_ms INTEGER NOT NULL,
                attempts INTEGER NOT NULL,
                PRIMARY KEY (number_key, address_key)
            );
            """),
    ];
}
