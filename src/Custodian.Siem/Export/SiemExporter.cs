using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Siem.Ocsf;
using Microsoft.Extensions.Logging;

namespace Custodian.Siem.Export;

/// <summary>Where an export run stopped.</summary>
/// <param name="NextSequence">The destination's cursor after the run: every lower ledger sequence was delivered at least once.</param>
/// <param name="Events">Events sent in this run (entries of tasks that are not exported are passed over and not counted).</param>
public sealed record SiemExportProgress(long NextSequence, long Events);

/// <summary>
/// Exports the access ledger to a SIEM destination at least once, in ledger order. For each batch (at most
/// <c>batchSize</c> consecutive ledger entries from the destination's cursor) it maps the entries to OCSF events
/// (<see cref="OcsfMapper"/>; <c>alert-raised</c> entries are enriched from the <see cref="AlertStore"/>), writes and
/// flushes them to the sink, and only then advances the persisted cursor (<see cref="SiemCursorStore"/>) past the
/// batch. A crash between the flush and the advance resends that batch after restart: receivers de-duplicate on
/// <c>metadata.uid</c> / CEF <c>externalId</c>, the ledger sequence. Thread-safe; each run drives its own sink.
/// </summary>
/// <param name="ledger">The ledger to read.</param>
/// <param name="alerts">Alert details for detection findings.</param>
/// <param name="mapper">Ledger entry → OCSF event.</param>
/// <param name="cursors">The persisted cursors.</param>
/// <param name="time">Clock for polling and back-off delays.</param>
/// <param name="logger">Logger (event IDs 6400–6499).</param>
public sealed class SiemExporter(IAccessLedgerReader ledger, AlertStore alerts, OcsfMapper mapper, SiemCursorStore cursors, TimeProvider time, ILogger<SiemExporter> logger)
{
    /// <summary>First reconnection delay after a destination failure; it doubles per consecutive failure.</summary>
    public static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest reconnection delay.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest time one batch write may take before the destination is treated as failed (the connection is then
    /// dropped and the batch resent after reconnecting). The caller's cancellation does not interrupt a batch write.
    /// </summary>
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Exports everything after <paramref name="sink"/>'s cursor up to the current end of the ledger, then returns.</summary>
    /// <param name="sink">The destination.</param>
    /// <param name="batchSize">Ledger entries per batch, 1–10,000.</param>
    /// <param name="cancellationToken">Stops between batches; a batch being written is finished first (bounded by <see cref="WriteTimeout"/>) and recorded.</param>
    /// <exception cref="IOException">When the sink fails or a write exceeds <see cref="WriteTimeout"/>; the cursor stays after the last flushed batch.</exception>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="batchSize"/> is outside 1–10,000.</exception>
    public async Task<SiemExportProgress> ExportAvailableAsync(ISiemSink sink, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, SiemExportOptions.MaxBatchSize);
        var next = await cursors.GetNextAsync(sink.Id, cancellationToken);
        long sent = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (events, after) = await ReadBatchAsync(next, batchSize, cancellationToken);
            if (after == next)
            {
                return new SiemExportProgress(next, sent);
            }

            if (events.Count > 0)
            {
                // A batch is written whole or not at all as far as the caller's cancellation goes: cancelling mid-write
                // would cut a frame in two at the receiver. Only a stuck receiver aborts a write (WriteTimeout).
                using var writeTimeout = new CancellationTokenSource(WriteTimeout, time);
                try
                {
                    await sink.WriteAsync(events, writeTimeout.Token);
                }
                catch (OperationCanceledException ex) when (writeTimeout.IsCancellationRequested)
                {
                    throw new IOException($"writing a batch to {sink.Id} took longer than {WriteTimeout.TotalSeconds:0} s.", ex);
                }
            }

            // Written and flushed: record it even if cancellation arrives now, so that it is not resent needlessly.
            await cursors.AdvanceAsync(sink.Id, after, events.Count, CancellationToken.None);
            sent += events.Count;
            next = after;
            Log.BatchExported(logger, sink.Id, events.Count, next);
        }
    }

    /// <summary>
    /// Follows the ledger until <paramref name="cancellationToken"/> fires: connects, exports what is there, polls
    /// for new entries every <paramref name="pollInterval"/>, and on a destination failure disposes the sink and
    /// reconnects after <see cref="InitialBackoff"/>, doubling up to <see cref="MaxBackoff"/> (reset after a success).
    /// </summary>
    /// <param name="connect">Opens the destination; throws <see cref="IOException"/> when it cannot.</param>
    /// <param name="sinkId">The destination's cursor key (for logging before a connection exists).</param>
    /// <param name="batchSize">Ledger entries per batch, 1–10,000.</param>
    /// <param name="pollInterval">Delay between polls when caught up (positive).</param>
    /// <param name="cancellationToken">Stops the run; returns normally.</param>
    public async Task RunAsync(Func<CancellationToken, Task<ISiemSink>> connect, string sinkId, int batchSize, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connect);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(pollInterval, TimeSpan.Zero);
        var backoff = InitialBackoff;
        var start = await cursors.GetNextAsync(sinkId, cancellationToken);
        Log.ExportStarted(logger, sinkId, start);
        try
        {
            while (true)
            {
                ISiemSink? sink = null;
                try
                {
                    sink = await connect(cancellationToken);
                    while (true)
                    {
                        await ExportAvailableAsync(sink, batchSize, cancellationToken);
                        backoff = InitialBackoff;
                        await Task.Delay(pollInterval, time, cancellationToken);
                    }
                }
                catch (IOException ex)
                {
                    var at = await cursors.GetNextAsync(sinkId, CancellationToken.None);
                    Log.SinkFailed(logger, sinkId, at, ex.Message, (long)backoff.TotalMilliseconds);
                    Log.SinkFailureDetail(logger, sinkId, ex);
                }
                finally
                {
                    if (sink is not null)
                    {
                        await sink.DisposeAsync();
                    }
                }

                await Task.Delay(backoff, time, cancellationToken);
                backoff = NextBackoff(backoff);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var stoppedAt = await cursors.GetNextAsync(sinkId, CancellationToken.None);
            Log.ExportStopped(logger, sinkId, stoppedAt);
        }
    }

    /// <summary>The reconnection delay after <paramref name="current"/>: doubled, at most <see cref="MaxBackoff"/>.</summary>
    internal static TimeSpan NextBackoff(TimeSpan current) => TimeSpan.FromTicks(Math.Min(current.Ticks * 2, MaxBackoff.Ticks));

    private async Task<(List<OcsfEvent> Events, long After)> ReadBatchAsync(long from, int batchSize, CancellationToken cancellationToken)
    {
        var events = new List<OcsfEvent>();
        var after = from;
        var read = 0;
        await foreach (var committed in ledger.ReadAsync(from, cancellationToken))
        {
            Alert? alert = null;
            if (committed.Entry.Task == AccessTask.AlertRaised && committed.Entry.Target is { } alertId)
            {
                alert = await alerts.GetAsync(alertId, cancellationToken);
            }

            if (mapper.Map(committed, alert) is { } e)
            {
                events.Add(e);
            }

            after = committed.Sequence + 1;
            if (++read >= batchSize)
            {
                break;
            }
        }

        return (events, after);
    }
}
