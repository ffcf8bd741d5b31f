using Custodian.Siem.Ocsf;

namespace Custodian.Siem.Export;

/// <summary>
/// Where exported events go. <see cref="WriteAsync"/> returns only once the whole batch has been handed
/// to the transport and flushed (written to the socket, or to the file and the file flushed to disk);
/// the exporter advances the persisted cursor only after that, so delivery is at least once.
/// Not thread-safe: one exporter drives one sink.
/// </summary>
public interface ISiemSink : IAsyncDisposable
{
    /// <summary>The cursor key of this destination, e.g. <c>syslog+tls://siem.example:6514</c> (at most 200 characters).</summary>
    string Id { get; }

    /// <summary>Writes and flushes <paramref name="events"/> in order.</summary>
    /// <exception cref="IOException">When the transport failed; some of the batch may have been delivered (the exporter resends it).</exception>
    ValueTask WriteAsync(IReadOnlyList<OcsfEvent> events, CancellationToken cancellationToken);
}
