using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using Custodian.Identity;
using Custodian.Storage;

namespace Custodian.Protection.Households;

/// <summary>What <see cref="StaffHouseholds.LinkAsync"/> did.</summary>
public enum HouseholdLinkOutcome
{
    /// <summary>The account is linked to the subscriber (a previous link of the account was replaced).</summary>
    Linked,

    /// <summary>No subscriber has the given id; nothing changed.</summary>
    SubscriberNotFound,
}

/// <summary>
/// Clerks as subscribers: table <c>staff_households</c> (migration <c>protection-household-001</c>) holds, per staff account,
/// the internal id of the clerk's own subscription and a copy of that subscriber's household and family-plan indexes
/// (<see cref="HouseholdIndex"/>) taken when the link was made — never a phone number, name or address. The guard asks
/// <see cref="SharesHouseholdAsync"/> before each ledger append and sets <c>AccessSignals.SameHousehold</c>
/// (docs/ledger-format.md §1.1). No decryption anywhere. Thread-safe; each call takes a pooled connection.
/// <para>
/// Most reading accounts have no link, and for them the check can only answer false: <see cref="IsLinkedAsync"/> answers
/// from an in-memory set of the linked accounts, reloaded from the table (one query) when it is older than
/// <see cref="LinkedRefreshInterval"/> (1 second); a link made through this instance is in the set before
/// <see cref="LinkAsync"/> returns, one made by another process (<c>custodian staff link-subscription</c>, another node)
/// is seen at most <see cref="LinkedRefreshInterval"/> plus one query after it was committed. Links are never removed, so
/// a stale set can only leave out a new link, never hide an old one.
/// </para>
/// </summary>
public sealed class StaffHouseholds
{
    /// <summary>Most subject ids one query checks; longer lists are checked in chunks of this size (100).</summary>
    public const int SubjectsPerQuery = 100;

    /// <summary>How old the in-memory set of linked accounts (<see cref="IsLinkedAsync"/>) may get before it is reloaded: 1 second, as the suspension registry's.</summary>
    public static readonly TimeSpan LinkedRefreshInterval = TimeSpan.FromSeconds(1);

    private readonly CustodianDatabase _database;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private LinkedSet? _linked;
    private Task<LinkedSet>? _loading;
    private long _loadingSince;
    private long _loadingGeneration;
    private long _generation; // counts the links made through this instance

    /// <summary>Creates the store over a database migrated with <see cref="ProtectionMigrations"/>.</summary>
    /// <param name="database">The database holding <c>subscribers</c> and <c>staff_households</c>.</param>
    /// <param name="time">Clock for <c>linked_at</c> (Unix milliseconds UTC).</param>
    public StaffHouseholds(CustodianDatabase database, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(time);
        _database = database;
        _time = time;
    }

