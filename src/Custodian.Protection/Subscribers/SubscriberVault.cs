using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Protection.Subscribers;

/// <summary>
/// The subscriber vault: THE only class that turns stored ciphertexts back into personal data.
/// Searches go through keyed blind indexes and return internal ids (or rows as stored, <see cref="SealedSubscriber"/>)
/// without decrypting anything; <see cref="DecryptAsync"/> and <see cref="Decrypt(SealedSubscriber)"/> are the only
/// decrypting calls, and the caller (the lookup guard) must have appended the access-ledger entry for the read before
/// calling either ("no ledger entry, no read"). Reading the ciphertexts before the append is allowed; decrypting is not.
/// <para>
/// Cost of one guarded lookup: one SELECT (by blind index or primary key, read before the append) and four AES-256-GCM
/// decryptions. Thread-safe;
/// every call takes a pooled connection from <see cref="CustodianDatabase"/>.
/// </para>
/// </summary>
public sealed partial class SubscriberVault
{
    private const string SealedColumns = "name_ct, rrn_ct, phone_ct, address_ct, rate_plan, contract_start, contract_end, home_store";
    private const string SelectById = "SELECT " + SealedColumns + " FROM subscribers WHERE id = @id";

    private readonly CustodianDatabase _database;
    private readonly FieldCipher _cipher;
    private readonly BlindIndex _index;
    private readonly ProtectionKeyring _keys;
    private readonly ILogger _logger;

