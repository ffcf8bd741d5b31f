using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Custodian.Ledger;
using Custodian.Monitoring.Detection;
using Custodian.Protection.Subscribers;

namespace Custodian.Lookup;

/// <summary>
/// Computes the <see cref="AccessSignals"/> the guard writes into a read's ledger entry (docs/ledger-format.md §1.1,
/// docs/monitoring.md "Signals") — before the entry is appended, from a keyed pseudonym, clear columns and the cached
/// store areas only, never by decrypting:
/// <list type="bullet">
/// <item><c>block</c> (<see cref="NumberBlock"/>): the searched number's 100-number block under a server key;</item>
/// <item><c>ending</c>: a subject's <c>contract_end</c> lies on the read's date in Korea (UTC+9) or up to
/// <see cref="DetectionOptions.ContractEndingDays"/> days after it (<see cref="IsContractEnding"/>);</item>
/// <item><c>away</c>: the reading store and a subject's <c>home_store</c> both have an area (<see cref="StoreAreas"/>) and the
/// areas differ; a store without an area sets nothing.</item>
/// </list>
/// Cost per read with subjects: one indexed query (<see cref="SubscriberVault.ReadContractFactsAsync"/>), or none when the
/// caller passes the columns it read with the rows (the guard's search and view); the store areas come from memory (one
/// query a minute). A read without subjects costs no query. Thread-safe.
/// <para>
/// The fourth signal, <see cref="AccessSignals.SameHousehold"/>, is set by <c>HouseholdSignal</c> in the guard's append
/// (docs/households.md), merged into the signals set here.
/// </para>
/// </summary>
public sealed class ReadSignals
{
    /// <summary>
    /// The <see cref="Access.Staff.SecretProtector.DeriveKey"/> purpose of the number-block key: <c>number-block</c>
    /// (HKDF-SHA256 of the access-secrets key, the same on every node of a deployment).
    /// </summary>
    public const string NumberBlockKeyPurpose = "number-block";

    /// <summary>Korea Standard Time, UTC+9 (no daylight saving): the calendar in which contract dates are kept.</summary>
    public static readonly TimeSpan KoreaOffset = TimeSpan.FromHours(9);

    private readonly SubscriberVault _vault;
    private readonly StoreAreas _areas;
    private readonly byte[] _blockKey;
    private readonly int _endingDays;

    /// <summary>Creates the signal computation; derives the number-block key once.</summary>
    /// <param name="vault">Reads the clear columns of the subjects.</param>
    /// <param name="areas">The store areas.</param>
    /// <param name="secrets">The access-secrets key, from which the number-block key is derived.</param>
    /// <param name="detection">Gives <see cref="DetectionOptions.ContractEndingDays"/> (1–365, default 60).</param>
    /// <exception cref="ArgumentOutOfRangeException">When <see cref="DetectionOptions.ContractEndingDays"/> is outside 1–365.</exception>
    public ReadSignals(SubscriberVault vault, StoreAreas areas, Access.Staff.SecretProtector secrets, DetectionOptions detection)
    {
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(areas);
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(detection);
        ArgumentOutOfRangeException.ThrowIfLessThan(detection.ContractEndingDays, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(detection.ContractEndingDays, 365);
        _vault = vault;
        _areas = areas;
        _blockKey = secrets.DeriveKey(NumberBlockKeyPurpose);
        _endingDays = detection.ContractEndingDays;
    }

    /// <summary>
    /// The pseudonym of the 100-number block of <paramref name="e164"/>: the first 8 bytes, as 16 lowercase hex characters,
    /// of HMAC-SHA256 (RFC 2104) under the number-block key of the UTF-8 bytes of the number without its last two digits
    /// (<c>+821012345678</c> → HMAC of <c>+8210123456</c>). Numbers of one block give one value on every node; without the
    /// key the value reveals nothing of the number (a keyed hash: trying all ~10^8 blocks of Korean mobile numbers needs the key).
    /// </summary>
    /// <param name="e164">The number in E.164 form, as <c>PhoneNumbers.NormalizeKorean</c> returns it.</param>
    /// <returns>16 characters <c>0-9a-f</c> (<see cref="AccessSignals.IsNumberBlock"/>).</returns>
    /// <exception cref="ArgumentException">When <paramref name="e164"/> is not <c>+</c> followed by at least 3 digits.</exception>
    public string NumberBlock(string e164)
    {
        if (e164 is not { Length: >= 4 } || e164[0] != '+' || e164.AsSpan(1).ContainsAnyExceptInRange('0', '9'))
        {
            throw new ArgumentException("The number must be in E.164 form.", nameof(e164));
        }

        Span<byte> block = stackalloc byte[e164.Length - 2];
        Encoding.UTF8.GetBytes(e164.AsSpan(0, e164.Length - 2), block);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_blockKey, block, mac);
        return Convert.ToHexStringLower(mac[..(AccessSignals.NumberBlockLength / 2)]);
    }

