using System.Collections.Frozen;
using System.Data.Common;
using System.Globalization;
using CsvHelper;
using Custodian.Identity;
using Custodian.Storage;

namespace Custodian.Lookup;

/// <summary>A store and its area, as stored in <c>stores</c>.</summary>
/// <param name="Store">The store code (<see cref="Codes.Rule"/>).</param>
/// <param name="Area">The area (<see cref="StoreAreas.AreaRule"/>), e.g. <c>seoul-gangnam</c>.</param>
/// <param name="UpdatedAt">When the row was last written by an import.</param>
public sealed record StoreArea(string Store, string Area, DateTimeOffset UpdatedAt);

/// <summary>A bad row of a store-area file: line number (1-based, the header is line 1), field and rule; never the value.</summary>
/// <param name="Line">The line number.</param>
/// <param name="Field">The column (<c>store</c>, <c>area</c>), or <c>row</c>/<c>header</c>.</param>
/// <param name="Rule">The rule the row breaks.</param>
public sealed record StoreAreaError(long Line, string Field, string Rule);

/// <summary>The outcome of <see cref="StoreAreas.ImportAsync"/>.</summary>
/// <param name="Applied">Whether the file was applied (it had no bad row).</param>
/// <param name="Stores">Stores written (new or changed or unchanged rows of the file) when applied; 0 otherwise.</param>
/// <param name="Errors">Every bad row, in file order; empty when applied.</param>
public sealed record StoreAreaImport(bool Applied, int Stores, IReadOnlyList<StoreAreaError> Errors);

/// <summary>
/// The area of each store (table <c>stores</c>, <see cref="LookupMigrations"/>), for the guard's <c>away</c> signal
/// (<see cref="ReadSignals"/>; docs/ledger-format.md §1.1): a read whose subject's home store lies in another area than
/// the reading store. Written by <c>custodian stores import FILE</c> (CSV, header exactly <c>store,area</c>; all or
/// nothing). Reads use an in-memory copy of the whole table, loaded on first use and reloaded when it is older than
/// <see cref="RefreshInterval"/> (measured with the injected <see cref="TimeProvider"/>) or after an import in this
/// process; so a guarded read pays for no query here except once a minute, and an import by another process (the CLI
/// beside a running server) applies within a minute. Thread-safe.
/// </summary>
public sealed class StoreAreas : Access.IListedStoreCodes
{
    /// <summary>The header a store-area file must start with, exactly: <c>store,area</c>.</summary>
    public const string Header = "store,area";

    /// <summary>Longest area name, in characters: 50.</summary>
    public const int MaxAreaLength = 50;

    /// <summary>Largest file, in rows (a carrier has a few thousand stores; with margin).</summary>
    public const int MaxRows = 100_000;

    /// <summary>The rule of an area, in the words of every refusal: <c>must be 1-50 ASCII letters, digits or '-'</c>.</summary>
    public const string AreaRule = "must be 1-50 ASCII letters (A-Z, a-z), digits or '-'";

    /// <summary>How long the in-memory copy of <c>stores</c> is used before it is read again: 60 seconds.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(60);

    private readonly CustodianDatabase _database;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile Snapshot? _snapshot;

    /// <summary>Creates the store directory over <paramref name="database"/>.</summary>
    /// <param name="database">The database holding <c>stores</c>.</param>
    /// <param name="time">The clock that ages the in-memory copy and stamps imports.</param>
    public StoreAreas(CustodianDatabase database, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(time);
        _database = database;
        _time = time;
    }

    /// <summary>Whether <paramref name="area"/> is a well-formed area: 1–50 ASCII letters, digits or <c>-</c>.</summary>
    /// <param name="area">The text to check.</param>
    /// <returns>True when well formed.</returns>
    public static bool IsArea(string? area) =>
        !string.IsNullOrEmpty(area) && area.Length <= MaxAreaLength && area.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    /// <summary>
    /// The area of each store, from the in-memory copy: loaded on first use and again when it is older than
    /// <see cref="RefreshInterval"/> (one query then; none otherwise). Callers that race for a reload wait for one.
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting for a reload.</param>
    /// <returns>Areas by store code (ordinal: store codes are case-sensitive).</returns>
    /// <exception cref="DbException">When a due reload fails; the next call tries again.</exception>
    public async ValueTask<IReadOnlyDictionary<string, string>> CurrentAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        if (_snapshot is { } fresh && now - fresh.LoadedAt < RefreshInterval && now >= fresh.LoadedAt)
        {
            return fresh.Areas;
        }

