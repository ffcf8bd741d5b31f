using System.Globalization;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Storage;

namespace Custodian.Portal;

/// <summary>Why an entry is held back from a subscriber's history (docs/portal.md, "Third-party deferral"). Stored by <see cref="DeferralBases.ToName"/>.</summary>
public enum DeferralBasis
{
    /// <summary>
    /// The entry records a provision of data to an investigative authority whose notice to the subject is lawfully deferred
    /// (Protection of Communications Secrets Act Art. 13-3; Telecommunications Business Act Art. 83): showing it would tip off
    /// the investigation and reveal the requesting authority.
    /// </summary>
    LawEnforcement = 1,

    /// <summary>
    /// The entry records an action another member of a shared (family) plan took, which would reveal that member's dealings
    /// (PIPA Art. 35(4) 2: access may be limited where it would unjustly harm a third party's interests).
    /// </summary>
    FamilyMember = 2,
}

/// <summary>Stable names of <see cref="DeferralBasis"/>: <c>law-enforcement</c>, <c>family-member</c>.</summary>
public static class DeferralBases
{
    /// <summary>The stable name.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For a value outside the enum.</exception>
    public static string ToName(this DeferralBasis basis) => basis switch
    {
        DeferralBasis.LawEnforcement => "law-enforcement",
        DeferralBasis.FamilyMember => "family-member",
        _ => throw new ArgumentOutOfRangeException(nameof(basis)),
    };

    /// <summary>Parses a stable name; false for anything else.</summary>
    public static bool TryParse(string? name, out DeferralBasis basis)
    {
        foreach (var candidate in Enum.GetValues<DeferralBasis>())
        {
            if (string.Equals(candidate.ToName(), name, StringComparison.Ordinal))
            {
                basis = candidate;
                return true;
            }
        }

        basis = default;
        return false;
    }
}

/// <summary>
/// Holds ledger entries back from one subscriber's portal history until a deferral ends (docs/portal.md,
/// "Third-party deferral"). The ledger is the record: each decision is a <see cref="AccessTask.HistoryDeferral"/>
/// entry (subjects = the subscriber it is held from; target <c>entry:&lt;seq&gt;;until:&lt;Unix ms&gt;;basis:&lt;name&gt;</c>),
/// appended first; the table <c>portal_deferrals</c> is a projection keeping the newest decision per (subscriber, entry).
/// The newest decision wins, so a deferral is extended, shortened or lifted (until = now) by recording another.
/// Thread-safe.
/// </summary>
public sealed class HistoryDeferrals(CustodianDatabase db, IAccessLedger ledger, IAccessLedgerReader reader, TimeProvider time)
{
    /// <summary>Longest a single decision may hold an entry: 1 year from now (Custodian's rule: every hold is looked at again at least yearly).</summary>
    public static readonly TimeSpan MaxHold = TimeSpan.FromDays(366);

    /// <summary>Longest reason, in characters (the ledger's bound).</summary>
    public const int MaxReasonLength = 500;

