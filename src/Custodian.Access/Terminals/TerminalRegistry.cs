using System.Collections.Concurrent;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Custodian.Access.Certificates;
using Custodian.Access.Internal;
using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Problems;
using Custodian.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Access.Terminals;

/// <summary>
/// The registry of store terminals (table <c>terminals</c>): one-time enrollment codes, enrollment
/// with a CSR, the per-request check that a presented device certificate is the terminal's current
/// one, and revocation.
/// </summary>
/// <remarks>
/// <para><b>Revocation latency.</b> <see cref="CheckAsync"/> answers from a small in-memory cache per
/// terminal so it costs a dictionary lookup on the hot path. A revocation (or re-enrollment) made
/// through this instance takes effect on the very next call. A revocation made by another process
/// on the same database (the CLI, another API node) takes effect at most
/// <see cref="RecheckInterval"/> (1 second) later, because a cached answer older than that is
/// re-read from the database before use.</para>
/// <para>Thread-safe. Enrollment codes are stored only as SHA-256 and are single-use even under
/// concurrency (the code is consumed by a conditional UPDATE; exactly one caller wins).</para>
/// </remarks>
public sealed class TerminalRegistry
{
    /// <summary>Longest age of a cached check before the database is consulted again: 1 second.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>Lifetime of an enrollment code when none is given: 24 hours.</summary>
    public static readonly TimeSpan DefaultCodeLifetime = TimeSpan.FromHours(24);

    /// <summary>Longest allowed enrollment-code lifetime: 7 days.</summary>
    public static readonly TimeSpan MaxCodeLifetime = TimeSpan.FromDays(7);

    /// <summary>Number of random base32 characters in an enrollment code (12 × 5 = 60 bits).</summary>
    public const int CodeLength = 12;

    private const string Base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private const int MaxCacheEntries = 100_000;

    private static readonly Task<Result<TerminalStatus>> UnknownTask = Task.FromResult(Result<TerminalStatus>.Failure(AccessErrors.UnknownTerminal));
    private static readonly Task<Result<TerminalStatus>> RevokedTask = Task.FromResult(Result<TerminalStatus>.Failure(AccessErrors.DeviceCertificateRevoked));

