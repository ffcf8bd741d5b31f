using System.Runtime.InteropServices;
using SQLitePCL;

namespace Custodian.Ledger;

/// <summary>
/// The verifier's row reader for SQLite statements: <c>sqlite3_step</c> and the <c>sqlite3_column_*</c>
/// functions called directly through function pointers into the very <c>e_sqlite3</c> library that
/// SQLitePCLRaw (the provider under Microsoft.Data.Sqlite) has loaded, with plain pointer arguments.
/// Calling them through SQLitePCL costs an interface call and a <see cref="SafeHandle"/> add-ref and
/// release per call, about 20 calls per ledger row; the column functions are also marked
/// <see cref="SuppressGCTransitionAttribute"/> (they only read the current row, never block and never
/// call back into .NET), <c>sqlite3_step</c> is not (it reads pages, possibly from disk).
/// When the provider is not <c>e_sqlite3</c> or the library cannot be resolved, <see cref="For"/> gives
/// null and callers use SQLitePCL as before. Thread-safe itself (stateless); the statement handles passed in
/// must stay alive for the call (the caller holds the <c>sqlite3_stmt</c>).
/// </summary>
internal sealed unsafe class SqliteColumnReader
{
    private static readonly Lazy<SqliteColumnReader?> Instance = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly delegate* unmanaged<IntPtr, int> _step;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, int> _columnType;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, long> _columnInt64;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, IntPtr> _columnBlob;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, int> _columnBytes;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, double> _columnDouble;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr> _dbHandle;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int, IntPtr> _columnValue;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int> _valueType;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, long> _valueInt64;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, double> _valueDouble;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr> _valueBlob;
    private readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int> _valueBytes;

    private SqliteColumnReader(IntPtr library)
    {
        _step = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(library, "sqlite3_step");
        _columnType = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, int>)NativeLibrary.GetExport(library, "sqlite3_column_type");
        _columnInt64 = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, long>)NativeLibrary.GetExport(library, "sqlite3_column_int64");
        _columnBlob = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, IntPtr>)NativeLibrary.GetExport(library, "sqlite3_column_blob");
        _columnBytes = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, int>)NativeLibrary.GetExport(library, "sqlite3_column_bytes");
        _columnDouble = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, double>)NativeLibrary.GetExport(library, "sqlite3_column_double");
        _dbHandle = (delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr>)NativeLibrary.GetExport(library, "sqlite3_db_handle");
        _columnValue = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int, IntPtr>)NativeLibrary.GetExport(library, "sqlite3_column_value");
        _valueType = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int>)NativeLibrary.GetExport(library, "sqlite3_value_type");
        _valueInt64 = (delegate* unmanaged[SuppressGCTransition]<IntPtr, long>)NativeLibrary.GetExport(library, "sqlite3_value_int64");
        _valueDouble = (delegate* unmanaged[SuppressGCTransition]<IntPtr, double>)NativeLibrary.GetExport(library, "sqlite3_value_double");
        _valueBlob = (delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr>)NativeLibrary.GetExport(library, "sqlite3_value_blob");
        _valueBytes = (delegate* unmanaged[SuppressGCTransition]<IntPtr, int>)NativeLibrary.GetExport(library, "sqlite3_value_bytes");
    }

    /// <summary>
    /// <c>sqlite3_column_value</c>: the current row's value of a column, read with <see cref="ValueType"/>,
    /// <see cref="ValueInt64"/>, <see cref="ValueDouble"/> and <see cref="ValueBytes"/>. One call (and one
    /// acquisition of the connection's mutex) per column, where the <c>sqlite3_column_*</c> functions take the
    /// mutex on every call (~10 % of the verifier's CPU). SQLite calls such a value "unprotected": reading
    /// it is safe only while no other thread uses the connection, which holds for the verifier (one thread
    /// steps and reads; the worker never touches the connection). Valid until the next step of the statement.
    /// </summary>
    public IntPtr Value(IntPtr statement, int column) => _columnValue(statement, column);

    /// <summary><c>sqlite3_value_type</c>: the storage class of a value.</summary>
    public int ValueType(IntPtr value) => _valueType(value);

    /// <summary><c>sqlite3_value_int64</c>.</summary>
    public long ValueInt64(IntPtr value) => _valueInt64(value);

    /// <summary><c>sqlite3_value_double</c>.</summary>
    public double ValueDouble(IntPtr value) => _valueDouble(value);

    /// <summary>A TEXT or BLOB value's bytes (<c>sqlite3_value_blob</c>, then <c>sqlite3_value_bytes</c>; TEXT as stored UTF-8), valid until the next step.</summary>
    public ReadOnlySpan<byte> ValueBytes(IntPtr value)
    {
        var pointer = _valueBlob(value);
        var length = _valueBytes(value);
        return pointer == IntPtr.Zero || length <= 0 ? [] : new ReadOnlySpan<byte>((void*)pointer, length);
    }

    /// <summary>
    /// The reader for <paramref name="statement"/>, prepared on <paramref name="connection"/>, or null when
    /// the direct calls cannot be used (another SQLite provider, the library not found, or the library
    /// found is not the one that prepared the statement: <c>sqlite3_db_handle</c> must give the connection's handle).
    /// </summary>
    public static SqliteColumnReader? For(sqlite3 connection, sqlite3_stmt statement)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(statement);
        var reader = Instance.Value;
        return reader is not null && reader._dbHandle(statement.DangerousGetHandle()) == connection.DangerousGetHandle() ? reader : null;
    }

    /// <summary><c>sqlite3_step</c>: <c>SQLITE_ROW</c>, <c>SQLITE_DONE</c> or an error code.</summary>
    public int Step(IntPtr statement) => _step(statement);

    /// <summary><c>sqlite3_column_type</c>: the storage class of a column of the current row.</summary>
    public int Type(IntPtr statement, int column) => _columnType(statement, column);

    /// <summary><c>sqlite3_column_int64</c>.</summary>
    public long Int64(IntPtr statement, int column) => _columnInt64(statement, column);

    /// <summary><c>sqlite3_column_double</c>.</summary>
    public double Double(IntPtr statement, int column) => _columnDouble(statement, column);

    /// <summary>
    /// A TEXT or BLOB column's bytes (<c>sqlite3_column_blob</c>, then <c>sqlite3_column_bytes</c>, the order
    /// SQLite's documentation asks for; TEXT gives its stored UTF-8 bytes). Valid until the next step or column call on the statement.
    /// </summary>
    public ReadOnlySpan<byte> Bytes(IntPtr statement, int column)
    {
        var pointer = _columnBlob(statement, column);
        var length = _columnBytes(statement, column);
        return pointer == IntPtr.Zero || length <= 0 ? [] : new ReadOnlySpan<byte>((void*)pointer, length);
    }

    private static SqliteColumnReader? Create()
    {
        try
        {
            // Called with an open connection (For), so the provider is set.
            if (!string.Equals(raw.GetNativeLibraryName(), "e_sqlite3", StringComparison.Ordinal)
                || !NativeLibrary.TryLoad("e_sqlite3", typeof(SqliteColumnReader).Assembly, null, out var library))
            {
                return null;
            }

            return new SqliteColumnReader(library);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException or BadImageFormatException or InvalidOperationException)
        {
            return null;
        }
    }
}
