using System.Buffers.Binary;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Custodian.Access.Staff;
using Custodian.Storage;

namespace Custodian.Messaging;

/// <summary>Outcome of checking a one-time code.</summary>
public enum CodeCheck
{
    /// <summary>The code matched and is now used up.</summary>
    Valid,
    /// <summary>No code is pending for the key, or it does not match, or it was already used.</summary>
    Invalid,
    /// <summary>The code's lifetime has passed.</summary>
    Expired,
    /// <summary>Too many wrong attempts; the code is void.</summary>
    TooManyAttempts,
}

/// <summary>
/// Short numeric one-time codes sent by SMS (the consent codes), single use, with an expiry and an attempt limit, held
/// in the deployment's database (table <c>one_time_codes</c>, migration <c>messaging-002</c>) so that every API node
/// of a deployment sees the same codes: a code issued on one node is accepted on another, once. Issuing a new code for
/// a key voids the previous one.
/// </summary>
/// <remarks>
/// <para>Only a keyed hash of each code is stored: HMAC-SHA256 under a subkey derived from the deployment's
/// access-secret key (<see cref="SecretProtector.DeriveKey"/>, purpose <c>one-time-codes</c>; every node holds the same
/// key file, docs/events.md "Several API nodes"), over the scope, the key, a random issue ID and the code. Without that
/// key the 10^6 possible codes of a row cannot be tried against it; a plain SHA-256 of a 6-digit code could be.</para>
/// <para>A check is atomic across nodes. On SQLite the read and the change run in one <c>BEGIN IMMEDIATE</c>
/// transaction of the database's <see cref="CustodianDatabase.GroupCommit"/>, which holds the file's one write lock
/// from the read to the commit, so no other node or process changes the row in between; the checks and issues of many
/// callers share one such transaction and one WAL sync. On PostgreSQL the row is read, then changed only by a
/// conditional <c>UPDATE</c> naming the state that was read (same issue, not used, the attempt count seen); when another
/// node changed the row meanwhile the update touches no row and the check is decided again on the new state. Either
/// way two nodes never both accept one code, and the wrong attempts of a code never exceed <see cref="MaxAttempts"/>;
/// a result is returned only after its change is committed.</para>
/// <para>Rows whose expiry lies more than one <see cref="Lifetime"/> in the past are deleted when a code is issued (at
/// most once a minute per process), so the table holds about one row per key issued within two lifetimes. Times come
/// from the injected <see cref="TimeProvider"/>; stored as Unix milliseconds UTC. Thread-safe.</para>
/// </remarks>
public sealed class OneTimeCodes
{
    /// <summary>The <see cref="SecretProtector.DeriveKey"/> purpose of the HMAC key: <c>one-time-codes</c>.</summary>
    public const string KeyPurpose = "one-time-codes";

    private const int MaxRounds = 16;

    private const string UpsertSql = """
        INSERT INTO one_time_codes (scope, code_key, issue_id, code_hmac, expires_ms, attempts, used)
        VALUES (@s, @k, @i, @h, @e, 0, 0)
        ON CONFLICT (scope, code_key) DO UPDATE SET issue_id = excluded.issue_id, code_hmac = excluded.code_hmac,
            expires_ms = excluded.expires_ms, attempts = 0, used = 0
        """;

    private const string ReadSql = "SELECT issue_id, code_hmac, expires_ms, attempts, used FROM one_time_codes WHERE scope = @s AND code_key = @k";
    private const string DeleteIssueSql = "DELETE FROM one_time_codes WHERE scope = @s AND code_key = @k AND issue_id = @i";

    // Consumed only if nobody consumed, re-issued or exhausted it since the read: exactly one check wins.
    private const string ConsumeSql = "UPDATE one_time_codes SET used = 1 WHERE scope = @s AND code_key = @k AND issue_id = @i AND used = 0 AND attempts < @max AND expires_ms >= @now";

    // Counted only if the count is still the one read (compare and set): no attempt is lost or counted twice.
    private const string CountSql = "UPDATE one_time_codes SET attempts = @next WHERE scope = @s AND code_key = @k AND issue_id = @i AND used = 0 AND attempts = @seen";
    private const string SweepSql = "DELETE FROM one_time_codes WHERE scope = @s AND expires_ms < @cutoff";
    private static readonly TimeSpan SweepEvery = TimeSpan.FromMinutes(1);

    private readonly CustodianDatabase _db;
    private readonly byte[] _hmacKey;
    private readonly TimeProvider _time;
    private readonly string _scope;
    private long _lastSweepTicks;

