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
/// </summary>
public sealed class StaffHouseholds
{
    /// <summary>Most subject ids one query checks; longer lists are checked in chunks of this size (100).</summary>
    public const int SubjectsPerQuery = 100;

    private readonly CustodianDatabase _database;
    private readonly TimeProvider _time;

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
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0 ? HouseholdLinkOutcome.Linked : HouseholdLinkOutcome.SubscriberNotFound;
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
