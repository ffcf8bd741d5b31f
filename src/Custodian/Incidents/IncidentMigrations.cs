using Custodian.Storage;

namespace Custodian.Incidents;

/// <summary>
/// Tables of incident response (docs/incidents.md, "Tables"), and the indexes on <c>ledger_entries</c> by principal and
/// time that scoping reads through instead of scanning the ledger.
/// </summary>
public sealed class IncidentMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new Migration(
            "incidents-001",
            "CREATE TABLE incidents (id TEXT PRIMARY KEY, title TEXT NOT NULL, state TEXT NOT NULL, declared_ms INTEGER NOT NULL, declared_by TEXT NOT NULL, " +
            "alerts TEXT NOT NULL, scope TEXT NOT NULL, summary TEXT, notice TEXT, notified_ms INTEGER, closed_ms INTEGER, close_note TEXT);" +
            "CREATE TABLE incident_subjects (incident_id TEXT NOT NULL, subscriber_id INTEGER NOT NULL, grade INTEGER NOT NULL, fields TEXT NOT NULL, " +
            "unmasked TEXT NOT NULL, entries INTEGER NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, PRIMARY KEY (incident_id, subscriber_id));" +
            "CREATE TABLE incident_actions (incident_id TEXT NOT NULL, seq INTEGER NOT NULL, time_ms INTEGER NOT NULL, action TEXT NOT NULL, account TEXT NOT NULL, " +
            "detail TEXT NOT NULL, PRIMARY KEY (incident_id, seq));" +
            "CREATE TABLE incident_deliveries (incident_id TEXT NOT NULL, subscriber_id INTEGER NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL, " +
            "updated_ms INTEGER NOT NULL, error TEXT, PRIMARY KEY (incident_id, subscriber_id, channel));" +
            "CREATE INDEX ix_ledger_entries_account_time ON ledger_entries (account, time_ms);" +
            "CREATE INDEX ix_ledger_entries_terminal_time ON ledger_entries (terminal, time_ms);" +
            "CREATE INDEX ix_ledger_entries_store_time ON ledger_entries (store, time_ms)"),
        new Migration(
            "incidents-002",
            "CREATE TABLE incident_claims (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, subscriber_id INTEGER NOT NULL, kind TEXT NOT NULL, description TEXT NOT NULL, " +
            "amount_claimed INTEGER NOT NULL, state TEXT NOT NULL, filed_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, question TEXT, answer TEXT, " +
            "amount_approved INTEGER, decision_reason TEXT, decided_by TEXT, paid_ms INTEGER, payout_reference TEXT, evidence TEXT NOT NULL, UNIQUE (incident_id, subscriber_id));" +
            "CREATE INDEX ix_incident_claims_subscriber ON incident_claims (subscriber_id, filed_ms)"),
    ];
}
