using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Custodian.Access.Internal;
using Custodian.Access.Sessions;
using Custodian.Identity;
using Custodian.Problems;
using Custodian.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OtpNet;

namespace Custodian.Access.Staff;

/// <summary>
/// Staff accounts (table <c>staff_accounts</c>): creation with a one-time password and a TOTP seed,
/// sign-in with password + TOTP, lockout, password change, and administration.
/// </summary>
/// <remarks>
/// <para>Passwords: PBKDF2-HMAC-SHA256 (<see cref="StaffOptions.PasswordIterations"/>, 600,000 by
/// default), compared in constant time; the KDF also runs for unknown accounts so response time does
/// not reveal which IDs exist. TOTP (RFC 6238, SHA-1, 6 digits, 30 s) with ±1 step tolerance and
/// replay protection: a time step that has been accepted once is refused afterwards, also under
/// concurrency. Seeds are encrypted at rest with <see cref="SecretProtector"/>, bound to the account ID.</para>
/// <para>Lockout (PIPA safety standard: lock after repeated authentication failures):
/// <see cref="StaffOptions.MaxFailedAttempts"/> consecutive failures (wrong password, wrong or reused
/// code) lock the account for <see cref="StaffOptions.LockoutDuration"/>; the attempt that reaches the
/// limit already answers <see cref="ErrorCodes.AccountLocked"/>. A count that has not locked starts afresh once
/// <see cref="StaffOptions.LockoutDuration"/> has passed since its last failure, and so does one whose lockout has run out.
/// Failures under a well-formed ID that names no account are counted and locked the same way, with the same limit,
/// lockout and unlock moment, in the deployment's database (table <c>staff_unknown_failures</c>, migration
/// <c>access-006</c>), so that neither a lockout nor its absence reveals which IDs exist, on any node, after a restart or
/// however many IDs are tried. The row is keyed by HMAC-SHA256 of the ID under a subkey derived from the access-secret key
/// (<see cref="SecretProtector.DeriveKey"/>, purpose <see cref="UnknownIdKeyPurpose"/>), never the ID itself: a clerk may
/// type a phone number into the ID box. Each failure is counted by one atomic upsert, so failures from several nodes at
/// once count exactly. Rows that no longer count (lockout run out, or last failure at least one lockout duration ago) are
/// deleted by a failed sign-in, at most once a minute per process and at most <see cref="UnknownSweepBatch"/> rows at a
/// time (docs/storage.md, "Staff sign-in failures"). A database that cannot be read or written fails the sign-in with
/// the <see cref="DbException"/> of the read, as for an account. Thread-safe.</para>
/// <para>The directory does not write the access-rights change record (PIPA: keep 3 years); the
/// caller, who knows the acting officer, records each create/disable/unlock/reset in the ledger.</para>
/// </remarks>
public sealed class StaffDirectory
{
    /// <summary>Length of generated one-time passwords, in characters.</summary>
    public const int OneTimePasswordLength = 16;

    /// <summary>Length of generated TOTP seeds, in bytes (160 bits, RFC 4226 §4).</summary>
    public const int TotpSecretLength = 20;

    /// <summary>Characters of one-time passwords: letters and digits without look-alikes (0/O, 1/l/I).</summary>
    private const string OneTimePasswordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    /// <summary>The <see cref="SecretProtector.DeriveKey"/> purpose of the key under which IDs that name no account are
    /// hashed for <c>staff_unknown_failures</c>: <c>staff-unknown-ids</c>.</summary>
    public const string UnknownIdKeyPurpose = "staff-unknown-ids";

    /// <summary>Most rows of <c>staff_unknown_failures</c> one sweep deletes: 10,000.</summary>
    public const int UnknownSweepBatch = 10_000;

    /// <summary>How often a process sweeps <c>staff_unknown_failures</c>: at most once a minute.</summary>
    public static readonly TimeSpan UnknownSweepEvery = TimeSpan.FromMinutes(1);

    private const string ReadUnknownSql = "SELECT locked_until_ms FROM staff_unknown_failures WHERE id_hmac = @k";

    // One atomic statement per failure (SQLite: the statement's write transaction; PostgreSQL: the upsert's row lock), so
    // failures from several nodes at once are all counted. A row whose lockout has run out, or whose count did not lock
    // and whose last failure is at least one lockout duration old, counts from 1 again, as an account's does.
    private const string CountUnknownSql =
        """
        INSERT INTO staff_unknown_failures AS f (id_hmac, failed_attempts, locked_until_ms, last_failed_ms)
        VALUES (@k, 1, CASE WHEN 1 >= @max THEN @until ELSE NULL END, @now)
        ON CONFLICT (id_hmac) DO UPDATE SET
            failed_attempts = CASE WHEN f.locked_until_ms <= @now OR (f.locked_until_ms IS NULL AND f.last_failed_ms <= @stale) THEN 1 ELSE f.failed_attempts + 1 END,
            locked_until_ms = CASE
                WHEN (CASE WHEN f.locked_until_ms <= @now OR (f.locked_until_ms IS NULL AND f.last_failed_ms <= @stale) THEN 1 ELSE f.failed_attempts + 1 END) >= @max THEN @until
                WHEN f.locked_until_ms <= @now THEN NULL
                ELSE f.locked_until_ms END,
            last_failed_ms = @now
        RETURNING failed_attempts, locked_until_ms
        """;

    // The rows that count no more: deleting one changes no answer (the next failure would count from 1 anyway).
    private const string SweepUnknownSql =
        """
        DELETE FROM staff_unknown_failures WHERE id_hmac IN (
            SELECT id_hmac FROM staff_unknown_failures
            WHERE locked_until_ms <= @now OR (locked_until_ms IS NULL AND last_failed_ms <= @stale)
            LIMIT @batch)
        """;

