using System.Data.Common;
using Custodian.Identity;
using Custodian.Storage;

namespace Custodian.Lookup;

/// <summary>
/// Wrong consent-code attempts per (clerk, subscriber) over a sliding window, kept across new codes. Each code allows
/// only 3 wrong tries, but a clerk could otherwise request a new code after every 3 and guess without end (a 6-digit
/// code falls after about 500,000 guesses); this budget is what stops that. Once exhausted, the guard refuses both the
/// consent request (no SMS is sent) and the unmask, without looking at the code, with
/// <see cref="Problems.ErrorCodes.ConsentAttemptsExhausted"/> (429), until enough counted attempts have left the window
/// that fewer than <see cref="MaxWrongAttempts"/> remain.
/// </summary>
/// <remarks>
/// <para>Default <see cref="DefaultMaxWrongAttempts"/> (10) per <see cref="DefaultWindow"/> (24 hours): a subscriber
/// at the counter who mistypes needs one or two tries, a few re-requests cover a slow SMS, and 10 guesses a day give a
/// clerk about one chance in 100,000 per subscriber and day of hitting a 6-digit code. Counted: every code refused as
/// wrong or as past its own attempt limit; an expired code is not a guess and is not counted.</para>
/// <para>Held in the deployment's database (table <c>consent_wrong_attempts</c>, migration <c>lookup-001</c>: clerk
/// account ID, internal subscriber ID, time; no personal data in clear), like the consent codes themselves
/// (<see cref="Messaging.OneTimeCodes"/>): every API node counts into and reads the same budget, and a restart keeps
/// it. Rows older than the window are deleted: a clerk's rows for the subscriber on each wrong attempt, and all of
/// them at most once a <see cref="SweepEvery"/> per process. Time comes from the injected <see cref="TimeProvider"/>,
/// stored as Unix milliseconds UTC. Thread-safe.</para>
/// </remarks>
public sealed class ConsentAttemptBudget
{
    /// <summary>Wrong attempts allowed per clerk and subscriber within <see cref="DefaultWindow"/>: 10.</summary>
    public const int DefaultMaxWrongAttempts = 10;

    /// <summary>The sliding window over which wrong attempts are counted: 24 hours.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromHours(24);

    /// <summary>How often a process deletes every row older than the window: at most once an hour.</summary>
    public static readonly TimeSpan SweepEvery = TimeSpan.FromHours(1);

    private const string InsertSql = "INSERT INTO consent_wrong_attempts (id, clerk, subscriber_id, at_ms) VALUES (@id, @c, @s, @t)";
    private const string PruneSql = "DELETE FROM consent_wrong_attempts WHERE clerk = @c AND subscriber_id = @s AND at_ms <= @cutoff";
    private const string SweepSql = "DELETE FROM consent_wrong_attempts WHERE at_ms <= @cutoff";

    private readonly CustodianDatabase _db;
    private readonly TimeProvider _time;
    private long _lastSweepTicks;

