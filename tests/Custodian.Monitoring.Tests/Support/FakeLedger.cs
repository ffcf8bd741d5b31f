using System.Runtime.CompilerServices;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;

namespace Custodian.Monitoring.Tests.Support;

/// <summary>
/// A small in-memory ledger for tests: assigns gap-free sequences, publishes each entry to the stream after
/// "committing" it, and serves the read side. Entries live in <see cref="Storage"/>, which a second instance can
/// share to simulate a process restart over the same ledger.
/// </summary>
internal sealed class FakeLedger(IAccessEventStream stream, List<CommittedEntry>? storage = null) : IAccessLedger, IAccessLedgerReader
{
    private readonly Lock _gate = new();

    public List<CommittedEntry> Storage { get; } = storage ?? [];

    /// <summary>When set, appends throw <see cref="LedgerUnavailableException"/>.</summary>
    public bool Unavailable { get; set; }

    /// <summary>When set, appends of entries by this account throw <see cref="LedgerUnavailableException"/>.</summary>
    public string? RefuseAccount { get; set; }

    /// <summary>
    /// When set, appends of the monitor's own entries (<see cref="Custodian.Monitoring.AccessMonitor.MonitorAccount"/>)
    /// wait for it to complete (a slow ledger holding the monitor's processing loop); <see cref="HeldAppends"/> counts them.
    /// </summary>
    public TaskCompletionSource? HoldMonitorEntries { get; set; }

    /// <summary>How many appends are waiting for <see cref="HoldMonitorEntries"/> now.</summary>
    public int HeldAppends => Volatile.Read(ref _held);

    private int _held;

    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return Storage.Count - 1;
            }
        }
    }

    public IReadOnlyList<CommittedEntry> Snapshot()
    {
        lock (_gate)
        {
            return [.. Storage];
        }
    }

    public ValueTask<CommittedEntry> AppendAsync(AccessEntry entry, CancellationToken cancellationToken = default)
    {
        if (Unavailable || (RefuseAccount is not null && entry.Account == RefuseAccount))
        {
            throw new LedgerUnavailableException();
        }

        if (HoldMonitorEntries is { } hold && entry.Account == Custodian.Monitoring.AccessMonitor.MonitorAccount)
        {
            return HeldAsync(hold, entry, cancellationToken);
        }

        CommittedEntry committed;
        lock (_gate)
        {
            committed = new CommittedEntry(Storage.Count, new byte[32], entry);
            Storage.Add(committed);

            // Publish under the lock so the stream sees sequence order.
            stream.PublishAsync(committed, cancellationToken).AsTask().GetAwaiter().GetResult();
        }

        return ValueTask.FromResult(committed);
    }

    private async ValueTask<CommittedEntry> HeldAsync(TaskCompletionSource hold, AccessEntry entry, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _held);
        try
        {
            await hold.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }

        HoldMonitorEntries = null;
        return await AppendAsync(entry, cancellationToken);
    }

    public ValueTask<long> GetSizeAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult((long)Storage.Count);
        }
    }

    public async IAsyncEnumerable<CommittedEntry> ReadAsync(long fromSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var e in Snapshot().Where(e => e.Sequence >= fromSequence))
        {
            await Task.Yield();
            yield return e;
        }
    }

    public async IAsyncEnumerable<CommittedEntry> ReadSinceAsync(DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var e in Snapshot().Where(e => e.Entry.Time >= since))
        {
            await Task.Yield();
            yield return e;
        }
    }

    public Task<IReadOnlyList<CommittedEntry>> ReadBySubjectAsync(SubscriberId subject, long? before, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<CommittedEntry>>(
            [.. Snapshot().Where(e => e.Entry.Subjects.Contains(subject) && (before is null || e.Sequence < before)).Reverse().Take(limit)]);
}
