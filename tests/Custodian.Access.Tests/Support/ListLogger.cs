using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Custodian.Access.Tests.Support;

/// <summary>Captures formatted log messages and their structured values, to assert that secrets never reach a log.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(EventId Id, LogLevel Level, string Message, string Values)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? string.Join("|", pairs.Select(p => p.Key + "=" + p.Value))
            : string.Empty;
        Entries.Enqueue((eventId, logLevel, formatter(state, exception), values));
    }

    public string AllText() => string.Join("\n", Entries.Select(e => e.Message + " " + e.Values));
}
