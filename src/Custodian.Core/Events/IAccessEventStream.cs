using System.Threading.Channels;
using Custodian.Ledger;

namespace Custodian.Events;

/// <summary>
/// The seam through which committed ledger entries reach their projections (monitor, subscriber
/// notifications, SIEM export). Entries are published in sequence order, after they are durable.
/// The embedded default is <see cref="InProcessAccessEventStream"/>; a NATS JetStream
/// implementation plugs in here at carrier scale.
/// </summary>
public interface IAccessEventStream
{
    /// <summary>Publishes a committed entry to every current subscription. Called by the ledger in sequence order.</summary>
    ValueTask PublishAsync(CommittedEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Opens a subscription that receives every entry published after this call, in order.</summary>
    /// <param name="name">Name of the consumer, for diagnostics (e.g. <c>monitor</c>).</param>
    IAccessEventSubscription Subscribe(string name);
}

/// <summary>One consumer's ordered view of the access event stream. Dispose to stop receiving.</summary>
public interface IAccessEventSubscription : IDisposable
{
    /// <summary>
    /// The entries, in sequence order, until the subscription is disposed. Its <see cref="ChannelReader{T}.CanCount"/> and
    /// <see cref="ChannelReader{T}.CanPeek"/> are true: the monitor tells a quiet period from a backlog by them.
    /// </summary>
    ChannelReader<CommittedEntry> Reader { get; }
}

/// <summary>
/// In-process <see cref="IAccessEventStream"/>: one unbounded channel per subscription.
/// Thread-safe; <see cref="PublishAsync"/> never blocks.
/// </summary>
public sealed class InProcessAccessEventStream : IAccessEventStream
{
    private readonly Lock _gate = new();
    private Subscription[] _subscriptions = [];

    /// <inheritdoc />
    public ValueTask PublishAsync(CommittedEntry entry, CancellationToken cancellationToken = default)
    {
        foreach (var s in Volatile.Read(ref _subscriptions))
        {
            s.Channel.Writer.TryWrite(entry);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public IAccessEventSubscription Subscribe(string name)
    {
        var subscription = new Subscription(this, name);
        lock (_gate)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _subscriptions = _subscriptions.Where(s => !ReferenceEquals(s, subscription)).ToArray();
        }

        subscription.Channel.Writer.TryComplete();
    }

    private sealed class Subscription(InProcessAccessEventStream owner, string name) : IAccessEventSubscription
    {
        public Channel<CommittedEntry> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<CommittedEntry>(
            new UnboundedChannelOptions { SingleReader = false, SingleWriter = false }); // not single-reader: that channel cannot count

        public string Name { get; } = name;

        public ChannelReader<CommittedEntry> Reader => Channel.Reader;

        public void Dispose() => owner.Remove(this);
    }
}
