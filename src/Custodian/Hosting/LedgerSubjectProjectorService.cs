using System.Data.Common;
using Custodian.Ledger;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Custodian.Hosting;

/// <summary>
/// Runs <see cref="LedgerSubjectProjector.CatchUpAsync"/> in the background on every storage and event backend: at
/// start, then every <see cref="Interval"/>. A failed catch-up is logged (exception type only) and retried at the next
/// tick; reads by subject stay exact meanwhile because they decode the unprojected tail (<see cref="LedgerSubjectIndex"/>).
/// Several nodes may run it at once (each step takes the projection's lock; docs/ledger-format.md §3).
/// </summary>
/// <param name="projector">The projector.</param>
/// <param name="time">Clock for the ticks (never the wall clock directly).</param>
/// <param name="logger">Logger.</param>
public sealed partial class LedgerSubjectProjectorService(LedgerSubjectProjector projector, TimeProvider time, ILogger<LedgerSubjectProjectorService> logger) : BackgroundService
{
    /// <summary>Time between catch-ups: one second. Each tick projects what the ledger committed since, in steps of <see cref="LedgerSubjectProjector.BatchSize"/> entries.</summary>
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => PeriodicCatchUp.RunAsync(
        token => projector.CatchUpAsync(null, token),
        Interval,
        time,
        ex => ex is DbException or InvalidOperationException or TimeoutException or FormatException,
        ex => ProjectionFailed(logger, ex.GetType().Name, ex),
        stoppingToken);

    [LoggerMessage(EventId = 5642, Level = LogLevel.Warning, Message = "Ledger subject index: a catch-up failed ({ErrorType}); retrying at the next tick, reads by subject decode the unprojected tail meanwhile.")]
    private static partial void ProjectionFailed(ILogger logger, string errorType, Exception exception);
}
