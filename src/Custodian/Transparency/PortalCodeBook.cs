using System.Buffers.Binary;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Custodian.Access.Staff;
using Custodian.Storage;

namespace Custodian.Transparency;

/// <summary>
/// The portal's sign-in codes and their limits (docs/portal.md §1), held in the deployment's database (tables
/// <c>portal_signin_*</c>, migration <c>portal-003</c>) so that every API node sees the same codes and counts the same
/// limits: a code requested through one node is accepted once through any node, and the per-number and per-address
/// windows are the deployment's, not each node's. A restart keeps them.
/// </summary>
/// <remarks>
/// <para>Per number: at most <see cref="PortalSignIn.LiveCodesPerNumber"/> live codes, one per requesting source address
/// (an address's new code replaces its own previous one and no other); the sliding one-hour windows of code requests and
/// of failed checks, per number and per (number, address); per address (any number): the windows of requests and of
/// failed checks. Every limit is checked before any is counted.</para>
/// <para>Neither the number nor the code is stored. A number is keyed by HMAC-SHA256 of its E.164 form under a subkey of
/// the deployment's access-secret key (<see cref="SecretProtector.DeriveKey"/>, purpose <see cref="KeyPurpose"/>; every
/// node holds the same key file); a code by HMAC-SHA256 under the same subkey over the number's key, the address key, a
/// random issue ID and the code. The address key (<see cref="PortalSignIn.AddressKey"/>: IPv4, or IPv6 /64) is stored as
/// is, as the ledger stores source addresses (docs/ledger-format.md, field <c>ip</c>).</para>
/// <para>Each decision runs in one transaction that first locks the number's row and then the address's row (an
/// <c>INSERT … ON CONFLICT DO UPDATE</c> of each: on PostgreSQL a row lock held to the commit; on SQLite the transaction
/// is <c>BEGIN IMMEDIATE</c>, the database's write lock), then reads the windows and codes, decides, and writes. So two
/// nodes never both accept one code, and no window or attempt count is overrun by concurrent requests on any node: the
/// guessing bound of docs/portal.md holds for the deployment. The locks are always taken number first, then address, so
/// two decisions cannot deadlock.</para>
/// <para>Times come from the injected <see cref="TimeProvider"/>, kept to the millisecond (Unix milliseconds UTC). The
/// rows a decision reads are pruned by it (events that left the hour, expired codes); numbers and addresses with nothing
/// in the last hour and no live code are deleted by <c>SweepAsync</c>, run by a code request at most once a
/// minute per process. Thread-safe.</para>
/// </remarks>
internal sealed class PortalCodeBook
{
    /// <summary>The <see cref="SecretProtector.DeriveKey"/> purpose of the HMAC key: <c>portal-sign-in</c>.</summary>
    public const string KeyPurpose = "portal-sign-in";

    /// <summary>Event kind of a code request in <c>portal_signin_events</c>.</summary>
    internal const long RequestKind = 1;

    /// <summary>Event kind of a failed code check in <c>portal_signin_events</c>.</summary>
    internal const long FailureKind = 2;

    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private static readonly TimeSpan SweepEvery = TimeSpan.FromMinutes(1);

    private readonly CustodianDatabase _db;
    private readonly byte[] _hmacKey;
    private readonly TimeProvider _time;
    private long _lastSweepTicks;

    /// <summary>Creates a code book over the database's <c>portal_signin_*</c> tables.</summary>
    /// <param name="db">The deployment's database (migrated with <see cref="Portal.PortalMigrations"/>).</param>
    /// <param name="secrets">The deployment's access-secret key, from which the HMAC key is derived.</param>
    /// <param name="time">The clock for code expiry and the windows.</param>
    public PortalCodeBook(CustodianDatabase db, SecretProtector secrets, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(time);
        _db = db;
        _hmacKey = secrets.DeriveKey(KeyPurpose);
        _time = time;
    }

    /// <summary>The stored key of a number: lowercase hex of HMAC-SHA256 over <c>number|</c> and its E.164 form (64 characters).</summary>
    /// <param name="e164">The normalised number, e.g. <c>+821012345678</c>.</param>
    internal string NumberKey(string e164) => Convert.ToHexStringLower(Hmac("number", e164));

