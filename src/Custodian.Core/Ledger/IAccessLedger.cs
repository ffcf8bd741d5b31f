using Custodian.Identity;

namespace Custodian.Ledger;

/// <summary>
/// The write side of the access ledger. Implementations make every entry durable before the
/// returned task completes (fail closed: no durable entry, no read) and assign gap-free sequence
/// numbers in commit order. Thread-safe.
/// </summary>
public interface IAccessLedger
{
    /// <summary>Appends <paramref name="entry"/> durably and publishes it to the access event stream.</summary>
    /// <returns>The committed entry with its sequence number and leaf hash.</returns>
    /// <exception cref="LedgerUnavailableException">When the entry could not be made durable; the caller must refuse the read.</exception>
    ValueTask<CommittedEntry> AppendAsync(AccessEntry entry, CancellationToken cancellationToken = default);
}

/// <summary>The read side of the access ledger, used by the monitor, the portal and verification. Thread-safe.</summary>
public interface IAccessLedgerReader
{
    /// <summary>Number of entries (the tree size).</summary>
    ValueTask<long> GetSizeAsync(CancellationToken cancellationToken = default);

    /// <summary>Entries with sequence ≥ <paramref name="fromSequence"/>, in order.</summary>
    IAsyncEnumerable<CommittedEntry> ReadAsync(long fromSequence, CancellationToken cancellationToken = default);

    /// <summary>Entries with time ≥ <paramref name="since"/>, in sequence order.</summary>
    IAsyncEnumerable<CommittedEntry> ReadSinceAsync(DateTimeOffset since, CancellationToken cancellationToken = default);

    /// <summary>Entries whose subjects include <paramref name="subject"/>, newest first, at most <paramref name="limit"/>.</summary>
    /// <param name="subject">The subscriber.</param>
    /// <param name="before">Only entries with a sequence lower than this (paging); null for the newest.</param>
    /// <param name="limit">1–1000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<IReadOnlyList<CommittedEntry>> ReadBySubjectAsync(SubscriberId subject, long? before, int limit, CancellationToken cancellationToken = default);
}

/// <summary>Thrown when the ledger cannot durably record an entry. The guarded read must be refused.</summary>
public sealed class LedgerUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LedgerUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public LedgerUnavailableException()
        : base("The access ledger could not record the entry durably.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public LedgerUnavailableException(string message)
        : base(message)
    {
    }
}