    // Part of every UPDATE that ends an account's sessions (disable, re-enable, credential reset, role/store change): sessions
    // opened before @now no longer count. Never moves back (a node whose clock is behind does not revive older sessions).
    private const string EndSessionsSql = "sessions_from_ms = CASE WHEN sessions_from_ms > @now THEN sessions_from_ms ELSE @now END";

    // PostgreSQL: taken (transaction-scoped) before every statement that checks KeepsAnOfficerSql and may disable or demote
    // an officer, so that such statements run one at a time. Under READ COMMITTED two of them for the last two officers
    // would otherwise each see the other still active and both pass. Key: 0x4F464352 ("OFCR") and the schema's hash, so
    // deployments in different schemas of one database do not wait for each other. SQLite needs no lock: a single UPDATE
    // takes the file's one write lock before it reads anything, so such statements already run one at a time.
    private const string OfficerLockSql = "SELECT pg_advisory_xact_lock(1329996626, hashtext(current_schema()))";

    // An account that is not an active security officer, or one of several: disabling or demoting it leaves an officer.
    private const string KeepsAnOfficerSql =
        "(role <> 'security-officer' OR status <> 'active' OR EXISTS (SELECT 1 FROM staff_accounts o WHERE o.role = 'security-officer' AND o.status = 'active' AND o.id <> @id))";

    private const string SelectAccount =
        """
        SELECT id, role, store, status, password_hash, must_change_password, totp_secret, totp_last_step,
               failed_attempts, locked_until_ms, created_ms, last_sign_in_ms
        FROM staff_accounts
        """;

    private readonly CustodianDatabase _db;
    private readonly SecretProtector _secrets;
    private readonly TimeProvider _time;
    private readonly StaffOptions _options;
    private readonly ILogger _logger;
    private readonly Lazy<string> _dummyHash;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Standing> _standing = new(StringComparer.Ordinal);
    private readonly byte[] _unknownIdKey;
    private long _lastUnknownSweepTicks;
    private readonly IListedStoreCodes? _listedStores;

