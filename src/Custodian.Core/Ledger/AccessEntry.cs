using Custodian.Identity;

namespace Custodian.Ledger;

/// <summary>
/// One event for the access ledger: a read of personal data (search, view, unmask, …), a refusal,
/// or a security-relevant action (sign-in, enrollment, suspension, …). Carries the PIPA safety
/// standard access-log fields: account, date-time, where from (source IP and terminal), which data
/// subjects, and what task. Holds no personal data in clear: subjects are internal
/// <see cref="SubscriberId"/>s and fields are named, not valued.
/// </summary>
public sealed record AccessEntry
{
    /// <summary>When the event happened, UTC, with millisecond precision (PIPA requires at least seconds).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>What was done.</summary>
    public required AccessTask Task { get; init; }

    /// <summary>Whether it was allowed or refused.</summary>
    public required AccessOutcome Outcome { get; init; }

    /// <summary>The staff account (or <c>subscriber</c> for the portal, <c>system</c> for the server itself); null when unknown, e.g. a refused request with no session.</summary>
    public string? Account { get; init; }

    /// <summary>The account's role at the time, when an account is known.</summary>
    public StaffRole? Role { get; init; }

    /// <summary>The terminal (device certificate) the request came from, when known.</summary>
    public string? Terminal { get; init; }

    /// <summary>The store the terminal or account belongs to, when known.</summary>
    public string? Store { get; init; }

    /// <summary>Source IP address as text (IPv4 dotted or IPv6), when the event came over the network.</summary>
    public string? SourceIp { get; init; }

    /// <summary>The purpose code stated for a read (e.g. <c>in-store-service</c>), when one was given.</summary>
    public string? Purpose { get; init; }

    /// <summary>The data subjects touched: every subscriber whose data the response carried. Empty for non-data events and not-found searches.</summary>
    public IReadOnlyList<SubscriberId> Subjects { get; init; } = [];

    /// <summary>Names of the personal fields returned (e.g. <c>name</c>, <c>phone</c>, <c>rrn</c>, <c>rate-plan</c>), masked or not.</summary>
    public IReadOnlyList<string> Fields { get; init; } = [];

    /// <summary>The subset of <see cref="Fields"/> returned unmasked (in full).</summary>
    public IReadOnlyList<string> UnmaskedFields { get; init; } = [];

    /// <summary>The stable error code of a refusal (see <c>Custodian.Problems.ErrorCodes</c>); null when allowed.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>What an action was applied to that is not a subscriber: an account, terminal or alert identifier. Null otherwise.</summary>
    public string? Target { get; init; }

    /// <summary>Free-text reason given by an officer or the monitor (never personal data), up to 500 characters.</summary>
    public string? Reason { get; init; }

    /// <summary>Facts the guard recorded for the monitor's detectors (number block searched, contract ending, other area, same household); null when none.</summary>
    public AccessSignals? Signals { get; init; }
}

/// <summary>An <see cref="AccessEntry"/> once durably appended to the ledger.</summary>
/// <param name="Sequence">Zero-based, gap-free leaf index in the ledger's Merkle tree (RFC 9162 §2.1).</param>
/// <param name="LeafHash">SHA-256 of 0x00 ‖ the entry's canonical encoding (RFC 9162 §2.1.1); 32 bytes.</param>
/// <param name="Entry">The entry as recorded.</param>
public sealed record CommittedEntry(long Sequence, ReadOnlyMemory<byte> LeafHash, AccessEntry Entry);
