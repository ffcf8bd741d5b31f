using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Custodian.Transparency;

/// <summary>
/// The portal's sign-in codes and the limits kept per phone number (docs/portal.md §1), keyed by a hash of the
/// number (never the number itself): at most <see cref="PortalSignIn.LiveCodesPerNumber"/> live codes per number,
/// one per requesting source address (an address's new code replaces its own previous one and no other); the
/// sliding one-hour windows of code requests and of failed checks, per number and per (number, address). Every
/// decision about one number is taken under that number's lock, so the limits — and the guessing bound they give —
/// hold under concurrent requests. Numbers with nothing in the last hour and no live code are forgotten (at most one
/// sweep a minute once more than 10,000 are held), so memory stays bounded however many numbers callers cycle
/// through. Thread-safe.
/// </summary>
internal sealed class PortalCodeBook
{
    private const int SweepAbove = 10_000;
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private static readonly TimeSpan SweepEvery = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, NumberState> _numbers = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _lastSweepTicks;

    /// <summary>Creates an empty book.</summary>
    /// <param name="time">The clock for code expiry and the windows.</param>
    public PortalCodeBook(TimeProvider time) => _time = time;

    /// <summary>How many numbers the book holds state for (for tests of the sweep).</summary>
    internal int NumberCount => _numbers.Count;

    /// <summary>
    /// Issues a code for <paramref name="number"/> requested from <paramref name="address"/> if the per-number limits and
    /// <paramref name="addressWindow"/> allow it: every limit is checked before any is counted.
    /// </summary>
    /// <param name="number">The number's key (a hash).</param>
    /// <param name="address">The source address's key (<see cref="PortalSignIn.AddressKey"/>).</param>
    /// <param name="addressWindow">
    /// The caller's per-address window, called once under the number's lock with whether to count the request; returns
    /// zero when it allows the request, else the wait until it would.
    /// </param>
    /// <param name="retryAfter">When refused: the longest wait among the limits that refused.</param>
    /// <returns>The new code and its expiry, or null when refused.</returns>
    public (string Code, DateTimeOffset ExpiresAt)? Request(string number, string address, Func<bool, TimeSpan> addressWindow, out TimeSpan retryAfter)
    {
        var now = _time.GetUtcNow();
        (var issued, retryAfter) = UnderLock(number, now, state =>
        {
            var wait = Longest(
                WindowWait(state.Requests, null, PortalSignIn.CodesPerNumberPerHour, now),
                WindowWait(state.Requests, address, PortalSignIn.CodesPerNumberAndAddressPerHour, now),
                SlotWait(state, address, now));
            wait = Longest(wait, addressWindow(wait == TimeSpan.Zero));
            if (wait > TimeSpan.Zero)
            {
                return (((string, DateTimeOffset)?)null, wait);
            }

            var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("000000", System.Globalization.CultureInfo.InvariantCulture);
            var expires = now + PortalSignIn.CodeLifetime;
            state.Requests.Enqueue((now, address));
            state.Codes.RemoveAll(c => c.Address == address);
            state.Codes.Add(new LiveCode(address, Hash(code), expires));
            return ((code, expires), TimeSpan.Zero);
        });
        return issued;
    }

