using System.Data.Common;
using System.Security.Cryptography;
using Custodian.Storage;
using Microsoft.Data.Sqlite;

namespace Custodian.Ledger;

/// <summary>
/// Checks the whole access ledger against its own evidence: gap-free sequence numbers from 0,
/// every leaf hash recomputed from its payload (RFC 9162 §2.1.1), every payload decodable, every
/// query column and subject row agreeing with its payload, the Merkle root recomputed from the
/// payloads at every stored tree head, every stored subtree hash (<c>ledger_subtrees</c>) equal to
/// the recomputed one, and the newest head equal to the number of entries.
/// Streams in sequence order inside one read transaction (a consistent snapshot while appends go on)
/// in constant memory. Stops at the first failure. Thread-safe; each call is independent.
/// </summary>
/// <remarks>
/// What it cannot see: a rewrite of entries, leaf hashes and tree heads together (or a cut of the
/// tail together with its heads) is self-consistent; detecting it needs the signed checkpoints and
/// external witnesses of a later issue. See docs/ledger-format.md.
/// </remarks>
/// <param name="db">The database holding the ledger tables.</param>
public sealed class LedgerVerifier(CustodianDatabase db)
{
    private const int ProgressInterval = 65_536;

    /// <summary>Verifies the ledger.</summary>
    /// <param name="progress">Receives the number of entries checked, every 65,536 entries and at the end; may be null.</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The result; a failure is a value, not an exception.</returns>
    /// <exception cref="OperationCanceledException">When cancelled.</exception>
    /// <exception cref="DbException">When the database cannot be read.</exception>
    public async Task<VerificationResult> VerifyAsync(IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        await using var connection = (SqliteConnection)await db.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction(deferred: true); // one snapshot for every reader below

        await using var headsCommand = connection.Command("SELECT tree_size, root, frontier FROM ledger_tree_heads ORDER BY tree_size");
        headsCommand.Transaction = tx;
        await using var entriesCommand = connection.Command("SELECT seq, payload, leaf_hash, time_ms, task, outcome, account, terminal, store FROM ledger_entries ORDER BY seq");
        entriesCommand.Transaction = tx;
        await using var subjectCommand = connection.Command("SELECT COUNT(*) FROM ledger_subjects WHERE subscriber_id = @subject AND seq = @seq", ("@subject", 0L), ("@seq", 0L));
        subjectCommand.Transaction = tx;

        // Stored subtree hashes (ledger-002), compared with the recomputed tree as it grows.
        await using var subtreesCommand = connection.Command(SubtreeCheck.Query);
        subtreesCommand.Transaction = tx;
        await using var subtreeRows = await subtreesCommand.ExecuteReaderAsync(cancellationToken);

        await using var heads = await headsCommand.ExecuteReaderAsync(cancellationToken);
        var state = new State { Subtrees = await SubtreeCheck.StartAsync(subtreeRows, cancellationToken) };
        var hasHead = await heads.ReadAsync(cancellationToken);

        // A head of size 0 (never written by the ledger, but harmless) must hold the empty root.
        while (hasHead && heads.GetInt64(0) == 0)
        {
            if (CheckHead(heads, state) is { } failure)
            {
                return failure;
            }

            hasHead = await heads.ReadAsync(cancellationToken);
        }

        await using (var entries = await entriesCommand.ExecuteReaderAsync(cancellationToken))
        {
            var leaf = new byte[MerkleTree.HashSize];
            while (await entries.ReadAsync(cancellationToken))
            {
                var seq = entries.GetInt64(0);
                if (seq != state.Range.Size)
                {
                    return Fail(state, VerificationFailures.SequenceGap, state.Range.Size, "Sequence numbers are not gap-free: an entry is missing.");
                }

                // SQLite columns are dynamically typed: a forged row may hold text or NULL anywhere.
                var payload = entries.GetValue(1) as byte[];
                var stored = entries.GetValue(2) as byte[];
                if (payload is not null)
                {
                    MerkleTree.HashLeaf(payload, leaf);
                }

                if (payload is null || stored is null || !CryptographicOperations.FixedTimeEquals(stored, leaf))
                {
                    return Fail(state, VerificationFailures.LeafHashMismatch, seq, "The stored leaf hash does not match the entry's payload.");
                }

                AccessEntry entry;
                try
                {
                    entry = LeafCodec.Decode(payload);
                }
                catch (FormatException)
                {
                    return Fail(state, VerificationFailures.UndecodablePayload, seq, "The payload is not a valid ledger entry encoding.");
                }

                if (!ProjectionMatches(entries, entry) || !SubjectsMatch(subjectCommand, entry, seq))
                {
                    return Fail(state, VerificationFailures.ProjectionMismatch, seq, "The entry's query columns or subject rows disagree with its payload.");
                }

                state.Range.Append(leaf, state.Subtrees.OnCompleted);
                if (state.Range.Size % ProgressInterval == 0)
                {
                    progress?.Report(state.Range.Size);
                }

                while (hasHead && heads.GetInt64(0) <= state.Range.Size)
                {
                    if (CheckHead(heads, state) is { } failure)
                    {
                        return failure;
                    }

                    hasHead = await heads.ReadAsync(cancellationToken);
                }
            }
        }

        progress?.Report(state.Range.Size);
        if (hasHead)
        {
            return Fail(state, VerificationFailures.Truncated, state.Range.Size, "A tree head covers entries that do not exist: the ledger's tail was removed.");
        }

        if (state.GoodHeadSize != state.Range.Size)
        {
            return Fail(state, VerificationFailures.MissingTreeHead, state.GoodHeadSize, "Entries exist beyond the newest tree head.");
        }

        state.Subtrees.Finish();
        if (SubtreeFailure(state) is { } subtreeFailure)
        {
            return subtreeFailure;
        }

        return new VerificationResult
        {
            IsValid = true,
            TreeSize = state.Range.Size,
            Root = state.Range.GetRoot(),
            EntriesChecked = state.Range.Size,
        };
    }

