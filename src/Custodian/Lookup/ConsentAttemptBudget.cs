using System.Collections.Concurrent;
using Custodian.Identity;

namespace Custodian.Lookup;

/// <summary>
/// Wrong consent-code attempts per (clerk, subscriber) over a sliding window, kept across new codes. Each code allows
/// only 3 wrong tries, but a clerk could otherwise request a new code after every 3 and guess without end (a 6-digit
/// code falls after about 500,000 guesses); this budget is what stops that. Once exhausted, the guard refuses both the
/// consent request (no SMS is sent) and the unmask, without looking at the code, with
/// <see cref="Problems.ErrorCodes.ConsentAttemptsExhausted"/> (429), until the oldest counted attempt leaves the window.
/// </summary>
/// <remarks>
/// <para>Default <see cref="DefaultMaxWrongAttempts"/> (10) per <see cref="DefaultWindow"/> (24 hours): a subscriber
/// at the counter who mistypes needs one or two tries, a few re-requests cover a slow SMS, and 10 guesses a day give a
/// clerk about one chance in 100,000 per subscriber and day of hitting a 6-digit code. Counted: every code refused as
/// wrong or as past its own attempt limit; an expired code is not a guess and is not counted.</para>
/// <para>Held in memory per process, like the consent codes themselves (a code can only be entered on the node that
/// issued it, so the budget and the codes it guards live together); a restart clears both. Time comes from the
/// injected <see cref="TimeProvider"/>. Thread-safe.</para>
/// </remarks>
public sealed class ConsentAttemptBudget
{
    /// <summary>Wrong attempts allowed per clerk and subscriber within <see cref="DefaultWindow"/>: 10.</summary>
    public const int DefaultMaxWrongAttempts = 10;

    /// <summary>The sliding window over which wrong attempts are counted: 24 hours.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromHours(24);

    private const int SweepThreshold = 10_000;

    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _attempts = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    /// <summary>Creates a budget.</summary>
    /// <param name="time">The clock the window is measured on.</param>
    /// <param name="maxWrongAttempts">Wrong attempts allowed within <paramref name="window"/> (1–1000); the default is <see cref="DefaultMaxWrongAttempts"/>.</param>
    /// <param name="window">The sliding window (1 minute – 30 days); null for <see cref="DefaultWindow"/>.</param>
    public ConsentAttemptBudget(TimeProvider time, int maxWrongAttempts = DefaultMaxWrongAttempts, TimeSpan? window = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWrongAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxWrongAttempts, 1000);
        var w = window ?? DefaultWindow;
        ArgumentOutOfRangeException.ThrowIfLessThan(w, TimeSpan.FromMinutes(1), nameof(window));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(w, TimeSpan.FromDays(30), nameof(window));
        _time = time;
        MaxWrongAttempts = maxWrongAttempts;
        Window = w;
    }

    /// <summary>Wrong attempts allowed within <see cref="Window"/>.</summary>
    public int MaxWrongAttempts { get; }

    /// <summary>The sliding window.</summary>
    public TimeSpan Window { get; }

    /// <summary>How long until <paramref name="clerk"/> may try a code for <paramref name="subject"/> again; null when the budget is not exhausted.</summary>
    /// <param name="clerk">The clerk's account ID.</param>
    /// <param name="subject">The subscriber.</param>
    /// <returns>The time until the oldest counted attempt leaves the window, or null.</returns>
    public TimeSpan? RetryAfter(string clerk, SubscriberId subject)
    {
        if (!_attempts.TryGetValue(Key(clerk, subject), out var attempts))
        {
            return null;
        }

        var now = _time.GetUtcNow();
        lock (attempts)
        {
            Prune(attempts, now);
            return attempts.Count >= MaxWrongAttempts ? attempts.Peek() + Window - now : null;
        }
    }

    /// <summary>Counts one wrong attempt by <paramref name="clerk"/> for <paramref name="subject"/>, now.</summary>
    /// <param name="clerk">The clerk's account ID.</param>
    /// <param name="subject">The subscriber.</param>
    public void RecordWrong(string clerk, SubscriberId subject)
    {
        var now = _time.GetUtcNow();
        var key = Key(clerk, subject);
        while (true)
        {
            var attempts = _attempts.GetOrAdd(key, static _ => new Queue<DateTimeOffset>());
            lock (attempts)
            {
                if (!_attempts.TryGetValue(key, out var current) || !ReferenceEquals(current, attempts))
                {
                    continue; // swept away meanwhile: count in the queue that is registered now
                }

                Prune(attempts, now);
                attempts.Enqueue(now);
                break;
            }
        }

        Sweep(now);
    }

    private static string Key(string clerk, SubscriberId subject) => $"{clerk}|{subject.Value}";

    private void Prune(Queue<DateTimeOffset> attempts, DateTimeOffset now)
    {
        while (attempts.Count > 0 && attempts.Peek() + Window <= now)
        {
            attempts.Dequeue();
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        // At most one full pass per window, and only when many keys are held, so counting stays O(1) amortised.
        if (_attempts.Count < SweepThreshold || now - _lastSweep < Window)
        {
            return;
        }

        _lastSweep = now;
        foreach (var pair in _attempts)
        {
            lock (pair.Value)
            {
                Prune(pair.Value, now);
                if (pair.Value.Count == 0)
                {
                    _attempts.TryRemove(pair);
                }
            }
        }
    }
}