    /// <summary>
    /// Whether a contract ending on <paramref name="contractEnd"/> counts as ending for a read at <paramref name="readTime"/>:
    /// the read's date in Korea (UTC+9) ≤ <paramref name="contractEnd"/> ≤ that date + <paramref name="days"/> days. A
    /// contract that already ended does not count.
    /// </summary>
    /// <param name="contractEnd">The contract's last day.</param>
    /// <param name="readTime">When the read happened (any offset).</param>
    /// <param name="days">The window, 1–365 days.</param>
    /// <returns>True when the contract ends within the window.</returns>
    public static bool IsContractEnding(DateOnly contractEnd, DateTimeOffset readTime, int days)
    {
        var today = DateOnly.FromDateTime(readTime.ToOffset(KoreaOffset).DateTime);
        return contractEnd >= today && contractEnd.DayNumber - today.DayNumber <= days;
    }

    /// <summary>
    /// <paramref name="entry"/> with its <see cref="AccessEntry.Signals"/> set from its subjects, store and time, plus
    /// <paramref name="numberBlock"/>; unchanged (no signals) when none holds. One query when the entry has subjects.
    /// </summary>
    /// <param name="entry">The entry about to be appended.</param>
    /// <param name="numberBlock">For a search: <see cref="NumberBlock"/> of the number searched; otherwise null.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The entry to append.</returns>
    /// <exception cref="DbException">When the subjects' columns or the store areas cannot be read.</exception>
    public async Task<AccessEntry> ApplyAsync(AccessEntry entry, string? numberBlock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var facts = entry.Subjects.Count > 0 ? await _vault.ReadContractFactsAsync(entry.Subjects, cancellationToken) : [];
        return await ApplyAsync(entry, numberBlock, facts, cancellationToken);
    }

    /// <summary>
    /// <see cref="ApplyAsync(AccessEntry, string?, CancellationToken)"/> with the subjects' clear columns already read (the
    /// guard reads them in the statement that reads the subjects' rows, <see cref="SubscriberVault.FindSealedByPhoneAsync"/>
    /// and <see cref="SubscriberVault.ReadSealedAsync"/>): no query. The signals are the same as those of the querying
    /// overload when <paramref name="facts"/> holds one item for each existing subject (order and duplicates do not matter).
    /// </summary>
    /// <param name="entry">The entry about to be appended.</param>
    /// <param name="numberBlock">For a search: <see cref="NumberBlock"/> of the number searched; otherwise null.</param>
    /// <param name="facts">The clear columns of the entry's existing subjects; ignored when the entry has no subjects.</param>
    /// <param name="cancellationToken">Cancels the store areas' reload, when one is due.</param>
    /// <returns>The entry to append.</returns>
    /// <exception cref="DbException">When the store areas cannot be read.</exception>
    public async ValueTask<AccessEntry> ApplyAsync(AccessEntry entry, string? numberBlock, IReadOnlyList<SubscriberContractFacts> facts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(facts);
        bool ending = false, away = false;
        if (entry.Subjects.Count > 0)
        {
            var areas = await _areas.CurrentAsync(cancellationToken);
            var readerArea = entry.Store is { } store && areas.TryGetValue(store, out var a) ? a : null;
            foreach (var fact in facts)
            {
                ending |= IsContractEnding(fact.ContractEnd, entry.Time, _endingDays);
                away |= readerArea is not null && areas.TryGetValue(fact.HomeStore, out var home) && !string.Equals(home, readerArea, StringComparison.Ordinal);
            }
        }

        var signals = new AccessSignals { NumberBlock = numberBlock, ContractEnding = ending, OtherArea = away };
        return signals.IsEmpty ? entry : entry with { Signals = signals };
    }

    /// <summary>
    /// <see cref="ApplyAsync(AccessEntry, string?, CancellationToken)"/> for a refusal that names subjects: when the columns cannot be read, the refusal is still
    /// recorded, without signals.
    /// </summary>
    /// <param name="entry">The refusal's entry.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The entry to record.</returns>
    public async Task<AccessEntry> ApplyToRefusalAsync(AccessEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Subjects.Count == 0)
        {
            return entry;
        }

        try
        {
            return await ApplyAsync(entry, null, cancellationToken);
        }
        catch (DbException)
        {
            return entry;
        }
        catch (Storage.StorageUnavailableException)
        {
            return entry;
        }
    }
}
