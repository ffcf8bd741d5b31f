using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Custodian.Access.Certificates;
using Custodian.Access.Staff;
using Custodian.Problems;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Custodian.Access.Sessions;

/// <summary>
/// Staff sessions, in memory (a restart signs everyone out). A session is bound to the certificate of the
/// terminal it was opened on, closed after <see cref="SessionOptions.IdleTimeout"/> without use (15 min
/// by default; PIPA safety standard: cut idle sessions) and after <see cref="SessionOptions.AbsoluteLifetime"/>
/// (12 h). Thread-safe.
/// </summary>
public sealed class SessionStore
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, StaffSession> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly SessionOptions _options;
    private readonly ILogger _logger;
    private long _lastSweepUtcTicks;

    /// <summary>Creates an empty store.</summary>
    /// <param name="time">Clock for idle and absolute timeouts.</param>
    /// <param name="options">Timeouts and limits.</param>
    /// <param name="logger">Logger; null for none.</param>
    /// <exception cref="OptionsValidationException">When <paramref name="options"/> are out of range.</exception>
    public SessionStore(TimeProvider time, SessionOptions options, ILogger<SessionStore>? logger = null)
    {
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        var validation = new SessionOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(SessionOptions), typeof(SessionOptions), validation.Failures);
        }

        _logger = logger ?? (ILogger)NullLogger.Instance;
        _lastSweepUtcTicks = time.GetUtcNow().UtcTicks;
    }

    /// <summary>Number of sessions held, including expired ones not yet swept.</summary>
    public int Count => _sessions.Count;

    /// <summary>Opens a session for an authenticated principal on a validated terminal.</summary>
    /// <param name="p">Who signed in (after any forced password change).</param>
    /// <param name="terminal">The terminal whose certificate the session is bound to.</param>
    /// <param name="sourceIp">Client IP address, if known.</param>
    /// <param name="signedInAt">When the sign-in began, before the credentials were checked (UTC): the session's
    /// <see cref="StaffSession.SignedInAt"/>, which the per-request standing check compares with the account's last
    /// disable, reset or move (<see cref="StaffDirectory.GetStandingAsync"/>). Null (or a later time) means now.</param>
    /// <returns>The session; its <see cref="StaffSession.Token"/> is the bearer token.</returns>
    public StaffSession Create(StaffPrincipal p, DeviceIdentity terminal, string? sourceIp, DateTimeOffset? signedInAt = null)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(terminal);
        var now = _time.GetUtcNow();
        SweepIfDue(now);
        var checkedAt = signedInAt is { } at && at < now ? at : now;
        StaffSession session;
        do
        {
            session = new StaffSession(Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)), p, terminal, sourceIp, now, _options.MaxHandlesPerSession, checkedAt);
        }
        while (!_sessions.TryAdd(session.Token, session));

        Log.Created(_logger, session.Id, p.Id, terminal.Terminal);
        return session;
    }

    /// <summary>
    /// Checks a bearer token presented by <paramref name="terminal"/> and, when valid, records the use
    /// (which restarts the idle timeout).
    /// </summary>
    /// <param name="token">The bearer token, or null.</param>
    /// <param name="terminal">The validated identity of the presenting terminal.</param>
    /// <returns>The session, or <see cref="ErrorCodes.SessionRequired"/> (401; missing, unknown, idle too
    /// long, past its lifetime or revoked) or <see cref="ErrorCodes.SessionTerminalMismatch"/> (401; the
    /// presenting certificate is not the one the session was opened with — the session is then closed,
    /// since its token has evidently left its terminal or the terminal's certificate was renewed; the detail says which:
    /// <see cref="AccessErrors.SessionTerminalMismatch"/> or <see cref="AccessErrors.SessionCertificateRenewed"/>).</returns>
    public Result<StaffSession> Validate(string? token, DeviceIdentity terminal)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        if (string.IsNullOrEmpty(token) || token.Length > 64 || !_sessions.TryGetValue(token, out var session))
        {
            return AccessErrors.SessionRequired;
        }

        var now = _time.GetUtcNow();
        if (IsExpired(session, now, out var reason))
        {
            Close(session, reason);
            return AccessErrors.SessionRequired;
        }

        if (!string.Equals(session.Terminal.Sha256Thumbprint, terminal.Sha256Thumbprint, StringComparison.Ordinal))
        {
            if (_sessions.TryRemove(new KeyValuePair<string, StaffSession>(session.Token, session)))
            {
                Log.TerminalMismatch(_logger, session.Id, session.Principal.Id, session.Terminal.Terminal, terminal.Terminal);
            }

            // The same terminal with another certificate is a renewal (or re-enrollment), not a stolen token: say so.
            return string.Equals(session.Terminal.Terminal, terminal.Terminal, StringComparison.Ordinal)
                ? AccessErrors.SessionCertificateRenewed
                : AccessErrors.SessionTerminalMismatch;
        }

        session.Touch(now);
        return session;
    }

    /// <summary>
    /// Looks a session up without using it: no idle-timer restart, nothing closed. For gateway policy that must see the
    /// session before the endpoint's own <see cref="Validate"/> (which reports and handles expiry and terminal mismatch).
    /// </summary>
    /// <param name="token">The bearer token, or null.</param>
    /// <param name="terminal">The validated identity of the presenting terminal.</param>
    /// <returns>The session when the token is known, unexpired and bound to <paramref name="terminal"/>'s certificate; else null.</returns>
    public StaffSession? Peek(string? token, DeviceIdentity terminal)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        if (string.IsNullOrEmpty(token) || token.Length > 64 || !_sessions.TryGetValue(token, out var session))
        {
            return null;
        }

        return !IsExpired(session, _time.GetUtcNow(), out _) && string.Equals(session.Terminal.Sha256Thumbprint, terminal.Sha256Thumbprint, StringComparison.Ordinal)
            ? session
            : null;
    }

    /// <summary>Closes the session with this token (sign-out); unknown tokens are ignored.</summary>
    public void Revoke(string token)
    {
        if (!string.IsNullOrEmpty(token) && _sessions.TryGetValue(token, out var session))
        {
            Close(session, "signed out or revoked");
        }
    }

    /// <summary>Closes every session of an account (account disabled, credentials reset, clerk suspended).</summary>
    public void RevokeAccount(string accountId) => RevokeAccount(accountId, except: null);

    /// <summary>
    /// Closes every session of an account but <paramref name="except"/> (a password change: the account's other sessions
    /// end, the one that made the change goes on; docs/access.md §6.4).
    /// </summary>
    /// <param name="accountId">The account.</param>
    /// <param name="except">The session to keep open, or null to close them all.</param>
    /// <returns>How many sessions were closed.</returns>
    public int RevokeAccount(string accountId, StaffSession? except)
    {
        var closed = 0;
        foreach (var session in _sessions.Values)
        {
            if (string.Equals(session.Principal.Id, accountId, StringComparison.Ordinal) && !ReferenceEquals(session, except)
                && Close(session, "account sessions revoked"))
            {
                closed++;
            }
        }

        return closed;
    }

    /// <summary>Closes every session of a terminal (terminal revoked or suspended).</summary>
    public void RevokeTerminal(string terminalId)
    {
        foreach (var session in _sessions.Values)
        {
            if (string.Equals(session.Terminal.Terminal, terminalId, StringComparison.Ordinal))
            {
                Close(session, "terminal sessions revoked");
            }
        }
    }

    /// <summary>Removes sessions past their idle timeout or lifetime (also done opportunistically, at most once a minute, by <see cref="Create"/>).</summary>
    /// <returns>How many were removed.</returns>
    public int RemoveExpired()
    {
        var now = _time.GetUtcNow();
        Interlocked.Exchange(ref _lastSweepUtcTicks, now.UtcTicks);
        var removed = 0;
        foreach (var session in _sessions.Values)
        {
            if (IsExpired(session, now, out var reason) && Close(session, reason))
            {
                removed++;
            }
        }

        return removed;
    }

    private bool IsExpired(StaffSession session, DateTimeOffset now, out string reason)
    {
        if (now - session.CreatedAt >= _options.AbsoluteLifetime)
        {
            reason = "lifetime reached";
            return true;
        }

        if (now - session.LastSeenAt >= _options.IdleTimeout)
        {
            reason = "idle timeout";
            return true;
        }

        reason = string.Empty;
        return false;
    }

    private bool Close(StaffSession session, string reason)
    {
        if (!_sessions.TryRemove(new KeyValuePair<string, StaffSession>(session.Token, session)))
        {
            return false;
        }

        Log.Closed(_logger, session.Id, session.Principal.Id, reason);
        return true;
    }

    private void SweepIfDue(DateTimeOffset now)
    {
        if (Timing.PeriodicClaim.TryClaim(ref _lastSweepUtcTicks, now, SweepInterval))
        {
            RemoveExpired();
        }
    }
}
