using System.Collections.Concurrent;
using System.Data.Common;
using System.Security.Cryptography;
using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Messaging;
using Custodian.Problems;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using Custodian.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Transparency;

/// <summary>A subscriber's portal session. The subject comes only from here, never from a request parameter.</summary>
/// <param name="Token">Bearer token (32 random bytes, base64url).</param>
/// <param name="Subject">The signed-in subscriber.</param>
/// <param name="CreatedAt">When the session began.</param>
public sealed record PortalSession(string Token, SubscriberId Subject, DateTimeOffset CreatedAt)
{
    /// <summary>Last time the session was used.</summary>
    public DateTimeOffset LastSeen { get; set; } = CreatedAt;
}

/// <summary>
/// Subscriber sign-in to the portal with phone number + one-time SMS code (docs/portal.md §1, "Sign-in").
/// The answer to a code request is the same, and the request does the same work (a code is issued and
/// one item queued for the SMS dispatcher), whether or not the number belongs to a subscriber.
/// <para>
/// Limits (sliding one-hour windows; 429 <c>rate-limited</c> with <c>Retry-After</c> beyond): code requests
/// 5 per (number, source address), 20 per number, 30 per source address; failed code checks 5 per (number, address),
/// 20 per number, 20 per address. A number has at most 4 live codes, one per requesting address: an address's new
/// code replaces its own previous one, never another address's, and a 5th address waits until one expires. A check
/// accepts any live code of the number; a miss is charged only to the code the checking address requested (void after
/// 5). So a caller at other addresses can neither void the subscriber's code nor stop the subscriber's address from
/// getting and using one unless it holds 4 addresses (IPv6: 4 /64 prefixes), and the chance of guessing a code stays at
/// most 20 misses × 4 live codes / 10^6 = 8 × 10^-5 per number per hour. A code lives 5 minutes; sessions end after
/// 15 minutes idle or 1 hour in all.
/// </para>
/// <para>
/// The codes and every limit are kept in the deployment's database (<see cref="PortalCodeBook"/>), so they hold for the
/// deployment, not per API node: a code requested through one node is accepted once through any, and a restart keeps
/// them. A database that cannot be read or written refuses the request (503 <c>storage-unavailable</c>, transient) and
/// sends no code. Sessions stay in the memory of the node that opened them. Thread-safe.
/// </para>
/// </summary>
public sealed class PortalSignIn
{
    /// <summary>
    /// Code requests allowed per (phone number, source address) in any sliding hour: 5. The subscriber's own budget,
    /// which no other address can use up. Source: Custodian's choice (today's per-number budget, kept per address).
    /// </summary>
    public const int CodesPerNumberAndAddressPerHour = 5;

    /// <summary>
    /// Code requests allowed per phone number from all addresses together in any sliding hour: 20, so that one number
    /// cannot be flooded with SMS. Reaching it takes 20 / <see cref="CodesPerNumberAndAddressPerHour"/> = 4 addresses;
    /// with 3 the subscriber's address keeps its full 5. Source: Custodian's choice.
    /// </summary>
    public const int CodesPerNumberPerHour = 20;

    /// <summary>Code requests allowed per source address (any number) in any sliding hour: 30. Source: Custodian's choice.</summary>
    public const int CodesPerAddressPerHour = 30;

    /// <summary>
    /// Live codes a number can have at once: 4, one per requesting address (the newest from an address replaces that
    /// address's previous one). A request from a 5th address is refused until one expires, so no request voids another
    /// address's code. Source: Custodian's choice (equal to 4 addresses, as for <see cref="CodesPerNumberPerHour"/>).
    /// </summary>
    public const int LiveCodesPerNumber = 4;

    /// <summary>
    /// Failed code checks allowed per (phone number, source address) in any sliding hour: 5. Source: NIST SP 800-63B
    /// §5.2.2 (limit failed attempts), kept per address so that one address cannot use up the number's budget.
    /// </summary>
    public const int FailedChecksPerNumberAndAddressPerHour = 5;