    /// <summary>Creates the vault.</summary>
    /// <param name="database">The database holding the <c>subscribers</c> table (see <see cref="ProtectionMigrations"/>).</param>
    /// <param name="keys">The keyring.</param>
    /// <param name="logger">Optional logger (events 3201–3209); receives subscriber ids and field names only.</param>
    public SubscriberVault(CustodianDatabase database, ProtectionKeyring keys, ILogger<SubscriberVault>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(keys);
        _database = database;
        _cipher = new FieldCipher(keys);
        _index = new BlindIndex(keys);
        _keys = keys;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Finds subscribers by phone number through the blind index (no decryption).</summary>
    /// <param name="e164">The number in E.164 form, as returned by <c>PhoneNumbers.NormalizeKorean</c>.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The matching ids: empty or one (the phone index is unique).</returns>
    /// <exception cref="ArgumentException">When <paramref name="e164"/> is not E.164.</exception>
    public Task<IReadOnlyList<SubscriberId>> FindByPhoneAsync(string e164, CancellationToken cancellationToken = default)
    {
        _ = _index.ForPhone(e164); // validates the form before any query
        return FindAsync("phone_index", "phone_index_next", key => _index.ForPhone(e164, key), "DISTINCT id", static reader => new SubscriberId(reader.GetInt64(0)), cancellationToken);
    }

    /// <summary>Finds subscribers by resident registration number through the blind index (no decryption).</summary>
    /// <param name="rrnDigits">13 digits, as returned by <c>ResidentRegistrationNumbers.Normalize</c>.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The matching ids in ascending order (one person may hold several lines).</returns>
    /// <exception cref="ArgumentException">When <paramref name="rrnDigits"/> is not 13 digits.</exception>
    public Task<IReadOnlyList<SubscriberId>> FindByRrnAsync(string rrnDigits, CancellationToken cancellationToken = default)
    {
        _ = _index.ForRrn(rrnDigits);
        return FindAsync("rrn_index", "rrn_index_next", key => _index.ForRrn(rrnDigits, key), "DISTINCT id", static reader => new SubscriberId(reader.GetInt64(0)), cancellationToken);
    }

    /// <summary>
    /// Decrypts one subscriber's record: <see cref="ReadSealedAsync"/> then <see cref="Decrypt(SealedSubscriber)"/>. The caller must already
    /// have durably recorded the read in the access ledger.
    /// </summary>
    /// <param name="id">The subscriber.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The plaintext record, or null when no subscriber has <paramref name="id"/>.</returns>
    /// <exception cref="CryptographicException">When a stored field fails authentication (tampered, moved between rows or fields, or unknown key); logged as event 3201.</exception>
    public async Task<SubscriberRecord?> DecryptAsync(SubscriberId id, CancellationToken cancellationToken = default) =>
        await ReadSealedAsync(id, cancellationToken) is { } row ? Decrypt(row) : null;

    /// <summary>
    /// Reads one subscriber's row as stored — the four ciphertexts and the clear columns — in one primary-key SELECT,
    /// decrypting nothing. The lookup guard reads the row once before its ledger append (the clear columns give the entry's
    /// signals) and calls <see cref="Decrypt(SealedSubscriber)"/> only after the append ("append, then decrypt").
    /// </summary>
    /// <param name="id">The subscriber.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The sealed row, or null when no subscriber has <paramref name="id"/>.</returns>
    /// <exception cref="FormatException">When a stored contract date is not <c>yyyy-MM-dd</c> (the importer writes no other form).</exception>
    public async Task<SealedSubscriber?> ReadSealedAsync(SubscriberId id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command(SelectById, ("@id", id.Value));
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SingleRow, cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadSealed(id, reader, 0) : null;
    }

    /// <summary>
    /// <see cref="FindByPhoneAsync"/> returning the found rows as stored (<see cref="ReadSealedAsync"/>) instead of their ids:
    /// the same blind-index lookup, in the same statement, decrypting nothing.
    /// </summary>
    /// <param name="e164">The number in E.164 form, as returned by <c>PhoneNumbers.NormalizeKorean</c>.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The matching rows in ascending id order: empty or one (the phone index is unique).</returns>
    /// <exception cref="ArgumentException">When <paramref name="e164"/> is not E.164.</exception>
    /// <exception cref="FormatException">When a stored contract date is not <c>yyyy-MM-dd</c>.</exception>
    public Task<IReadOnlyList<SealedSubscriber>> FindSealedByPhoneAsync(string e164, CancellationToken cancellationToken = default)
    {
        _ = _index.ForPhone(e164); // validates the form before any query
        return FindAsync(
            "phone_index",
            "phone_index_next",
            key => _index.ForPhone(e164, key),
            "id, " + SealedColumns,
            static reader => ReadSealed(new SubscriberId(reader.GetInt64(0)), reader, 1),
            cancellationToken);
    }

    /// <summary>
    /// Decrypts a row read by <see cref="ReadSealedAsync"/> or <see cref="FindSealedByPhoneAsync"/> (four AES-256-GCM
    /// decryptions, no query). The caller must already have durably recorded the read in the access ledger.
    /// </summary>
    /// <param name="row">The sealed row.</param>
    /// <returns>The plaintext record.</returns>
    /// <exception cref="CryptographicException">When a stored field fails authentication (tampered, moved between rows or fields, or unknown key); logged as event 3201.</exception>
    public SubscriberRecord Decrypt(SealedSubscriber row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new SubscriberRecord(
            row.Id,
            Decrypt(row.Id, SubscriberFields.Name, row.NameCiphertext),
            Decrypt(row.Id, SubscriberFields.Rrn, row.RrnCiphertext),
            Decrypt(row.Id, SubscriberFields.Phone, row.PhoneCiphertext),
            Decrypt(row.Id, SubscriberFields.Address, row.AddressCiphertext),
            row.RatePlan,
            row.ContractStart,
            row.Facts.ContractEnd,
            row.Facts.HomeStore);
    }

    /// <summary>
    /// Reads the clear <c>contract_end</c> and <c>home_store</c> columns of <paramref name="ids"/> in one query over the
    /// unique id index, decrypting nothing: what the lookup guard needs for the signals of a read's ledger entry
    /// (docs/ledger-format.md §1.1) before the entry is appended and anything is decrypted.
    /// </summary>
    /// <param name="ids">The subscribers; 0–1,000 (an entry's subjects). Duplicates are read once.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>One row per existing subscriber, in no particular order; ids without a row are left out. No query when <paramref name="ids"/> is empty.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When more than 1,000 ids are given.</exception>
    /// <exception cref="FormatException">When a stored <c>contract_end</c> is not <c>yyyy-MM-dd</c> (the importer writes no other form).</exception>
    public async Task<IReadOnlyList<SubscriberContractFacts>> ReadContractFactsAsync(IReadOnlyList<SubscriberId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ids.Count, 1000);
        if (ids.Count == 0)
        {
            return [];
        }

        var distinct = ids.Distinct().ToList();
        var facts = new List<SubscriberContractFacts>(distinct.Count);
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var names = new string[distinct.Count];
        for (var i = 0; i < distinct.Count; i++)
        {
            names[i] = "@id" + i.ToString(CultureInfo.InvariantCulture);
            command.AddParameter(names[i], distinct[i].Value);
        }

        command.CommandText = distinct.Count == 1
            ? "SELECT id, contract_end, home_store FROM subscribers WHERE id = @id0"
            : $"SELECT id, contract_end, home_store FROM subscribers WHERE id IN ({string.Join(", ", names)})";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            facts.Add(new SubscriberContractFacts(
                new SubscriberId(reader.GetInt64(0)),
                DateOnly.ParseExact(reader.GetString(1), SubscriberDates.Format, CultureInfo.InvariantCulture),
                reader.GetString(2)));
        }