        await _reload.WaitAsync(cancellationToken);
        try
        {
            now = _time.GetUtcNow();
            if (_snapshot is { } loaded && now - loaded.LoadedAt < RefreshInterval && now >= loaded.LoadedAt)
            {
                return loaded.Areas; // another caller reloaded while this one waited
            }

            var areas = new Dictionary<string, string>(StringComparer.Ordinal);
            await using (var connection = await _database.OpenAsync(cancellationToken))
            await using (var command = connection.Command("SELECT code, area FROM stores"))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    areas[reader.GetString(0)] = reader.GetString(1);
                }
            }

            var snapshot = new Snapshot(areas.ToFrozenDictionary(StringComparer.Ordinal), now);
            _snapshot = snapshot;
            return snapshot.Areas;
        }
        finally
        {
            _reload.Release();
        }
    }

    /// <summary>
    /// The row of <c>stores</c> whose code equals <paramref name="store"/> ignoring letter case but is spelt differently, or
    /// null (also when a row is spelt exactly so). Store codes are case-sensitive everywhere they meet, so such a code names a
    /// store that is not the listed one (<see cref="Access.Staff.StaffAccountRules.StoreCaseRule"/>; docs/access.md §6.3):
    /// <see cref="Access.Terminals.TerminalRegistry"/> and <see cref="Access.Staff.StaffDirectory"/> refuse it on every path
    /// (as <see cref="Access.IListedStoreCodes"/>).
    /// </summary>
    /// <param name="store">A well-formed store code.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The listed spelling, or null.</returns>
    public async Task<string?> FindCaseVariantAsync(string store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT code FROM stores WHERE lower(code) = lower(@store) ORDER BY CASE WHEN code = @store THEN 0 ELSE 1 END LIMIT 1",
            ("@store", store));
        return await command.ExecuteScalarAsync(cancellationToken) is string listed && !string.Equals(listed, store, StringComparison.Ordinal) ? listed : null;
    }

    /// <summary>Every store with an area, ordered by store code (ordinal).</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The rows of <c>stores</c>.</returns>
    public async Task<IReadOnlyList<StoreArea>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<StoreArea>();
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT code, area, updated_at FROM stores");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new StoreArea(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        list.Sort((a, b) => string.CompareOrdinal(a.Store, b.Store)); // ordinal on both backends (a collation may differ)
        return list;
    }

    /// <summary>
    /// Reads a store-area file (CSV, header exactly <c>store,area</c>) and, when no row is bad, writes every row in one
    /// transaction: a listed store gets the file's area (new stores are added, listed ones updated); stores the file does
    /// not list keep theirs. Any bad row — a malformed row, a store that is not a store code (<see cref="Codes.Rule"/>), has
    /// the shape of a phone number or resident registration number
    /// (<see cref="Access.Staff.StaffAccountRules.CodeNotPersonalNumber"/>), is listed twice (also in other letter case)
    /// or differs only in letter case from a store code in use in <c>stores</c>, a terminal or a staff account
    /// (<see cref="Access.Staff.StaffAccountRules.StoreCaseRule"/>, as <c>staff add --store</c> refuses it), an area
    /// breaking <see cref="AreaRule"/> — applies nothing, and every
    /// bad row is reported with its line and field (never the value). A bad or missing header is reported as line 1,
    /// field <c>header</c>. The in-memory copy is dropped after a write, so this process's next read sees the new areas.
    /// </summary>
    /// <param name="csv">The file.</param>
    /// <param name="cancellationToken">Cancels reading and writing (the transaction is rolled back).</param>
    /// <returns>What was applied, or the bad rows.</returns>
    public async Task<StoreAreaImport> ImportAsync(TextReader csv, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var (rows, stores, errors) = await ParseAsync(csv, cancellationToken);
        if (errors is [{ Field: "header" }])
        {
            return new StoreAreaImport(false, 0, errors);
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await using (var connection = await _database.OpenAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            // Every well-formed store of the file is checked against the spellings in use, also when other rows are bad
            // (or this row's area is): every bad row is reported, not only the first kind found.
            var spellings = await SpellingsInUseAsync(connection, transaction, cancellationToken);
            var parseErrors = errors.Count;
            foreach (var (line, store) in stores)
            {
                if (!spellings.Exact.Contains(store) && spellings.AnyCase.TryGetValue(store, out var inUse))
                {
                    errors.Add(new StoreAreaError(line, "store", Access.Staff.StaffAccountRules.StoreCaseRule(inUse)));
                }
            }

            if (errors.Count > 0)
            {
                // In file order; on one line the store before the area (the parse reports them in that order too).
                var ordered = errors.Count == parseErrors ? errors : [.. errors.OrderBy(e => e.Line).ThenBy(e => e.Field == "area" ? 1 : 0)];
                return new StoreAreaImport(false, 0, ordered); // the transaction is rolled back on dispose: nothing written
            }

            await using var upsert = connection.Command(
                "INSERT INTO stores (code, area, updated_at) VALUES (@code, @area, @now) ON CONFLICT (code) DO UPDATE SET area = excluded.area, updated_at = excluded.updated_at",
                ("@code", string.Empty),
                ("@area", string.Empty),
                ("@now", now));
            upsert.Transaction = transaction;
            foreach (var (_, store, area) in rows)
            {
                upsert.Parameters[0].Value = store;
                upsert.Parameters[1].Value = area;
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        _snapshot = null; // this process's next read loads the new areas
        return new StoreAreaImport(true, rows.Count, []);
    }

    /// <summary>
    /// The store codes in use, as spelt: those of <c>stores</c>, of terminals and of staff accounts (one database).
    /// </summary>
    private static async Task<(HashSet<string> Exact, Dictionary<string, string> AnyCase)> SpellingsInUseAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var exact = new HashSet<string>(StringComparer.Ordinal);
        var anyCase = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        await using var command = connection.Command(
            "SELECT code FROM stores UNION SELECT store FROM terminals UNION SELECT store FROM staff_accounts WHERE store IS NOT NULL");
        command.Transaction = transaction;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var code = reader.GetString(0);
            exact.Add(code);
            anyCase.TryAdd(code, code);
        }

        return (exact, anyCase);
    }

    /// <summary>
    /// Parses the file: the good rows; the line and store of every row whose store code is well formed, not personal and
    /// not listed earlier in the file (whatever its area), for the check against the codes in use; and the bad rows.
    /// </summary>
    private static async Task<(List<(long Line, string Store, string Area)> Rows, List<(long Line, string Store)> Stores, List<StoreAreaError> Errors)> ParseAsync(TextReader csv, CancellationToken cancellationToken)
    {
        var rows = new List<(long, string, string)>();
        var stores = new List<(long, string)>();
        var errors = new List<StoreAreaError>();
        var malformed = new HashSet<long>();
        var options = Files.StrictCsv.Options(4096, lineBreaksInQuotes: true, record => malformed.Add(record.RecordNumber));
        await using var reader = CsvReader.Create(csv, options, leaveOpen: true);
        if (!await reader.ReadAsync(cancellationToken)
            || malformed.Remove(reader.RowNumber)
            || reader.FieldCount != 2
            || !string.Equals(reader.GetString(0).TrimStart('\uFEFF') + "," + reader.GetString(1), Header, StringComparison.Ordinal))
        {
            errors.Add(new StoreAreaError(1, "header", $"must be exactly '{Header}'"));
            return (rows, stores, errors);
        }

        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (await reader.ReadAsync(cancellationToken))
        {
            var line = reader.LineNumber;
            if (rows.Count + errors.Count >= MaxRows)
            {
                errors.Add(new StoreAreaError(line, "row", $"the file may hold at most {MaxRows} rows; the rest was not read"));
                break;
            }

            if (malformed.Remove(reader.RowNumber) || reader.FieldCount != 2)
            {
                errors.Add(new StoreAreaError(line, "row", "must be well-formed CSV with 2 fields like the header (store,area)"));
                continue;
            }

            var store = reader.GetString(0).Trim();
            var area = reader.GetString(1).Trim();
            var before = errors.Count;
            if (!Codes.IsValid(store))
            {
                errors.Add(new StoreAreaError(line, "store", "must be a store code: " + Codes.Rule));
            }
            else if (Access.Staff.StaffAccountRules.CheckCode(store, "store") is { } personal)
            {
                errors.Add(new StoreAreaError(line, "store", personal.Rule));
            }
            else if (seen.TryGetValue(store, out var first))
            {
                errors.Add(new StoreAreaError(line, "store", string.Equals(first, store, StringComparison.Ordinal)
                    ? "must appear only once in the file"
                    : $"must appear only once in the file (store codes are case-sensitive: '{first}' earlier in the file is spelt differently)"));
            }
            else
            {
                seen[store] = store;
                stores.Add((line, store));
            }

            if (!IsArea(area))
            {
                errors.Add(new StoreAreaError(line, "area", AreaRule));
            }

            if (errors.Count == before)
            {
                rows.Add((line, store, area));
            }
        }

        return (rows, stores, errors);
    }

    private sealed record Snapshot(FrozenDictionary<string, string> Areas, DateTimeOffset LoadedAt);
}