    /// <summary>Creates the directory. Apply <see cref="AccessMigrations"/> to <paramref name="db"/> first.</summary>
    /// <param name="db">The database holding <c>staff_accounts</c>.</param>
    /// <param name="secrets">Protects TOTP seeds at rest; the key of the HMAC of unknown IDs is derived from it (the same
    /// access-secret key on every node of a deployment).</param>
    /// <param name="time">Clock for TOTP, lockouts and timestamps.</param>
    /// <param name="options">Settings.</param>
    /// <param name="logger">Logger; null for none.</param>
    /// <param name="listedStores">The host's store list, whose spellings an account's store must follow; null for none.</param>
    /// <exception cref="OptionsValidationException">When <paramref name="options"/> are out of range.</exception>
    public StaffDirectory(CustodianDatabase db, SecretProtector secrets, TimeProvider time, StaffOptions options, ILogger<StaffDirectory>? logger = null, IListedStoreCodes? listedStores = null)
    {
        _listedStores = listedStores;
        _db = db ?? throw new ArgumentNullException(nameof(db));
        _secrets = secrets ?? throw new ArgumentNullException(nameof(secrets));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        var validation = new StaffOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(StaffOptions), typeof(StaffOptions), validation.Failures);
        }

        _logger = logger ?? (ILogger)NullLogger.Instance;
        _unknownIdKey = secrets.DeriveKey(UnknownIdKeyPurpose);
        _dummyHash = new Lazy<string>(() => PasswordHasher.Hash(RandomNumberGenerator.GetHexString(32), _options.PasswordIterations));
    }

    /// <summary>
    /// Creates an account with a random 16-character one-time password (to be changed at first sign-in)
    /// and a random 20-byte TOTP seed, and returns both exactly once.
    /// </summary>
    /// <param name="id">Account ID (<see cref="Codes"/>); one account per person (PIPA safety standard).</param>
    /// <param name="role">Role.</param>
    /// <param name="store">Store code: required for clerks and store managers; optional for officers.</param>
    /// <returns>The credentials, or <see cref="ErrorCodes.ValidationFailed"/> (400) for an ID, role or store that
    /// breaks <see cref="StaffAccountRules.CheckNewAccount"/> or a store that differs only in letter case from one in use
    /// (<see cref="CheckStoreInUseAsync"/>), or <see cref="AccessErrorCodes.AccountExists"/> (409).</returns>
    public async Task<Result<NewAccount>> CreateAsync(string id, StaffRole role, string? store)
    {
        if (StaffAccountRules.CheckNewAccount(id, role, store) is { } invalid)
        {
            return AccessErrors.Validation(invalid.Field, invalid.Rule);
        }

        await using var connection = await _db.OpenAsync();
        if (store is not null && await StoreCodesInUse.FindCaseVariantAsync(connection, store, listed: _listedStores) is { } inUse)
        {
            return AccessErrors.Validation("store", StaffAccountRules.StoreCaseRule(inUse));
        }

        var roleName = role.ToName();
        var (credentials, passwordHash, protectedSeed) = NewCredentials(id);
        await using var insert = connection.Command(
            """
            INSERT INTO staff_accounts (id, role, store, status, password_hash, must_change_password, totp_secret,
                                        totp_last_step, failed_attempts, locked_until_ms, created_ms, last_sign_in_ms)
            VALUES (@id, @role, @store, 'active', @hash, 1, @seed, NULL, 0, NULL, @now, NULL)
            ON CONFLICT (id) DO NOTHING
            """,
            ("@id", id),
            ("@role", roleName),
            ("@store", store),
            ("@hash", passwordHash),
            ("@seed", protectedSeed),
            ("@now", UnixMs.From(_time.GetUtcNow())));
        if (await insert.ExecuteNonQueryAsync() == 0)
        {
            return new CustodianError(AccessErrorCodes.AccountExists, 409, "A staff account with this ID already exists.");
        }

        Log.AccountCreated(_logger, id, roleName);
        return credentials;
    }

    /// <summary>
    /// Signs a staff member in with password and current TOTP code.
    /// </summary>
    /// <param name="id">Account ID.</param>
    /// <param name="password">Password (or the one-time password).</param>
    /// <param name="totpCode">Current 6-digit TOTP code.</param>
    /// <returns>The principal (check <see cref="StaffPrincipal.MustChangePassword"/>), or
    /// <see cref="ErrorCodes.InvalidCredentials"/> (401; unknown account, wrong password, wrong or reused code —
    /// the same message for all), <see cref="ErrorCodes.AccountLocked"/> (423) or
    /// <see cref="ErrorCodes.AccountDisabled"/> (403; only once the credentials are right).</returns>
    public async Task<Result<StaffPrincipal>> AuthenticateAsync(string id, string password, string totpCode)
    {
        await using var connection = await _db.OpenAsync();
        var verified = await VerifyAsync(connection, id, password, totpCode, signIn: true);
        if (!verified.IsSuccess)
        {
            return verified.Error!;
        }

        var account = verified.Value;
        Log.Authenticated(_logger, account.Id);
        return new StaffPrincipal(account.Id, account.Role, account.Store, account.MustChangePassword);
    }

    /// <summary>
    /// Changes a password, proving the current one and a fresh TOTP code (which counts like a sign-in
    /// towards lockout and replay protection). Clears the must-change flag. Every session of the account opened before the
    /// change ends on every node (column <c>sessions_from_ms</c>, set in the statement that stores the new password and
    /// compared by <see cref="GetStandingAsync"/>) — except <paramref name="keepSession"/>, the session that made the change,
    /// whose <see cref="StaffSession.SignedInAt"/> moves forward to that moment. The caller also ends the others in its own
    /// process (<see cref="SessionStore.RevokeAccount(string, StaffSession?)"/>). A first-login change has no session to keep
    /// and signs no one out: sign-in is refused until the one-time password is changed, and a sign-in after the change
    /// counts (docs/access.md §6.4).
    /// </summary>
    /// <param name="id">Account ID.</param>
    /// <param name="currentPassword">Current (or one-time) password.</param>
    /// <param name="newPassword">New password; see <see cref="PasswordPolicy"/> (NIST SP 800-63B §5.1.1.2: 12–128 characters, not containing the account ID, not equal to the current one).</param>
    /// <param name="totpCode">Current TOTP code.</param>
    /// <param name="recordFirst">The grant record (the caller's ledger append), awaited once the current password and the
    /// TOTP code are proven and before the new password is stored; when it throws (e.g. <c>LedgerUnavailableException</c>)
    /// the password is unchanged and the exception propagates (fail closed; the TOTP code is spent, so a retry needs the
    /// next one). Null records nothing.</param>
    /// <param name="keepSession">The session of this account, on this terminal, that asks for the change and goes on after
    /// it; the caller passes it only while its standing holds (the gateway's per-request check). Null (the default) ends
    /// every session of the account.</param>
    /// <returns>True, or <see cref="ErrorCodes.PasswordPolicy"/> (400, with the broken rules under
    /// <c>newPassword</c>; checked first, consuming nothing), or the errors of <see cref="AuthenticateAsync"/>; on an error
    /// no session ends.</returns>
    /// <exception cref="ArgumentException">When <paramref name="keepSession"/> belongs to another account.</exception>
    public async Task<Result<bool>> ChangePasswordAsync(string id, string currentPassword, string newPassword, string totpCode, Func<Task>? recordFirst = null, StaffSession? keepSession = null)
    {
        if (keepSession is not null && !string.Equals(keepSession.Principal.Id, id, StringComparison.Ordinal))
        {
            throw new ArgumentException("The session to keep belongs to another account.", nameof(keepSession));
        }

        ArgumentNullException.ThrowIfNull(newPassword);
        var broken = PasswordPolicy.Check(id ?? string.Empty, newPassword, currentPassword);
        if (broken.Count > 0)
        {
            return new CustodianError(ErrorCodes.PasswordPolicy, 400, "newPassword: " + string.Join("; ", broken) + " (NIST SP 800-63B §5.1.1.2).")
            {
                Errors = new Dictionary<string, string[]>(StringComparer.Ordinal) { ["newPassword"] = [.. broken] },
            };
        }

        await using var connection = await _db.OpenAsync();
        var verified = await VerifyAsync(connection, id!, currentPassword, totpCode, signIn: false);
        if (!verified.IsSuccess)
        {
            return verified.Error!;
        }

        if (recordFirst is not null)
        {
            await recordFirst();
        }

        // The kept session moves forward first, so no per-request check sees it before the change it made.
        var hash = PasswordHasher.Hash(newPassword, _options.PasswordIterations);
        var now = UnixMs.From(_time.GetUtcNow());
        keepSession?.Reauthenticated(UnixMs.To(now));
        await using var update = connection.Command(
            $"UPDATE staff_accounts SET password_hash = @hash, must_change_password = 0, {EndSessionsSql} WHERE id = @id RETURNING sessions_from_ms",
            ("@hash", hash),
            ("@now", now),
            ("@id", id));
        if (await update.ExecuteScalarAsync() is { } sessionsFrom and not DBNull)
        {
            // Later than now only when another node's clock is ahead: the kept session follows it.
            keepSession?.Reauthenticated(UnixMs.To(Convert.ToInt64(sessionsFrom, System.Globalization.CultureInfo.InvariantCulture)));
        }

        _standing.TryRemove(id!, out _);
        Log.PasswordChanged(_logger, id!);
        return true;
    }

    /// <summary>
    /// Disables an account: it can no longer sign in, and every session opened before now ends on every node, also once
    /// the account is re-enabled (column <c>sessions_from_ms</c>, compared by <see cref="GetStandingAsync"/>). The caller
    /// also ends its sessions in its own process (<c>SessionStore.RevokeAccount</c>).
    /// </summary>
    /// <returns>True when the account existed and was active.</returns>
    public async Task<bool> DisableAsync(string id) =>
        (await SetStatusAsync(id, "disabled", keepAnOfficer: false)).Value;

    /// <summary>
    /// As <see cref="DisableAsync"/>, but refuses to disable the last active security officer (for the operator's
    /// <c>staff disable</c> and the HR feed; docs/access.md §6): no one could then use the console or approve four-eyes
    /// actions. The check and the change are one statement.
    /// </summary>
    /// <param name="id">Account ID.</param>
    /// <returns>True when the account existed and was active and is now disabled; false when it does not exist or was
    /// disabled already; or <see cref="ErrorCodes.ValidationFailed"/> (400) under field <c>status</c> with
    /// <see cref="StaffAccountRules.LastOfficerRule"/> when it is the only active security officer (nothing changed).</returns>
    public Task<Result<bool>> DisableKeepingAnOfficerAsync(string id) =>
        SetStatusAsync(id, "disabled", keepAnOfficer: true);

    /// <summary>
    /// Re-enables a disabled account. Sessions opened before now stay ended (column <c>sessions_from_ms</c>): the person
    /// signs in afresh.
    /// </summary>
    /// <returns>True when the account existed and was disabled.</returns>
    public async Task<bool> EnableAsync(string id) =>
        (await SetStatusAsync(id, "active", keepAnOfficer: false)).Value;

    /// <summary>Ends a lockout early and clears the failure count.</summary>
    /// <returns>True when the account exists.</returns>
    public async Task<bool> UnlockAsync(string id)
    {
        if (!Codes.IsValid(id))
        {
            return false;
        }

        await using var connection = await _db.OpenAsync();
        await using var update = connection.Command(
            "UPDATE staff_accounts SET failed_attempts = 0, locked_until_ms = NULL WHERE id = @id", ("@id", id));
        var changed = await update.ExecuteNonQueryAsync() > 0;
        if (changed)
        {
            Log.Unlocked(_logger, id);
        }

        return changed;
    }

    /// <summary>
    /// Replaces an account's password and TOTP seed with fresh ones (lost phone, forgotten password) and
    /// unlocks it; the new password must be changed at the next sign-in. Every session opened before now ends on every node
    /// (column <c>sessions_from_ms</c>, compared by <see cref="GetStandingAsync"/>); the caller also ends them in its own process.
    /// </summary>
    /// <returns>The new credentials (shown once), or <see cref="ErrorCodes.NotFound"/> (404).</returns>
    public async Task<Result<NewAccount>> ResetCredentialsAsync(string id)
    {
        if (!Codes.IsValid(id))
        {
            return new CustodianError(ErrorCodes.NotFound, 404, "No staff account has this ID.");
        }

        var (credentials, passwordHash, protectedSeed) = NewCredentials(id);
        await using var connection = await _db.OpenAsync();
        await using var update = connection.Command(
            $"""
            UPDATE staff_accounts SET password_hash = @hash, must_change_password = 1, totp_secret = @seed,
                totp_last_step = NULL, failed_attempts = 0, locked_until_ms = NULL, {EndSessionsSql}
            WHERE id = @id
            """,
            ("@hash", passwordHash),
            ("@seed", protectedSeed),
            ("@now", UnixMs.From(_time.GetUtcNow())),
            ("@id", id));
        if (await update.ExecuteNonQueryAsync() == 0)
        {
            return new CustodianError(ErrorCodes.NotFound, 404, "No staff account has this ID.");
        }

        Log.CredentialsReset(_logger, id);
        return credentials;
    }

    /// <summary>
    /// Checks a store code against the store codes in use (enrolled terminals' and accounts'), as <see cref="CreateAsync"/>
    /// and <see cref="ChangeRoleAndStoreAsync"/> do: one that differs from a code in use only in letter case is refused
    /// (<see cref="StaffAccountRules.StoreCaseRule"/>). For callers that check rows before applying any (the HR feed).
    /// </summary>
    /// <param name="store">A well-formed store code (<see cref="StaffAccountRules.CheckRoleAndStore"/>), or null.</param>
    /// <param name="account">The account that would get the store: its own current store is not counted.</param>
    /// <returns>Null when the code may be used, else the broken rule under field <c>store</c>.</returns>
    public async Task<StaffFieldError?> CheckStoreInUseAsync(string? store, string? account)
    {
        if (store is null || !Codes.IsValid(store))
        {
            return null;
        }

        await using var connection = await _db.OpenAsync();
        return await StoreCodesInUse.FindCaseVariantAsync(connection, store, account, _listedStores) is { } inUse
            ? new StaffFieldError("store", StaffAccountRules.StoreCaseRule(inUse))
            : null;
    }

    /// <summary>
    /// Moves an account to another role and/or store (an HR "mover"). The caller closes the account's sessions and
    /// records the change; every session opened before the change is also refused by the gateway on every node, which
    /// compares it with the account (<see cref="GetStandingAsync"/>, column <c>sessions_from_ms</c>), also if the account
    /// later gets its old role and store back.
    /// </summary>
    /// <param name="id">Account ID.</param>
    /// <param name="role">New role.</param>
    /// <param name="store">New store: required for clerks and store managers.</param>
    /// <param name="keepAnOfficer">True (the HR feed) to refuse moving the last active security officer to another role;
    /// checked in the statement that makes the change.</param>
    /// <returns>True when the account existed and changed; false when it does not exist or already had these values;
    /// or <see cref="ErrorCodes.ValidationFailed"/> (400) for a malformed role or store, a store that differs only in
    /// letter case from one in use (<see cref="CheckStoreInUseAsync"/>), or (field <c>role</c>,
    /// <see cref="StaffAccountRules.LastOfficerRule"/>) the last active security officer moved to another role when
    /// <paramref name="keepAnOfficer"/> is true.</returns>
    public async Task<Result<bool>> ChangeRoleAndStoreAsync(string id, StaffRole role, string? store, bool keepAnOfficer = false)
    {
        if (StaffAccountRules.CheckRoleAndStore(role, store) is { } invalid)
        {
            return AccessErrors.Validation(invalid.Field, invalid.Rule);
        }

        if (!Codes.IsValid(id))
        {
            return false;
        }

        await using var connection = await _db.OpenAsync();
        if (store is not null && await StoreCodesInUse.FindCaseVariantAsync(connection, store, exceptAccount: id, listed: _listedStores) is { } inUse)
        {
            return AccessErrors.Validation("store", StaffAccountRules.StoreCaseRule(inUse));
        }

        var guarded = keepAnOfficer && role != StaffRole.SecurityOfficer;
        await using var tx = guarded ? await BeginOfficerChangeAsync(connection) : null;
        var guard = guarded ? " AND " + KeepsAnOfficerSql : string.Empty;
        await using var update = Command(connection, tx,
            $"UPDATE staff_accounts SET role = @role, store = @store, {EndSessionsSql} WHERE id = @id AND (role <> @role OR COALESCE(store, '') <> COALESCE(@store, '')){guard}",
            ("@role", role.ToName()),
            ("@store", store),
            ("@now", UnixMs.From(_time.GetUtcNow())),
            ("@id", id));
        var changed = await update.ExecuteNonQueryAsync() > 0;
        var lastOfficer = !changed && guarded && await IsLastActiveOfficerAsync(connection, tx, id);
        if (tx is not null)
        {
            await tx.CommitAsync();
        }

        if (changed)
        {
            Log.StatusChanged(_logger, id, "role or store changed");
            return true;
        }

        return lastOfficer ? AccessErrors.Validation("role", StaffAccountRules.LastOfficerRule) : false;
    }

    /// <summary>
    /// Whether an account may still act as <paramref name="principal"/> said when its session was opened: it exists, is
    /// active, has the same role and store, and has not been disabled, re-enabled, reset or moved since
    /// <paramref name="openedAt"/> (column <c>sessions_from_ms</c>: a session opened before it never counts again, even
    /// once the account is re-enabled or moved back). Answers from a cache at most <see cref="StandingRecheckInterval"/>
    /// old, so that a leaver or mover recorded by another process (the CLI, the HR import) loses its sessions within a
    /// second on every node. Nodes' clocks are assumed synchronised (to well under a second).
    /// </summary>
    /// <param name="principal">The principal of an open session.</param>
    /// <param name="openedAt">When the session's credentials were checked (<see cref="Sessions.StaffSession.SignedInAt"/>), UTC; compared in whole milliseconds.</param>
    /// <returns>True while the session's standing holds.</returns>
    /// <exception cref="DbException">When the account cannot be read.</exception>
    public async ValueTask<bool> GetStandingAsync(StaffPrincipal principal, DateTimeOffset openedAt)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (!_standing.TryGetValue(principal.Id, out var cached) || _time.GetElapsedTime(cached.ReadAt) >= StandingRecheckInterval)
        {
            var readAt = _time.GetTimestamp();
            await using var connection = await _db.OpenAsync();
            await using var read = connection.Command("SELECT role, store, status, sessions_from_ms FROM staff_accounts WHERE id = @id", ("@id", principal.Id));
            await using var reader = await read.ExecuteReaderAsync();
            (StaffRole, string?)? current = null;
            var sessionsFrom = long.MaxValue;
            if (await reader.ReadAsync() && reader.GetString(2) == "active" && StaffRoles.TryParse(reader.GetString(0), out var role))
            {
                current = (role, reader.IsDBNull(1) ? null : reader.GetString(1));
                sessionsFrom = reader.GetInt64(3);
            }

            cached = new Standing(readAt, current, sessionsFrom);
            if (_standing.Count >= 100_000)
            {
                _standing.Clear();
            }

            _standing[principal.Id] = cached;
        }

        return cached.RoleAndStore is { } now && now.Role == principal.Role && string.Equals(now.Store, principal.Store, StringComparison.Ordinal)
            && UnixMs.From(openedAt) >= cached.SessionsFrom;
    }

    /// <summary>Longest age of a cached <see cref="GetStandingAsync"/> answer: 1 second.</summary>
    public static readonly TimeSpan StandingRecheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Disables every active account that has not signed in for <paramref name="dormantAfter"/> (counting from creation
    /// when it never signed in). PIPA safety standard: access rights of people who no longer use them are revoked.
    /// An active security officer whose disabling would leave no active security officer is kept (the check of
    /// <see cref="DisableKeepingAnOfficerAsync"/>, in the statement that disables, under the same lock on PostgreSQL) and
    /// logged (event 3312, the account ID only), once per run; dormant officers are visited longest-idle first, so the one
    /// kept is the one that signed in last (docs/access.md §6.2).
    /// </summary>
    /// <param name="dormantAfter">The dormancy period; at least 1 day.</param>
    /// <returns>The IDs disabled, ordered.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="dormantAfter"/> is under 1 day.</exception>
    public async Task<IReadOnlyList<string>> DisableDormantAsync(TimeSpan dormantAfter) => (await DisableDormantRunAsync(dormantAfter)).Disabled;

    /// <summary>
    /// <see cref="DisableDormantAsync"/>, also telling which dormant security officer was kept because it is the last
    /// active one (the account logged as event 3312).
    /// </summary>
    /// <param name="dormantAfter">The dormancy period; at least 1 day.</param>
    /// <returns>The IDs disabled, ordered (ordinal), and the ID of the officer kept, or null when none was.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="dormantAfter"/> is under 1 day.</exception>
    public async Task<DormantRun> DisableDormantRunAsync(TimeSpan dormantAfter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dormantAfter, TimeSpan.FromDays(1));
        var cutoff = UnixMs.From(_time.GetUtcNow() - dormantAfter);
        var dormant = new List<(string Id, bool Officer)>();
        await using var connection = await _db.OpenAsync();
        await using (var find = connection.Command(
            "SELECT id, role FROM staff_accounts WHERE status = 'active' AND COALESCE(last_sign_in_ms, created_ms) < @cutoff ORDER BY COALESCE(last_sign_in_ms, created_ms), id",
            ("@cutoff", cutoff)))
        await using (var reader = await find.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                dormant.Add((reader.GetString(0), reader.GetString(1) == StaffRole.SecurityOfficer.ToName()));
            }
        }

        var disabled = new List<string>();
        string? kept = null;
        foreach (var (id, officer) in dormant)
        {
            await using var tx = officer ? await BeginOfficerChangeAsync(connection) : null;
            await using var update = Command(connection, tx,
                $"UPDATE staff_accounts SET status = 'disabled', {EndSessionsSql} WHERE id = @id AND status = 'active' AND COALESCE(last_sign_in_ms, created_ms) < @cutoff AND {KeepsAnOfficerSql}",
                ("@id", id),
                ("@now", UnixMs.From(_time.GetUtcNow())),
                ("@cutoff", cutoff));
            var changed = await update.ExecuteNonQueryAsync() > 0;
            var lastOfficer = !changed && officer && await IsLastActiveOfficerAsync(connection, tx, id);
            if (tx is not null)
            {
                await tx.CommitAsync();
            }

            if (changed)
            {
                Log.StatusChanged(_logger, id, "disabled (dormant)");
                disabled.Add(id);
            }
            else if (lastOfficer)
            {
                Log.DormantLastOfficerKept(_logger, id);
                kept = id;
            }
        }

        disabled.Sort(StringComparer.Ordinal);
        return new DormantRun(disabled, kept);
    }

    /// <summary>One account, or null when there is none with this ID.</summary>
    public async Task<StaffAccountInfo?> GetAsync(string id)
    {
        if (!Codes.IsValid(id))
        {
            return null;
        }

        await using var connection = await _db.OpenAsync();
        var row = await ReadAsync(connection, id);
        return row?.ToInfo();
    }

    /// <summary>All accounts, ordered by ID.</summary>
    public async Task<IReadOnlyList<StaffAccountInfo>> ListAsync()
    {
        await using var connection = await _db.OpenAsync();
        await using var command = connection.Command(SelectAccount + " ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync();
        var list = new List<StaffAccountInfo>();
        while (await reader.ReadAsync())
        {
            list.Add(ReadRow(reader).ToInfo());
        }

        return list;
    }

    private sealed record Standing(long ReadAt, (StaffRole Role, string? Store)? RoleAndStore, long SessionsFrom);

    private static byte[] SeedBinding(string id) => Encoding.UTF8.GetBytes("custodian/staff-totp/" + id);

    private (NewAccount Credentials, string PasswordHash, byte[] ProtectedSeed) NewCredentials(string id)
    {
        var password = RandomNumberGenerator.GetString(OneTimePasswordAlphabet, OneTimePasswordLength);
        var seed = RandomNumberGenerator.GetBytes(TotpSecretLength);
        try
        {
            var base32 = Base32Encoding.ToString(seed).TrimEnd('=');
            var uri = new OtpUri(OtpType.Totp, base32, id, _options.TotpIssuer, OtpHashMode.Sha1, TotpCodes.Digits, TotpCodes.StepSeconds).ToString();
            return (new NewAccount(id, password, base32, uri), PasswordHasher.Hash(password, _options.PasswordIterations), _secrets.Protect(seed, SeedBinding(id)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private async Task<Result<bool>> SetStatusAsync(string id, string status, bool keepAnOfficer)
    {
        if (!Codes.IsValid(id))
        {
            return false;
        }

        await using var connection = await _db.OpenAsync();
        await using var tx = keepAnOfficer ? await BeginOfficerChangeAsync(connection) : null;
        var guard = keepAnOfficer ? " AND " + KeepsAnOfficerSql : string.Empty;
        await using var update = Command(connection, tx,
            $"UPDATE staff_accounts SET status = @status, {EndSessionsSql} WHERE id = @id AND status <> @status{guard}",
            ("@status", status),
            ("@now", UnixMs.From(_time.GetUtcNow())),
            ("@id", id));
        var changed = await update.ExecuteNonQueryAsync() > 0;
        var lastOfficer = !changed && keepAnOfficer && await IsLastActiveOfficerAsync(connection, tx, id);
        if (tx is not null)
        {
            await tx.CommitAsync();
        }

        if (changed)
        {
            Log.StatusChanged(_logger, id, status);
            return true;
        }

        return lastOfficer ? AccessErrors.Validation("status", StaffAccountRules.LastOfficerRule) : false;
    }

    /// <summary>
    /// PostgreSQL: begins the transaction in which a statement guarded by <c>KeepsAnOfficerSql</c> runs, holding the
    /// officers' advisory lock (<c>OfficerLockSql</c>) until it ends. SQLite: null (the statement alone is atomic).
    /// </summary>
    private async Task<DbTransaction?> BeginOfficerChangeAsync(DbConnection connection)
    {
        if (_db.IsSqlite)
        {
            return null;
        }

        var tx = await connection.BeginTransactionAsync();
        try
        {
            await using var take = tx.Command(OfficerLockSql);
            await take.ExecuteNonQueryAsync();
            return tx;
        }
        catch
        {
            await tx.DisposeAsync();
            throw;
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters) =>
        tx is null ? connection.Command(sql, parameters) : tx.Command(sql, parameters);

    /// <summary>Whether <paramref name="id"/> is an active security officer and no other account is.</summary>
    private static async Task<bool> IsLastActiveOfficerAsync(DbConnection connection, DbTransaction? tx, string id)
    {
        await using var last = Command(connection, tx,
            $"SELECT COUNT(*) FROM staff_accounts WHERE id = @id AND role = 'security-officer' AND status = 'active' AND NOT {KeepsAnOfficerSql}", ("@id", id));
        return Convert.ToInt64(await last.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>The checks shared by sign-in and password change; on success the TOTP step is claimed and failures reset.</summary>
    private async Task<Result<AccountRow>> VerifyAsync(DbConnection connection, string id, string password, string totpCode, bool signIn)
    {
        var now = _time.GetUtcNow();
        var account = Codes.IsValid(id) ? await ReadAsync(connection, id) : null;
        if (account is null)
        {
            // Same work and the same answers as for a real account, so neither timing nor a lockout tells which IDs exist.
            var key = Codes.IsValid(id) ? UnknownIdHmac(id) : null;
            if (key is not null && await UnknownLockedUntilAsync(connection, key, now) is { } unknownLockedUntil)
            {
                return AccessErrors.AccountLocked(unknownLockedUntil);
            }

            PasswordHasher.Verify(password ?? string.Empty, _dummyHash.Value, out _);
            Log.UnknownAccount(_logger);
            return key is not null ? await RecordUnknownFailureAsync(connection, key, now) : AccessErrors.InvalidCredentials;
        }

        if (account.LockedUntil is { } lockedUntil)
        {
            if (lockedUntil > now)
            {
                return AccessErrors.AccountLocked(lockedUntil);
            }

            // The lockout has run out: start counting afresh.
            await using var reset = connection.Command(
                "UPDATE staff_accounts SET failed_attempts = 0, locked_until_ms = NULL WHERE id = @id AND locked_until_ms = @until",
                ("@id", id),
                ("@until", UnixMs.From(lockedUntil)));
            await reset.ExecuteNonQueryAsync();
        }

        var passwordOk = PasswordHasher.Verify(password ?? string.Empty, account.PasswordHash, out var hashIterations);
        long step;
        bool codeOk;
        byte[]? seed = null;
        try
        {
            seed = _secrets.Unprotect(account.TotpSecret, SeedBinding(id));
            codeOk = TotpCodes.TryMatch(seed, totpCode, now, _options.TotpStepTolerance, out step);
        }
        catch (CryptographicException)
        {
            Log.SeedUnreadable(_logger, id);
            throw;
        }
        finally
        {
            if (seed is not null)
            {
                CryptographicOperations.ZeroMemory(seed);
            }
        }

        var replay = codeOk && account.TotpLastStep is { } lastStep && step <= lastStep;
        if (!passwordOk || !codeOk || replay)
        {
            if (passwordOk && replay)
            {
                Log.TotpReplay(_logger, id);
            }

            return await RecordFailureAsync(connection, id, now);
        }

        if (account.Status == StaffAccountStatus.Disabled)
        {
            Log.DisabledRefused(_logger, id);
            return AccessErrors.AccountDisabled;
        }

        var rehash = hashIterations != _options.PasswordIterations;
        await using (var claim = connection.Command(
            """
            UPDATE staff_accounts SET totp_last_step = @step, failed_attempts = 0, locked_until_ms = NULL,
                last_sign_in_ms = CASE WHEN @signIn = 1 THEN @now ELSE last_sign_in_ms END,
                password_hash = CASE WHEN @rehash = 1 THEN @hash ELSE password_hash END
            WHERE id = @id AND (totp_last_step IS NULL OR totp_last_step < @step)
            """,
            ("@step", step),
            ("@signIn", signIn ? 1 : 0),
            ("@now", UnixMs.From(now)),
            ("@rehash", rehash ? 1 : 0),
            ("@hash", rehash ? PasswordHasher.Hash(password!, _options.PasswordIterations) : string.Empty),
            ("@id", id)))
        {
            if (await claim.ExecuteNonQueryAsync() == 0)
            {
                // Another request used this step a moment ago.
                Log.TotpReplay(_logger, id);
                return await RecordFailureAsync(connection, id, now);
            }
        }

        return account;
    }

    /// <summary>HMAC-SHA256 of the UTF-8 ID under the <see cref="UnknownIdKeyPurpose"/> subkey: the row key of an ID that names no account.</summary>
    internal byte[] UnknownIdHmac(string id) => HMACSHA256.HashData(_unknownIdKey, Encoding.UTF8.GetBytes(id));

    // The lockout in force for an ID that names no account, if any.
    private static async Task<DateTimeOffset?> UnknownLockedUntilAsync(DbConnection connection, byte[] key, DateTimeOffset now)
    {
        await using var read = connection.Command(ReadUnknownSql, ("@k", key));
        return UnixMs.ToNullable(await read.ExecuteScalarAsync() ?? DBNull.Value) is { } until && until > now ? until : null;
    }

    // As RecordFailureAsync for an ID that names no account; sweeps the rows that count no more first when due.
    private async Task<CustodianError> RecordUnknownFailureAsync(DbConnection connection, byte[] key, DateTimeOffset now)
    {
        if (Timing.PeriodicClaim.TryClaim(ref _lastUnknownSweepTicks, now, UnknownSweepEvery))
        {
            await SweepUnknownAsync(connection, now);
        }

        await using var upsert = connection.Command(
            CountUnknownSql,
            ("@k", key),
            ("@max", (long)_options.MaxFailedAttempts),
            ("@until", UnixMs.From(now + _options.LockoutDuration)),
            ("@now", UnixMs.From(now)),
            ("@stale", UnixMs.From(now - _options.LockoutDuration)));
        await using var reader = await upsert.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            throw new InvalidOperationException("The failure count of an unknown account ID was not returned.");
        }

        return UnixMs.ToNullable(reader.GetValue(1)) is { } until && until > now ? AccessErrors.AccountLocked(until) : AccessErrors.InvalidCredentials;
    }

    /// <summary>
    /// Deletes up to <see cref="UnknownSweepBatch"/> rows of <c>staff_unknown_failures</c> that count no more: whose
    /// lockout has run out, or that are not locked and whose last failure is at least <see cref="StaffOptions.LockoutDuration"/> old.
    /// </summary>
    /// <returns>The number of rows deleted.</returns>
    /// <exception cref="DbException">When the database cannot be written.</exception>
    internal async Task<int> SweepUnknownAsync()
    {
        await using var connection = await _db.OpenAsync();
        return await SweepUnknownAsync(connection, _time.GetUtcNow());
    }

    private async Task<int> SweepUnknownAsync(DbConnection connection, DateTimeOffset now)
    {
        await using var sweep = connection.Command(
            SweepUnknownSql,
            ("@now", UnixMs.From(now)),
            ("@stale", UnixMs.From(now - _options.LockoutDuration)),
            ("@batch", (long)UnknownSweepBatch));
        return await sweep.ExecuteNonQueryAsync();
    }

    private async Task<CustodianError> RecordFailureAsync(DbConnection connection, string id, DateTimeOffset now)
    {
        await using var update = connection.Command(
            """
            UPDATE staff_accounts SET
                failed_attempts = CASE WHEN locked_until_ms IS NULL AND last_failed_ms <= @stale THEN 1 ELSE failed_attempts + 1 END,
                locked_until_ms = CASE WHEN (CASE WHEN locked_until_ms IS NULL AND last_failed_ms <= @stale THEN 1 ELSE failed_attempts + 1 END) >= @max
                    THEN @until ELSE locked_until_ms END,
                last_failed_ms = @now
            WHERE id = @id
            RETURNING failed_attempts, locked_until_ms
            """,
            ("@max", _options.MaxFailedAttempts),
            ("@until", UnixMs.From(now + _options.LockoutDuration)),
            ("@now", UnixMs.From(now)),
            ("@stale", UnixMs.From(now - _options.LockoutDuration)),
            ("@id", id));
        await using var reader = await update.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return AccessErrors.InvalidCredentials;
        }

        var failures = reader.GetInt32(0);
        var lockedUntil = UnixMs.ToNullable(reader.GetValue(1));
        Log.AuthenticationFailed(_logger, id, failures);
        if (lockedUntil is { } until && until > now)
        {
            Log.Locked(_logger, id, until);
            return AccessErrors.AccountLocked(until);
        }

        return AccessErrors.InvalidCredentials;
    }

    private static async Task<AccountRow?> ReadAsync(DbConnection connection, string id)
    {
        await using var command = connection.Command(SelectAccount + " WHERE id = @id", ("@id", id));
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadRow(reader) : null;
    }

    private static AccountRow ReadRow(DbDataReader reader)
    {
        if (!StaffRoles.TryParse(reader.GetString(1), out var role))
        {
            throw new InvalidOperationException("Unknown staff role in the database.");
        }

        return new AccountRow(
            reader.GetString(0),
            role,
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.GetString(3) == "disabled" ? StaffAccountStatus.Disabled : StaffAccountStatus.Active,
            reader.GetString(4),
            reader.GetInt64(5) != 0,
            reader.GetFieldValue<byte[]>(6),
            reader.IsDBNull(7) ? null : reader.GetInt64(7),
            reader.GetInt32(8),
            UnixMs.ToNullable(reader.GetValue(9)),
            UnixMs.To(reader.GetInt64(10)),
            UnixMs.ToNullable(reader.GetValue(11)));
    }

    private sealed record AccountRow(
        string Id,
        StaffRole Role,
        string? Store,
        StaffAccountStatus Status,
        string PasswordHash,
        bool MustChangePassword,
        byte[] TotpSecret,
        long? TotpLastStep,
        int FailedAttempts,
        DateTimeOffset? LockedUntil,
        DateTimeOffset CreatedAt,
        DateTimeOffset? LastSignInAt)
    {
        public StaffAccountInfo ToInfo() => new(Id, Role, Store, Status, MustChangePassword, FailedAttempts, LockedUntil, CreatedAt, LastSignInAt);

        /// <summary>Redacted: the row holds the password hash and the protected seed.</summary>
        public override string ToString() => $"AccountRow {{ Id = {Id} }}";
    }
}