    /// <summary>
    /// Issues a code for <paramref name="e164"/> requested from <paramref name="address"/> if the per-number limits, the
    /// per-(number, address) limit, a free live-code slot and the per-address limit allow it; every limit is checked before
    /// any is counted, and nothing is counted when one refuses.
    /// </summary>
    /// <param name="e164">The normalised number.</param>
    /// <param name="address">The source address's key (<see cref="PortalSignIn.AddressKey"/>).</param>
    /// <param name="cancellationToken">Cancels the decision (nothing is written then).</param>
    /// <returns>The new code (to be sent, never stored) and its expiry; or null and, positive, the longest wait among the limits that refused.</returns>
    /// <exception cref="DbException">When the database cannot be read or written (the caller fails closed; nothing was issued).</exception>
    public async Task<((string Code, DateTimeOffset ExpiresAt)? Issued, TimeSpan RetryAfter)> RequestAsync(string e164, string address, CancellationToken cancellationToken)
    {
        var number = NumberKey(e164);
        var now = Now();
        await using var connection = await _db.OpenAsync(cancellationToken);
        (string, DateTimeOffset)? issued;
        TimeSpan wait;
        await using (var tx = await connection.BeginTransactionAsync(cancellationToken))
        {
            var state = await LockAndReadAsync(connection, tx, number, address, now, cancellationToken);
            wait = Longest(
                WindowWait(state.Events, RequestKind, null, PortalSignIn.CodesPerNumberPerHour, now),
                WindowWait(state.Events, RequestKind, address, PortalSignIn.CodesPerNumberAndAddressPerHour, now),
                SlotWait(state.Codes, address, now));
            wait = Longest(wait, await AddressWaitAsync(connection, tx, address, RequestKind, PortalSignIn.CodesPerAddressPerHour, now, cancellationToken));
            if (wait > TimeSpan.Zero)
            {
                await tx.RollbackAsync(cancellationToken);
                return (null, wait);
            }

            var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("000000", CultureInfo.InvariantCulture);
            var issue = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var expires = now + PortalSignIn.CodeLifetime;
            await RecordAsync(connection, tx, number, address, RequestKind, now, cancellationToken);
            await ExecuteAsync(
                connection,
                tx,
                """
                INSERT INTO portal_signin_codes (number_key, address_key, issue_id, code_hmac, expires_ms, attempts)
                VALUES (@n, @a, @i, @h, @e, 0)
                ON CONFLICT (number_key, address_key) DO UPDATE SET issue_id = excluded.issue_id, code_hmac = excluded.code_hmac,
                    expires_ms = excluded.expires_ms, attempts = 0
                """,
                cancellationToken,
                ("@n", number),
                ("@a", address),
                ("@i", issue),
                ("@h", CodeHmac(number, address, issue, code)),
                ("@e", expires.ToUnixTimeMilliseconds()));
            await tx.CommitAsync(cancellationToken);
            issued = (code, expires);
        }

        if (Timing.PeriodicClaim.TryClaim(ref _lastSweepTicks, now, SweepEvery))
        {
            await SweepAsync(connection, now, cancellationToken);
        }

        return (issued, TimeSpan.Zero);
    }

    /// <summary>
    /// Checks <paramref name="code"/> against every live code of <paramref name="e164"/> (constant-time compares, no early
    /// exit), unless the address's or the number's failed-check windows refuse the check. A match is consumed; a miss is
    /// counted on the number, on (number, address) and on the address, and charged to the code <paramref name="address"/>
    /// itself requested, if any, which is void after <see cref="PortalSignIn.AttemptsPerCode"/> misses. Codes other
    /// addresses requested are never charged.
    /// </summary>
    /// <param name="e164">The normalised number.</param>
    /// <param name="address">The source address's key.</param>
    /// <param name="code">The code given.</param>
    /// <param name="cancellationToken">Cancels the check (nothing is written then).</param>
    /// <returns>
    /// Matched true when a live code matched (it is now used up, on every node); false with a zero wait when none did (the
    /// miss was counted); false with a positive wait when a window refused the check (the longest wait among them; the
    /// address's window is checked first and alone).
    /// </returns>
    /// <exception cref="DbException">When the database cannot be read or written (the caller fails closed).</exception>
    public async Task<(bool Matched, TimeSpan RetryAfter)> VerifyAsync(string e164, string address, string code, CancellationToken cancellationToken)
    {
        var number = NumberKey(e164);
        var now = Now();
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var state = await LockAndReadAsync(connection, tx, number, address, now, cancellationToken);
        var wait = await AddressWaitAsync(connection, tx, address, FailureKind, PortalSignIn.FailedChecksPerAddressPerHour, now, cancellationToken);
        if (wait == TimeSpan.Zero)
        {
            wait = Longest(
                WindowWait(state.Events, FailureKind, null, PortalSignIn.FailedChecksPerNumberPerHour, now),
                WindowWait(state.Events, FailureKind, address, PortalSignIn.FailedChecksPerNumberAndAddressPerHour, now));
        }

        if (wait > TimeSpan.Zero)
        {
            await tx.RollbackAsync(cancellationToken);
            return (false, wait);
        }

        LiveCode? match = null;
        foreach (var live in state.Codes)
        {
            // No early exit: the work does not depend on which code matched, or whether one did.
            if (CryptographicOperations.FixedTimeEquals(CodeHmac(number, live.Address, live.Issue, code), live.Hmac))
            {
                match = live;
            }
        }

        if (match is not null)
        {
            await ExecuteAsync(connection, tx, "DELETE FROM portal_signin_codes WHERE number_key = @n AND address_key = @a", cancellationToken, ("@n", number), ("@a", match.Address));
            await tx.CommitAsync(cancellationToken);
            return (true, TimeSpan.Zero);
        }

        await RecordAsync(connection, tx, number, address, FailureKind, now, cancellationToken);
        if (state.Codes.Find(c => c.Address == address) is { } own)
        {
            await ExecuteAsync(
                connection,
                tx,
                own.Attempts + 1 >= PortalSignIn.AttemptsPerCode
                    ? "DELETE FROM portal_signin_codes WHERE number_key = @n AND address_key = @a"
                    : "UPDATE portal_signin_codes SET attempts = attempts + 1 WHERE number_key = @n AND address_key = @a",
                cancellationToken,
                ("@n", number),
                ("@a", address));
        }

        await tx.CommitAsync(cancellationToken);
        return (false, TimeSpan.Zero);
    }

