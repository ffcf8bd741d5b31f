using System.Text.RegularExpressions;

namespace Custodian.Storage;

/// <summary>
/// The few places where SQLite and PostgreSQL SQL differ, so that every migration and store keeps one portable
/// text (docs/storage.md, "Dialect differences"). Migrations are written in SQLite's spelling of the portable
/// subset (<c>INTEGER</c>, <c>BLOB</c>); <see cref="TranslateDdl"/> maps it to the backend's types. Queries stay
/// portable instead (e.g. <c>CASE</c> rather than SQLite's scalar <c>MAX(a, b)</c>). Immutable and thread-safe; the two instances are <see cref="Sqlite"/> and <see cref="Postgres"/>.
/// </summary>
public abstract partial class StorageDialect
{
    private protected StorageDialect()
    {
    }

    /// <summary>The embedded default: SQLite 3 through Microsoft.Data.Sqlite.</summary>
    public static StorageDialect Sqlite { get; } = new SqliteDialect();

    /// <summary>PostgreSQL 13 or later through Npgsql.</summary>
    public static StorageDialect Postgres { get; } = new PostgresDialect();

    /// <summary>The backend's name as written in configuration and health reports: <c>sqlite</c> or <c>postgres</c>.</summary>
    public abstract string Backend { get; }

    /// <summary>
    /// Statements run on every new connection before it is handed out; empty when none. SQLite: WAL journal,
    /// <c>synchronous=FULL</c> (a committed transaction survives power loss), foreign keys, 5 s busy timeout.
    /// PostgreSQL needs none (durability is the server's <c>fsync</c>/<c>synchronous_commit</c>, on by default).
    /// </summary>
    public abstract string ConnectionSetup { get; }

    /// <summary>
    /// Rewrites a migration written in the portable subset (SQLite spelling) for this backend. SQLite: unchanged.
    /// PostgreSQL: <c>INTEGER</c> becomes <c>BIGINT</c> (SQLite integers are 64-bit; PostgreSQL's <c>INTEGER</c> is
    /// 32-bit and would overflow on Unix-millisecond times) and <c>BLOB</c> becomes <c>BYTEA</c>. Only whole words
    /// outside quoted literals are rewritten.
    /// </summary>
    /// <param name="sql">One or more DDL statements.</param>
    /// <returns>The statements for this backend.</returns>
    public abstract string TranslateDdl(string sql);

    /// <inheritdoc />
    public override string ToString() => Backend;

    private sealed class SqliteDialect : StorageDialect
    {
        public override string Backend => "sqlite";

        public override string ConnectionSetup => "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";

        public override string TranslateDdl(string sql) => sql;
    }

    private sealed partial class PostgresDialect : StorageDialect
    {
        public override string Backend => "postgres";

        public override string ConnectionSetup => string.Empty;

        public override string TranslateDdl(string sql)
        {
            ArgumentNullException.ThrowIfNull(sql);

            // Split on single-quoted literals (odd pieces are literals, '' escapes included) and rewrite the rest.
            var pieces = sql.Split('\'');
            for (var i = 0; i < pieces.Length; i += 2)
            {
                pieces[i] = TypeWord().Replace(pieces[i], m => string.Equals(m.Value, "INTEGER", StringComparison.OrdinalIgnoreCase) ? "BIGINT" : "BYTEA");
            }

            return string.Join('\'', pieces);
        }

        [GeneratedRegex(@"\b(INTEGER|BLOB)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
        private static partial Regex TypeWord();
    }
}
