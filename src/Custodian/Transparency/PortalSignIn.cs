using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Messaging;
using Custodian.Problems;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;

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
/// Subscriber sign-in to the portal with phone number + one-time SMS code (docs/portal.md, "Sign-in").
/// The answer to a code request is the same, and the request does the same work (a code is issued and
/// one item queued for the SMS dispatcher), whether or not the number belongs to a subscriber. Limits:
/// 5 code requests per number per hour and 30 per source address per hour; 20 failed code checks per
/// source address per hour (429 with <c>Retry-After</c> beyond, counted over a sliding hour); a code
/// lives 5 minutes and allows 5 attempts, after which it is void; a new code voids the previous one;
/// sessions end after 15 minutes idle or 1 hour in all. Thread-safe.
/// </summary>
public sealed class PortalSignIn
{
    /// <summary>Code requests allowed per phone number per hour.</summary>
    public const int CodesPerNumberPerHour = 5;

    /// <summary>Code requests allowed per source address per hour.</summary>
    public const int CodesPerAddressPerHour = 30;

    /// <summary>Failed code checks allowed per source address per hour (any number), against guessing codes across many numbers.</summary>
    public const int FailedChecksPerAddressPerHour = 20;

    /// <summary>How long a code stays valid.</summary>
    public static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(5);

    /// <summary>Wrong attempts a code allows before it is void.</summary>
    public const int AttemptsPerCode = 5;

    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromHours(1);

    private readonly SubscriberVault _vault;
    private readonly Portal.PortalCodeQueue _sms;
    private readonly IAccessLedger _ledger;
    private readonly TimeProvider _time;
    private readonly OneTimeCodes _codes;
    private readonly ConcurrentDictionary<string, PortalSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _rate = new(StringComparer.Ordinal);

    /// <summary>Creates the service.</summary>
    /// <param name="vault">Finds the subscriber by the phone number's blind index (no decryption).</param>
    /// <param name="sms">The queue to the SMS dispatcher.</param>
    /// <param name="ledger">Records sign-ins.</param>
    /// <param name="time">The clock.</param>
    public PortalSignIn(SubscriberVault vault, Portal.PortalCodeQueue sms, IAccessLedger ledger, TimeProvider time)
    {
        _vault = vault;
        _sms = sms;
        _ledger = ledger;
        _time = time;
        _codes = new OneTimeCodes(time, CodeLifetime, maxAttempts: AttemptsPerCode);
    }

    /// <summary>Sends a sign-in code to <paramref name="phone"/> if it belongs to a subscriber; the result does not say whether it does.</summary>
    /// <returns>Success (always the same), or a validation / rate-limit error.</returns>
    public async Task<Result<DateTimeOffset>> RequestCodeAsync(string? phone, string? sourceIp, CancellationToken cancellationToken)
    {
        var normalized = Normalize(phone);
        if (!normalized.IsSuccess)
        {
            return normalized.Error!;
        }

        var numberKey = "n:" + KeyOf(normalized.Value);
        var addressKey = "a:" + (sourceIp ?? "?");
        if (!Allow([(numberKey, CodesPerNumberPerHour), (addressKey, CodesPerAddressPerHour)], out var retry))
        {
            return RateLimited(retry);
        }

        var ids = await _vault.FindByPhoneAsync(normalized.Value, cancellationToken);
        var (code, expires) = _codes.Issue(KeyOf(normalized.Value));

        // Same work for strangers: one queued item either way; the dispatcher drops the stranger's.
        _sms.Enqueue(ids.Count == 1 ? ids[0] : null, $"[Custodian] 개인정보 이용내역 조회 인증번호 {code} (5분간 유효). 요청하지 않았다면 무시하세요.");
        return expires;
    }

    /// <summary>Checks the code and opens a session for the subscriber who owns <paramref name="phone"/>.</summary>
    public async Task<Result<PortalSession>> VerifyAsync(string? phone, string? code, string? sourceIp, CancellationToken cancellationToken)
    {
        var normalized = Normalize(phone);
        if (!normalized.IsSuccess)
        {
            return normalized.Error!;
        }

        var failureKey = "v:" + (sourceIp ?? "?");
        if (!Allow([(failureKey, FailedChecksPerAddressPerHour)], out var retry, record: false))
        {
            return RateLimited(retry);
        }

        var invalid = new CustodianError(ErrorCodes.PortalCodeInvalid, 401, "The code is wrong or has expired.");
        if (_codes.Verify(KeyOf(normalized.Value), code) != CodeCheck.Valid)
        {
            Allow([(failureKey, int.MaxValue)], out _);
            return invalid;
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

    private static string KeyOf(string e164) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("portal|" + e164)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static CustodianError RateLimited(TimeSpan retry) =>
        new(ErrorCodes.RateLimited, 429, "Too many attempts; try again later.", IsTransient: true) { RetryAfter = retry };

    /// <summary>
    /// Sliding one-hour windows: true when every key is below its limit, and then (with <paramref name="record"/>)
    /// counts one event on each; false with the longest wait otherwise, counting nothing.
    /// </summary>
    private bool Allow(IReadOnlyList<(string Key, int PerHour)> limits, out TimeSpan retryAfter, bool record = true)
    {
        retryAfter = TimeSpan.Zero;
        var now = _time.GetUtcNow();
        if (_rate.Count > 100_000)
        {
            // Bound memory against callers cycling through numbers: forget windows with nothing in the last hour.
            foreach (var pair in _rate)
            {
                lock (pair.Value)
                {
                    if (pair.Value.Count == 0 || now - pair.Value.Last() >= TimeSpan.FromHours(1))
                    {
                        _rate.TryRemove(pair);
                    }
                }
            }
        }

        var queues = limits.Select(l => (Queue: _rate.GetOrAdd(l.Key, _ => new Queue<DateTimeOffset>()), l.PerHour)).ToList();
        var allowed = true;
        foreach (var (queue, perHour) in queues)
        {
            lock (queue)
            {
                while (queue.Count > 0 && now - queue.Peek() >= TimeSpan.FromHours(1))
                {
                    queue.Dequeue();
                }

                if (queue.Count >= perHour)
                {
                    allowed = false;
                    var wait = queue.ElementAt(queue.Count - perHour) + TimeSpan.FromHours(1) - now;
                    retryAfter = wait > retryAfter ? wait : retryAfter;
                }
            }
        }

        if (allowed && record)
        {
            foreach (var (queue, _) in queues)
            {
                lock (queue)
                {
                    queue.Enqueue(now);
                }
            }
        }

        return allowed;
    }
}
