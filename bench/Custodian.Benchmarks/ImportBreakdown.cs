using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Custodian.Identity;
using Custodian.Protection;
using Custodian.Protection.Keys;
using Custodian.Protection.Sample;
using Custodian.Protection.Validation;
using Custodian.Storage;
using CsvHelper;

namespace Custodian.Benchmarks;

/// <summary>
/// Single-threaded cost per row of each import stage, as process CPU time (robust to other load) and wall time, to find
/// the import's bottleneck: CSV reading, validation (phone, RRN, text, dates), encryption, blind indexes, and the SQLite
/// writer under three table layouts (the random subscriber id as the table key with the indexes of
/// <c>protection-import-001</c>; the sequential key of <c>protection-import-002</c> with its indexes filled row by row;
/// the same table loaded without secondary indexes, which are then built by <c>CREATE INDEX</c>). The writer stages
/// insert the same pre-encrypted rows with the importer's statement shape, in one transaction, with its 512 MiB page cache.
/// </summary>
internal static class ImportBreakdown
{
    public static async Task<int> RunAsync(int count)
    {
        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        var people = new SampleGenerator().Generate(count, 500, 1, today).ToList();
        var national = people.Select(p => p.Phone.StartsWith("+8210", StringComparison.Ordinal) ? "010-" + p.Phone[5..9] + "-" + p.Phone[9..] : "0" + p.Phone[3..]).ToList();
        var hyphenated = people.Select(p => p.Rrn[..6] + "-" + p.Rrn[6..]).ToList();
        var directory = Path.Combine(Path.GetTempPath(), "custodian-breakdown-" + Guid.NewGuid().ToString("N"));
        var keys = ProtectionKeyring.LoadOrCreate(directory, TimeProvider.System, RandomNumberGenerator.GetBytes(32));
        var cipher = new FieldCipher(keys);
        var index = new BlindIndex(keys);
        try
        {
            var csvText = new StringWriter();
            SampleGenerator.WriteCsv(csvText, people);
            var csv = csvText.ToString();
            Measure("CSV: CsvHelper read + 8 GetString (1 pass)", count, _ => { }, once: () => ReadCsv(csv, count));
            Measure("text: trim + NFC + control check (3 fields)", count, i =>
            {
                var p = people[i];
                Text(p.Name);
                Text(p.Address);
                Text(p.RatePlan);
            });
            var dates = people.Select(p => (p.ContractStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), p.ContractEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))).ToList();
            Measure("dates: 2 x DateOnly.TryParseExact", count, i =>
            {
                DateOnly.TryParseExact(dates[i].Item1, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
                DateOnly.TryParseExact(dates[i].Item2, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
            });
            Measure("phone: PhoneNumbers.NormalizeKoreanMobile", count, i => PhoneNumbers.NormalizeKoreanMobile(national[i]));
            Measure("rrn: ResidentRegistrationNumbers.Normalize", count, i => ResidentRegistrationNumbers.Normalize(hyphenated[i], TimeProvider.System));
            Measure("4 x FieldCipher.EncryptString", count, i =>
            {
                var id = SubscriberId.From(i + 1);
                var p = people[i];
                cipher.EncryptString(id, "name", p.Name);
                cipher.EncryptString(id, "rrn", p.Rrn);
                cipher.EncryptString(id, "phone", p.Phone);
                cipher.EncryptString(id, "address", p.Address);
            });
            Measure("2 x BlindIndex (phone, rrn)", count, i =>
            {
                index.ForPhone(people[i].Phone);
                index.ForRrn(people[i].Rrn);
            });

            var rows = people.Select(p =>
            {
                var id = SubscriberId.NewRandom();
                return new object[]
                {
                    id.Value, index.ForPhone(p.Phone), index.ForRrn(p.Rrn),
                    cipher.EncryptString(id, "name", p.Name), cipher.EncryptString(id, "rrn", p.Rrn),
                    cipher.EncryptString(id, "phone", p.Phone), cipher.EncryptString(id, "address", p.Address),
                    p.RatePlan, p.ContractStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    p.ContractEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), p.HomeStore,
                };
            }).ToList();
            var all = new ProtectionMigrations().Migrations.ToList();
            var before = all.TakeWhile(m => m.Id != "protection-import-002").ToList();
            await MeasureWriterAsync(Path.Combine(directory, "a.db"), "writer: random id as table key, 4 indexes (import-001)", before, rows, sequential: false, dropIndexes: false);
            await MeasureWriterAsync(Path.Combine(directory, "b.db"), "writer: sequential key, 5 indexes row by row", all, rows, sequential: true, dropIndexes: false);
            await MeasureWriterAsync(Path.Combine(directory, "c.db"), "writer: sequential key, no secondary index", all, rows, sequential: true, dropIndexes: true);
            await MeasureWriterAsync(Path.Combine(directory, "d.db"), "writer: as above through the C API (as the importer)", all, rows, sequential: true, dropIndexes: true, cApi: true);
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void ReadCsv(string csv, int count)
    {
        var options = new CsvReaderOptions
        {
            Separator = ',',
            DetectSeparatorHint = false,
            HasHeader = false,
            Mode = CsvMode.Rfc4180,
            TrackLineNumbers = true,
            SkipEmptyLines = true,
            AllowLineBreaksInQuotes = true,
            MalformedData = CsvMalformedDataHandling.Recover,
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            MissingField = CsvMissingFieldHandling.ReturnEmpty,
        };
        using var reader = CsvReader.Create(new StringReader(csv), options);
        var read = 0;
        while (reader.ReadAsync().AsTask().GetAwaiter().GetResult())
        {
            for (var i = 0; i < 8; i++)
            {
                _ = reader.GetString(i);
            }

            read++;
        }

        if (read != count + 1)
        {
            throw new InvalidOperationException("CSV rows: " + read);
        }
    }

    private static string Text(string raw)
    {
        var value = raw.Trim().Normalize(NormalizationForm.FormC);
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return string.Empty;
            }
        }

