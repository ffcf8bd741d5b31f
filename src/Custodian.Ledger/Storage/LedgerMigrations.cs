using Custodian.Storage;

namespace Custodian.Ledger;

/// <summary>
/// The access ledger's tables. <c>ledger_entries</c> holds one row per entry: the canonical payload
/// (<see cref="LeafCodec"/>), its RFC 9162 leaf hash and a few columns copied from the payload for
/// queries. <c>ledger_subjects</c> indexes entries by data subject for the subscriber's history.
/// <c>ledger_tree_heads</c> holds one row per committed batch (size, root, commit time, and — on the
/// newest row only — the compact-range frontier the next batch continues from). <c>ledger_subtrees</c>
/// (<c>ledger-002</c>) holds the hashes of complete subtrees at levels 4, 8, 12, … for fast proofs.
/// <c>ledger_subject_watermark</c> (<c>ledger-004</c>): one row (id 1) holding the next sequence whose subject rows
/// <see cref="LedgerSubjectProjector"/> has not written yet.
/// Layout: docs/ledger-format.md.
/// </summary>
public sealed class LedgerMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new Migration(
            "ledger-001",
            """
            CREATE TABLE ledger_entries (
                seq INTEGER PRIMARY KEY,
                time_ms INTEGER NOT NULL,
                task TEXT NOT NULL,
                outcome TEXT NOT NULL,
                account TEXT,
                terminal TEXT,
                store TEXT,
                payload BLOB NOT NULL,
                leaf_hash BLOB NOT NULL
            );
            CREATE INDEX ledger_entries_time ON ledger_entries (time_ms);
            CREATE TABLE ledger_subjects (
                subscriber_id INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                PRIMARY KEY (subscriber_id, seq)
            );
            CREATE TABLE ledger_tree_heads (
                tree_size INTEGER PRIMARY KEY,
                root BLOB NOT NULL,
                time_ms INTEGER NOT NULL,
                frontier BLOB
            );
            """),

        // Stored hashes of complete subtrees at levels 4, 8, 12, … (tiles as in C2SP tlog-tiles, 16 hashes wide), written by
        // the ledger writer in each commit so proofs need O(log n) reads (docs/ledger-format.md §15). A
        // ledger created before this migration is backfilled by the writer's first commit (SQL cannot hash).
        new Migration(
            "ledger-002",
            """
            CREATE TABLE ledger_subtrees (
                level INTEGER NOT NULL,
                idx INTEGER NOT NULL,
                hash BLOB NOT NULL,
                PRIMARY KEY (level, idx)
            );
            """),

        // Retention (docs/ledger-format.md §13): the sequence number of the RetentionErasure entry
        // that erased this entry's payload; NULL while the payload is kept.
        new Migration(
            "ledger-003",
            """
            ALTER TABLE ledger_entries ADD COLUMN erased_by INTEGER;
            """),

        // The subject index becomes a post-commit projection (issue 4; docs/ledger-format.md §3): the writers stop
        // inserting ledger_subjects rows and LedgerSubjectProjector fills them, recording here the next sequence to
        // project in the same transaction as the rows. A ledger written before this migration has every row already,
        // so the watermark starts at its size.
        new Migration(
            "ledger-004",
            """
            CREATE TABLE ledger_subject_watermark (
                id INTEGER PRIMARY KEY,
                next_seq INTEGER NOT NULL
            );
            INSERT INTO ledger_subject_watermark (id, next_seq) SELECT 1, COALESCE(MAX(seq) + 1, 0) FROM ledger_entries;
            """),
    ];
}