    private readonly CustodianDatabase _db;
    private readonly CertificateAuthority _ca;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IListedStoreCodes? _listedStores;
    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);
    private readonly Lock _cacheWrite = new();
    private long _invalidations;

    /// <summary>Creates the registry. Apply <see cref="AccessMigrations"/> to <paramref name="db"/> first.</summary>
    /// <param name="db">The database holding the <c>terminals</c> table.</param>
    /// <param name="ca">The device CA that issues certificates at enrollment.</param>
    /// <param name="time">Clock for code expiry, certificate validity and cache age.</param>
    /// <param name="logger">Logger; null for none.</param>
    /// <param name="listedStores">The host's store list, whose spellings an enrollment's store must follow; null for none.</param>
    public TerminalRegistry(CustodianDatabase db, CertificateAuthority ca, TimeProvider time, ILogger<TerminalRegistry>? logger = null, IListedStoreCodes? listedStores = null)
    {
        _db = db ?? throw new ArgumentNullException(nameof(db));
        _ca = ca ?? throw new ArgumentNullException(nameof(ca));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _listedStores = listedStores;
    }

    /// <summary>
    /// The store code in use that <paramref name="store"/> differs from only in letter case, or null: the check
    /// <see cref="IssueEnrollmentCodeAsync(string, string, TimeSpan?, TrustClass)"/> makes before it issues a code (a listed
    /// store of <see cref="IListedStoreCodes"/>, then terminals' stores, then staff accounts'), for a caller that must refuse
    /// before the enrollment is issued (a four-eyes <c>enroll-vdi-host</c> request).
    /// </summary>
    /// <param name="store">A well-formed store code.</param>
    /// <param name="cancellationToken">Cancels opening the connection.</param>
    /// <returns>The spelling in use, or null when <paramref name="store"/> may be used.</returns>
    public async Task<string?> FindStoreCaseVariantAsync(string store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var connection = await _db.OpenAsync(cancellationToken);
        return await StoreCodesInUse.FindCaseVariantAsync(connection, store, listed: _listedStores);
    }

    /// <summary>
    /// Registers terminal <c>&lt;store&gt;-&lt;name&gt;</c> (or re-arms a pending or revoked one) and issues
    /// its one-time enrollment code: 12 random base32 characters shown as <c>XXXX-XXXX-XXXX</c>, stored
    /// only as SHA-256. Re-issuing for a pending terminal replaces its previous code, which stops working at once (the
    /// result's <see cref="EnrollmentCode.VoidedCodeExpiresAt"/> says so when that code was still live, for the caller to
    /// tell the officer); for a revoked one it starts a fresh enrollment (the old certificate stays refused).
    /// </summary>
    /// <param name="store">Store code (<see cref="Codes"/>).</param>
    /// <param name="name">Terminal name within the store (<see cref="Codes"/>); the ID <c>&lt;store&gt;-&lt;name&gt;</c> must be at most 64 characters.</param>
    /// <param name="lifetime">How long the code works; null for <see cref="DefaultCodeLifetime"/> (24 h); at most <see cref="MaxCodeLifetime"/>.</param>
    /// <returns>The code, to be shown once.</returns>
    /// <exception cref="CustodianException">
    /// <see cref="ErrorCodes.ValidationFailed"/> (400) for a malformed store, name or lifetime, a store or name that has
    /// the shape of a phone number or resident registration number (<see cref="StaffAccountRules.CheckCode"/>), a store that differs
    /// only in letter case from a store code in use (<see cref="StaffAccountRules.StoreCaseRule"/>), or a terminal ID
    /// already used by another store/name pair; <see cref="AccessErrorCodes.TerminalAlreadyActive"/> (409)
    /// when the terminal is enrolled and active (revoke it first).
    /// </exception>
    public Task<EnrollmentCode> IssueEnrollmentCodeAsync(string store, string name, TimeSpan? lifetime) =>
        IssueEnrollmentCodeAsync(store, name, lifetime, TrustClass.StoreTerminal);

    /// <summary>
    /// As <see cref="IssueEnrollmentCodeAsync(string, string, TimeSpan?)"/>, for a terminal of the given trust
    /// class: the certificate issued at enrollment carries that class. Enrolling a <see cref="TrustClass.VdiHost"/>
    /// is a privileged action; the host calls this only after a second officer approved it (docs/access.md §5).
    /// </summary>
    /// <param name="store">Store code (<see cref="Codes"/>); for VDI hosts the VDI zone's code, e.g. <c>VDI</c>.</param>
    /// <param name="name">Terminal name within the store.</param>
    /// <param name="lifetime">How long the code works; null for 24 h; at most 7 days.</param>
    /// <param name="trustClass">The class written into the certificate.</param>
    /// <returns>The code, to be shown once.</returns>
    /// <exception cref="CustodianException">As the other overload.</exception>
    public async Task<EnrollmentCode> IssueEnrollmentCodeAsync(string store, string name, TimeSpan? lifetime, TrustClass trustClass)
    {
        var className = trustClass.ToName();
        if ((StaffAccountRules.CheckCode(store, "store") ?? StaffAccountRules.CheckCode(name, "name")) is { } invalid)
        {
            throw new CustodianException(AccessErrors.Validation(invalid.Field, invalid.Rule));
        }

        var terminalId = store + "-" + name;
        if (!Codes.IsValid(terminalId))
        {
            throw new CustodianException(AccessErrors.Validation("name", $"store and name together must be at most {Codes.MaxLength - 1} characters"));
        }

        var life = lifetime ?? DefaultCodeLifetime;
        if (life <= TimeSpan.Zero || life > MaxCodeLifetime)
        {
            throw new CustodianException(AccessErrors.Validation("lifetime", "must be more than zero and at most 7 days"));
        }

        var raw = RandomNumberGenerator.GetString(Base32Alphabet, CodeLength);
        var now = _time.GetUtcNow();
        var expires = now + life;
        await using var connection = await _db.OpenAsync();
        if (await StoreCodesInUse.FindCaseVariantAsync(connection, store, listed: _listedStores) is { } inUse)
        {
            throw new CustodianException(AccessErrors.Validation("store", StaffAccountRules.StoreCaseRule(inUse)));
        }

        DateTimeOffset? voided = null;
        await using (var live = connection.Command(
            "SELECT code_expires_ms FROM terminals WHERE id = @id AND store = @store AND name = @name AND status = 'pending' AND code_hash IS NOT NULL AND code_expires_ms > @now",
            ("@id", terminalId),
            ("@store", store),
            ("@name", name),
            ("@now", UnixMs.From(now))))
        {
            voided = UnixMs.ToNullable(await live.ExecuteScalarAsync() ?? DBNull.Value); // no row: no live code
        }

        await using (var upsert = connection.Command(
            """
            INSERT INTO terminals (id, store, name, status, code_hash, code_expires_ms, created_ms, trust_class)
            VALUES (@id, @store, @name, 'pending', @hash, @expires, @now, @class)
            ON CONFLICT (id) DO UPDATE SET
                status = 'pending', code_hash = excluded.code_hash, code_expires_ms = excluded.code_expires_ms,
                cert_serial = NULL, cert_thumbprint = NULL, cert_not_after_ms = NULL, cert_key_sha256 = NULL,
                prev_cert_thumbprint = NULL, prev_cert_not_after_ms = NULL, renewed_ms = NULL,
                enrolled_ms = NULL, revoked_ms = NULL, revoke_reason = NULL, trust_class = excluded.trust_class
            WHERE terminals.status <> 'active' AND terminals.store = excluded.store AND terminals.name = excluded.name
            """,
            ("@id", terminalId),
            ("@store", store),
            ("@name", name),
            ("@hash", HashCode(raw)),
            ("@expires", UnixMs.From(expires)),
            ("@now", UnixMs.From(now)),
            ("@class", className)))
        {
            if (await upsert.ExecuteNonQueryAsync() == 0)
            {
                var existing = await GetAsync(connection, terminalId);
                throw new CustodianException(existing is not null && existing.Store == store && existing.Name == name
                    ? new CustodianError(AccessErrorCodes.TerminalAlreadyActive, 409, "The terminal is enrolled and active; revoke it before issuing a new enrollment code.")
                    : AccessErrors.Validation("name", "the terminal ID <store>-<name> is already used by another store and name"));
            }
        }

        Invalidate(terminalId);
        Log.EnrollmentCodeIssued(_logger, terminalId, expires);
        return new EnrollmentCode(terminalId, store, name, $"{raw[..4]}-{raw[4..8]}-{raw[8..]}", expires) { VoidedCodeExpiresAt = voided };
    }

    /// <summary>
    /// Enrolls a terminal: the code must exist, be unexpired and unused; the CSR must pass
    /// <see cref="CertificateAuthority.IssueDeviceCertificate(string, string, string, TimeSpan)"/>. On success the code is consumed (single
    /// use, also when two requests race: exactly one wins), the terminal becomes active and the new
    /// certificate becomes the only one accepted for it. A CSR refusal does not consume the code.
    /// </summary>
    /// <param name="code">The enrollment code; case, spaces and dashes are ignored.</param>
    /// <param name="csrPem">PEM PKCS#10 request for the terminal's key.</param>
    /// <param name="recordFirst">The grant record (the caller's ledger append), awaited once the code and the CSR have
    /// passed and before anything is stored; when it throws (e.g. <c>LedgerUnavailableException</c>) nothing is stored,
    /// the code stays unused, the certificate just signed is never accepted, and the exception propagates (fail closed).
    /// Null records nothing.</param>
    /// <returns>The certificate and CA certificate, or <see cref="ErrorCodes.EnrollmentCodeInvalid"/> (403;
    /// unknown, used or expired, deliberately not saying which) or <see cref="ErrorCodes.CsrInvalid"/> (400).</returns>
    public async Task<Result<EnrolledTerminal>> EnrollAsync(string code, string csrPem, Func<EnrolledTerminal, Task>? recordFirst = null)
    {
        var normalized = NormalizeCode(code);
        if (normalized is null)
        {
            Log.EnrollmentRefused(_logger, ErrorCodes.EnrollmentCodeInvalid);
            return AccessErrors.EnrollmentCodeInvalid;
        }

        var hash = HashCode(normalized);
        var now = _time.GetUtcNow();
        await using var connection = await _db.OpenAsync();
        string terminalId, store;
        TrustClass trustClass;
        await using (var find = connection.Command(
            "SELECT id, store, trust_class FROM terminals WHERE code_hash = @hash AND status = 'pending' AND code_expires_ms > @now",
            ("@hash", hash),
            ("@now", UnixMs.From(now))))
        await using (var reader = await find.ExecuteReaderAsync())
        {
            if (!await reader.ReadAsync())
            {
                Log.EnrollmentRefused(_logger, ErrorCodes.EnrollmentCodeInvalid);
                return AccessErrors.EnrollmentCodeInvalid;
            }

            terminalId = reader.GetString(0);
            store = reader.GetString(1);
            trustClass = TrustClasses.TryParse(reader.GetString(2), out var parsedClass) ? parsedClass : throw new InvalidOperationException("Unknown trust class in the database.");
        }

        var issued = _ca.IssueDeviceCertificate(csrPem, store, terminalId, _ca.Options.DeviceCertificateValidity, trustClass);
        if (!issued.IsSuccess)
        {
            Log.EnrollmentRefused(_logger, issued.Error!.Code);
            return issued.Error!;
        }

        var certificate = issued.Value;
        if (await KeyCertifiedAsync(connection, certificate.PublicKeySha256))
        {
            // Checked before the grant record too, so a cloned key leaves only its refusal in the ledger (the claim in
            // the transaction below still decides a race).
            Log.EnrollmentRefused(_logger, AccessErrorCodes.DeviceKeyReused);
            return AccessErrors.DeviceKeyReused;
        }

        var enrolled = new EnrolledTerminal(terminalId, store, certificate.CertificatePem, _ca.TrustBundlePem, certificate.NotAfter) { TrustClass = trustClass };
        if (recordFirst is not null)
        {
            await recordFirst(enrolled);
        }

        await using var transaction = await connection.BeginTransactionAsync();
        if (!await ClaimKeyAsync(connection, transaction, certificate.PublicKeySha256, terminalId, now))
        {
            Log.EnrollmentRefused(_logger, AccessErrorCodes.DeviceKeyReused);
            return AccessErrors.DeviceKeyReused;
        }

        await using (var consume = connection.Command(
            """
            UPDATE terminals SET status = 'active', code_hash = NULL, code_expires_ms = NULL,
                cert_serial = @serial, cert_thumbprint = @thumbprint, cert_not_after_ms = @notAfter, enrolled_ms = @now,
                cert_key_sha256 = @key
            WHERE id = @id AND code_hash = @hash AND status = 'pending' AND code_expires_ms > @now
            """,
            ("@serial", certificate.SerialHex),
            ("@thumbprint", certificate.Sha256Thumbprint),
            ("@notAfter", UnixMs.From(certificate.NotAfter)),
            ("@now", UnixMs.From(now)),
            ("@key", certificate.PublicKeySha256),
            ("@id", terminalId),
            ("@hash", hash)))
        {
            consume.Transaction = transaction;
            if (await consume.ExecuteNonQueryAsync() != 1)
            {
                // Lost a race for the same code: the certificate just issued is never recorded, so it is refused.
                await transaction.RollbackAsync();
                Log.EnrollmentRefused(_logger, ErrorCodes.EnrollmentCodeInvalid);
                return AccessErrors.EnrollmentCodeInvalid;
            }
        }

        await transaction.CommitAsync();
        Invalidate(terminalId);
        Log.Enrolled(_logger, terminalId, certificate.SerialHex);
        return enrolled;
    }

    /// <summary>
    /// Renews a terminal's device certificate over mutual TLS, before it expires: the caller presented
    /// <paramref name="presented"/> (already validated by <see cref="CertificateAuthority.ValidateClientCertificate"/>,
    /// so within its validity), the terminal is active, and the presented certificate is its current one — or its
    /// previous one while the certificate of the last renewal has not been used yet (a renewal whose answer was
    /// lost can be repeated). The CSR must carry a key never certified before. The new certificate (same store,
    /// terminal and trust class; <see cref="CertificateAuthorityOptions.DeviceCertificateValidity"/>) becomes the
    /// current one; the presented one stays accepted only until the new one is first presented, and never past its
    /// own end.
    /// </summary>
    /// <param name="presented">The validated identity of the certificate the terminal presented.</param>
    /// <param name="csrPem">PEM PKCS#10 request for the terminal's new key.</param>
    /// <param name="recordFirst">The grant record (the caller's ledger append), awaited once the presented certificate and
    /// the CSR have passed and before anything is stored; when it throws (e.g. <c>LedgerUnavailableException</c>) nothing
    /// is stored, the presented certificate stays the current one, the new one is never accepted, and the exception
    /// propagates (fail closed). Null records nothing.</param>
    /// <returns>The new certificate, or <see cref="ErrorCodes.DeviceCertificateRevoked"/> (403; revoked, replaced or
    /// re-enrolled), <see cref="ErrorCodes.DeviceCertificateUntrusted"/> (403; unknown terminal),
    /// <see cref="ErrorCodes.CsrInvalid"/> (400) or <see cref="AccessErrorCodes.DeviceKeyReused"/> (409).</returns>
    public async Task<Result<EnrolledTerminal>> RenewAsync(DeviceIdentity presented, string csrPem, Func<EnrolledTerminal, Task>? recordFirst = null)
    {
        ArgumentNullException.ThrowIfNull(presented);
        var now = _time.GetUtcNow();
        await using var connection = await _db.OpenAsync();
        TrustClass trustClass;
        await using (var find = connection.Command(
            """
            SELECT store, status, cert_thumbprint, prev_cert_thumbprint, trust_class FROM terminals WHERE id = @id
            """,
            ("@id", presented.Terminal)))
        await using (var reader = await find.ExecuteReaderAsync())
        {
            if (!await reader.ReadAsync() || reader.GetString(0) != presented.Store)
            {
                Log.RenewalRefused(_logger, presented.Terminal, ErrorCodes.DeviceCertificateUntrusted);
                return AccessErrors.UnknownTerminal;
            }

            var current = reader.IsDBNull(2) ? null : reader.GetString(2);
            var previous = reader.IsDBNull(3) ? null : reader.GetString(3);
            if (reader.GetString(1) != "active" || (presented.Sha256Thumbprint != current && presented.Sha256Thumbprint != previous))
            {
                Log.RenewalRefused(_logger, presented.Terminal, ErrorCodes.DeviceCertificateRevoked);
                return AccessErrors.DeviceCertificateRevoked;
            }

            trustClass = TrustClasses.TryParse(reader.GetString(4), out var parsedClass) ? parsedClass : throw new InvalidOperationException("Unknown trust class in the database.");
        }

        var issued = _ca.IssueDeviceCertificate(csrPem, presented.Store, presented.Terminal, _ca.Options.DeviceCertificateValidity, trustClass);
        if (!issued.IsSuccess)
        {
            Log.RenewalRefused(_logger, presented.Terminal, issued.Error!.Code);
            return issued.Error!;
        }

        var certificate = issued.Value;
        if (await KeyCertifiedAsync(connection, certificate.PublicKeySha256))
        {
            Log.RenewalRefused(_logger, presented.Terminal, AccessErrorCodes.DeviceKeyReused);
            return AccessErrors.DeviceKeyReused;
        }

        var renewed = new EnrolledTerminal(presented.Terminal, presented.Store, certificate.CertificatePem, _ca.TrustBundlePem, certificate.NotAfter) { TrustClass = trustClass };
        if (recordFirst is not null)
        {
            await recordFirst(renewed);
        }

        await using var transaction = await connection.BeginTransactionAsync();
        if (!await ClaimKeyAsync(connection, transaction, certificate.PublicKeySha256, presented.Terminal, now))
        {
            Log.RenewalRefused(_logger, presented.Terminal, AccessErrorCodes.DeviceKeyReused);
            return AccessErrors.DeviceKeyReused;
        }

        await using (var renew = connection.Command(
            """
            UPDATE terminals SET cert_serial = @serial, cert_thumbprint = @thumbprint, cert_not_after_ms = @notAfter,
                cert_key_sha256 = @key, prev_cert_thumbprint = @presented, prev_cert_not_after_ms = @presentedNotAfter, renewed_ms = @now
            WHERE id = @id AND status = 'active' AND (cert_thumbprint = @presented OR prev_cert_thumbprint = @presented)
            """,
            ("@serial", certificate.SerialHex),
            ("@thumbprint", certificate.Sha256Thumbprint),
            ("@notAfter", UnixMs.From(certificate.NotAfter)),
            ("@key", certificate.PublicKeySha256),
            ("@presented", presented.Sha256Thumbprint),
            ("@presentedNotAfter", UnixMs.From(presented.NotAfter ?? now)),
            ("@now", UnixMs.From(now)),
            ("@id", presented.Terminal)))
        {
            renew.Transaction = transaction;
            if (await renew.ExecuteNonQueryAsync() != 1)
            {
                // Revoked or renewed by someone else between the read and now.
                await transaction.RollbackAsync();
                Log.RenewalRefused(_logger, presented.Terminal, ErrorCodes.DeviceCertificateRevoked);
                return AccessErrors.DeviceCertificateRevoked;
            }
        }

        await transaction.CommitAsync();
        Invalidate(presented.Terminal);
        Log.Renewed(_logger, presented.Terminal, certificate.SerialHex, certificate.NotAfter);
        return renewed;
    }

    /// <summary>Records that a key was certified; false when it already was (for any terminal, at any time).</summary>
    /// <summary>Whether a key was already certified (for any terminal, at any time): read only, before the grant record.</summary>
    private static async Task<bool> KeyCertifiedAsync(DbConnection connection, string keySha256)
    {
        await using var find = connection.Command("SELECT 1 FROM device_keys WHERE key_sha256 = @key", ("@key", keySha256));
        return await find.ExecuteScalarAsync() is not null;
    }

    private static async Task<bool> ClaimKeyAsync(DbConnection connection, DbTransaction transaction, string keySha256, string terminalId, DateTimeOffset now)
    {
        await using var claim = connection.Command(
            "INSERT INTO device_keys (key_sha256, terminal_id, certified_ms) VALUES (@key, @id, @now) ON CONFLICT (key_sha256) DO NOTHING",
            ("@key", keySha256),
            ("@id", terminalId),
            ("@now", UnixMs.From(now)));
        claim.Transaction = transaction;
        if (await claim.ExecuteNonQueryAsync() == 1)
        {
            return true;
        }

        await transaction.RollbackAsync();
        return false;
    }

    /// <summary>
    /// The per-request check, after <see cref="CertificateAuthority.ValidateClientCertificate"/>: the terminal
    /// exists, belongs to the certificate's store, is active, and the presented certificate is the one issued
    /// at its latest enrollment. Answers from memory; see the remarks on <see cref="TerminalRegistry"/> for
    /// the revocation latency (next request in-process, at most 1 second across processes).
    /// </summary>
    /// <param name="id">The validated device identity.</param>
    /// <returns>The terminal's status, or <see cref="ErrorCodes.DeviceCertificateRevoked"/> (403; revoked,
    /// re-enrolled with another certificate, or pending re-enrollment) or
    /// <see cref="ErrorCodes.DeviceCertificateUntrusted"/> (403; no such terminal in this store).</returns>
    public Task<Result<TerminalStatus>> CheckAsync(DeviceIdentity id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (_cache.TryGetValue(id.Terminal, out var entry) && _time.GetElapsedTime(entry.ReadAt) < RecheckInterval)
        {
            return entry.PreviousThumbprint is not null && string.Equals(entry.Thumbprint, id.Sha256Thumbprint, StringComparison.Ordinal)
                ? RetirePreviousAndCheckAsync(id)
                : Evaluate(entry, id);
        }

        return RefreshAndCheckAsync(id);
    }

    /// <summary>The renewed certificate was presented: from now on the one it replaced is refused.</summary>
    private async Task<Result<TerminalStatus>> RetirePreviousAndCheckAsync(DeviceIdentity id)
    {
        await using (var connection = await _db.OpenAsync())
        await using (var retire = connection.Command(
            "UPDATE terminals SET prev_cert_thumbprint = NULL, prev_cert_not_after_ms = NULL WHERE id = @id AND cert_thumbprint = @thumbprint",
            ("@id", id.Terminal),
            ("@thumbprint", id.Sha256Thumbprint)))
        {
            await retire.ExecuteNonQueryAsync();
        }

        Invalidate(id.Terminal);
        return await RefreshAndCheckAsync(id);
    }

    /// <summary>
    /// Revokes a terminal: its certificate (and any outstanding enrollment code) is refused from the next
    /// request on in this process, and within <see cref="RecheckInterval"/> in others.
    /// </summary>
    /// <param name="terminalId">Terminal ID.</param>
    /// <param name="reason">Why (stored with the terminal, never logged); at most 500 characters.</param>
    /// <returns>True when the terminal existed and was not already revoked.</returns>
    /// <exception cref="ArgumentException">When <paramref name="reason"/> is empty or longer than 500 characters.</exception>
    public async Task<bool> RevokeAsync(string terminalId, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(reason.Length, 500, nameof(reason));
        if (!Codes.IsValid(terminalId))
        {
            return false;
        }

        int changed;
        await using (var connection = await _db.OpenAsync())
        await using (var revoke = connection.Command(
            """
            UPDATE terminals SET status = 'revoked', revoked_ms = @now, revoke_reason = @reason, code_hash = NULL, code_expires_ms = NULL
            WHERE id = @id AND status <> 'revoked'
            """,
            ("@now", UnixMs.From(_time.GetUtcNow())),
            ("@reason", reason),
            ("@id", terminalId)))
        {
            changed = await revoke.ExecuteNonQueryAsync();
        }

        Invalidate(terminalId);
        if (changed > 0)
        {
            Log.Revoked(_logger, terminalId);
        }

        return changed > 0;
    }

    /// <summary>All terminals, ordered by ID.</summary>
    public async Task<IReadOnlyList<TerminalInfo>> ListAsync()
    {
        await using var connection = await _db.OpenAsync();
        await using var command = connection.Command(SelectInfo + " ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync();
        var list = new List<TerminalInfo>();
        while (await reader.ReadAsync())
        {
            list.Add(ReadInfo(reader));
        }

        return list;
    }

    /// <summary>One terminal, or null when there is none with this ID.</summary>
    public async Task<TerminalInfo?> GetAsync(string terminalId)
    {
        await using var connection = await _db.OpenAsync();
        return await GetAsync(connection, terminalId);
    }

    /// <summary>
    /// Whether <paramref name="code"/> has the form of an enrollment code: <see cref="CodeLength"/> characters of the
    /// RFC 4648 §6 base32 alphabet once spaces and dashes are dropped (any case). A well-formed code may still be
    /// unknown, used or expired; only <see cref="EnrollAsync"/> can tell.
    /// </summary>
    /// <param name="code">The code as typed; null is not well-formed.</param>
    /// <returns>True when the code could be one this registry issued.</returns>
    public static bool IsWellFormedCode(string? code) => NormalizeCode(code) is not null;

    /// <summary>Normalizes a typed code: drops spaces and dashes, upper-cases; null unless 12 base32 characters remain.</summary>
    internal static string? NormalizeCode(string? code)
    {
        if (code is null || code.Length > 64)
        {
            return null;
        }

        var builder = new StringBuilder(CodeLength);
        foreach (var c in code)
        {
            if (c is '-' or ' ')
            {
                continue;
            }

            var upper = char.ToUpperInvariant(c);
            if (!Base32Alphabet.Contains(upper, StringComparison.Ordinal))
            {
                return null;
            }

            builder.Append(upper);
        }

        return builder.Length == CodeLength ? builder.ToString() : null;
    }

    private static byte[] HashCode(string normalized) => SHA256.HashData(Encoding.ASCII.GetBytes(normalized));

    private const string SelectInfo =
        """
        SELECT id, store, name, status, code_expires_ms, cert_serial, cert_thumbprint, cert_not_after_ms,
               enrolled_ms, revoked_ms, revoke_reason, created_ms, trust_class, renewed_ms
        FROM terminals
        """;

    private static async Task<TerminalInfo?> GetAsync(DbConnection connection, string terminalId)
    {
        await using var command = connection.Command(SelectInfo + " WHERE id = @id", ("@id", terminalId));
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadInfo(reader) : null;
    }

    private static TerminalInfo ReadInfo(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        ParseState(reader.GetString(3)),
        UnixMs.ToNullable(reader.GetValue(4)),
        reader.IsDBNull(5) ? null : reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        UnixMs.ToNullable(reader.GetValue(7)),
        UnixMs.ToNullable(reader.GetValue(8)),
        UnixMs.ToNullable(reader.GetValue(9)),
        reader.IsDBNull(10) ? null : reader.GetString(10),
        UnixMs.To(reader.GetInt64(11)))
    {
        TrustClass = TrustClasses.TryParse(reader.GetString(12), out var trustClass) ? trustClass : throw new InvalidOperationException("Unknown trust class in the database."),
        RenewedAt = UnixMs.ToNullable(reader.GetValue(13)),
    };

    private static TerminalState ParseState(string status) => status switch
    {
        "pending" => TerminalState.Pending,
        "active" => TerminalState.Active,
        "revoked" => TerminalState.Revoked,
        _ => throw new InvalidOperationException("Unknown terminal status in the database."),
    };

    private async Task<Result<TerminalStatus>> RefreshAndCheckAsync(DeviceIdentity id)
    {
        var generation = Interlocked.Read(ref _invalidations);
        var readAt = _time.GetTimestamp();
        CacheEntry entry;
        await using (var connection = await _db.OpenAsync())
        await using (var command = connection.Command(
            "SELECT store, name, status, cert_thumbprint, cert_not_after_ms, prev_cert_thumbprint, prev_cert_not_after_ms, trust_class FROM terminals WHERE id = @id",
            ("@id", id.Terminal)))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            if (!await reader.ReadAsync())
            {
                entry = new CacheEntry(readAt, null, null, null, null, null);
            }
            else
            {
                var state = ParseState(reader.GetString(2));
                var thumbprint = reader.IsDBNull(3) ? null : reader.GetString(3);
                var trustClass = TrustClasses.TryParse(reader.GetString(7), out var parsedClass) ? parsedClass : throw new InvalidOperationException("Unknown trust class in the database.");
                TerminalStatus? status = state == TerminalState.Active && thumbprint is not null && !reader.IsDBNull(4)
                    ? new TerminalStatus(id.Terminal, reader.GetString(0), reader.GetString(1), UnixMs.To(reader.GetInt64(4))) { TrustClass = trustClass }
                    : null;
                TerminalStatus? previous = status is not null && !reader.IsDBNull(5) && !reader.IsDBNull(6)
                    ? status with { CertificateNotAfter = UnixMs.To(reader.GetInt64(6)) }
                    : null;
                entry = new CacheEntry(readAt, reader.GetString(0), status is null ? null : thumbprint, status, previous is null ? null : reader.GetString(5), previous);
            }
        }

        lock (_cacheWrite)
        {
            // Do not let a read that raced with an invalidation put a stale answer back in the cache.
            if (Interlocked.Read(ref _invalidations) == generation)
            {
                if (_cache.Count >= MaxCacheEntries)
                {
                    _cache.Clear();
                }

                _cache[id.Terminal] = entry;
            }
        }

        if (entry.PreviousThumbprint is not null && string.Equals(entry.Thumbprint, id.Sha256Thumbprint, StringComparison.Ordinal))
        {
            return await RetirePreviousAndCheckAsync(id);
        }

        return await Evaluate(entry, id);
    }

    private Task<Result<TerminalStatus>> Evaluate(CacheEntry entry, DeviceIdentity id)
    {
        if (entry.Store is null || !string.Equals(entry.Store, id.Store, StringComparison.Ordinal))
        {
            Log.CheckFailed(_logger, id.Terminal, ErrorCodes.DeviceCertificateUntrusted);
            return UnknownTask;
        }

        var task = entry.ActiveTask is null ? null
            : string.Equals(entry.Thumbprint, id.Sha256Thumbprint, StringComparison.Ordinal) ? entry.ActiveTask
            : string.Equals(entry.PreviousThumbprint, id.Sha256Thumbprint, StringComparison.Ordinal) ? entry.PreviousTask
            : null;
        if (task is null)
        {
            Log.CheckFailed(_logger, id.Terminal, ErrorCodes.DeviceCertificateRevoked);
            return RevokedTask;
        }

        if (task.Result.Value.TrustClass != id.TrustClass)
        {
            // Cannot happen with certificates this CA issued for this enrollment; a mismatch is a forgery or a mix-up.
            Log.CheckFailed(_logger, id.Terminal, ErrorCodes.DeviceCertificateUntrusted);
            return UnknownTask;
        }

        return task;
    }

    private void Invalidate(string terminalId)
    {
        lock (_cacheWrite)
        {
            Interlocked.Increment(ref _invalidations);
            _cache.TryRemove(terminalId, out _);
        }
    }

    /// <summary>
    /// A database answer about one terminal. <see cref="Store"/> null: no such terminal; <see cref="ActiveTask"/> null:
    /// not active; <see cref="PreviousThumbprint"/>: the certificate a renewal replaced, accepted until the new one is used.
    /// </summary>
    private sealed class CacheEntry(long readAt, string? store, string? thumbprint, TerminalStatus? status, string? previousThumbprint, TerminalStatus? previous)
    {
        public long ReadAt { get; } = readAt;

        public string? Store { get; } = store;

        public string? Thumbprint { get; } = thumbprint;

        public string? PreviousThumbprint { get; } = previousThumbprint;

        public Task<Result<TerminalStatus>>? ActiveTask { get; } = status is null ? null : Task.FromResult(Result<TerminalStatus>.Success(status));

        public Task<Result<TerminalStatus>>? PreviousTask { get; } = previous is null ? null : Task.FromResult(Result<TerminalStatus>.Success(previous));
    }
}