        return value;
    }

    /// <summary>Inserts the rows (in id order for the random-key table, as the importer before import-002 did per batch; in
    /// file order otherwise) in one transaction; with <paramref name="dropIndexes"/>, also times building the indexes.</summary>
    private static async Task MeasureWriterAsync(string path, string what, List<Migration> migrations, List<object[]> rows, bool sequential, bool dropIndexes, bool cApi = false)
    {
        var database = new CustodianDatabase(path);
        await database.MigrateAsync(migrations, TimeProvider.System);
        await using var connection = await database.OpenAsync();
        await using (var cache = connection.Command("PRAGMA cache_size = -524288"))
        {
            await cache.ExecuteNonQueryAsync();
        }

        var indexes = new List<string>();
        await using (var list = connection.Command("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'subscribers' AND sql IS NOT NULL"))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                indexes.Add(reader.GetString(0) + "\n" + reader.GetString(1));
            }
        }

        await using var transaction = await connection.BeginTransactionAsync();
        if (dropIndexes)
        {
            foreach (var name in indexes.Select(i => i.Split('\n')[0]))
            {
                await using var drop = connection.Command("DROP INDEX " + name);
                drop.Transaction = transaction;
                await drop.ExecuteNonQueryAsync();
            }
        }

        var columns = "id, phone_index, rrn_index, name_ct, rrn_ct, phone_ct, address_ct, rate_plan, contract_start, contract_end, home_store, created_at, phone_index_next, rrn_index_next";
        var values = "@id, @phone_index, @rrn_index, @name_ct, @rrn_ct, @phone_ct, @address_ct, @rate_plan, @contract_start, @contract_end, @home_store, @created_at, @phone_index_next, @rrn_index_next";
        var sql = sequential ? $"INSERT INTO subscribers (seq, {columns}) VALUES (@seq, {values})" : $"INSERT INTO subscribers ({columns}) VALUES ({values})";
        if (!dropIndexes)
        {
            sql += " ON CONFLICT (phone_index) DO NOTHING";
        }

        await using var insert = connection.Command(sql);
        insert.Transaction = transaction;
        var names = new[] { "@id", "@phone_index", "@rrn_index", "@name_ct", "@rrn_ct", "@phone_ct", "@address_ct", "@rate_plan", "@contract_start", "@contract_end", "@home_store" };
        var parameters = names.Select(n => insert.AddParameter(n, DBNull.Value)).ToArray();
        insert.AddParameter("@created_at", 1_700_000_000_000L);
        insert.AddParameter("@phone_index_next", DBNull.Value);
        insert.AddParameter("@rrn_index_next", DBNull.Value);
        var seq = sequential ? insert.AddParameter("@seq", 0L) : null;
        insert.Prepare();
        var order = sequential ? rows : rows.OrderBy(r => (long)r[0]).ToList();
        var t = cApi ? Time(() => InsertThroughCApi((Microsoft.Data.Sqlite.SqliteConnection)connection, sql, order)) : Time(() =>
        {
            for (var i = 0; i < order.Count; i++)
            {
                for (var k = 0; k < parameters.Length; k++)
                {
                    parameters[k].Value = order[i][k];
                }

                if (seq is not null)
                {
                    seq.Value = i + 1L;
                }

                insert.ExecuteNonQuery();
            }
        });
        Report(what, rows.Count, t);
        if (dropIndexes)
        {
            t = Time(() =>
            {
                foreach (var definition in indexes)
                {
                    using var create = connection.Command(definition.Split('\n')[1]);
                    create.Transaction = transaction;
                    create.ExecuteNonQuery();
                }
            });
            Report("  + CREATE INDEX x " + indexes.Count + " after the rows", rows.Count, t);
        }

        t = Time(() => transaction.Commit());
        Report("  + commit (synchronous=FULL, WAL)", rows.Count, t);
    }

    /// <summary>The importer's write path: values bound to the prepared statement through SQLitePCL, text as UTF-8 on the stack.</summary>
    private static void InsertThroughCApi(Microsoft.Data.Sqlite.SqliteConnection connection, string sql, List<object[]> rows)
    {
        if (SQLitePCL.raw.sqlite3_prepare_v2(connection.Handle, sql, out var statement) != SQLitePCL.raw.SQLITE_OK)
        {
            throw new InvalidOperationException(SQLitePCL.raw.sqlite3_errmsg(connection.Handle).utf8_to_string());
        }

        using (statement)
        {
            Span<byte> utf8 = stackalloc byte[512];
            for (var i = 0; i < rows.Count; i++)
            {
                var row = rows[i];
                SQLitePCL.raw.sqlite3_bind_int64(statement, 1, i + 1L);
                SQLitePCL.raw.sqlite3_bind_int64(statement, 2, (long)row[0]);
                for (var k = 1; k <= 6; k++)
                {
                    SQLitePCL.raw.sqlite3_bind_blob(statement, k + 2, (byte[])row[k]);
                }

                for (var k = 7; k <= 10; k++)
                {
                    var n = Encoding.UTF8.GetBytes((string)row[k], utf8);
                    SQLitePCL.raw.sqlite3_bind_text(statement, k + 2, utf8[..n]);
                }

                SQLitePCL.raw.sqlite3_bind_int64(statement, 13, 1_700_000_000_000L);
                SQLitePCL.raw.sqlite3_bind_null(statement, 14);
                SQLitePCL.raw.sqlite3_bind_null(statement, 15);
                if (SQLitePCL.raw.sqlite3_step(statement) != SQLitePCL.raw.SQLITE_DONE)
                {
                    throw new InvalidOperationException(SQLitePCL.raw.sqlite3_errmsg(connection.Handle).utf8_to_string());
                }

                SQLitePCL.raw.sqlite3_reset(statement);
            }
        }
    }

    private static (TimeSpan Cpu, TimeSpan Wall, long Bytes) Time(Action action)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var bytes = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        action();
        stopwatch.Stop();
        bytes = GC.GetAllocatedBytesForCurrentThread() - bytes;
        process.Refresh();
        return (process.TotalProcessorTime - cpu, stopwatch.Elapsed, bytes);
    }

    private static void Report(string what, int count, (TimeSpan Cpu, TimeSpan Wall, long Bytes) t) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what,-58} {t.Cpu.TotalMicroseconds / count,8:F1} µs/row CPU, {t.Wall.TotalMicroseconds / count,8:F1} µs/row wall, {t.Bytes / count,6:N0} B/row allocated (1 thread)"));

    private static void Measure(string what, int count, Action<int> action, Action? once = null)
    {
        once?.Invoke(); // warm-up
        for (var i = 0; i < Math.Min(count, 2_000); i++)
        {
            action(i);
        }

        var t = Time(() =>
        {
            if (once is not null)
            {
                once();
                return;
            }

            for (var i = 0; i < count; i++)
            {
                action(i);
            }
        });
        Report(what, count, t);
    }
}
