using System.Data.Common;
using System.Globalization;
using System.Text;
using Custodian.Storage;

namespace Custodian.Protection.Audit;

/// <summary>The table scan of <see cref="StorageAudit"/>: the contents of a PostgreSQL database, which is not a file Custodian can read.</summary>
public sealed partial class StorageAudit
{
    /// <summary>
    /// Scans the files under <paramref name="paths"/> as <see cref="ScanAsync"/> does and the database: on SQLite the
    /// database is the file <c>custodian.db</c> (with its <c>-wal</c>) in the data directory, scanned as bytes when it is
    /// among <paramref name="paths"/>; on PostgreSQL every value of every table in the schemas of the connection's search
    /// path (<c>current_schemas(false)</c>) is read through SQL and scanned on its own: byte strings as stored, text as
    /// UTF-8, any other type in its invariant text form — except integer columns (<c>smallint</c>, <c>integer</c>,
    /// <c>bigint</c>), which are not scanned: PostgreSQL stores them in binary, as SQLite stores its <c>INTEGER</c> values
    /// (which the file scan never sees as digits), and a national phone number starts with 0, which no integer keeps; their
    /// decimal form (e.g. a random 63-bit subscriber id) would only give false findings. A finding names the database
    /// (without credentials), table, column and row (<c>ctid</c>), and the offset inside the value.
    /// </summary>
    /// <remarks>
    /// What SQL cannot see on PostgreSQL: row versions already deleted or updated but not yet vacuumed, the server's WAL,
    /// logs and base backups. Those are files on the database host; scan them there with <c>custodian audit-storage PATH</c>
    /// (docs/storage.md).
    /// </remarks>
    /// <param name="paths">Files and directories; missing ones are reported in <see cref="StorageAuditReport.Missing"/>.</param>
    /// <param name="bytesScanned">Receives the running byte count (files, then table values).</param>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The report; <see cref="StorageAuditReport.TablesScanned"/> counts the PostgreSQL tables read.</returns>
    /// <exception cref="System.Security.Cryptography.CryptographicException">When a stored field fails authentication while loading the population.</exception>
    /// <exception cref="DbException">When a table cannot be read.</exception>
    public Task<StorageAuditReport> ScanWithDatabaseAsync(IEnumerable<string> paths, IProgress<long>? bytesScanned = null, CancellationToken cancellationToken = default) =>
        ScanCoreAsync(paths, tables: true, bytesScanned, cancellationToken);

    // Reads every table of the search path's schemas; returns (tables, bytes, matches).
    private async Task<(int Tables, long Bytes, long Matches)> ScanTablesAsync(
        Population population, List<PlaintextFinding> findings, long bytesBefore, IProgress<long>? bytesScanned, CancellationToken cancellationToken)
    {
        var tables = new List<(string Schema, string Table)>();
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using (var list = connection.Command(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = ANY (current_schemas(false)) ORDER BY 1, 2"))
        {
            await using var reader = await list.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        var scanner = new Scanner(population, string.Empty, findings);
        long bytes = 0;
        var text = new byte[4096];
        foreach (var (schema, table) in tables)
        {
            // Names come from the catalogue; quoted as identifiers (PostgreSQL documentation §4.1.1).
            await using var select = connection.Command($"SELECT ctid::text, * FROM {Quote(schema)}.{Quote(table)}");
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
            var where = columns.Select(c => $"{_database.Path}: table {table}, column {c}").ToArray();
            var integer = Enumerable.Range(0, reader.FieldCount).Select(c => IsInteger(reader.GetFieldType(c))).ToArray();
            while (await reader.ReadAsync(cancellationToken))
            {
                cancellationToken.ThrowIfCancellationRequested();
                for (var column = 1; column < columns.Length; column++)
                {
                    if (integer[column] || reader.IsDBNull(column))
                    {
                        continue;
                    }

                    var before = findings.Count;
                    var matchesBefore = scanner.Matches;
                    scanner.Restart(where[column]);
                    ReadOnlySpan<byte> value;
                    switch (reader.GetValue(column))
                    {
                        case byte[] blob:
                            value = blob;
                            break;
                        case string s:
                            if (text.Length < Encoding.UTF8.GetMaxByteCount(s.Length))
                            {
                                text = new byte[Encoding.UTF8.GetMaxByteCount(s.Length)];
                            }

                            value = text.AsSpan(0, Encoding.UTF8.GetBytes(s, text));
                            break;
                        case IFormattable formattable:
                            value = Encoding.UTF8.GetBytes(formattable.ToString(null, CultureInfo.InvariantCulture));
                            break;
                        case var other:
                            value = Encoding.UTF8.GetBytes(other.ToString() ?? string.Empty);
                            break;
                    }

                    scanner.Feed(value);
                    bytes += value.Length;
                    if (scanner.Matches != matchesBefore)
                    {
                        var row = reader.GetString(0);
                        for (var i = before; i < findings.Count; i++)
                        {
                            findings[i] = findings[i] with { Path = $"{findings[i].Path}, row {row}" };
                        }
                    }
                }

                bytesScanned?.Report(bytesBefore + bytes);
            }
        }

        return (tables.Count, bytes, scanner.Matches);
    }

    // smallint, integer, bigint: binary on disk, their decimal rendering is not stored anywhere (see ScanWithDatabaseAsync).
    private static bool IsInteger(Type type) => type == typeof(short) || type == typeof(int) || type == typeof(long);

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
