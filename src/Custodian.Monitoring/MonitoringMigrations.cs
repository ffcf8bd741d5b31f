using Custodian.Storage;

namespace Custodian.Monitoring;

/// <summary>
/// Tables of the monitoring capability: <c>alerts</c> and <c>suspensions</c>; for the sharded monitor workers
/// <c>monitor_partitions</c> (progress and fencing) and <c>monitor_risk</c> (the aggregate partition's risk steps). Times are INTEGER Unix milliseconds
/// UTC; kinds and states are the stable names of <see cref="PrincipalKind"/>, <see cref="AlertState"/> and
/// <see cref="AlertSeverity"/>. Portable SQL (SQLite and PostgreSQL). A partial unique index allows at most one
/// active (not lifted) suspension per principal.
/// </summary>
public sealed class MonitoringMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new("monitoring-001", """
            CREATE TABLE alerts (
                id TEXT PRIMARY KEY,
                raised_ms INTEGER NOT NULL,
                detector TEXT NOT NULL,
                principal_kind TEXT NOT NULL CHECK (principal_kind IN ('clerk', 'terminal')),
                principal_id TEXT NOT NULL,
                store TEXT NULL,
                window_seconds INTEGER NOT NULL,
                observed INTEGER NOT NULL,
                limit_value INTEGER NOT NULL,
                evidence TEXT NOT NULL,
                severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
                state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'false-positive', 'confirmed', 'restored')),
                updated_ms INTEGER NOT NULL,
                updated_by TEXT NOT NULL,
                note TEXT NULL
            );
            CREATE INDEX alerts_state_raised ON alerts (state, raised_ms);
            CREATE INDEX alerts_principal ON alerts (principal_kind, principal_id, state);
            CREATE TABLE suspensions (
                principal_kind TEXT NOT NULL CHECK (principal_kind IN ('clerk', 'terminal')),
                principal_id TEXT NOT NULL,
                since_ms INTEGER NOT NULL,
                alert_id TEXT NULL,
                reason TEXT NOT NULL,
                lifted_ms INTEGER NULL,
                lifted_by TEXT NULL,
                PRIMARY KEY (principal_kind, principal_id, since_ms)
            );
            CREATE UNIQUE INDEX suspensions_one_active ON suspensions (principal_kind, principal_id) WHERE lifted_ms IS NULL;
            CREATE INDEX suspensions_lifted ON suspensions (lifted_ms);
            """),
        // Sharded monitor workers (docs/events.md, "Monitor workers"): per partition, the last stream sequence whose
        // effects are stored, how many entries were processed, and the fencing epoch of the current owner.
        new("monitoring-002", """
            CREATE TABLE monitor_partitions (
                partition_name TEXT PRIMARY KEY,
                last_stream_sequence INTEGER NOT NULL,
                processed INTEGER NOT NULL,
                owner TEXT NOT NULL,
                epoch INTEGER NOT NULL,
                updated_ms INTEGER NOT NULL
            );
            """),
        // The monitor workers' aggregate partition (docs/events.md, "Monitor workers"): each principal's risk as steps
        // over time (RiskStep), so that the API nodes' guard applies step-up and the console reads risk without an engine.
        new("monitoring-003", """
            CREATE TABLE monitor_risk (
                principal_kind TEXT NOT NULL CHECK (principal_kind IN ('clerk', 'terminal')),
                principal_id TEXT NOT NULL,
                until_ms INTEGER NOT NULL,
                risk INTEGER NOT NULL CHECK (risk BETWEEN 1 AND 100),
                action TEXT NOT NULL CHECK (action IN ('none', 'alert', 'step-up', 'suspend')),
                updated_ms INTEGER NOT NULL,
                PRIMARY KEY (principal_kind, principal_id, until_ms)
            );
            CREATE INDEX monitor_risk_until ON monitor_risk (until_ms);
            """),
        // The baseline detector's closed days (BaselineDayStore; docs/monitoring.md, "Restart"): counts only, no
        // subscriber, so that a restart restores 60 days of each principal's baseline instead of rebuilding 7.
        new("monitoring-004", """
            CREATE TABLE monitor_baseline_days (
                principal_kind TEXT NOT NULL CHECK (principal_kind IN ('clerk', 'terminal')),
                principal_id TEXT NOT NULL,
                local_day INTEGER NOT NULL,
                store TEXT NULL,
                role TEXT NULL,
                distinct_subjects INTEGER NOT NULL CHECK (distinct_subjects >= 0),
                orphans INTEGER NOT NULL CHECK (orphans >= 0),
                max_hour INTEGER NOT NULL CHECK (max_hour >= 0),
                PRIMARY KEY (principal_kind, principal_id, local_day)
            );
            CREATE INDEX monitor_baseline_days_day ON monitor_baseline_days (local_day);
            """),
    ];
}
