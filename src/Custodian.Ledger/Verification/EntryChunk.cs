using System.Buffers.Binary;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Custodian.Ledger;

/// <summary>
/// Up to <see cref="Capacity"/> rows of <see cref="Query"/> as the verifier read them, copied from
/// SQLite's column buffers (through SQLitePCL, the provider under Microsoft.Data.Sqlite) into one
/// reusable byte arena: no object per row or column (docs/ledger-format.md §5, "How it runs"). Keeps
/// each column's SQLite storage class, since columns are dynamically typed and a forged value of
/// another type must be told apart. On PostgreSQL the rows come from an ADO.NET reader
/// (<see cref="Fill(DbDataReader)"/>) and each value is given the storage class of its .NET type, so the
/// same checks run on both backends. Also holds what the worker found for each row. Reused across
/// chunks; not thread-safe (the pipeline hands a chunk from the reader to the worker to the
/// ordered stage).
/// </summary>
internal sealed class EntryChunk
{
    /// <summary>Rows per chunk: large enough to amortise the hand-off between threads, small enough to stay in cache.</summary>
    public const int Capacity = 4_096;

    /// <summary>The entry columns, in the order <see cref="Values"/> materialises them.</summary>
    public const string Query = "SELECT seq, payload, leaf_hash, time_ms, task, outcome, account, terminal, store, erased_by FROM ledger_entries ORDER BY seq";

    /// <summary>Columns per row.</summary>
    public const int Columns = 10;

    /// <summary>Column positions.</summary>
    public const int Payload = 1, LeafHashColumn = 2, Time = 3, Task = 4, Outcome = 5, Account = 6, Terminal = 7, Store = 8, ErasedBy = 9;

    private readonly int[] _types = new int[Capacity * Columns];
    private readonly long[] _integers = new long[Capacity * Columns];
    private readonly double[] _reals = new double[Capacity * Columns];
    private readonly int[] _offsets = new int[Capacity * Columns];
    private readonly int[] _lengths = new int[Capacity * Columns];
    private byte[] _arena = new byte[Capacity * 512];
    private int _used;

    /// <summary>Rows held.</summary>
    public int Count { get; private set; }

    /// <summary>Per row: the sequence number (the <c>seq</c> column, an integer primary key).</summary>
    public long[] Seq { get; } = new long[Capacity];

    /// <summary>Per row: the leaf hash the tree continues with (recomputed, or the stored one of an erased entry), 32 bytes each.</summary>
    public byte[] LeafHashes { get; } = new byte[Capacity * MerkleTree.HashSize];

    /// <summary>Per row: the worker's verdict.</summary>
    public RowState[] States { get; } = new RowState[Capacity];

    /// <summary>Per row: where its distinct subjects start in <see cref="Subjects"/> and how many (valid for <see cref="RowState.Ok"/>).</summary>
    public (int Start, int Count)[] SubjectRanges { get; } = new (int, int)[Capacity];

    /// <summary>The subjects of all rows of the chunk, each row's in payload order (duplicates kept).</summary>
    public List<long> Subjects { get; } = new(Capacity * 2);

    /// <summary>Per row: the keyed digest of its distinct subjects (<see cref="SubjectRowsCheck"/>).</summary>
    public UInt128[] SubjectDigests { get; } = new UInt128[Capacity];

    /// <summary>
    /// Reads the next rows from a statement of <see cref="Query"/>; returns false when none are left.
    /// <paramref name="exhausted"/> is set once the statement returned its last row, and then no step
    /// is taken (stepping a finished statement would run the query again).
    /// </summary>
    /// <exception cref="SqliteException">When the database cannot be read.</exception>
    public bool Fill(sqlite3 db, sqlite3_stmt statement, ref bool exhausted) => Fill(db, statement, null, ref exhausted);

