using Custodian.Storage;

namespace Custodian.Siem.Export;

/// <summary>
/// The SIEM export's table: <c>siem_cursors</c>, one row per destination (<see cref="ISiemSink.Id"/>) with the
/// next ledger sequence to send (every lower sequence has been written and flushed to that destination) and
/// the time of the last advance (INTEGER Unix milliseconds UTC). Portable SQL.
/// </summary>
public sealed class SiemMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new("siem-001", """
            CREATE TABLE siem_cursors (
                sink TEXT PRIMARY KEY,
                next_seq INTEGER NOT NULL CHECK (next_seq >= 0),
                exported INTEGER NOT NULL DEFAULT 0,
                updated_ms INTEGER NOT NULL
            );
            """),
    ];
}
