using Custodian.Events;

namespace Custodian.Monitoring.Workers;

/// <summary>
/// The API node's catch-up check when the monitor runs in workers (<c>serve --monitor workers</c>; docs/events.md,
/// "Monitor workers"): before serving a principal's read, the guard waits until the worker owning the clerk's partition,
/// the one owning the terminal's partition and the one owning the aggregate partition (<see cref="MonitorPartition.Aggregate"/>)
/// have committed the principal's previous entry — which they do only after its alert, suspensions and risk are stored —
/// and then reads suspensions and, for views, the stored step-up (<see cref="RiskStandingStore"/>) from the shared storage.
/// This keeps "suspended / stepped up before the next request is served" as in embedded mode, at the cost of one progress
/// query per poll and a few point queries per read.
/// </summary>
/// <param name="progress">Partition progress in the shared storage.</param>
public sealed class MonitorWorkerGate(PartitionProgressStore progress)
{
    /// <summary>Pause between two reads of the progress: 10 ms. The timeout is counted in polls, so no clock is read.</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(10);

    private readonly PartitionProgressStore _progress = progress ?? throw new ArgumentNullException(nameof(progress));

    /// <summary>
    /// Waits until the clerk's partition has processed ledger sequence <paramref name="clerkSequence"/>, the terminal's
    /// partition <paramref name="terminalSequence"/> (each −1 when there was no previous entry, which needs no wait), and
    /// the aggregate partition the larger of the two. One query reads the three partitions' progress per poll.
    /// </summary>
    /// <param name="clerk">The clerk's account code.</param>
    /// <param name="clerkSequence">The clerk's previous ledger sequence, or −1.</param>
    /// <param name="terminal">The terminal's code.</param>
    /// <param name="terminalSequence">The terminal's previous ledger sequence, or −1.</param>
    /// <param name="timeout">Longest wait (the guard's <c>GuardWaitTimeout</c>, 2 s by default), counted as timeout / <see cref="Poll"/> polls.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>True when processed; false on timeout (the guard refuses with <c>monitor-behind</c>, 503, transient).</returns>
    /// <exception cref="System.Data.Common.DbException">When the storage fails.</exception>
    public async ValueTask<bool> WaitForProcessedAsync(string clerk, long clerkSequence, string terminal, long terminalSequence, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clerk);
        ArgumentNullException.ThrowIfNull(terminal);
        var polls = Math.Max(1, (int)(timeout / Poll));
        var clerkPartition = new MonitorPartition(PrincipalKind.Clerk, LedgerSubjects.PartitionOf(clerk)).Token;
        var terminalPartition = new MonitorPartition(PrincipalKind.Terminal, LedgerSubjects.PartitionOf(terminal)).Token;
        var aggregateSequence = Math.Max(clerkSequence, terminalSequence);
        if (aggregateSequence < 0)
        {
            return true;
        }

        string[] partitions = [clerkPartition, terminalPartition, MonitorPartition.Aggregate.Token];
        while (true)
        {
            // A ledger sequence s is stream sequence s + 1.
            var done = await _progress.GetLastStreamSequencesAsync(partitions, cancellationToken);
            if (done[0] >= clerkSequence + 1 && done[1] >= terminalSequence + 1 && done[2] >= aggregateSequence + 1)
            {
                return true;
            }

            if (--polls < 0)
            {
                return false;
            }

            await Task.Delay(Poll, cancellationToken);
        }
    }
}