    /// <summary>Records that entry <paramref name="entrySequence"/> is held from <paramref name="subject"/> until <paramref name="until"/>.</summary>
    /// <param name="entrySequence">The held entry; it must name <paramref name="subject"/> and be a staff action shown in histories.</param>
    /// <param name="subject">The subscriber it is held from.</param>
    /// <param name="basis">Why.</param>
    /// <param name="until">When the hold ends (UTC, millisecond precision); now or earlier lifts it; at most <see cref="MaxHold"/> ahead.</param>
    /// <param name="officer">The privacy officer's account code.</param>
    /// <param name="reason">The legal ground and case reference, 1–500 characters, never personal data.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The sequence of the recorded <see cref="AccessTask.HistoryDeferral"/> entry, or a validation / <see cref="PortalErrors.DeferralEntryInvalid"/> error.</returns>
    /// <exception cref="LedgerUnavailableException">When the decision could not be recorded; nothing changed.</exception>
    public async Task<Result<long>> DeferAsync(long entrySequence, SubscriberId subject, DeferralBasis basis, DateTimeOffset until, string officer, string reason, CancellationToken cancellationToken = default)
    {
        if (!Codes.IsValid(officer))
        {
            return Hosting.ProblemResults.Validation("officer", "must be a well-formed account code");
        }

        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
        {
            return Hosting.ProblemResults.Validation("reason", $"must be 1-{MaxReasonLength} characters");
        }

        if (Classification.FreeText.Check(reason, "reason") is { } personal)
        {
            return personal;
        }

        var now = time.GetUtcNow();
        if (until > now + MaxHold)
        {
            return Hosting.ProblemResults.Validation("until", "must be at most 366 days ahead; record a new deferral to extend it");
        }

        var entry = await ReadEntryAsync(reader, entrySequence, cancellationToken);
        if (entry is null || !entry.Entry.Subjects.Contains(subject) || !Transparency.AccessHistory.IsShownTask(entry.Entry.Task))
        {
            return new CustodianError(PortalErrors.DeferralEntryInvalid, 404, "No entry with this sequence about this subscriber is shown in portal histories.");
        }

        var untilMs = until.ToUnixTimeMilliseconds();
        var committed = await ledger.AppendAsync(
            new AccessEntry
            {
                Time = now,
                Task = AccessTask.HistoryDeferral,
                Outcome = AccessOutcome.Allowed,
                Account = officer,
                Subjects = [subject],
                Target = string.Create(CultureInfo.InvariantCulture, $"entry:{entrySequence};until:{untilMs};basis:{basis.ToName()}"),
                Reason = reason,
            },
            cancellationToken);

        await using var connection = await db.OpenAsync(cancellationToken);
        await using var upsert = connection.Command(
            "INSERT INTO portal_deferrals (entry_seq, subscriber_id, basis, until_ms, recorded_seq) VALUES (@e, @s, @b, @u, @r) " +
            "ON CONFLICT (subscriber_id, entry_seq) DO UPDATE SET basis = excluded.basis, until_ms = excluded.until_ms, recorded_seq = excluded.recorded_seq " +
            "WHERE excluded.recorded_seq > portal_deferrals.recorded_seq",
            ("@e", entrySequence),
            ("@s", subject.Value),
            ("@b", basis.ToName()),
            ("@u", untilMs),
            ("@r", committed.Sequence));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
        return committed.Sequence;
    }

    /// <summary>The entries held from <paramref name="subject"/> at <paramref name="now"/>: sequence → when the hold ends.</summary>
    /// <param name="subject">The subscriber.</param>
    /// <param name="now">The instant to judge at.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<IReadOnlyDictionary<long, DateTimeOffset>> ActiveAsync(SubscriberId subject, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT entry_seq, until_ms FROM portal_deferrals WHERE subscriber_id = @s AND until_ms > @now",
            ("@s", subject.Value),
            ("@now", now.ToUnixTimeMilliseconds()));
        var held = new Dictionary<long, DateTimeOffset>();
        await using var rows = await command.ExecuteReaderAsync(cancellationToken);
        while (await rows.ReadAsync(cancellationToken))
        {
            held[rows.GetInt64(0)] = DateTimeOffset.FromUnixTimeMilliseconds(rows.GetInt64(1));
        }

        return held;
    }

    /// <summary>The entry at <paramref name="sequence"/>, or null when there is none or it was erased.</summary>
    internal static async Task<CommittedEntry?> ReadEntryAsync(IAccessLedgerReader reader, long sequence, CancellationToken cancellationToken)
    {
        if (sequence < 0)
        {
            return null;
        }

        await foreach (var committed in reader.ReadAsync(sequence, cancellationToken))
        {
            return committed.Sequence == sequence ? committed : null;
        }

        return null;
    }
}