    /// <summary>Creates a code book over the database's <c>one_time_codes</c> table.</summary>
    /// <param name="db">The deployment's database (migrated with <see cref="MessagingMigrations"/>).</param>
    /// <param name="secrets">The deployment's access-secret key, from which the HMAC key is derived.</param>
    /// <param name="time">Clock for expiry.</param>
    /// <param name="scope">What the codes are for (e.g. <c>consent</c>): codes of two scopes never meet; not empty.</param>
    /// <param name="lifetime">How long a code stays valid (e.g. 5 minutes); positive, whole milliseconds are kept.</param>
    /// <param name="maxAttempts">Wrong attempts allowed before the code is void (1–10).</param>
    /// <param name="digits">Code length in digits (6–9).</param>
    /// <exception cref="ArgumentOutOfRangeException">When a value is outside its range.</exception>
    public OneTimeCodes(CustodianDatabase db, SecretProtector secrets, TimeProvider time, string scope, TimeSpan lifetime, int maxAttempts, int digits = 6)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentException.ThrowIfNullOrEmpty(scope);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxAttempts, 10);
        ArgumentOutOfRangeException.ThrowIfLessThan(digits, 6);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(digits, 9);
        _db = db;
        _hmacKey = secrets.DeriveKey(KeyPurpose);
        _time = time;
        _scope = scope;
        Lifetime = lifetime;
        MaxAttempts = maxAttempts;
        Digits = digits;
    }

    /// <summary>How long a code stays valid.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>Wrong attempts allowed.</summary>
    public int MaxAttempts { get; }

    /// <summary>Code length in digits.</summary>
    public int Digits { get; }

    /// <summary>Issues a fresh code for <paramref name="key"/>, voiding any earlier one (on every node).</summary>
    /// <param name="key">What the code is for (no personal data in clear: it is stored as is), e.g. clerk, subscriber ID and purpose.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The code (to be sent, never stored) and its expiry.</returns>
    /// <exception cref="DbException">When the database cannot record the code (the caller fails closed).</exception>
    public async Task<(string Code, DateTimeOffset ExpiresAt)> IssueAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var max = (int)Math.Pow(10, Digits);
        var code = RandomNumberGenerator.GetInt32(0, max).ToString(new string('0', Digits), CultureInfo.InvariantCulture);
        var now = _time.GetUtcNow();
        var expires = now + Lifetime;
        var issue = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var parameters = new (string, object?)[] { ("@s", _scope), ("@k", key), ("@i", issue), ("@h", Hmac(key, issue, code)), ("@e", expires.ToUnixTimeMilliseconds()) };
        var sweep = Timing.PeriodicClaim.TryClaim(ref _lastSweepTicks, now, SweepEvery);
        if (_db.GroupCommit is { } writes)
        {
            await writes.RunAsync(
                tx =>
                {
                    using (var upsert = tx.Command(UpsertSql, parameters))
                    {
                        upsert.ExecuteNonQuery();
                    }

                    if (sweep)
                    {
                        using var remove = tx.Command(SweepSql, SweepParameters(now));
                        remove.ExecuteNonQuery();
                    }

                    return true;
                },
                cancellationToken);
            return (code, expires);
        }

        await using var connection = await _db.OpenAsync(cancellationToken);
        await using (var upsert = connection.Command(UpsertSql, parameters))
        {
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (sweep)
        {
            await SweepAsync(connection, now, cancellationToken);
        }

        return (code, expires);
    }

    /// <summary>Checks <paramref name="code"/> for <paramref name="key"/>; a valid code is consumed, on every node at once.</summary>
    /// <param name="key">The key the code was issued for.</param>
    /// <param name="code">The code given, or null.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>
    /// <see cref="CodeCheck.Valid"/> once per code; <see cref="CodeCheck.Expired"/> past its expiry (the row is then
    /// removed); <see cref="CodeCheck.TooManyAttempts"/> on the wrong attempt that reaches <see cref="MaxAttempts"/> and on
    /// every check after it; else <see cref="CodeCheck.Invalid"/> (no code, a used one, or a wrong one).
    /// </returns>
    /// <exception cref="DbException">When the database cannot be read or written (the caller fails closed).</exception>
    public async Task<CodeCheck> VerifyAsync(string key, string? code, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (_db.GroupCommit is { } writes)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            return await writes.RunAsync(tx => VerifyUnderWriteLock(tx, key, code, now), cancellationToken);
        }

        return await VerifyByCompareAndSetAsync(key, code, cancellationToken);
    }

    // SQLite: the check runs inside a BEGIN IMMEDIATE transaction of the group commit, which holds the database's one
    // write lock from before the read to the commit, so the state read is the state changed: no other node or process
    // can consume, re-issue or count the code in between, and one read decides.
    private CodeCheck VerifyUnderWriteLock(DbTransaction tx, string key, string? code, long now)
    {
        string issue;
        byte[] stored;
        long expires, attempts, used;
        using (var read = tx.Command(ReadSql, ("@s", _scope), ("@k", key)))
        using (var reader = read.ExecuteReader())
        {
            if (!reader.Read())
            {
                return CodeCheck.Invalid;
            }

            (issue, stored, expires, attempts, used) = (reader.GetString(0), (byte[])reader.GetValue(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
        }

        if (used != 0)
        {
            return CodeCheck.Invalid;
        }

        if (now > expires)
        {
            using var remove = tx.Command(DeleteIssueSql, ("@s", _scope), ("@k", key), ("@i", issue));
            remove.ExecuteNonQuery();
            return CodeCheck.Expired;
        }

        if (attempts >= MaxAttempts)
        {
            return CodeCheck.TooManyAttempts;
        }

        if (CryptographicOperations.FixedTimeEquals(Hmac(key, issue, code ?? string.Empty), stored))
        {
            using var consume = tx.Command(ConsumeSql, ("@s", _scope), ("@k", key), ("@i", issue), ("@max", (long)MaxAttempts), ("@now", now));
            return consume.ExecuteNonQuery() == 1 ? CodeCheck.Valid : CodeCheck.Invalid;
        }

        var next = attempts + 1;
        using var count = tx.Command(CountSql, ("@next", next), ("@s", _scope), ("@k", key), ("@i", issue), ("@seen", attempts));
        return count.ExecuteNonQuery() != 1 ? CodeCheck.Invalid : next >= MaxAttempts ? CodeCheck.TooManyAttempts : CodeCheck.Invalid;
    }

    // PostgreSQL: read, then a conditional UPDATE naming the state read; when another node changed the row meanwhile
    // the update touches no row and the check is decided again on the new state (at most MaxRounds times).
    private async Task<CodeCheck> VerifyByCompareAndSetAsync(string key, string? code, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        for (var round = 0; round < MaxRounds; round++)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            string issue;
            byte[] stored;
            long expires, attempts, used;
            await using (var read = connection.Command(
                ReadSql,
                ("@s", _scope),
                ("@k", key)))
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    return CodeCheck.Invalid;
                }

                (issue, stored, expires, attempts, used) = (reader.GetString(0), (byte[])reader.GetValue(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
            }

            if (used != 0)
            {
                return CodeCheck.Invalid;
            }

            if (now > expires)
            {
                await using var remove = connection.Command(
                    DeleteIssueSql,
                    ("@s", _scope),
                    ("@k", key),
                    ("@i", issue));
                await remove.ExecuteNonQueryAsync(cancellationToken);
                return CodeCheck.Expired;
            }

            if (attempts >= MaxAttempts)
            {
                return CodeCheck.TooManyAttempts;
            }

            if (CryptographicOperations.FixedTimeEquals(Hmac(key, issue, code ?? string.Empty), stored))
            {
                // Consumed only if nobody consumed, re-issued or exhausted it since the read: exactly one node wins.
                await using var consume = connection.Command(
                    ConsumeSql,
                    ("@s", _scope),
                    ("@k", key),
                    ("@i", issue),
                    ("@max", (long)MaxAttempts),
                    ("@now", now));
                if (await consume.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    return CodeCheck.Valid;
                }

                continue; // changed meanwhile: decide on what is there now
            }

            // Counted only if the count is still the one read (compare and set): no attempt is lost or counted twice.
            var next = attempts + 1;
            await using var count = connection.Command(
                CountSql,
                ("@next", next),
                ("@s", _scope),
                ("@k", key),
                ("@i", issue),
                ("@seen", attempts));
            if (await count.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                return next >= MaxAttempts ? CodeCheck.TooManyAttempts : CodeCheck.Invalid;
            }
        }

        return CodeCheck.Invalid; // the row kept changing under this check: refuse rather than wait
    }

    /// <summary>Deletes this scope's codes whose expiry is more than one <see cref="Lifetime"/> before now.</summary>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns>The number of rows deleted.</returns>
    internal async Task<int> SweepAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        if (_db.GroupCommit is { } writes)
        {
            return await writes.RunAsync(
                tx =>
                {
                    using var remove = tx.Command(SweepSql, SweepParameters(now));
                    return remove.ExecuteNonQuery();
                },
                cancellationToken);
        }

        await using var connection = await _db.OpenAsync(cancellationToken);
        return await SweepAsync(connection, now, cancellationToken);
    }

    private async Task<int> SweepAsync(DbConnection connection, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var sweep = connection.Command(SweepSql, SweepParameters(now));
        return await sweep.ExecuteNonQueryAsync(cancellationToken);
    }

    private (string, object?)[] SweepParameters(DateTimeOffset now) => [("@s", _scope), ("@cutoff", (now - Lifetime).ToUnixTimeMilliseconds())];

    /// <summary>HMAC-SHA256 over the length-prefixed UTF-8 of scope, key, issue ID and code.</summary>
    private byte[] Hmac(string key, string issue, string code)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _hmacKey);
        var length = new byte[4];
        foreach (var part in new[] { _scope, key, issue, code })
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            hmac.AppendData(length);
            hmac.AppendData(bytes);
        }

        return hmac.GetHashAndReset();
    }
}
