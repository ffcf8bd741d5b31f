using Custodian.Storage;

namespace Custodian.Lookup;

/// <summary>Tables of the lookup guard: the consent wrong-attempt budget (<see cref="ConsentAttemptBudget"/>); times are Unix milliseconds UTC.</summary>
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
    ];
}
