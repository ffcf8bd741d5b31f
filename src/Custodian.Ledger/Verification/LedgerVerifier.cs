using System.Data.Common;
using System.Security.Cryptography;
using Custodian.Ledger.Retention;
using Custodian.Storage;
using Microsoft.Data.Sqlite;

namespace Custodian.Ledger;

/// <summary>
/// Checks the whole access ledger against its own evidence: gap-free sequence numbers from 0,
/// every leaf hash recomputed from its payload (RFC 9162 §2.1.1), every payload decodable, every
/// query column and subject row agreeing with its payload, the Merkle root recomputed from the
/// payloads at every stored tree head, and the newest head equal to the number of entries.
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
        await using var entriesCommand = connection.Command("SELECT seq, payload, leaf_hash, time_ms, task, outcome, account, terminal, store, erased_by FROM ledger_entries ORDER BY seq");
        entriesCommand.Transaction = tx;
        await using var subjectCommand = connection.Command("SELECT COUNT(*) FROM ledger_subjects WHERE subscriber_id = @subject AND seq = @seq", ("@subject", 0L), ("@seq", 0L));
        subjectCommand.Transaction = tx;
        await using var erasureCommand = connection.Command("SELECT payload, leaf_hash FROM ledger_entries WHERE seq = @seq", ("@seq", 0L)); // retention (§13)
        erasureCommand.Transaction = tx;
        var erasures = new ErasureCache(erasureCommand);

        await using var heads = await headsCommand.ExecuteReaderAsync(cancellationToken);
        var state = new State();
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

                // Retention (docs/ledger-format.md §13): an erased entry (erased_by set, or a NULL or empty
                // payload) keeps only its stored leaf hash, which is used as is for the tree once a covering
                // RetentionErasure entry is found; the payload checks below apply to every other entry.
                if (!entries.IsDBNull(9) || entries.IsDBNull(1) || payload is { Length: 0 })
                {
                    if (erasures.Check(entries, seq, payload, stored) is { } erasureFailure)
                    {
                        return Fail(state, erasureFailure.Reason, seq, erasureFailure.Message);
                    }

                    stored!.CopyTo(leaf, 0);
                }
                else
                {
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
                }

                state.Range.Append(leaf);
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
        return null;
    }

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

    // Retention (docs/ledger-format.md §13): decides whether an erased entry is authorised, i.e. covered
    // by a RetentionErasure entry (found through the entry's erased_by) whose range holds its sequence
    // and whose cutoff is after its time. Caches the last erasure entry read, since erased entries come
    // in runs under one erasure entry: constant memory, one extra read per erasure entry.
    private sealed class ErasureCache(DbCommand lookup)
    {
        private long _cachedSeq = -1;
        private RetentionErasureRecord? _cached;

        public (string Reason, string Message)? Check(DbDataReader row, long seq, byte[]? payload, byte[]? stored)
        {
            if (stored is not { Length: MerkleTree.HashSize })
            {
                return (VerificationFailures.LeafHashMismatch, "An erased entry has no valid stored leaf hash.");
            }

            // Erased means: empty payload, staff columns cleared, and a marker naming the erasure entry.
            if (payload is not null && payload.Length > 0)
            {
                return (VerificationFailures.UnauthorisedErasure, "An entry is marked erased but still holds a payload.");
            }

            if (row.GetValue(9) is not long erasedBy || erasedBy <= seq || row.GetValue(6) is not DBNull || row.GetValue(7) is not DBNull || row.GetValue(8) is not DBNull)
            {
                return (VerificationFailures.UnauthorisedErasure, "An entry's payload was erased without a RetentionErasure entry covering it.");
            }

            if (erasedBy != _cachedSeq)
            {
                _cachedSeq = erasedBy;
                _cached = Read(erasedBy);
            }

            return _cached is { } record && record.Covers(seq) && record.To <= erasedBy && row.GetValue(3) is long time && time < record.CutoffMs
                ? null
                : (VerificationFailures.UnauthorisedErasure, "An entry's payload was erased without a RetentionErasure entry covering it.");
        }

        // The erasure entry's record, when that entry is intact (its own hash is checked again when the scan reaches it).
        private RetentionErasureRecord? Read(long erasureSeq)
        {
            lookup.Parameters[0].Value = erasureSeq;
            using var reader = lookup.ExecuteReader();
            if (!reader.Read() || reader.GetValue(0) is not byte[] { Length: > 0 } payload || reader.GetValue(1) is not byte[] hash
                || !CryptographicOperations.FixedTimeEquals(hash, MerkleTree.HashLeaf(payload)))
            {
                return null;
            }

            try
            {
                var entry = LeafCodec.Decode(payload);
                return entry.Task == AccessTask.RetentionErasure && entry.Outcome == AccessOutcome.Allowed
                    && RetentionErasureRecord.TryParse(entry.Target, out var record) && record.CutoffMs <= entry.Time.ToUnixTimeMilliseconds()
                    ? record
                    : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }
    }

    private sealed class State
    {
        public CompactRange Range { get; } = new();

        public long GoodHeadSize { get; set; }

        public byte[] GoodRoot { get; set; } = MerkleTree.EmptyRoot;
    }
}
