using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Custodian.Messaging;

/// <summary>Outcome of checking a one-time code.</summary>
public enum CodeCheck
{
    /// <summary>The code matched and is now used up.</summary>
    Valid,
    /// <summary>No code is pending for the key, or it does not match.</summary>
    Invalid,
    /// <summary>The code's lifetime has passed.</summary>
    Expired,
    /// <summary>Too many wrong attempts; the code is void.</summary>
    TooManyAttempts,
}

/// <summary>
/// Short numeric one-time codes sent by SMS (consent codes, portal sign-in codes), held in memory
/// as SHA-256 hashes, single use, with an expiry and an attempt limit. Issuing a new code for a key
/// voids the previous one. Thread-safe.
/// </summary>
public sealed class OneTimeCodes
{
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    /// <summary>Creates a code book.</summary>
    /// <param name="time">Clock for expiry.</param>
    /// <param name="lifetime">How long a code stays valid (e.g. 5 minutes).</param>
    /// <param name="maxAttempts">Wrong attempts allowed before the code is void (1–10).</param>
    /// <param name="digits">Code length in digits (6–9).</param>
    public OneTimeCodes(TimeProvider time, TimeSpan lifetime, int maxAttempts, int digits = 6)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxAttempts, 10);
        ArgumentOutOfRangeException.ThrowIfLessThan(digits, 6);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(digits, 9);
        _time = time;
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

    /// <summary>Issues a fresh code for <paramref name="key"/>, voiding any earlier one; returns the code and its expiry.</summary>
    public (string Code, DateTimeOffset ExpiresAt) Issue(string key)
    {
        var max = (int)Math.Pow(10, Digits);
        var code = RandomNumberGenerator.GetInt32(0, max).ToString(new string('0', Digits), System.Globalization.CultureInfo.InvariantCulture);
        var expires = _time.GetUtcNow() + Lifetime;
        _pending[key] = new Pending(Hash(code), expires);
        Sweep();
        return (code, expires);
    }

    /// <summary>Checks <paramref name="code"/> for <paramref name="key"/>; a valid code is consumed.</summary>
    public CodeCheck Verify(string key, string? code)
    {
        if (!_pending.TryGetValue(key, out var pending))
        {
            return CodeCheck.Invalid;
        }

        lock (pending)
        {
            if (pending.Used)
            {
                return CodeCheck.Invalid;
            }

            if (_time.GetUtcNow() > pending.ExpiresAt)
            {
                _pending.TryRemove(new KeyValuePair<string, Pending>(key, pending));
                return CodeCheck.Expired;
            }

            if (pending.Attempts >= MaxAttempts)
            {
                return CodeCheck.TooManyAttempts;
            }

            var given = Hash(code ?? string.Empty);
            if (CryptographicOperations.FixedTimeEquals(given, pending.Hash))
            {
                pending.Used = true;
                _pending.TryRemove(new KeyValuePair<string, Pending>(key, pending));
                return CodeCheck.Valid;
            }

            pending.Attempts++;
            return pending.Attempts >= MaxAttempts ? CodeCheck.TooManyAttempts : CodeCheck.Invalid;
        }
    }

    private static byte[] Hash(string code) => SHA256.HashData(Encoding.UTF8.GetBytes(code));

    private void Sweep()
    {
        // At most one full pass per lifetime, so issuing stays O(1) amortised however many codes are pending.
        var now = _time.GetUtcNow();
        if (_pending.Count < 10_000 || now - _lastSweep < Lifetime)
        {
            return;
        }

        _lastSweep = now;
        foreach (var pair in _pending)
        {
            if (pair.Value.ExpiresAt < now)
            {
                _pending.TryRemove(pair);
            }
        }
    }

    private sealed class Pending(byte[] hash, DateTimeOffset expiresAt)
    {
        public byte[] Hash { get; } = hash;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public int Attempts { get; set; }

        public bool Used { get; set; }
    }
}
