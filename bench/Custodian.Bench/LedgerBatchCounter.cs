namespace Custodian.Bench;

/// <summary>
/// Counts the ledger writer's group commits from its Debug event 2001 ("batch committed: {Count} entries"), so
/// that each phase can report the average batch size — the one number that decides how well the durable
/// commit's fixed cost (transaction, tree head, fsync) is amortised. Only that event is enabled; nothing is printed.
/// </summary>
internal sealed class LedgerBatchCounter : ILoggerProvider, ILogger
{
    public const string Category = "Custodian.Ledger.SqliteAccessLedger";

    private long _batches;
    private long _entries;
    private long _last;
    private long _maxGap;
    private long _lastSequence = -1;

    /// <summary>Sequence of the newest committed entry (−1 before the first commit seen).</summary>
    public long LastSequence => Interlocked.Read(ref _lastSequence);

    public (long Batches, long Entries) Snapshot => (Interlocked.Read(ref _batches), Interlocked.Read(ref _entries));

    /// <summary>The longest time between two consecutive commits since the last call, in ms (a stalled writer shows here).</summary>
    public double TakeMaxGapMs()
    {
        Interlocked.Exchange(ref _last, 0);
        return Interlocked.Exchange(ref _maxGap, 0) * 1000.0 / System.Diagnostics.Stopwatch.Frequency;
    }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id != 2001 || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            return;
        }

        foreach (var (key, value) in values)
        {
            if (string.Equals(key, "LastSequence", StringComparison.OrdinalIgnoreCase) && value is long sequence)
            {
                Interlocked.Exchange(ref _lastSequence, sequence);
            }
        }

        foreach (var (key, value) in values)
        {
            if (string.Equals(key, "Count", StringComparison.OrdinalIgnoreCase) && value is int or long)
            {
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                var last = Interlocked.Exchange(ref _last, now);
                if (last != 0 && now - last > Interlocked.Read(ref _maxGap))
                {
                    Interlocked.Exchange(ref _maxGap, now - last);
                }

                Interlocked.Increment(ref _batches);
                Interlocked.Add(ref _entries, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                return;
            }
        }
    }

    public void Dispose()
    {
    }
}
