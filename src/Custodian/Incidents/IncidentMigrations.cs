using Custodian.Storage;

namespace Custodian.Incidents;

/// <summary>
/// Tables of incident response (docs/incidents.md, "Tables"). <c>incidents-001</c> added indexes on <c>ledger_entries</c> by
/// principal and time; <c>incidents-003</c> replaces them with the scoping projection (<c>incident_scope_entries</c> and its
/// position, filled after commit by <see cref="IncidentScopeProjector"/>), so that a ledger append no longer updates them.
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

        // The scoping projection (docs/incidents.md, "Scoping projection"): one row per ledger entry with the columns scoping
        // selects on, indexed by principal and time, and the next sequence to project. The three indexes of incidents-001
        // leave the ledger's commit path. Entries already in the ledger are projected here in the same transaction (indexes
        // built after the copy); the
        // position is taken from what this transaction inserted, so it never claims an entry it did not copy.
        new Migration(
            "incidents-003",
            "DROP INDEX ix_ledger_entries_account_time;" +
            "DROP INDEX ix_ledger_entries_terminal_time;" +
            "DROP INDEX ix_ledger_entries_store_time;" +
            "CREATE TABLE incident_scope_entries (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, account TEXT, terminal TEXT, store TEXT);" +
            "CREATE TABLE incident_scope_position (id INTEGER PRIMARY KEY, next_seq INTEGER NOT NULL);" +
            "INSERT INTO incident_scope_entries (seq, time_ms, account, terminal, store) SELECT seq, time_ms, account, terminal, store FROM ledger_entries WHERE seq >= 0;" +
            "INSERT INTO incident_scope_position (id, next_seq) SELECT 1, COALESCE(MAX(seq) + 1, 0) FROM incident_scope_entries;" +
            "CREATE INDEX ix_incident_scope_account_time ON incident_scope_entries (account, time_ms);" +
            "CREATE INDEX ix_incident_scope_terminal_time ON incident_scope_entries (terminal, time_ms);" +
            "CREATE INDEX ix_incident_scope_store_time ON incident_scope_entries (store, time_ms)"),
    ];
}
