namespace Custodian.Timing;

/// <summary>
/// "At most once per interval, by one caller": the claim behind the opportunistic sweeps that ride on ordinary calls
/// (expired sessions, one-time codes, consent attempts, portal rate windows) instead of a timer of their own.
/// </summary>
public static class PeriodicClaim
{
    /// <summary>
    /// Claims the work due at <paramref name="now"/> when at least <paramref name="every"/> has passed since the last
    /// claim recorded in <paramref name="lastTicks"/>; of callers racing for one due claim exactly one wins (a
    /// compare-and-swap on <paramref name="lastTicks"/>). Thread-safe.
    /// </summary>
    /// <param name="lastTicks">The field holding the last claim's <see cref="DateTimeOffset.UtcTicks"/>; 0 before the first.</param>
    /// <param name="now">The current time, from the caller's injected <see cref="TimeProvider"/>.</param>
    /// <param name="every">The shortest time between two claims; positive.</param>
    /// <returns>True for the one caller that should do the work now; false otherwise.</returns>
    public static bool TryClaim(ref long lastTicks, DateTimeOffset now, TimeSpan every)
    {
        var last = Interlocked.Read(ref lastTicks);
        return now.UtcTicks - last >= every.Ticks && Interlocked.CompareExchange(ref lastTicks, now.UtcTicks, last) == last;
    }
}