    /// <summary>
    /// As <see cref="Fill(sqlite3, sqlite3_stmt, ref bool)"/>, through <paramref name="direct"/> (direct calls into
    /// <c>e_sqlite3</c>, <see cref="SqliteColumnReader"/>) when it is not null: the same values, without SQLitePCL's
    /// per-call interface dispatch and handle reference counting.
    /// </summary>
    /// <exception cref="SqliteException">When the database cannot be read.</exception>
    public bool Fill(sqlite3 db, sqlite3_stmt statement, SqliteColumnReader? direct, ref bool exhausted)
    {
        ArgumentNullException.ThrowIfNull(statement);
        if (direct is not null)
        {
            return FillDirect(db, statement, direct, ref exhausted);
        }

        Count = 0;
        _used = 0;
        Subjects.Clear();
        while (Count < Capacity && !exhausted)
        {
            var rc = raw.sqlite3_step(statement);
            if (rc == raw.SQLITE_DONE)
            {
                exhausted = true;
                break;
            }

            if (rc != raw.SQLITE_ROW)
            {
                throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(db));
            }

            var row = Count;
            var at = row * Columns;
            for (var column = 0; column < Columns; column++)
            {
                var type = raw.sqlite3_column_type(statement, column);
                _types[at + column] = type;
                switch (type)
                {
                    case raw.SQLITE_INTEGER:
                        _integers[at + column] = raw.sqlite3_column_int64(statement, column);
                        break;
                    case raw.SQLITE_FLOAT:
                        _reals[at + column] = raw.sqlite3_column_double(statement, column);
                        break;
                    case raw.SQLITE_TEXT:
                    case raw.SQLITE_BLOB:
                        // For TEXT, column_blob gives the stored UTF-8 bytes without conversion.
                        var bytes = raw.sqlite3_column_blob(statement, column);
                        Reserve(bytes.Length);
                        bytes.CopyTo(_arena.AsSpan(_used));
                        _offsets[at + column] = _used;
                        _lengths[at + column] = bytes.Length;
                        _used += bytes.Length;
                        break;
                }
            }

            Seq[row] = _types[at] == raw.SQLITE_INTEGER ? _integers[at] : -1;
            States[row] = RowState.Ok;
            Count++;
        }

