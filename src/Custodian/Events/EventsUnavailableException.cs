namespace Custodian.Events;

/// <summary>
/// The configured NATS JetStream event log cannot be used: unreachable, JetStream not enabled, the stream configured
/// differently, or the stream behind the ledger tables. One-line message naming the dependency (never its credentials);
/// <c>serve</c> and the administrative verbs exit with code 2 (docs/events.md, "Start-up").
/// </summary>
public sealed class EventsUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public EventsUnavailableException()
        : base("the event log is unavailable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line.</param>
    public EventsUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line.</param>
    /// <param name="innerException">The cause.</param>
    public EventsUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