    /// <summary>
    /// Deletes the numbers with nothing in the last hour and no live code (with their rows), then the addresses with nothing
    /// in the last hour. Also run by <see cref="RequestAsync"/>, at most once a minute per process.
    /// </summary>
    /// <param name="cancellationToken">Cancels the sweep.</param>
    /// <returns>The number of number and address rows deleted.</returns>
    internal async Task<int> SweepAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        return await SweepAsync(connection, Now(), cancellationToken);
    }

    private static async Task<int> SweepAsync(DbConnection connection, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        int deleted;

        // Numbers first, in one transaction: their rows stay locked until their events and codes are gone, so a decision
        // on such a number waits and then starts afresh. Addresses in a transaction of their own: a decision holding its
        // number waits for its address, so the sweep never holds both kinds at once (no deadlock).
        await using (var tx = await connection.BeginTransactionAsync(cancellationToken))
        {
            deleted = await ExecuteAsync(connection, tx, "DELETE FROM portal_signin_numbers WHERE quiet_ms <= @now", cancellationToken, ("@now", nowMs));
            await ExecuteAsync(connection, tx, "DELETE FROM portal_signin_events WHERE number_key NOT IN (SELECT number_key FROM portal_signin_numbers)", cancellationToken);
            await ExecuteAsync(connection, tx, "DELETE FROM portal_signin_codes WHERE number_key NOT IN (SELECT number_key FROM portal_signin_numbers)", cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        await using (var tx = await connection.BeginTransactionAsync(cancellationToken))
        {
            deleted += await ExecuteAsync(connection, tx, "DELETE FROM portal_signin_addresses WHERE quiet_ms <= @now", cancellationToken, ("@now", nowMs));
            await tx.CommitAsync(cancellationToken);
        }

        return deleted;
    }

    /// <summary>
    /// Locks the number's row, then the address's (creating them when missing), prunes the number's events that left the
    /// hour and its expired codes, and reads what is left.
    /// </summary>
    private static async Task<NumberState> LockAndReadAsync(DbConnection connection, DbTransaction tx, string number, string address, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await ExecuteAsync(
            connection,
            tx,
            "INSERT INTO portal_signin_numbers (number_key, quiet_ms) VALUES (@n, 0) ON CONFLICT (number_key) DO UPDATE SET quiet_ms = portal_signin_numbers.quiet_ms",
            cancellationToken,
            ("@n", number));
        await ExecuteAsync(
            connection,
            tx,
            "INSERT INTO portal_signin_addresses (address_key, quiet_ms) VALUES (@a, 0) ON CONFLICT (address_key) DO UPDATE SET quiet_ms = portal_signin_addresses.quiet_ms",
            cancellationToken,
            ("@a", address));
        var cutoff = (now - Window).ToUnixTimeMilliseconds();
        var nowMs = now.ToUnixTimeMilliseconds();
        await ExecuteAsync(connection, tx, "DELETE FROM portal_signin_events WHERE number_key = @n AND at_ms <= @cutoff", cancellationToken, ("@n", number), ("@cutoff", cutoff));
        await ExecuteAsync(connection, tx, "DELETE FROM portal_signin_codes WHERE number_key = @n AND expires_ms < @now", cancellationToken, ("@n", number), ("@now", nowMs));

        var events = new List<Event>();
        await using (var read = Command(connection, tx, "SELECT kind, address_key, at_ms FROM portal_signin_events WHERE number_key = @n ORDER BY at_ms", ("@n", number)))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                events.Add(new Event(reader.GetInt64(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
            }
        }

        var codes = new List<LiveCode>();
        await using (var read = Command(connection, tx, "SELECT address_key, issue_id, code_hmac, expires_ms, attempts FROM portal_signin_codes WHERE number_key = @n", ("@n", number)))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                codes.Add(new LiveCode(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), reader.GetInt64(4)));
            }
        }

        return new NumberState(events, codes);
    }

    /// <summary>
    /// The wait of the address's window of <paramref name="kind"/> events (any number): zero when fewer than
    /// <paramref name="perHour"/> are in the hour; else until the oldest that must leave does.
    /// </summary>
    private static async Task<TimeSpan> AddressWaitAsync(DbConnection connection, DbTransaction tx, string address, long kind, int perHour, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var read = Command(
            connection,
            tx,
            "SELECT at_ms FROM portal_signin_events WHERE address_key = @a AND kind = @k AND at_ms > @cutoff ORDER BY at_ms DESC LIMIT 1 OFFSET @o",
            ("@a", address),
            ("@k", kind),
            ("@cutoff", (now - Window).ToUnixTimeMilliseconds()),
            ("@o", (long)(perHour - 1)));
        return await read.ExecuteScalarAsync(cancellationToken) is { } at and not DBNull
            ? DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(at, CultureInfo.InvariantCulture)) + Window - now
            : TimeSpan.Zero;
    }

    /// <summary>Counts one event on the number, (number, address) and the address: both stay remembered for the hour.</summary>
    private static async Task RecordAsync(DbConnection connection, DbTransaction tx, string number, string address, long kind, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var quiet = (now + Window).ToUnixTimeMilliseconds();
        await ExecuteAsync(
            connection,
            tx,
            "INSERT INTO portal_signin_events (id, number_key, address_key, kind, at_ms) VALUES (@id, @n, @a, @k, @at)",
            cancellationToken,
            ("@id", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))),
            ("@n", number),
            ("@a", address),
            ("@k", kind),
            ("@at", now.ToUnixTimeMilliseconds()));
        await ExecuteAsync(connection, tx, "UPDATE portal_signin_numbers SET quiet_ms = CASE WHEN quiet_ms > @q THEN quiet_ms ELSE @q END WHERE number_key = @n", cancellationToken, ("@q", quiet), ("@n", number));
        await ExecuteAsync(connection, tx, "UPDATE portal_signin_addresses SET quiet_ms = CASE WHEN quiet_ms > @q THEN quiet_ms ELSE @q END WHERE address_key = @a", cancellationToken, ("@q", quiet), ("@a", address));
    }

    private static DbCommand Command(DbConnection connection, DbTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.Command(sql, parameters);
        command.Transaction = tx;
        return command;
    }

    private static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction tx, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, tx, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static TimeSpan Longest(TimeSpan a, TimeSpan b, TimeSpan c) => Longest(Longest(a, b), c);

    private static TimeSpan Longest(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// Zero when fewer than <paramref name="perHour"/> events of <paramref name="kind"/> (of <paramref name="address"/>, or
    /// of any address when null) are in the window; else the time until the oldest event that must leave does.
    /// </summary>
    private static TimeSpan WindowWait(List<Event> events, long kind, string? address, int perHour, DateTimeOffset now)
    {
        var times = events.Where(e => e.Kind == kind && (address is null || e.Address == address)).Select(e => e.At).ToList();
        return times.Count < perHour ? TimeSpan.Zero : times[times.Count - perHour] + Window - now;
    }

    /// <summary>
    /// Zero when <paramref name="address"/> holds a live code (the new one replaces it) or a slot is free; else the time
    /// until the first live code expires (a code is still accepted at its expiry instant, so one tick past it).
    /// </summary>
    private static TimeSpan SlotWait(List<LiveCode> codes, string address, DateTimeOffset now)
    {
        if (codes.Count < PortalSignIn.LiveCodesPerNumber || codes.Exists(c => c.Address == address))
        {
            return TimeSpan.Zero;
        }

        return codes.Min(c => c.ExpiresAt) + TimeSpan.FromTicks(1) - now;
    }

    /// <summary>The clock's time, to the millisecond (as stored).</summary>
    private DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());

    private byte[] CodeHmac(string number, string address, string issue, string code) => Hmac("code", number, address, issue, code);

    /// <summary>HMAC-SHA256 under the derived key over the length-prefixed UTF-8 of each part.</summary>
    private byte[] Hmac(params string[] parts)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _hmacKey);
        var length = new byte[4];
        foreach (var part in parts)
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            hmac.AppendData(length);
            hmac.AppendData(bytes);
        }

        return hmac.GetHashAndReset();
    }

    private sealed record Event(long Kind, string Address, DateTimeOffset At);

    private sealed record LiveCode(string Address, string Issue, byte[] Hmac, DateTimeOffset ExpiresAt, long Attempts);

    private sealed record NumberState(List<Event> Events, List<LiveCode> Codes);
}