    /// <summary>
    /// Failed code checks allowed per phone number from all addresses together in any sliding hour: 20. With at most
    /// <see cref="LiveCodesPerNumber"/> live codes, a guesser succeeds with probability at most 20 × 4 / 10^6 = 8 × 10^-5
    /// per number per hour. Reaching it takes 4 addresses. Source: NIST SP 800-63B §5.2.2 (at most 100 failed attempts
    /// on one account), tightened by Custodian.
    /// </summary>
    public const int FailedChecksPerNumberPerHour = 20;

    /// <summary>Failed code checks allowed per source address (any number) in any sliding hour: 20, against guessing codes across many numbers. Source: Custodian's choice.</summary>
    public const int FailedChecksPerAddressPerHour = 20;

    /// <summary>How long a code stays valid: 5 minutes (still accepted at its expiry instant). Source: NIST SP 800-63B §5.1.3 (short-lived out-of-band secret).</summary>
    public static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Wrong checks from the address that requested a code after which that code is void: 5. Misses from other
    /// addresses are not charged to it. Source: NIST SP 800-63B §5.2.2 (limit failed attempts).
    /// </summary>
    public const int AttemptsPerCode = 5;

    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromHours(1);

    private readonly SubscriberVault _vault;
    private readonly Portal.PortalCodeQueue _sms;
    private readonly IAccessLedger _ledger;
    private readonly TimeProvider _time;
    private readonly PortalCodeBook _codes;
    private readonly ConcurrentDictionary<string, PortalSession> _sessions = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    /// <summary>Creates the service.</summary>
    /// <param name="vault">Finds the subscriber by the phone number's blind index (no decryption).</param>
    /// <param name="sms">The queue to the SMS dispatcher.</param>
    /// <param name="ledger">Records sign-ins.</param>
    /// <param name="db">The deployment's database, which holds the codes and the limits (migration <c>portal-003</c>).</param>
    /// <param name="secrets">The deployment's access-secret key, from which the codes' and numbers' HMAC key is derived.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Logs refusals for an unavailable database (event 5105); none when null.</param>
    public PortalSignIn(SubscriberVault vault, Portal.PortalCodeQueue sms, IAccessLedger ledger, CustodianDatabase db, SecretProtector secrets, TimeProvider time, ILogger<PortalSignIn>? logger = null)
    {
        _vault = vault;
        _sms = sms;
        _ledger = ledger;
        _time = time;
        _codes = new PortalCodeBook(db, secrets, time);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The code book (for tests).</summary>
    internal PortalCodeBook Codes => _codes;

    /// <summary>Sends a sign-in code to <paramref name="phone"/> if it belongs to a subscriber; the result does not say whether it does.</summary>
    /// <returns>Success (always the same), or a validation / rate-limit error, or 503 <c>storage-unavailable</c> when the database cannot record the code (nothing is sent).</returns>
    public async Task<Result<DateTimeOffset>> RequestCodeAsync(string? phone, string? sourceIp, CancellationToken cancellationToken)
    {
        var normalized = Normalize(phone);
        if (!normalized.IsSuccess)
        {
            return normalized.Error!;
        }

        ((string Code, DateTimeOffset ExpiresAt)? Issued, TimeSpan RetryAfter) decision;
        try
        {
            decision = await _codes.RequestAsync(normalized.Value, AddressKey(sourceIp), cancellationToken);
        }
        catch (Exception ex) when (ex is DbException or StorageUnavailableException)
        {
            return StorageUnavailable(ex);
        }

        if (decision.Issued is not { } fresh)
        {
            return RateLimited(decision.RetryAfter);
        }

        var (code, expires) = fresh;
        var ids = await _vault.FindByPhoneAsync(normalized.Value, cancellationToken);

        // Same work for strangers: one queued item either way; the dispatcher drops the stranger's.
        _sms.Enqueue(ids.Count == 1 ? ids[0] : null, $"[Custodian] 개인정보 이용내역 조회 인증번호 {code} (5분간 유효). 요청하지 않았다면 무시하세요.");
        return expires;
    }

    /// <summary>Checks the code and opens a session for the subscriber who owns <paramref name="phone"/>.</summary>
    /// <returns>The session; or a validation, wrong-code or rate-limit error, or 503 <c>storage-unavailable</c> when the database cannot be read or written (no session).</returns>
    public async Task<Result<PortalSession>> VerifyAsync(string? phone, string? code, string? sourceIp, CancellationToken cancellationToken)
    {
        var normalized = Normalize(phone);
        if (!normalized.IsSuccess)
        {
            return normalized.Error!;
        }

        if (string.IsNullOrWhiteSpace(code))
        {
            // A request without a code is malformed, not a wrong guess: 400, and it uses none of the address's failed checks.
            return Hosting.ProblemResults.Validation("code", "is required: the code sent by SMS");
        }

        (bool Matched, TimeSpan RetryAfter) check;
        try
        {
            check = await _codes.VerifyAsync(normalized.Value, AddressKey(sourceIp), code, cancellationToken);
        }
        catch (Exception ex) when (ex is DbException or StorageUnavailableException)
        {
            return StorageUnavailable(ex);
        }

        var invalid = new CustodianError(ErrorCodes.PortalCodeInvalid, 401, "The code is wrong or has expired.");
        if (!check.Matched)
        {
            return check.RetryAfter > TimeSpan.Zero ? RateLimited(check.RetryAfter) : invalid;
        }

        var ids = await _vault.FindByPhoneAsync(normalized.Value, cancellationToken);
        if (ids.Count != 1)
        {
            return invalid;
        }

        try
        {
            await _ledger.AppendAsync(
                new AccessEntry
                {
                    Time = _time.GetUtcNow(),
                    Task = AccessTask.PortalSignIn,
                    Outcome = AccessOutcome.Allowed,
                    Account = "subscriber",
                    SourceIp = sourceIp,
                    Subjects = [ids[0]],
                },
                cancellationToken);
        }
        catch (LedgerUnavailableException)
        {
            return new CustodianError(ErrorCodes.LedgerUnavailable, 503, "The access ledger could not record the sign-in, so it was refused.", IsTransient: true);
        }

        var session = new PortalSession(Base64Url(RandomNumberGenerator.GetBytes(32)), ids[0], _time.GetUtcNow());
        _sessions[session.Token] = session;
        return session;
    }

    /// <summary>Resolves a bearer token to its session; refreshes idle time.</summary>
    public Result<PortalSession> Validate(string? token)
    {
        var now = _time.GetUtcNow();
        if (token is null || !_sessions.TryGetValue(token, out var session))
        {
            return new CustodianError(ErrorCodes.SessionRequired, 401, "Sign in to the portal first.");
        }

        if (now - session.LastSeen > IdleTimeout || now - session.CreatedAt > AbsoluteLifetime)
        {
            _sessions.TryRemove(token, out _);
            return new CustodianError(ErrorCodes.SessionRequired, 401, "The portal session has ended; sign in again.");
        }

        session.LastSeen = now;
        return session;
    }

    /// <summary>Ends a session.</summary>
    public void SignOut(string token) => _sessions.TryRemove(token, out _);

    private static Result<string> Normalize(string? phone) => string.IsNullOrWhiteSpace(phone)
        ? Hosting.ProblemResults.Validation("phone", "is required")
        : PhoneNumbers.NormalizeKorean(phone);

    /// <summary>
    /// The key the limits count a source address under: an IPv4 address as itself (also when IPv4-mapped), an IPv6
    /// address as its /64 prefix (one subscriber line or site is routinely given a whole /64, so counting single IPv6
    /// addresses would let one caller act as billions), <c>?</c> when unknown or unparsable.
    /// </summary>
    /// <param name="sourceIp">The connection's remote address as text, or null.</param>
    internal static string AddressKey(string? sourceIp)
    {
        if (!System.Net.IPAddress.TryParse(sourceIp, out var ip))
        {
            return "?";
        }

        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }

        if (ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return ip.ToString();
        }

        var bytes = ip.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new System.Net.IPAddress(bytes) + "/64";
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static CustodianError RateLimited(TimeSpan retry) =>
        new(ErrorCodes.RateLimited, 429, "Too many attempts; try again later.", IsTransient: true) { RetryAfter = retry };

    private CustodianError StorageUnavailable(Exception exception)
    {
        Portal.PortalLog.SignInStorageFailed(_logger, exception);
        return new CustodianError(ErrorCodes.StorageUnavailable, 503, "The database is unavailable, so the sign-in was refused and no code was sent. Try again shortly.", IsTransient: true);
    }
}
