using Custodian.Storage;

namespace Custodian.Access;

/// <summary>
/// Tables of the Access capability: <c>terminals</c> (enrolled devices, their enrollment codes, trust class,
/// current and — until first use of a renewed one — previous certificate), <c>device_keys</c> (the SHA-256 of
/// every public key ever certified, so that no key serves two devices or two certificates) and
/// <c>staff_accounts</c> (staff credentials, and from <c>access-007</c> the time before which the account's sessions no longer count) and <c>staff_unknown_failures</c> (failed sign-ins under IDs that name no
/// account, keyed by HMAC-SHA256 of the ID). Portable SQL; time columns are INTEGER Unix milliseconds UTC.
/// </summary>
public sealed class AccessMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new Migration(
            "access-001",
            """
            CREATE TABLE terminals (
                id TEXT NOT NULL PRIMARY KEY,
                store TEXT NOT NULL,
                name TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
                code_hash BLOB NULL,
                code_expires_ms INTEGER NULL,
                cert_serial TEXT NULL,
                cert_thumbprint TEXT NULL,
                cert_not_after_ms INTEGER NULL,
                enrolled_ms INTEGER NULL,
                revoked_ms INTEGER NULL,
                revoke_reason TEXT NULL,
                created_ms INTEGER NOT NULL
            );
            CREATE INDEX ix_terminals_code_hash ON terminals (code_hash);
            """),
        new Migration(
            "access-002",
            """
            CREATE TABLE staff_accounts (
                id TEXT NOT NULL PRIMARY KEY,
                role TEXT NOT NULL,
                store TEXT NULL,
                status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
                password_hash TEXT NOT NULL,
                must_change_password INTEGER NOT NULL,
                totp_secret BLOB NOT NULL,
                totp_last_step INTEGER NULL,
                failed_attempts INTEGER NOT NULL DEFAULT 0,
                locked_until_ms INTEGER NULL,
                created_ms INTEGER NOT NULL,
                last_sign_in_ms INTEGER NULL
            );
            """),
        new Migration(
            "access-003",
            """
            ALTER TABLE terminals ADD COLUMN trust_class TEXT NOT NULL DEFAULT 'store-terminal';
            ALTER TABLE terminals ADD COLUMN cert_key_sha256 TEXT NULL;
            ALTER TABLE terminals ADD COLUMN prev_cert_thumbprint TEXT NULL;
            ALTER TABLE terminals ADD COLUMN prev_cert_not_after_ms INTEGER NULL;
            ALTER TABLE terminals ADD COLUMN renewed_ms INTEGER NULL;
            CREATE TABLE device_keys (
                key_sha256 TEXT NOT NULL PRIMARY KEY,
                terminal_id TEXT NOT NULL,
                certified_ms INTEGER NOT NULL
            );
            """),
        new Migration(
            "access-004",
            """
            CREATE TABLE privileged_requests (
                id TEXT NOT NULL PRIMARY KEY,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                reason TEXT NOT NULL,
                requested_by TEXT NOT NULL,
                requested_ms INTEGER NOT NULL,
                expires_ms INTEGER NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'failed')),
                decided_by TEXT NULL,
                decided_ms INTEGER NULL,
                decision_reason TEXT NULL
            );
            CREATE INDEX ix_privileged_requests_requested ON privileged_requests (requested_ms);
            """),
        new Migration(
            "access-005",
            // A requester may withdraw a pending request (status 'withdrawn'). Neither backend can widen a CHECK in
            // place under one portable statement, so the table is rebuilt with the same rows.
            """
            CREATE TABLE privileged_requests_v2 (
                id TEXT NOT NULL PRIMARY KEY,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                reason TEXT NOT NULL,
                requested_by TEXT NOT NULL,
                requested_ms INTEGER NOT NULL,
                expires_ms INTEGER NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'failed', 'withdrawn')),
                decided_by TEXT NULL,
                decided_ms INTEGER NULL,
                decision_reason TEXT NULL
            );
            INSERT INTO privileged_requests_v2 (id, action, target, reason, requested_by, requested_ms, expires_ms, status, decided_by, decided_ms, decision_reason)
            SELECT id, action, target, reason, requested_by, requested_ms, expires_ms, status, decided_by, decided_ms, decision_reason FROM privileged_requests;
            DROP TABLE privileged_requests;
            ALTER TABLE privileged_requests_v2 RENAME TO privileged_requests;
            CREATE INDEX ix_privileged_requests_requested ON privileged_requests (requested_ms);
            """),
        new Migration(
            "access-006",
            // Failed sign-ins under well-formed IDs that name no account, shared by every node (docs/storage.md, "Staff
            // sign-in failures"): keyed by an HMAC of the ID, never the ID. Both tables keep the time of the last failure,
            // after which a count that did not lock starts afresh (StaffDirectory).
            """
            ALTER TABLE staff_accounts ADD COLUMN last_failed_ms INTEGER NULL;
            CREATE TABLE staff_unknown_failures (
                id_hmac BLOB NOT NULL PRIMARY KEY,
                failed_attempts INTEGER NOT NULL,
                locked_until_ms INTEGER NULL,
                last_failed_ms INTEGER NOT NULL
            );
            CREATE INDEX ix_staff_unknown_failures_last ON staff_unknown_failures (last_failed_ms);
            CREATE INDEX ix_staff_unknown_failures_locked ON staff_unknown_failures (locked_until_ms);
            """),
        new Migration(
            "access-007",
            // Sessions of an account are valid only if opened at or after sessions_from_ms (Unix ms UTC; 0 = any): set
            // by every disable, re-enable, credential reset and role/store change in the statement that makes it, and
            // compared by the per-request standing check on every node, so a session opened before a disable never
            // works again, also once the account is re-enabled (docs/access.md, "Revocation at once").
            """
            ALTER TABLE staff_accounts ADD COLUMN sessions_from_ms INTEGER NOT NULL DEFAULT 0;
            """),
    ];
}