    /// <summary>
    /// Checks <paramref name="code"/> against every live code of <paramref name="number"/> (constant-time compares, no
    /// early exit), unless the number's failed-check windows refuse the check. A match is consumed; a miss is counted
    /// on the number and on (number, address), and charged to the code <paramref name="address"/> itself requested, if
    /// any, which is void after <see cref="PortalSignIn.AttemptsPerCode"/> misses. Codes other addresses requested are
    /// never charged.
    /// </summary>
    /// <param name="number">The number's key (a hash).</param>
    /// <param name="address">The source address's key.</param>
    /// <param name="code">The code given, or null.</param>
    /// <param name="retryAfter">When refused: the longest wait among the windows that refused.</param>
    /// <returns>True when a live code matched; false when it did not or the check was refused (then <paramref name="retryAfter"/> is positive).</returns>
    public bool Verify(string number, string address, string? code, out TimeSpan retryAfter)
    {
        var now = _time.GetUtcNow();
        var given = Hash(code ?? string.Empty);
        (var matched, retryAfter) = UnderLock(number, now, state =>
        {
            var wait = Longest(
                WindowWait(state.Failures, null, PortalSignIn.FailedChecksPerNumberPerHour, now),
                WindowWait(state.Failures, address, PortalSignIn.FailedChecksPerNumberAndAddressPerHour, now));
            if (wait > TimeSpan.Zero)
            {
                return (false, wait);
            }

            LiveCode? match = null;
            foreach (var live in state.Codes)
            {
                // No early exit: the work does not depend on which code matched, or whether one did.
                if (CryptographicOperations.FixedTimeEquals(given, live.Hash))
                {
                    match = live;
                }
            }

            if (match is not null)
            {
                state.Codes.Remove(match);
                return (true, TimeSpan.Zero);
            }

            state.Failures.Enqueue((now, address));
            var own = state.Codes.Find(c => c.Address == address);
            if (own is not null && ++own.Attempts >= PortalSignIn.AttemptsPerCode)
            {
                state.Codes.Remove(own);
            }

            return (false, TimeSpan.Zero);
        });
        return matched;
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="number"/>'s state under its lock, pruned to <paramref name="now"/>
    /// (sweeping idle numbers first when due). A state the sweep removed meanwhile is never used: the caller that fetched
    /// it retries with a fresh one.
    /// </summary>
    private T UnderLock<T>(string number, DateTimeOffset now, Func<NumberState, T> body)
    {
        MaybeSweep(now);
        while (true)
        {
            var state = _numbers.GetOrAdd(number, static _ => new NumberState());
            lock (state.Gate)
            {
                if (state.Removed)
                {
                    continue;
                }

                state.Prune(now);
                return body(state);
            }
        }
    }

    private static byte[] Hash(string code) => SHA256.HashData(Encoding.UTF8.GetBytes(code));

    private static TimeSpan Longest(TimeSpan a, TimeSpan b, TimeSpan c) => a > b ? (a > c ? a : c) : (b > c ? b : c);

    private static TimeSpan Longest(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// Zero when fewer than <paramref name="perHour"/> events (of <paramref name="address"/>, or of any address when
    /// null) are in the window; else the time until the oldest event that must leave does.
    /// </summary>
    private static TimeSpan WindowWait(Queue<(DateTimeOffset At, string Address)> events, string? address, int perHour, DateTimeOffset now)
    {
        var times = events.Where(e => address is null || e.Address == address).Select(e => e.At).ToList();
        return times.Count < perHour ? TimeSpan.Zero : times[times.Count - perHour] + Window - now;
    }

    /// <summary>
    /// Zero when <paramref name="address"/> holds a live code (the new one replaces it) or a slot is free; else the
    /// time until the first live code expires (a code is still accepted at its expiry instant, so one tick past it).
    /// </summary>
    private static TimeSpan SlotWait(NumberState state, string address, DateTimeOffset now)
    {
        if (state.Codes.Count < PortalSignIn.LiveCodesPerNumber || state.Codes.Exists(c => c.Address == address))
        {
            return TimeSpan.Zero;
        }

        return state.Codes.Min(c => c.ExpiresAt) + TimeSpan.FromTicks(1) - now;
    }

    private void MaybeSweep(DateTimeOffset now)
    {
        if (_numbers.Count <= SweepAbove || !Timing.PeriodicClaim.TryClaim(ref _lastSweepTicks, now, SweepEvery))
        {
            return;
        }

        foreach (var pair in _numbers)
        {
            lock (pair.Value.Gate)
            {
                pair.Value.Prune(now);
                if (pair.Value.Requests.Count == 0 && pair.Value.Failures.Count == 0 && pair.Value.Codes.Count == 0)
                {
                    // Marked first: a caller that fetched this state before the removal retries with a fresh one.
                    pair.Value.Removed = true;
                    _numbers.TryRemove(pair);
                }
            }
        }
    }

    private sealed class LiveCode(string address, byte[] hash, DateTimeOffset expiresAt)
    {
        public string Address { get; } = address;

        public byte[] Hash { get; } = hash;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public int Attempts { get; set; }
    }

    private sealed class NumberState
    {
        public Lock Gate { get; } = new();

        public bool Removed { get; set; }

        /// <summary>Code requests in the last hour with their address (at most <see cref="PortalSignIn.CodesPerNumberPerHour"/>).</summary>
        public Queue<(DateTimeOffset At, string Address)> Requests { get; } = new();

        /// <summary>Failed checks in the last hour with their address (at most <see cref="PortalSignIn.FailedChecksPerNumberPerHour"/>).</summary>
        public Queue<(DateTimeOffset At, string Address)> Failures { get; } = new();

        /// <summary>Live codes, one per address (at most <see cref="PortalSignIn.LiveCodesPerNumber"/>).</summary>
        public List<LiveCode> Codes { get; } = [];

        public void Prune(DateTimeOffset now)
        {
            while (Requests.Count > 0 && now - Requests.Peek().At >= Window)
            {
                Requests.Dequeue();
            }

            while (Failures.Count > 0 && now - Failures.Peek().At >= Window)
            {
                Failures.Dequeue();
            }

            Codes.RemoveAll(c => now > c.ExpiresAt);
        }
    }
}
