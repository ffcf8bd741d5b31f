using Custodian.Storage;

namespace Custodian.Approvals;

/// <summary>The tables of the four-eyes actions (IDs <c>approvals-NNN</c>).</summary>
public sealed class ApprovalMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new("approvals-001", """
            CREATE TABLE detector_switches (
                detector TEXT PRIMARY KEY,
                disabled_ms INTEGER NOT NULL,
                disabled_by TEXT NOT NULL,
                reason TEXT NOT NULL
            );
            """),
        new("approvals-002", """
            CREATE TABLE quota_raises (
                principal_kind TEXT NOT NULL CHECK (principal_kind IN ('clerk', 'terminal')),
                principal_id TEXT NOT NULL,
                factor INTEGER NOT NULL CHECK (factor BETWEEN 2 AND 10),
                until_ms INTEGER NOT NULL,
                request_id TEXT NOT NULL,
                approved_by TEXT NOT NULL,
                PRIMARY KEY (principal_kind, principal_id)
            );
            """),
        new("approvals-003", """
            CREATE TABLE export_grants (
                request_id TEXT PRIMARY KEY,
                target TEXT NOT NULL,
                officer TEXT NOT NULL,
                approved_by TEXT NOT NULL,
                approved_ms INTEGER NOT NULL,
                expires_ms INTEGER NOT NULL,
                used_ms INTEGER NULL
            );
            """),
    ];
}
