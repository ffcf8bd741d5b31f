using System.Data.Common;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Custodian.Ledger.Retention;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Custodian.Ledger;

/// <summary>
/// Checks the whole access ledger against its own evidence: gap-free sequence numbers from 0,
/// every leaf hash recomputed from its payload (RFC 9162 §2.1.1), every payload decodable, every
/// query column and subject row agreeing with its payload (below the subject watermark; none at or above it, and the
/// watermark within the ledger's size), the Merkle root recomputed from the
/// payloads at every stored tree head, every stored subtree hash (<c>ledger_subtrees</c>) equal to
/// the recomputed one, and the newest head equal to the number of entries.
/// Streams in sequence order inside one read transaction (a consistent snapshot while appends go on)
/// in constant memory; on PostgreSQL, four connections whose transactions share one exported snapshot
/// (docs/storage.md). Stops at the first failure. Thread-safe; each call is independent.
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
    private const string HeadsQuery = "SELECT tree_size, root, frontier FROM ledger_tree_heads ORDER BY tree_size";
    private const string ErasureQuery = "SELECT payload, leaf_hash FROM ledger_entries WHERE seq = @seq";

    /// <summary>Verifies the ledger.</summary>
    /// <param name="progress">Receives the number of entries checked, every 65,536 entries and at the end; may be null.</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The result; a failure is a value, not an exception.</returns>
    /// <exception cref="OperationCanceledException">When cancelled.</exception>
    /// <exception cref="DbException">When the database cannot be read.</exception>
    public async Task<VerificationResult> VerifyAsync(IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.IsSqlite ? await VerifySqliteAsync(progress, cancellationToken) : await VerifyPostgresAsync(progress, cancellationToken);
    }

    // SQLite: one connection, one deferred read transaction (a snapshot from its first read); the
    // entries and the subject rows are read through SQLitePCL without an object per row.
    private async Task<VerificationResult> VerifySqliteAsync(IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await using var connection = (SqliteConnection)await db.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction(deferred: true); // one snapshot for every reader below

        await using var headsCommand = connection.Command(HeadsQuery);
        headsCommand.Transaction = tx;
        await using var erasureCommand = connection.Command(ErasureQuery, ("@seq", 0L)); // retention (§13)
        erasureCommand.Transaction = tx;

        // Stored subtree hashes (ledger-002), compared with the recomputed tree as it grows.
        await using var subtreesCommand = connection.Command(SubtreeCheck.Query);
        subtreesCommand.Transaction = tx;
        await using var subtreeRows = await subtreesCommand.ExecuteReaderAsync(cancellationToken);

        await using var heads = await headsCommand.ExecuteReaderAsync(cancellationToken);
        var watermark = await LedgerSubjectIndex.ReadWatermarkAsync(connection, tx, cancellationToken); // ledger-004
        using var lookup = SubjectLookup.Prepare(connection);
        using var subjects = SubjectRowsCheck.Load(connection, lookup, cancellationToken);
        using var entries = SqliteEntrySource.Prepare(connection);
        return await CheckAsync(heads, subtreeRows, erasureCommand, subjects, watermark, entries, progress, cancellationToken);
    }

    // PostgreSQL: no connection runs two statements at once, so the readers that stay open (heads,
    // subtrees, entries) each get a connection, and all four share one snapshot: the first exports it
    // (pg_export_snapshot, as pg_dump --jobs does) and the others import it (SET TRANSACTION SNAPSHOT,
    // PostgreSQL documentation, "Snapshot Synchronization Functions" and SET TRANSACTION). The first connection
    // serves the short lookups between chunks. Appends go on meanwhile; the verifier sees none of them.
    private async Task<VerificationResult> VerifyPostgresAsync(IProgress<long>? progress, CancellationToken cancellationToken)
    {
        await using var main = await db.OpenAsync(cancellationToken);
        await using var tx = await db.BeginSnapshotAsync(main, cancellationToken);
        string snapshot;
        await using (var export = main.Command("SELECT pg_export_snapshot()"))
        {
            snapshot = (string)(await export.ExecuteScalarAsync(cancellationToken))!;
        }

        await using var headsConnection = await OpenInSnapshotAsync(snapshot, cancellationToken);
        await using var subtreesConnection = await OpenInSnapshotAsync(snapshot, cancellationToken);
        await using var entriesConnection = await OpenInSnapshotAsync(snapshot, cancellationToken);

        await using var erasureCommand = main.Command(ErasureQuery, ("@seq", 0L)); // retention (§13)
        var watermark = await LedgerSubjectIndex.ReadWatermarkAsync(main, null, cancellationToken); // ledger-004, same snapshot
        using var lookup = CommandSubjectLookup.Prepare(main);
        using var subjects = await SubjectRowsCheck.LoadAsync(main, lookup, cancellationToken);

        await using var subtreesCommand = subtreesConnection.Connection.Command(SubtreeCheck.Query);
        await using var subtreeRows = await subtreesCommand.ExecuteReaderAsync(cancellationToken);
        await using var headsCommand = headsConnection.Connection.Command(HeadsQuery);
        await using var heads = await headsCommand.ExecuteReaderAsync(cancellationToken);
        await using var entriesCommand = entriesConnection.Connection.Command(EntryChunk.Query);
        await using var entryRows = await entriesCommand.ExecuteReaderAsync(cancellationToken);
        return await CheckAsync(heads, subtreeRows, erasureCommand, subjects, watermark, new ReaderEntrySource(entryRows), progress, cancellationToken);
    }

    // A second connection reading the snapshot exported by the first.
    private async Task<SnapshotConnection> OpenInSnapshotAsync(string snapshot, CancellationToken cancellationToken)
    {
        // The identifier comes from the server (e.g. 00000003-0000001B-1); SET takes no parameters, so check its shape before quoting it.
        if (snapshot.Length is 0 or > 64 || !snapshot.All(c => char.IsAsciiHexDigit(c) || c == '-'))
        {
            throw new InvalidOperationException("The server returned a snapshot identifier of an unexpected form.");
        }

        var connection = await db.OpenAsync(cancellationToken);
        try
        {
            var tx = await db.BeginSnapshotAsync(connection, cancellationToken);
            await using var set = connection.Command("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
            await set.ExecuteNonQueryAsync(cancellationToken);
            return new SnapshotConnection(connection, tx);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    // The ordered stage and the pipeline, on readers and commands of one snapshot (either backend). Entries at or above
    // the subject watermark (docs/ledger-format.md §3, §5) expect no subject row: a row there is an extra row.
    private static async Task<VerificationResult> CheckAsync(
        DbDataReader heads, DbDataReader subtreeRows, DbCommand erasureCommand, SubjectRowsCheck subjects, long watermark, IEntrySource entrySource, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var erasures = new ErasureCache(erasureCommand);
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

        // Two-stage pipeline over chunks of entries (both cores): a worker checks each chunk
        // without the database (leaf hash, decoding, query columns, subject hash: CheckRows) while
        // this thread reads the next chunk and does, in sequence order, the checks that need the
        // connection or the order (sequence gap, subject rows, tree, heads, subtrees). Failures are
        // still reported for the first bad entry in sequence order.

        // Before any failure is returned: a missing subject row earlier in the open block of the
        // subject check comes first in sequence order, as when each entry was probed on its own.
        VerificationResult Settle(VerificationResult failure) =>
            subjects.FirstMissingInOpenBlock() is { } missing ? SubjectFailure(state, missing) : failure;

        // Chunk k is checked by the worker while this thread reads chunk k+1; the worker then
        // checks k+1 while this thread does the ordered stage of k and reads k+2. Three chunks
        // are reused in turn: the one read, the one checked, the one in the ordered stage.
        EntryChunk[] ring = [new(), new(), new()];
        var turn = 0;
        var current = ring[0];
        var more = entrySource.Fill(current);
        var checking = Task.Run(() => CheckRows(current, subjects), cancellationToken);
        try
        {
            while (more)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var next = ring[++turn % ring.Length];
                more = entrySource.Fill(next);
                await checking;
                var done = current;
                current = next;
                checking = more ? Task.Run(() => CheckRows(next, subjects), cancellationToken) : Task.CompletedTask;

                for (var r = 0; r < done.Count; r++)
                {
                    var seq = done.Seq[r];
                    if (seq != state.Range.Size)
                    {
                        return Settle(Fail(state, VerificationFailures.SequenceGap, state.Range.Size, "Sequence numbers are not gap-free: an entry is missing."));
                    }

                    switch (done.States[r])
                    {
                        case RowState.Erased:
                            // Retention (docs/ledger-format.md §13): an erased entry keeps only its stored leaf
                            // hash (already in the chunk's leaf hash), accepted once a covering RetentionErasure
                            // entry is found; its subject rows were deleted with the payload, so it adds none.
                            if (erasures.Check(done.Values(r), seq) is { } erasureFailure)
                            {
                                return Settle(Fail(state, erasureFailure.Reason, seq, erasureFailure.Message));
                            }

                            if (subjects.AddErased(seq) is { } badErasedSubject)
                            {
                                return SubjectFailure(state, badErasedSubject);
                            }

                            break;
                        case RowState.LeafHashMismatch:
                            return Settle(Fail(state, VerificationFailures.LeafHashMismatch, seq, "The stored leaf hash does not match the entry's payload."));
                        case RowState.Undecodable:
                            return Settle(Fail(state, VerificationFailures.UndecodablePayload, seq, "The payload is not a valid ledger entry encoding."));
                        case RowState.ProjectionMismatch:
                            return Settle(Fail(state, VerificationFailures.ProjectionMismatch, seq, "The entry's query columns or subject rows disagree with its payload."));
                        case RowState.Ok when seq >= watermark:
                            // Not projected yet: its rows are added after this snapshot (LedgerSubjectProjector), so none may exist.
                            if (subjects.AddUnprojected(seq) is { } badUnprojected)
                            {
                                return SubjectFailure(state, badUnprojected);
                            }

                            break;
                        default:
                            var (start, count) = done.SubjectRanges[r];
                            if (subjects.Add(seq, CollectionsMarshal.AsSpan(done.Subjects).Slice(start, count), done.SubjectDigests[r]) is { } badSubject)
                            {
                                return SubjectFailure(state, badSubject);
                            }

                            break;
                    }

                    if ((seq + 1) % SubjectRowsCheck.BlockSize == 0)
                    {
                        // The subject check's block is closed: only the last good head can still be needed by SubjectFailure.
                        state.GoodHeads.RemoveRange(0, state.GoodHeads.Count - 1);
                    }

                    state.Range.Append(done.LeafHash(r), state.Subtrees.OnCompleted);
                    if (state.Range.Size % ProgressInterval == 0)
                    {
                        progress?.Report(state.Range.Size);
                    }

                    while (hasHead && heads.GetInt64(0) <= state.Range.Size)
                    {
                        if (CheckHead(heads, state) is { } failure)
                        {
                            return Settle(failure);
                        }

                        hasHead = await heads.ReadAsync(cancellationToken);
                    }
                }
            }

            await checking;
        }
        finally
        {
            // On an early return the worker may still be checking a chunk: let it finish before the
            // entry source and the subject check are disposed.
            await checking.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        progress?.Report(state.Range.Size);
        if (subjects.CloseLastBlock() is { } lastBadSubject)
        {
            return SubjectFailure(state, lastBadSubject);
        }

        if (hasHead)
        {
            return Fail(state, VerificationFailures.Truncated, state.Range.Size, "A tree head covers entries that do not exist: the ledger's tail was removed.");
        }

        if (state.GoodHeadSize != state.Range.Size)
        {
            return Fail(state, VerificationFailures.MissingTreeHead, state.GoodHeadSize, "Entries exist beyond the newest tree head.");
        }

        // Subject rows of sequences that have no entry.
        if (subjects.FirstRowWithoutEntry() is { } extraSubject)
        {
            return SubjectFailure(state, Math.Max(0, extraSubject));
        }

        // The watermark claims rows for entries that do not exist (or is negative): the index is not what it says.
        if (watermark < 0 || watermark > state.Range.Size)
        {
            return Fail(state, VerificationFailures.ProjectionMismatch, state.Range.Size, "The subject index watermark (ledger_subject_watermark) is beyond the ledger's size.");
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
        state.GoodHeads.Add((size, root));

        // The entries up to this head are proven by its root, so a subtree hash that disagreed
        // before it means the subtree table itself was altered (checked after the root on purpose:
        // an edited entry is reported as root-mismatch, as before ledger-002).
        return SubtreeFailure(state);
    }

    private static VerificationResult? SubtreeFailure(State state) => state.Subtrees.FirstBad is { } position
        ? Fail(state, VerificationFailures.SubtreeMismatch, position, "A stored subtree hash (ledger_subtrees) is missing, extra or differs from the one recomputed from the payloads.")
        : null;

    // The worker's part for one chunk: the per-entry checks that need no database and no order, then
    // the keyed digests of the entries' subjects.
    private static void CheckRows(EntryChunk chunk, SubjectRowsCheck subjects)
    {
        for (var r = 0; r < chunk.Count; r++)
        {
            var start = chunk.Subjects.Count;
            chunk.States[r] = CheckRow(chunk, r);
            if (chunk.States[r] != RowState.Ok)
            {
                chunk.Subjects.RemoveRange(start, chunk.Subjects.Count - start);
            }

            chunk.SubjectRanges[r] = (start, chunk.Subjects.Count - start);
        }

        subjects.DigestChunk(chunk);
    }

    // Leaf hash (RFC 9162 §2.1.1), decoding (LeafCodec, format 1) and the query columns of one row.
    // On success the row's distinct subjects are appended to chunk.Subjects. Canonical payloads are
    // checked on their bytes (CanonicalScan); anything else is decoded with LeafCodec.Decode and
    // compared as before.
    private static RowState CheckRow(EntryChunk chunk, int r)
    {
        var leafHash = chunk.LeafHash(r);
        var payloadType = chunk.Type(r, EntryChunk.Payload);
        var storedIsHash = chunk.Type(r, EntryChunk.LeafHashColumn) == raw.SQLITE_BLOB;

        // Retention (docs/ledger-format.md §13): erased_by set, or a NULL or empty payload, means erased;
        // the ordered stage decides whether a RetentionErasure entry covers it (ErasureCache).
        if (chunk.Type(r, EntryChunk.ErasedBy) != raw.SQLITE_NULL || payloadType == raw.SQLITE_NULL
            || (payloadType == raw.SQLITE_BLOB && chunk.Bytes(r, EntryChunk.Payload).IsEmpty))
        {
            leafHash.Clear();
            if (storedIsHash && chunk.Bytes(r, EntryChunk.LeafHashColumn).Length == MerkleTree.HashSize)
            {
                chunk.Bytes(r, EntryChunk.LeafHashColumn).CopyTo(leafHash);
            }

            return RowState.Erased;
        }

        if (payloadType != raw.SQLITE_BLOB || !storedIsHash)
        {
            leafHash.Clear();
            return RowState.LeafHashMismatch;
        }

        var payload = chunk.Bytes(r, EntryChunk.Payload);
        MerkleTree.HashLeaf(payload, leafHash);
        if (!CryptographicOperations.FixedTimeEquals(chunk.Bytes(r, EntryChunk.LeafHashColumn), leafHash))
        {
            return RowState.LeafHashMismatch;
        }

        var subjects = chunk.Subjects;
        var start = subjects.Count;
        var scanned = default(ScannedEntry);
        if (CanonicalScan.TryScan(payload, ref scanned, subjects))
        {
            if (chunk.Type(r, EntryChunk.Time) != raw.SQLITE_INTEGER || chunk.Integer(r, EntryChunk.Time) != scanned.TimeMs
                || !chunk.TextEquals(r, EntryChunk.Task, payload, scanned.Task)
                || !chunk.TextEquals(r, EntryChunk.Outcome, payload, scanned.Outcome)
                || !chunk.TextEquals(r, EntryChunk.Account, payload, scanned.Account)
                || !chunk.TextEquals(r, EntryChunk.Terminal, payload, scanned.Terminal)
                || !chunk.TextEquals(r, EntryChunk.Store, payload, scanned.Store))
            {
                return RowState.ProjectionMismatch;
            }

            // Keep each subject once (the subject rows are one per distinct subject).
            var end = subjects.Count;
            var kept = start;
            for (var i = start; i < end; i++)
            {
                var subject = subjects[i];
                var duplicate = false;
                for (var j = start; j < kept && !duplicate; j++)
                {
                    duplicate = subjects[j] == subject;
                }

                if (!duplicate)
                {
                    subjects[kept++] = subject;
                }
            }

            subjects.RemoveRange(kept, end - kept);
            return RowState.Ok;
        }

        AccessEntry entry;
        try
        {
            entry = LeafCodec.Decode(payload);
        }
        catch (FormatException)
        {
            return RowState.Undecodable;
        }

        if (!ProjectionMatches(chunk.Values(r), entry))
        {
            return RowState.ProjectionMismatch;
        }

        foreach (var subject in entry.Subjects.Select(s => s.Value).Distinct())
        {
            subjects.Add(subject);
        }

        return RowState.Ok;
    }

    private static bool ProjectionMatches(object[] row, AccessEntry entry) =>
        row[3] is long time && time == entry.Time.ToUnixTimeMilliseconds()
        && TextEquals(row[4], entry.Task.ToName())
        && TextEquals(row[5], LeafCodec.OutcomeName(entry.Outcome))
        && TextEquals(row[6], entry.Account)
        && TextEquals(row[7], entry.Terminal)
        && TextEquals(row[8], entry.Store);

    // A subject-row failure at `seq`: the verified prefix is the last good head at or before it
    // (heads after it may already have been checked while the block of the subject check was open).
    private static VerificationResult SubjectFailure(State state, long seq)
    {
        var (size, root) = state.GoodHeads.LastOrDefault(h => h.Size <= seq, state.GoodHeads[0]);
        return new VerificationResult
        {
            IsValid = false,
            TreeSize = size,
            Root = root,
            FirstBadSequence = seq,
            Reason = VerificationFailures.ProjectionMismatch,
            Message = "The entry's query columns or subject rows disagree with its payload.",
            EntriesChecked = state.Range.Size,
        };
    }

    // SQLite columns are dynamically typed: anything but NULL or text of the expected value disagrees.
    private static bool TextEquals(object value, string? expected) => value switch
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
    // in runs under one erasure entry: constant memory, one extra read per erasure entry. Runs in the
    // ordered stage (it uses the connection).
    private sealed class ErasureCache(DbCommand lookup)
    {
        private long _cachedSeq = -1;
        private RetentionErasureRecord? _cached;

        // row: seq, payload, leaf_hash, time_ms, task, outcome, account, terminal, store, erased_by
        public (string Reason, string Message)? Check(object[] row, long seq)
        {
            if (row[2] is not byte[] { Length: MerkleTree.HashSize })
            {
                return (VerificationFailures.LeafHashMismatch, "An erased entry has no valid stored leaf hash.");
            }

            // Erased means: empty payload, staff columns cleared, and a marker naming the erasure entry.
            if (row[1] is byte[] { Length: > 0 })
            {
                return (VerificationFailures.UnauthorisedErasure, "An entry is marked erased but still holds a payload.");
            }

            if (row[9] is not long erasedBy || erasedBy <= seq || row[6] is not DBNull || row[7] is not DBNull || row[8] is not DBNull)
            {
                return (VerificationFailures.UnauthorisedErasure, "An entry's payload was erased without a RetentionErasure entry covering it.");
            }

            if (erasedBy != _cachedSeq)
            {
                _cachedSeq = erasedBy;
                _cached = Read(erasedBy);
            }

            return _cached is { } record && record.Covers(seq) && record.To <= erasedBy && row[3] is long time && time < record.CutoffMs
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

        public required SubtreeCheck Subtrees { get; init; }

        // Every head whose root was reproduced, in order, starting with the empty tree (for SubjectFailure).
        public List<(long Size, byte[] Root)> GoodHeads { get; } = [(0, MerkleTree.EmptyRoot)];
    }
}