        return Count > 0;
    }

    // Fill through direct calls; the statement's SafeHandle is kept alive by the caller (SqliteEntrySource).
    private bool FillDirect(sqlite3 db, sqlite3_stmt statement, SqliteColumnReader direct, ref bool exhausted)
    {
        Count = 0;
        _used = 0;
        Subjects.Clear();
        var handle = statement.DangerousGetHandle();
        while (Count < Capacity && !exhausted)
        {
            var rc = direct.Step(handle);
            if (rc == raw.SQLITE_DONE)
            {
                exhausted = true;
                break;
            }

            if (rc != raw.SQLITE_ROW)
            {
                throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(db));
            }

            var row = Count;
            var at = row * Columns;
            for (var column = 0; column < Columns; column++)
            {
                var value = direct.Value(handle, column);
                var type = direct.ValueType(value);
                _types[at + column] = type;
                switch (type)
                {
                    case raw.SQLITE_INTEGER:
                        _integers[at + column] = direct.ValueInt64(value);
                        break;
                    case raw.SQLITE_FLOAT:
                        _reals[at + column] = direct.ValueDouble(value);
                        break;
                    case raw.SQLITE_TEXT:
                    case raw.SQLITE_BLOB:
                        var bytes = direct.ValueBytes(value);
                        Reserve(bytes.Length);
                        bytes.CopyTo(_arena.AsSpan(_used));
                        _offsets[at + column] = _used;
                        _lengths[at + column] = bytes.Length;
                        _used += bytes.Length;
                        break;
                }
            }

            Seq[row] = _types[at] == raw.SQLITE_INTEGER ? _integers[at] : -1;
            States[row] = RowState.Ok;
            Count++;
        }

        return Count > 0;
    }

    /// <summary>
    /// Reads the next rows of <see cref="Query"/> from an ADO.NET reader (the PostgreSQL path, where
    /// columns are typed); returns false when none are left. Each value gets the SQLite storage class
    /// of its type: 64/32/16-bit integers INTEGER, text TEXT (stored as UTF-8), byte strings BLOB,
    /// NULL NULL, and anything else (a column whose type was altered, e.g. to boolean or a floating
    /// point number) FLOAT holding NaN, which no check accepts.
    /// </summary>
    /// <exception cref="DbException">When the database cannot be read.</exception>
    public bool Fill(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Count = 0;
        _used = 0;
        Subjects.Clear();
        while (Count < Capacity && reader.Read())
        {
            var row = Count;
            var at = row * Columns;
            for (var column = 0; column < Columns; column++)
            {
                if (reader.IsDBNull(column))
                {
                    _types[at + column] = raw.SQLITE_NULL;
                    continue;
                }

                var type = reader.GetFieldType(column);
                if (type == typeof(long) || type == typeof(int) || type == typeof(short))
                {
                    _types[at + column] = raw.SQLITE_INTEGER;
                    _integers[at + column] = type == typeof(long) ? reader.GetInt64(column) : type == typeof(int) ? reader.GetInt32(column) : reader.GetInt16(column);
                }
                else if (type == typeof(string))
                {
                    var text = reader.GetString(column);
                    Reserve(System.Text.Encoding.UTF8.GetMaxByteCount(text.Length));
                    _types[at + column] = raw.SQLITE_TEXT;
                    _offsets[at + column] = _used;
                    _lengths[at + column] = System.Text.Encoding.UTF8.GetBytes(text, _arena.AsSpan(_used));
                    _used += _lengths[at + column];
                }
                else if (type == typeof(byte[]))
                {
                    var length = checked((int)reader.GetBytes(column, 0, null, 0, 0));
                    Reserve(length);
                    _types[at + column] = raw.SQLITE_BLOB;
                    _offsets[at + column] = _used;
                    _lengths[at + column] = checked((int)reader.GetBytes(column, 0, _arena, _used, length));
                    _used += _lengths[at + column];
                }
                else
                {
                    _types[at + column] = raw.SQLITE_FLOAT;
                    _reals[at + column] = double.NaN;
                }
            }

            Seq[row] = _types[at] == raw.SQLITE_INTEGER ? _integers[at] : -1;
            States[row] = RowState.Ok;
            Count++;
        }

        return Count > 0;
    }

    /// <summary>The SQLite storage class of a column (<c>raw.SQLITE_INTEGER</c>, <c>SQLITE_TEXT</c>, …).</summary>
    public int Type(int row, int column) => _types[(row * Columns) + column];

    /// <summary>An integer column's value (only meaningful when its type is INTEGER).</summary>
    public long Integer(int row, int column) => _integers[(row * Columns) + column];

    /// <summary>A TEXT or BLOB column's bytes.</summary>
    public ReadOnlySpan<byte> Bytes(int row, int column)
    {
        var at = (row * Columns) + column;
        return _arena.AsSpan(_offsets[at], _lengths[at]);
    }

    /// <summary>A row's recomputed (or stored) leaf hash.</summary>
    public Span<byte> LeafHash(int row) => LeafHashes.AsSpan(row * MerkleTree.HashSize, MerkleTree.HashSize);

    /// <summary>True when a TEXT column equals <paramref name="expected"/>, or the column is NULL and nothing is expected (length −1).</summary>
    public bool TextEquals(int row, int column, ReadOnlySpan<byte> payload, CanonicalScan.Span expected) => Type(row, column) switch
    {
        raw.SQLITE_NULL => expected.Length < 0,
        raw.SQLITE_TEXT => expected.Length >= 0 && Bytes(row, column).SequenceEqual(payload.Slice(expected.Start, expected.Length)),
        _ => false,
    };

    /// <summary>
    /// A row's columns as Microsoft.Data.Sqlite's <c>GetValues</c> gives them (long, double, string,
    /// byte[] or <see cref="DBNull"/>), for the rare rows the fast path does not take (erased entries,
    /// payloads outside the canonical fast path) and for the checks written against those values.
    /// </summary>
    public object[] Values(int row)
    {
        var values = new object[Columns];
        for (var column = 0; column < Columns; column++)
        {
            var at = (row * Columns) + column;
            values[column] = _types[at] switch
            {
                raw.SQLITE_INTEGER => _integers[at],
                raw.SQLITE_FLOAT => _reals[at],
                raw.SQLITE_TEXT => System.Text.Encoding.UTF8.GetString(_arena, _offsets[at], _lengths[at]),
                raw.SQLITE_BLOB => _arena.AsSpan(_offsets[at], _lengths[at]).ToArray(),
                _ => DBNull.Value,
            };
        }

        return values;
    }

    // Makes room for `length` more bytes in the arena.
    private void Reserve(int length)
    {
        if (_used + length > _arena.Length)
        {
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _used + length));
        }
    }

    /// <summary>Writes the 16-byte block the keyed subject hash encrypts: subscriber and sequence, little-endian.</summary>
    public static void SubjectBlock(Span<byte> destination, long subscriber, long seq)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, subscriber);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], seq);
    }
}

/// <summary>The worker's verdict on one row.</summary>
internal enum RowState : byte
{
    /// <summary>Leaf hash, encoding and query columns agree; the subjects are in the chunk.</summary>
    Ok,

    /// <summary>Erased by retention (docs/ledger-format.md §13): the ordered stage decides whether an erasure entry covers it.</summary>
    Erased,

    /// <summary><c>leaf-hash-mismatch</c>.</summary>
    LeafHashMismatch,

    /// <summary><c>undecodable-payload</c>.</summary>
    Undecodable,

    /// <summary><c>projection-mismatch</c>.</summary>
    ProjectionMismatch,
}
