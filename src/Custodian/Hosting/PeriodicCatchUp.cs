namespace Custodian.Hosting;

/// <summary>
/// The background loop of the after-commit projections (<see cref="LedgerSubjectProjectorService"/>,
/// <see cref="Incidents.IncidentScopeProjectorService"/>): one catch-up at start, then one every interval on the
/// injected clock, until stopped. A failure the caller names as transient is reported and retried at the next tick;
/// any other exception ends the loop (and the host, as an unhandled background-service failure).
/// </summary>
internal static class PeriodicCatchUp
{
    /// <summary>Runs <paramref name="catchUp"/> now and then every <paramref name="interval"/> until <paramref name="stoppingToken"/> is cancelled.</summary>
    /// <param name="catchUp">One catch-up; receives <paramref name="stoppingToken"/>.</param>
    /// <param name="interval">Time between the end of one catch-up and the start of the next; more than zero.</param>
    /// <param name="time">Clock for the waits (fake in tests).</param>
    /// <param name="isTransient">True for an exception to report and retry at the next tick.</param>
    /// <param name="reportFailure">Called with each transient failure (log the exception's type only: no personal data).</param>
    /// <param name="stoppingToken">Stops the loop; a catch-up in progress is cancelled.</param>
    /// <returns>Completes when stopped.</returns>
    public static async Task RunAsync(
        Func<CancellationToken, Task> catchUp,
        TimeSpan interval,
        TimeProvider time,
        Func<Exception, bool> isTransient,
        Action<Exception> reportFailure,
        CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await catchUp(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (isTransient(ex))
            {
                reportFailure(ex);
            }

            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
