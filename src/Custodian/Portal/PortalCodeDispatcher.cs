using System.Threading.Channels;
using Custodian.Identity;
using Custodian.Messaging;
using Microsoft.Extensions.Logging;

namespace Custodian.Portal;

/// <summary>
/// The queue between a portal code request and the SMS sender. A request for a subscriber's number and a
/// request for a stranger's number both end by enqueuing one item (the stranger's with no recipient), so the
/// request does the same work and answers in similar time either way; the SMS is written by
/// <see cref="PortalCodeDispatcher"/> off the request path. Bounded (10,000 items; a full queue drops the
/// newest item, as a lost SMS would be: the subscriber asks again). Thread-safe.
/// </summary>
public sealed class PortalCodeQueue
{
    /// <summary>Items the queue holds at most.</summary>
    public const int Capacity = 10_000;

    private readonly Channel<PendingCode> _channel = Channel.CreateBounded<PendingCode>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, SingleWriter = false });

    /// <summary>The reader side, for the dispatcher.</summary>
    internal ChannelReader<PendingCode> Reader => _channel.Reader;

    /// <summary>Enqueues a code message; <paramref name="recipient"/> null for a number that is no subscriber's (dropped by the dispatcher).</summary>
    /// <param name="recipient">The subscriber, or null.</param>
    /// <param name="body">The SMS text (holds the code).</param>
    public void Enqueue(SubscriberId? recipient, string body) => _channel.Writer.TryWrite(new PendingCode(recipient, body));

    internal sealed record PendingCode(SubscriberId? Recipient, string Body);
}

/// <summary>Hosted service of the server: sends queued portal sign-in codes through <see cref="ISmsSender"/>.</summary>
public sealed class PortalCodeDispatcher(PortalCodeQueue queue, ISmsSender sms, ILogger<PortalCodeDispatcher> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var item in queue.Reader.ReadAllAsync(stoppingToken))
            {
                if (item.Recipient is not { } recipient)
                {
                    continue;
                }

                try
                {
                    await sms.SendAsync(recipient, SmsKind.PortalCode, item.Body, stoppingToken);
                }
                catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or InvalidOperationException)
                {
                    PortalLog.CodeSmsFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown: codes still queued are lost; the subscriber asks again.
        }
    }
}