    private static VerificationResult? CheckHead(DbDataReader heads, State state)
    {
        var size = heads.GetInt64(0);
        if (size != state.Range.Size)
        {
            // Only reachable when a head's size is not a multiple the entries reached, i.e. never with sorted heads.
            return Fail(state, VerificationFailures.RootMismatch, state.GoodHeadSize, "A tree head does not match the entries.");
        }

        var root = state.Range.GetRoot();
        if (heads.GetValue(1) is not byte[] storedRoot || !CryptographicOperations.FixedTimeEquals(storedRoot, root))
        {
            return Fail(state, VerificationFailures.RootMismatch, state.GoodHeadSize, "The root recomputed from the payloads differs from a stored tree head.");
        }

        var frontier = heads.GetValue(2);
        if (frontier is not DBNull && (frontier is not byte[] storedFrontier || !storedFrontier.AsSpan().SequenceEqual(state.Range.ToBytes())))
        {
            state.GoodHeadSize = size;
            state.GoodRoot = root;
            return Fail(state, VerificationFailures.FrontierMismatch, size, "The frontier stored with a tree head differs from the recomputed one.");
        }

        state.GoodHeadSize = size;
        state.GoodRoot = root;

        // The entries up to this head are proven by its root, so a subtree hash that disagreed
        // before it means the subtree table itself was altered (checked after the root on purpose:
        // an edited entry is reported as root-mismatch, as before ledger-002).
        return SubtreeFailure(state);
    }

    private static VerificationResult? SubtreeFailure(State state) => state.Subtrees.FirstBad is { } position
        ? Fail(state, VerificationFailures.SubtreeMismatch, position, "A stored subtree hash (ledger_subtrees) is missing, extra or differs from the one recomputed from the payloads.")
        : null;

    private static bool ProjectionMatches(DbDataReader row, AccessEntry entry) =>
        row.GetValue(3) is long time && time == entry.Time.ToUnixTimeMilliseconds()
        && TextEquals(row, 4, entry.Task.ToName())
        && TextEquals(row, 5, LeafCodec.OutcomeName(entry.Outcome))
        && TextEquals(row, 6, entry.Account)
        && TextEquals(row, 7, entry.Terminal)
        && TextEquals(row, 8, entry.Store);

    private static bool SubjectsMatch(DbCommand command, AccessEntry entry, long seq)
    {
        foreach (var subject in entry.Subjects)
        {
            command.Parameters[0].Value = subject.Value;
            command.Parameters[1].Value = seq;
            if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 1)
            {
                return false;
            }
        }

        return true;
    }

    // SQLite columns are dynamically typed: anything but NULL or text of the expected value disagrees.
    private static bool TextEquals(DbDataReader row, int ordinal, string? expected) => row.GetValue(ordinal) switch
    {
        DBNull => expected is null,
        string text => string.Equals(text, expected, StringComparison.Ordinal),
        _ => false,
    };

    private static VerificationResult Fail(State state, string reason, long position, string message) => new()
    {
        IsValid = false,
        TreeSize = state.GoodHeadSize,
        Root = state.GoodRoot,
        FirstBadSequence = position,
        Reason = reason,
        Message = message,
        EntriesChecked = state.Range.Size,
    };

    private sealed class State
    {
        public CompactRange Range { get; } = new();

        public long GoodHeadSize { get; set; }

        public byte[] GoodRoot { get; set; } = MerkleTree.EmptyRoot;

        public required SubtreeCheck Subtrees { get; init; }
    }
}
