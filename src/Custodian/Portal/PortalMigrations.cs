using Custodian.Storage;

namespace Custodian.Portal;

/// <summary>
/// Tables of the subscriber portal (docs/portal.md, "Tables"): the notice inbox, disclosure requests,
/// history deferrals and notice preferences. Portable SQL; times are Unix milliseconds UTC.
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
    ];
}
