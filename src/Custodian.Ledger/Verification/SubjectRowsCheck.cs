using System.Buffers.Binary;
using System.Security.Cryptography;
using Custodian.Identity;
using Microsoft.Data.Sqlite;

namespace Custodian.Ledger;

/// <summary>
/// The verifier's check that <c>ledger_subjects</c> holds exactly one row per distinct subject of
/// every entry, without one index probe per subject (the bottleneck of verification on a large
/// ledger: ~5–10 µs of random B-tree reads each). One sequential scan of the table sums a keyed hash
/// of each row (subscriber, seq) per block of 65,536 sequences; the entries' side sums the same hash
/// over their payloads' subjects; a block whose sums differ is then checked row by row to name the
/// first bad sequence. The hash is SHA-256 under a random 256-bit key drawn for each verification,
/// truncated to 128 bits and added mod 2¹²⁸ (a keyed multiset hash, Clarke et al., "Incremental
/// Multiset Hash Functions and Their Application to Memory Integrity Checking", ASIACRYPT 2003): whoever
/// edits the table cannot predict the key, so a changed multiset of rows goes unnoticed with
/// probability 2⁻¹²⁸. Unlike the per-entry probe, it also finds extra rows (a subscriber added to an
/// entry's history). <see cref="Digest"/> is thread-safe; the rest is not.
/// </summary>
internal sealed class SubjectRowsCheck
{
    /// <summary>Sequences per block of the comparison (65,536).</summary>
    public const int BlockSize = 1 << BlockShift;

    private const int BlockShift = 16;

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly Dictionary<long, (UInt128 Sum, long FirstSeq)> _table = [];
    private readonly List<(long Seq, IReadOnlyList<SubscriberId> Subjects)> _block = [];
    private readonly SubjectLookup _lookup;
    private readonly SqliteConnection _connection;
    private UInt128 _blockSum;
    private long _blockStart;

    private SubjectRowsCheck(SqliteConnection connection, SubjectLookup lookup)
    {
        _connection = connection;
        _lookup = lookup;
    }

    /// <summary>Scans <c>ledger_subjects</c> once inside the verifier's transaction.</summary>
    public static async Task<SubjectRowsCheck> LoadAsync(SqliteConnection connection, SqliteTransaction tx, SubjectLookup lookup, CancellationToken cancellationToken)
    {
        var check = new SubjectRowsCheck(connection, lookup);
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "SELECT subscriber_id, seq FROM ledger_subjects";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // Columns are dynamically typed: a row that is not two integers matches no entry (block of sequence 0 if its seq is not an integer either).
            var seq = reader.GetValue(1) is long s ? s : 0;
            var digest = reader.GetValue(0) is long subscriber && reader.GetValue(1) is long ? check.Hash(subscriber, seq) : UInt128.One;
            var block = seq >> BlockShift;
            check._table[block] = check._table.TryGetValue(block, out var t) ? (t.Sum + digest, Math.Min(t.FirstSeq, seq)) : (digest, seq);
        }

        return check;
    }

    /// <summary>The sum of the keyed hashes of an entry's distinct subjects (what its rows must sum to). Thread-safe.</summary>
    public UInt128 Digest(AccessEntry entry, long seq)
    {
        UInt128 sum = 0;
        var subjects = entry.Subjects;
        for (var i = 0; i < subjects.Count; i++)
        {
            var duplicate = false;
            for (var j = 0; j < i && !duplicate; j++)
            {
                duplicate = subjects[j] == subjects[i];
            }

            if (!duplicate)
            {
                sum += Hash(subjects[i].Value, seq);
            }
        }

        return sum;
    }

    /// <summary>
    /// Records an entry (in sequence order). When it completes a block, compares the block's sums and
    /// returns the first bad sequence of the block, or null when the block agrees.
    /// </summary>
    public long? Add(long seq, AccessEntry entry, UInt128 digest) => Add(seq, entry.Subjects, digest);

    /// <summary>
    /// Records an erased entry (retention, docs/ledger-format.md §13): its subject rows were deleted
    /// with its payload, so it contributes nothing and any row left for it is an extra row.
    /// </summary>
    public long? AddErased(long seq) => Add(seq, [], UInt128.Zero);

    /// <summary>After the last entry: compares the last, partial block. Returns its first bad sequence or null.</summary>
    public long? CloseLastBlock() => _block.Count > 0 ? CloseBlock() : null;

    /// <summary>After <see cref="CloseLastBlock"/>: the smallest sequence of a row whose sequence has no entry (≥ the entry count, or negative), or null.</summary>
    public long? FirstRowWithoutEntry() => _table.Count == 0 ? null : _table.Values.Min(t => t.FirstSeq);

    /// <summary>
    /// On a failure found later in the stream: the first entry of the current (incomplete) block whose
    /// subject row is missing, checked exactly, so the failure that comes first in sequence order wins.
    /// </summary>
    public long? FirstMissingInOpenBlock()
    {
        foreach (var (seq, subjects) in _block)
        {
            foreach (var subject in subjects)
            {
                if (!_lookup.Exists(subject.Value, seq))
                {
                    return seq;
                }
            }
        }

        return null;
    }

    private long? Add(long seq, IReadOnlyList<SubscriberId> subjects, UInt128 digest)
    {
        _block.Add((seq, subjects));
        _blockSum += digest;
        return ((seq + 1) & ((1L << BlockShift) - 1)) == 0 ? CloseBlock() : null;
    }

    private long? CloseBlock()
    {
        var block = _blockStart >> BlockShift;
        var stored = _table.Remove(block, out var t) ? t.Sum : UInt128.Zero;
        long? bad = null;
        if (stored != _blockSum)
        {
            bad = FirstMissingInOpenBlock() ?? FirstExtraInOpenBlock();
        }

        _blockStart += 1L << BlockShift;
        _block.Clear();
        _blockSum = 0;
        return bad;
    }

    // The sums differ but every subject has its row: some row names a subscriber that is not in its
    // entry's payload. Failure path only: scans the table for the block's rows.
    private long FirstExtraInOpenBlock()
    {
        var expected = _block.ToDictionary(b => b.Seq, b => b.Subjects.Select(s => s.Value).ToHashSet());
        var first = long.MaxValue;
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT subscriber_id, seq FROM ledger_subjects WHERE seq >= @from AND seq < @to";
        command.Parameters.AddWithValue("@from", _blockStart);
        command.Parameters.AddWithValue("@to", _blockStart + (1L << BlockShift));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var seq = reader.GetValue(1) is long s ? s : _blockStart;
            if (reader.GetValue(0) is not long subscriber || !expected.TryGetValue(seq, out var set) || !set.Contains(subscriber))
            {
                first = Math.Min(first, seq);
            }
        }

        return first == long.MaxValue ? _blockStart : first;
    }

    private UInt128 Hash(long subscriber, long seq)
    {
        Span<byte> input = stackalloc byte[48];
        _key.CopyTo(input);
        BinaryPrimitives.WriteInt64LittleEndian(input[32..], subscriber);
        BinaryPrimitives.WriteInt64LittleEndian(input[40..], seq);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        return BinaryPrimitives.ReadUInt128LittleEndian(hash);
    }
}