    /// <summary>Creates a budget over the database's <c>consent_wrong_attempts</c> table.</summary>
    /// <param name="db">The deployment's database (migrated with <see cref="LookupMigrations"/>).</param>
    /// <param name="time">The clock the window is measured on.</param>
    /// <param name="maxWrongAttempts">Wrong attempts allowed within <paramref name="window"/> (1–1000); the default is <see cref="DefaultMaxWrongAttempts"/>.</param>
    /// <param name="window">The sliding window (1 minute – 30 days); null for <see cref="DefaultWindow"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">When a value is outside its range.</exception>
    public ConsentAttemptBudget(CustodianDatabase db, TimeProvider time, int maxWrongAttempts = DefaultMaxWrongAttempts, TimeSpan? window = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWrongAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxWrongAttempts, 1000);
        var w = window ?? DefaultWindow;
        ArgumentOutOfRangeException.ThrowIfLessThan(w, TimeSpan.FromMinutes(1), nameof(window));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(w, TimeSpan.FromDays(30), nameof(window));
        _db = db;
        _time = time;
        MaxWrongAttempts = maxWrongAttempts;
        Window = w;
    }

    /// <summary>Wrong attempts allowed within <see cref="Window"/>.</summary>
    public int MaxWrongAttempts { get; }

    /// <summary>The sliding window.</summary>
    public TimeSpan Window { get; }

    /// <summary>How long until <paramref name="clerk"/> may try a code for <paramref name="subject"/> again; null when the budget is not exhausted.</summary>
    /// <param name="clerk">The clerk's account ID.</param>
    /// <param name="subject">The subscriber.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>
    /// Null when fewer than <see cref="MaxWrongAttempts"/> attempts lie within the window; else the time until the
    /// <see cref="MaxWrongAttempts"/>-th newest of them leaves it (with exactly that many: the oldest).
    /// </returns>
    /// <exception cref="DbException">When the database cannot be read (the caller fails closed).</exception>
    public async Task<TimeSpan?> RetryAfterAsync(string clerk, SubscriberId subject, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clerk);
        var now = _time.GetUtcNow();
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var read = connection.Command(
            "SELECT at_ms FROM consent_wrong_attempts WHERE clerk = @c AND subscriber_id = @s AND at_ms > @cutoff ORDER BY at_ms DESC LIMIT 1 OFFSET @skip",
            ("@c", clerk),
            ("@s", subject.Value),
            ("@cutoff", (now - Window).ToUnixTimeMilliseconds()),
            ("@skip", (long)MaxWrongAttempts - 1));
        return await read.ExecuteScalarAsync(cancellationToken) is long at
            ? DateTimeOffset.FromUnixTimeMilliseconds(at) + Window - now
            : null;
    }

    /// <summary>Counts one wrong attempt by <paramref name="clerk"/> for <paramref name="subject"/>, now.</summary>
    /// <param name="clerk">The clerk's account ID.</param>
    /// <param name="subject">The subscriber.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="DbException">When the database cannot record the attempt (the caller fails closed).</exception>
    public async Task RecordWrongAsync(string clerk, SubscriberId subject, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clerk);
        var now = _time.GetUtcNow();
        var cutoff = (now - Window).ToUnixTimeMilliseconds();
        var insertParameters = new (string, object?)[] { ("@id", Guid.CreateVersion7(now).ToString("N")), ("@c", clerk), ("@s", subject.Value), ("@t", now.ToUnixTimeMilliseconds()) };
        var pruneParameters = new (string, object?)[] { ("@c", clerk), ("@s", subject.Value), ("@cutoff", cutoff) };
        var sweep = Timing.PeriodicClaim.TryClaim(ref _lastSweepTicks, now, SweepEvery);
        if (_db.GroupCommit is { } writes)
        {
            // SQLite: with the consent codes' writes, in one transaction of the group commit (one write lock, one sync).
            await writes.RunAsync(
                tx =>
                {
                    using (var insert = tx.Command(InsertSql, insertParameters))
                    {
                        insert.ExecuteNonQuery();
                    }

                    using (var prune = tx.Command(PruneSql, pruneParameters))
                    {
                        prune.ExecuteNonQuery();
                    }

                    if (sweep)
                    {
                        using var all = tx.Command(SweepSql, ("@cutoff", cutoff));
                        all.ExecuteNonQuery();
                    }

                    return true;
                },
                cancellationToken);
            return;
        }

        await using var connection = await _db.OpenAsync(cancellationToken);
        await using (var insert = connection.Command(InsertSql, insertParameters))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var prune = connection.Command(PruneSql, pruneParameters))
        {
            await prune.ExecuteNonQueryAsync(cancellationToken);
        }

        if (sweep)
        {
            await SweepAsync(connection, cutoff, cancellationToken);
        }
    }

    /// <summary>Deletes every attempt that has left the window.</summary>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns>The number of rows deleted.</returns>
    internal async Task<int> SweepAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        return await SweepAsync(connection, (_time.GetUtcNow() - Window).ToUnixTimeMilliseconds(), cancellationToken);
    }

    private static async Task<int> SweepAsync(DbConnection connection, long cutoff, CancellationToken cancellationToken)
    {
        await using var sweep = connection.Command(SweepSql, ("@cutoff", cutoff));
        return await sweep.ExecuteNonQueryAsync(cancellationToken);
    }
}