    /// <summary>
    /// Links <paramref name="account"/> to its own subscription <paramref name="subscriber"/>: copies the subscriber's
    /// household and family-plan indexes (either may be NULL: a row imported before the indexes existed, or no family plan)
    /// into the account's row, replacing an earlier link. The caller checks that the account exists.
    /// </summary>
    /// <param name="account">Staff account id (a code, see <see cref="Codes"/>).</param>
    /// <param name="subscriber">The subscriber found by the clerk's own phone number's blind index.</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns><see cref="HouseholdLinkOutcome.Linked"/>, or <see cref="HouseholdLinkOutcome.SubscriberNotFound"/> when no row has the id.</returns>
    /// <exception cref="System.Data.Common.DbException">The database failed.</exception>
    public async Task<HouseholdLinkOutcome> LinkAsync(string account, SubscriberId subscriber, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(account);
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "INSERT INTO staff_households (account, subscriber_id, household_index, family_plan_index, linked_at) " +
            "SELECT @account, id, household_index, family_plan_index, @at FROM subscribers WHERE id = @id " +
            "ON CONFLICT (account) DO UPDATE SET subscriber_id = excluded.subscriber_id, household_index = excluded.household_index, " +
            "family_plan_index = excluded.family_plan_index, linked_at = excluded.linked_at",
            ("@account", account),
            ("@id", subscriber.Value),
            ("@at", _time.GetUtcNow().ToUnixTimeMilliseconds()));
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return HouseholdLinkOutcome.SubscriberNotFound;
        }

        lock (_gate)
        {
            // A load that began before this commit may not have seen it: it must not install its set, and the next check reloads.
            _generation++;
            _linked = null;
        }

        return HouseholdLinkOutcome.Linked;
    }

    /// <summary>
    /// Whether <paramref name="account"/> has a row in <c>staff_households</c>, from the in-memory set of linked accounts;
    /// when that set is older than <see cref="LinkedRefreshInterval"/> (or was never loaded, or a link was made through this
    /// instance since), first waits for its reload (one query, shared by concurrent callers). Completes synchronously
    /// otherwise. See the class remarks for staleness.
    /// </summary>
    /// <param name="account">The staff account id.</param>
    /// <param name="cancellationToken">Cancels the wait (not the shared query).</param>
    /// <returns>True when the account is linked to a subscription.</returns>
    /// <exception cref="System.Data.Common.DbException">When a needed reload failed (the next call tries again).</exception>
    public async ValueTask<bool> IsLinkedAsync(string account, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        var linked = Volatile.Read(ref _linked);
        if (linked is null || _time.GetElapsedTime(linked.LoadedSince) >= LinkedRefreshInterval)
        {
            linked = await StartLoad().WaitAsync(cancellationToken);
        }

        return linked.Accounts.Contains(account);
    }

    private Task<LinkedSet> StartLoad()
    {
        lock (_gate)
        {
            // Join a load that began after the last local link and less than an interval ago: it is as fresh as the caller needs.
            if (_loading is not null && _loadingGeneration == _generation && _time.GetElapsedTime(_loadingSince) < LinkedRefreshInterval)
            {
                return _loading;
            }

            _loadingSince = _time.GetTimestamp();
            _loadingGeneration = _generation;
            var load = LoadAsync(_loadingSince, _generation);
            _loading = load;
            _ = load.ContinueWith(
                done =>
                {
                    lock (_gate)
                    {
                        // Forget the load once it is done: a failed one is not joined again.
                        if (ReferenceEquals(_loading, done))
                        {
                            _loading = null;
                        }
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return load;
        }
    }

    private async Task<LinkedSet> LoadAsync(long since, long generation)
    {
        await Task.Yield(); // run the query off the caller's lock
        var accounts = new HashSet<string>(StringComparer.Ordinal);
        await using (var connection = await _database.OpenAsync())
        await using (var command = connection.Command("SELECT account FROM staff_households"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                accounts.Add(reader.GetString(0));
            }
        }

        var loaded = new LinkedSet(accounts.ToFrozenSet(StringComparer.Ordinal), since);
        lock (_gate)
        {
            // A load that began before a local link may have missed it; an older load never replaces a newer one.
            if (generation == _generation && (_linked is null || _linked.LoadedSince <= since))
            {
                Volatile.Write(ref _linked, loaded);
            }
        }

        return loaded;
    }

    /// <summary>The subscriber id an account is linked to, or null when it has no link.</summary>
    /// <param name="account">Staff account id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The linked subscriber's id, or null.</returns>
    public async Task<SubscriberId?> LinkedSubscriberAsync(string account, CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT subscriber_id FROM staff_households WHERE account = @account", ("@account", account));
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : new SubscriberId(Convert.ToInt64(value, CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Whether any of <paramref name="subjects"/> is the account's own subscription or shares its household index or its
    /// family-plan index. One query per <see cref="SubjectsPerQuery"/> subjects, over the primary key of
    /// <c>staff_households</c> and the unique index on <c>subscribers.id</c>; NULL indexes never match. False at once for
    /// no subjects; false for an account without a link.
    /// </summary>
    /// <param name="account">The reading staff account.</param>
    /// <param name="subjects">The subjects the entry names.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>True when at least one subject is in the clerk's household or family plan.</returns>
    /// <exception cref="System.Data.Common.DbException">The database failed.</exception>
    public async Task<bool> SharesHouseholdAsync(string account, IReadOnlyList<SubscriberId> subjects, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(subjects);
        if (subjects.Count == 0)
        {
            return false;
        }

        await using var connection = await _database.OpenAsync(cancellationToken);
        for (var start = 0; start < subjects.Count; start += SubjectsPerQuery)
        {
            var count = Math.Min(SubjectsPerQuery, subjects.Count - start);
            var sql = new StringBuilder(
                "SELECT 1 FROM staff_households l JOIN subscribers s ON s.id IN (");
            var parameters = new (string Name, object? Value)[count + 1];
            parameters[0] = ("@account", account);
            for (var i = 0; i < count; i++)
            {
                var name = "@s" + i.ToString(CultureInfo.InvariantCulture);
                sql.Append(i == 0 ? string.Empty : ", ").Append(name);
                parameters[i + 1] = (name, subjects[start + i].Value);
            }

            sql.Append(") WHERE l.account = @account AND (s.id = l.subscriber_id OR s.household_index = l.household_index OR s.family_plan_index = l.family_plan_index) LIMIT 1");
            await using var command = connection.Command(sql.ToString(), parameters);
            if (await command.ExecuteScalarAsync(cancellationToken) is not null)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The linked accounts as read by a query that began at <paramref name="LoadedSince"/> (a <see cref="TimeProvider.GetTimestamp"/> value).</summary>
internal sealed record LinkedSet(FrozenSet<string> Accounts, long LoadedSince);
