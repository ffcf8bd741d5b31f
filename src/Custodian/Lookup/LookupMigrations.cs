using Custodian.Storage;

namespace Custodian.Lookup;

/// <summary>
/// Tables of the lookup guard; times are Unix milliseconds UTC. <c>lookup-001</c>: the consent wrong-attempt budget
/// (<see cref="ConsentAttemptBudget"/>). <c>lookup-stores-001</c>: <c>stores</c>, the area of each store (<c>code</c>, a
/// store code; <c>area</c>, 1–50 ASCII letters, digits or '-'; <c>updated_at</c>), written by <c>custodian stores import</c>
/// and read by <see cref="StoreAreas"/> for the <c>away</c> signal of ledger entries (docs/ledger-format.md §1.1).
/// </summary>
public sealed class LookupMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new Migration(
            "lookup-001",
            """
            CREATE TABLE consent_wrong_attempts (
                id TEXT PRIMARY KEY,
                clerk TEXT NOT NULL,
                subscriber_id INTEGER NOT NULL,
                at_ms INTEGER NOT NULL
            );
            CREATE INDEX ix_consent_wrong_attempts_key ON consent_wrong_attempts (clerk, subscriber_id, at_ms);
            CREATE INDEX ix_consent_wrong_attempts_at ON consent_wrong_attempts (at_ms);
            """),
        new Migration(
            "lookup-stores-001",
            """
            CREATE TABLE stores (
                code TEXT PRIMARY KEY,
                area TEXT NOT NULL,
                updated_at INTEGER NOT NULL
            );
            """),
    ];
}
