using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Custodian.Ledger.Retention;

/// <summary>
/// Runs <see cref="LedgerRetention"/> inside the server every <see cref="RetentionOptions.Interval"/>
/// (default daily), on a <see cref="PeriodicTimer"/> driven by the injected <see cref="TimeProvider"/>.
/// A failed run is logged (event 2402) and retried at the next tick; it never stops the server.
/// </summary>
/// <param name="retention">The retention job.</param>
/// <param name="time">The clock driving the timer.</param>
/// <param name="logger">Logger.</param>
public sealed class RetentionService(LedgerRetention retention, TimeProvider time, ILogger<RetentionService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(retention);
        using var timer = new PeriodicTimer(retention.Options.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await retention.RunAsync(dryRun: false, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    RetentionLog.ScheduledRunFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
