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
/// Subscriber sign-in to the portal with phone number + one-time SMS code. The answer to a code
/// request is the same whether or not the number belongs to a subscriber. Limits: 5 code requests
/// per number per hour and 30 per source address per hour (429 beyond); a code lives 5 minutes and
/// allows 5 attempts; sessions end after 15 minutes idle or 1 hour in all. Thread-safe.
/// </summary>
public sealed class PortalSignIn
{
    /// <summary>Code requests allowed per phone number per hour.</summary>
    public const int CodesPerNumberPerHour = 5;

    /// <summary>Code requests allowed per source address per hour.</summary>
    public const int CodesPerAddressPerHour = 30;

    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromHours(1);

    private readonly SubscriberVault _vault;
    private readonly ISmsSender _sms;
    private readonly IAccessLedger _ledger;
    private readonly TimeProvider _time;
    private readonly OneTimeCodes _codes;
    private readonly ConcurrentDictionary<string, PortalSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _rate = new(StringComparer.Ordinal);

    /// <summary>Creates the service.</summary>
    public PortalSignIn(SubscriberVault vault, ISmsSender sms, IAccessLedger ledger, TimeProvider time)
    {
        _vault = vault;
        _sms = sms;
        _ledger = ledger;
        _time = time;
        _codes = new OneTimeCodes(time, TimeSpan.FromMinutes(5), maxAttempts: 5);
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

        if (!Allow("n:" + KeyOf(normalized.Value), CodesPerNumberPerHour, out var retry) || !Allow("a:" + (sourceIp ?? "?"), CodesPerAddressPerHour, out retry))
        {
            return new CustodianError(ErrorCodes.RateLimited, 429, "Too many code requests; try again later.", IsTransient: true) { RetryAfter = retry };
        }

        var ids = await _vault.FindByPhoneAsync(normalized.Value, cancellationToken);
        var (code, expires) = _codes.Issue(KeyOf(normalized.Value));
        if (ids.Count == 1)
        {
            await _sms.SendAsync(ids[0], SmsKind.PortalCode, $"[Custodian] 개인정보 이용내역 조회 인증번호 {code} (5분간 유효). 요청하지 않았다면 무시하세요.", cancellationToken);
        }

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

        var invalid = new CustodianError(ErrorCodes.PortalCodeInvalid, 401, "The code is wrong or has expired.");
        if (_codes.Verify(KeyOf(normalized.Value), code) != CodeCheck.Valid)
        {
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

    private bool Allow(string key, int perHour, out TimeSpan retryAfter)
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

        var queue = _rate.GetOrAdd(key, _ => new Queue<DateTimeOffset>());
        lock (queue)
        {
            while (queue.Count > 0 && now - queue.Peek() >= TimeSpan.FromHours(1))
            {
                queue.Dequeue();
            }

            if (queue.Count >= perHour)
            {
                retryAfter = queue.Peek() + TimeSpan.FromHours(1) - now;
                return false;
            }

            queue.Enqueue(now);
            return true;
        }
    }
}