        return facts;
    }

    /// <summary>Whether a subscriber with <paramref name="id"/> exists (no decryption).</summary>
    /// <param name="id">The subscriber.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>True when the row exists.</returns>
    public async Task<bool> ExistsAsync(SubscriberId id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT 1 FROM subscribers WHERE id = @id", ("@id", id.Value));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Number of subscribers stored.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The row count of <c>subscribers</c>.</returns>
    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COUNT(*) FROM subscribers");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Exact-match search that stays correct through a blind-index key rotation: the value's index under
    /// the current key and, when one is pending, under the pending key, each looked up in both the main
    /// and the next-index column. A miss re-reads a keyring another process changed and tries once more.
    /// </summary>
    /// <remarks>A row matches once however many of its index columns match, so selecting whole rows needs no DISTINCT.</remarks>
    private async Task<IReadOnlyList<T>> FindAsync<T>(string column, string nextColumn, Func<IndexKey, byte[]> compute, string select, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var current = compute(_keys.CurrentIndexKey);
            var pending = _keys.PendingIndexKey is { } key ? compute(key) : current;
            var ids = new List<T>(1);
            await using (var connection = await _database.OpenAsync(cancellationToken))
            await using (var command = connection.Command(
                $"SELECT {select} FROM subscribers WHERE {column} IN (@current, @pending) OR {nextColumn} IN (@current, @pending) ORDER BY id",
                ("@current", current),
                ("@pending", pending)))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    ids.Add(read(reader));
                }
            }

            if (ids.Count > 0 || attempt > 0 || !_keys.Refresh())
            {
                return ids;
            }
        }
    }

    private static SealedSubscriber ReadSealed(SubscriberId id, DbDataReader reader, int first) => new(
        id,
        (byte[])reader.GetValue(first),
        (byte[])reader.GetValue(first + 1),
        (byte[])reader.GetValue(first + 2),
        (byte[])reader.GetValue(first + 3),
        reader.GetString(first + 4),
        DateOnly.ParseExact(reader.GetString(first + 5), SubscriberDates.Format, CultureInfo.InvariantCulture),
        new SubscriberContractFacts(id, DateOnly.ParseExact(reader.GetString(first + 6), SubscriberDates.Format, CultureInfo.InvariantCulture), reader.GetString(first + 7)));

    private string Decrypt(SubscriberId id, string field, byte[] ciphertext)
    {
        try
        {
            return _cipher.DecryptString(id, field, ciphertext);
        }
        catch (CryptographicException)
        {
            Log.DecryptionFailed(_logger, id.Value, field);
            throw;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3201, Level = LogLevel.Error, Message = "Field {Field} of subscriber {SubscriberId} failed authenticated decryption (tampered, moved or unknown key).")]
        public static partial void DecryptionFailed(ILogger logger, long subscriberId, string field);
    }
}

/// <summary>The clear, non-personal columns of a subscriber that the guard's signals use (<see cref="SubscriberVault.ReadContractFactsAsync"/>).</summary>
/// <param name="Id">The subscriber.</param>
/// <param name="ContractEnd">The contract's last day (column <c>contract_end</c>).</param>
/// <param name="HomeStore">The home store code (column <c>home_store</c>).</param>
public sealed record SubscriberContractFacts(SubscriberId Id, DateOnly ContractEnd, string HomeStore);

/// <summary>
/// One subscriber's row as stored, decrypting nothing (<see cref="SubscriberVault.ReadSealedAsync"/>,
/// <see cref="SubscriberVault.FindSealedByPhoneAsync"/>): the clear columns, public, and the four AES-256-GCM ciphertexts,
/// which only <see cref="SubscriberVault.Decrypt(SealedSubscriber)"/> reads. Immutable.
/// </summary>
public sealed class SealedSubscriber
{
    internal SealedSubscriber(SubscriberId id, byte[] nameCiphertext, byte[] rrnCiphertext, byte[] phoneCiphertext, byte[] addressCiphertext, string ratePlan, DateOnly contractStart, SubscriberContractFacts facts)
    {
        Id = id;
        NameCiphertext = nameCiphertext;
        RrnCiphertext = rrnCiphertext;
        PhoneCiphertext = phoneCiphertext;
        AddressCiphertext = addressCiphertext;
        RatePlan = ratePlan;
        ContractStart = contractStart;
        Facts = facts;
    }

    /// <summary>The subscriber.</summary>
    public SubscriberId Id { get; }

    /// <summary>The rate plan (column <c>rate_plan</c>, clear).</summary>
    public string RatePlan { get; }

    /// <summary>The contract's first day (column <c>contract_start</c>, clear).</summary>
    public DateOnly ContractStart { get; }

    /// <summary>The clear columns the guard's signals use: <c>contract_end</c> and <c>home_store</c>.</summary>
    public SubscriberContractFacts Facts { get; }

    internal byte[] NameCiphertext { get; }

    internal byte[] RrnCiphertext { get; }

    internal byte[] PhoneCiphertext { get; }

    internal byte[] AddressCiphertext { get; }
}

/// <summary>Storage format of contract dates.</summary>
internal static class SubscriberDates
{
    /// <summary>ISO 8601 calendar date, e.g. <c>2026-03-01</c>.</summary>
    public const string Format = "yyyy-MM-dd";
}
