using System.Data.Common;
using System.Text;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Custodian.Protection.Import;

/// <summary>The importer's prepared insert statement: SQLite through its C API, other backends through ADO.NET.</summary>
public sealed partial class SubscriberImporter
{
    /// <summary>
    /// The prepared insert statement, reused across rows and transactions. Parameters in the order of
    /// <see cref="InsertSql"/>: seq, id, the two blind indexes, the four ciphertexts, rate plan, the two contract dates, home
    /// store, created_at, the two pending blind indexes, the household and family-plan indexes.
    /// </summary>
    private abstract class InsertCommand : IAsyncDisposable
    {
        /// <summary>
        /// SQLite: <see cref="SqliteInsert"/>, which binds values straight to the statement (through ADO.NET each row cost
        /// ≈ 1.7 KB of garbage — a binder per parameter, a data reader, UTF-8 copies — and a third of the writer's CPU;
        /// docs/protection-benchmarks.md). Other backends: <see cref="AdoInsert"/>.
        /// </summary>
        public static InsertCommand Create(DbConnection connection, string sql) =>
            connection is SqliteConnection sqlite ? new SqliteInsert(sqlite, sql) : new AdoInsert(connection, sql);

        /// <summary>Enlists the command in <paramref name="transaction"/> (ADO.NET requires it; SQLite's transaction is the connection's).</summary>
        public abstract void Bind(DbTransaction transaction);

        /// <summary>
        /// Inserts one row; returns the rows inserted (0 when the phone index already exists). Synchronous: SQLite's
        /// statements complete synchronously anyway, and the async wrapper registered a cancellation callback per row
        /// (the caller checks the token between rows).
        /// </summary>
        public abstract int Execute(EncryptedRow row, long seq, long createdAt);

        public abstract ValueTask DisposeAsync();
    }

    private sealed class SqliteInsert : InsertCommand
    {
        private readonly SqliteConnection _connection;
        private readonly sqlite3_stmt _statement;

        public SqliteInsert(SqliteConnection connection, string sql)
        {
            _connection = connection;
            var rc = raw.sqlite3_prepare_v2(connection.Handle, sql, out _statement);
            if (rc != raw.SQLITE_OK)
            {
                var error = Error(rc);
                _statement?.Dispose();
                throw error;
            }
        }

        public override void Bind(DbTransaction transaction)
        {
        }

        public override int Execute(EncryptedRow row, long seq, long createdAt)
        {
            var s = _statement;
            raw.sqlite3_bind_int64(s, 1, seq);
            raw.sqlite3_bind_int64(s, 2, row.Id.Value);
            raw.sqlite3_bind_blob(s, 3, row.PhoneIndex);
            raw.sqlite3_bind_blob(s, 4, row.RrnIndex);
            raw.sqlite3_bind_blob(s, 5, row.NameCt);
            raw.sqlite3_bind_blob(s, 6, row.RrnCt);
            raw.sqlite3_bind_blob(s, 7, row.PhoneCt);
            raw.sqlite3_bind_blob(s, 8, row.AddressCt);
            BindText(s, 9, row.RatePlan);
            BindText(s, 10, row.ContractStart);
            BindText(s, 11, row.ContractEnd);
            BindText(s, 12, row.HomeStore);
            raw.sqlite3_bind_int64(s, 13, createdAt);
            BindBlobOrNull(s, 14, row.PhoneIndexNext);
            BindBlobOrNull(s, 15, row.RrnIndexNext);
            raw.sqlite3_bind_blob(s, 16, row.HouseholdIndex);
            BindBlobOrNull(s, 17, row.FamilyPlanIndex);
            var rc = raw.sqlite3_step(s);
            if (rc != raw.SQLITE_DONE)
            {
                var error = Error(rc);
                raw.sqlite3_reset(s);
                throw error;
            }

            var inserted = raw.sqlite3_changes(_connection.Handle);
            raw.sqlite3_reset(s);
            return inserted;
        }

        public override ValueTask DisposeAsync()
        {
            _statement.Dispose();
            return ValueTask.CompletedTask;
        }

        /// <summary>Binds UTF-8 text encoded on the stack (SQLite copies it), without a string-to-bytes allocation per row.</summary>
        private static void BindText(sqlite3_stmt statement, int index, string value)
        {
            var max = Encoding.UTF8.GetMaxByteCount(value.Length);
            Span<byte> utf8 = max <= 1024 ? stackalloc byte[max] : new byte[max];
            var length = Encoding.UTF8.GetBytes(value, utf8);
            raw.sqlite3_bind_text(statement, index, utf8[..length]);
        }

        private static void BindBlobOrNull(sqlite3_stmt statement, int index, byte[]? value)
        {
            if (value is null)
            {
                raw.sqlite3_bind_null(statement, index);
            }
            else
            {
                raw.sqlite3_bind_blob(statement, index, value);
            }
        }

        private SqliteException Error(int rc) =>
            new(raw.sqlite3_errmsg(_connection.Handle).utf8_to_string(), rc, raw.sqlite3_extended_errcode(_connection.Handle));
    }

    private sealed class AdoInsert : InsertCommand
    {
        private readonly DbCommand _command;
        private readonly DbParameter[] _p;
        private bool _prepared;

        public AdoInsert(DbConnection connection, string sql)
        {
            _command = connection.Command(sql);
            string[] names = ["@seq", "@id", "@phone_index", "@rrn_index", "@name_ct", "@rrn_ct", "@phone_ct", "@address_ct", "@rate_plan", "@contract_start", "@contract_end", "@home_store", "@created_at", "@phone_index_next", "@rrn_index_next", "@household_index", "@family_plan_index"];
            _p = new DbParameter[names.Length];
            for (var i = 0; i < names.Length; i++)
            {
                _p[i] = _command.AddParameter(names[i], DBNull.Value);
            }
        }

        public override void Bind(DbTransaction transaction) => _command.Transaction = transaction;

        public override int Execute(EncryptedRow row, long seq, long createdAt)
        {
            _p[0].Value = seq;
            _p[1].Value = row.Id.Value;
            _p[2].Value = row.PhoneIndex;
            _p[3].Value = row.RrnIndex;
            _p[4].Value = row.NameCt;
            _p[5].Value = row.RrnCt;
            _p[6].Value = row.PhoneCt;
            _p[7].Value = row.AddressCt;
            _p[8].Value = row.RatePlan;
            _p[9].Value = row.ContractStart;
            _p[10].Value = row.ContractEnd;
            _p[11].Value = row.HomeStore;
            _p[12].Value = createdAt;
            _p[13].Value = (object?)row.PhoneIndexNext ?? DBNull.Value;
            _p[14].Value = (object?)row.RrnIndexNext ?? DBNull.Value;
            _p[15].Value = row.HouseholdIndex;
            _p[16].Value = (object?)row.FamilyPlanIndex ?? DBNull.Value;
            if (!_prepared)
            {
                _command.Prepare();
                _prepared = true;
            }

            return _command.ExecuteNonQuery();
        }

        public override ValueTask DisposeAsync() => _command.DisposeAsync();
    }
}
