using System.Globalization;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Storage;
using Custodian.Transparency;

namespace Custodian.Portal;

/// <summary>State of a disclosure request. Stored by <see cref="DisclosureStates.ToName"/>.</summary>
public enum DisclosureState
{
    /// <summary>Waiting for the privacy office.</summary>
    Open = 1,

    /// <summary>The privacy office disclosed who made the entry (in its answer). Final.</summary>
    Disclosed = 2,

    /// <summary>The privacy office refused, giving its reason. Final.</summary>
    Refused = 3,
}

/// <summary>Stable names of <see cref="DisclosureState"/>: <c>open</c>, <c>disclosed</c>, <c>refused</c>.</summary>
public static class DisclosureStates
{
    /// <summary>The stable name.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For a value outside the enum.</exception>
    public static string ToName(this DisclosureState state) => state switch
    {
        DisclosureState.Open => "open",
        DisclosureState.Disclosed => "disclosed",
        DisclosureState.Refused => "refused",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    /// <summary>Parses a stable name; false for anything else.</summary>
    public static bool TryParse(string? name, out DisclosureState state)
    {
        foreach (var candidate in Enum.GetValues<DisclosureState>())
        {
            if (string.Equals(candidate.ToName(), name, StringComparison.Ordinal))
            {
                state = candidate;
                return true;
            }
        }

        state = default;
        return false;
    }
}

/// <summary>A subscriber's request that the privacy office disclose who (which clerk) made an entry of their history.</summary>
/// <param name="Id">Identifier, <c>D-</c> + 32 hex digits (UUIDv7).</param>
/// <param name="Subject">The requesting subscriber (internal ID; officers see it as a token).</param>
/// <param name="EntrySequence">The ledger entry asked about.</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="State">Where it stands.</param>
/// <param name="AnsweredAt">When it was answered, or null.</param>
/// <param name="AnsweredBy">The answering officer's account code, or null.</param>
/// <param name="Answer">The answer as sent to the subscriber, or null.</param>
public sealed record DisclosureRequest(
    string Id,
    SubscriberId Subject,
    long EntrySequence,
    DateTimeOffset CreatedAt,
    DisclosureState State,
    DateTimeOffset? AnsweredAt,
    string? AnsweredBy,
    string? Answer);

/// <summary>
/// Disclosure requests (docs/portal.md, "Request disclosure"): DESIGN.md withholds the clerk's identity from subscribers
/// and offers an escalation path instead (CJEU C-579/21, Pankki S: the data subject has no general right to the
/// employees' identities, but may have one where needed to exercise their rights). A subscriber opens a request on an
/// entry of their own visible history; a privacy officer answers it (disclosed or refused, with a text sent to the
/// subscriber's inbox). Both steps are recorded in the ledger first (<see cref="AccessTask.DisclosureRequest"/>,
/// <see cref="AccessTask.DisclosureAnswer"/>). One request per (subscriber, entry). Thread-safe.
/// </summary>
public sealed class DisclosureRequests(CustodianDatabase db, IAccessLedger ledger, AccessHistory history, SubscriberInbox inbox, TimeProvider time)
{
    /// <summary>Longest answer, in characters.</summary>
    public const int MaxAnswerLength = 1000;

    private const string Columns = "id, subscriber_id, entry_seq, created_ms, state, answered_ms, answered_by, answer";

    /// <summary>Opens (or returns the existing) request about <paramref name="entrySequence"/> for <paramref name="subject"/>.</summary>
    /// <param name="subject">The signed-in subscriber.</param>
    /// <param name="entrySequence">An entry of their visible history; anything else is <see cref="ErrorCodes.NotFound"/> (404).</param>
    /// <param name="sourceIp">The subscriber's address, for the ledger.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The request and whether it is new; 404 not-found; 503 ledger-unavailable.</returns>
    public async Task<Result<(DisclosureRequest Request, bool Created)>> OpenAsync(SubscriberId subject, long entrySequence, string? sourceIp, CancellationToken cancellationToken = default)
    {
        if (await history.FindVisibleAsync(subject, entrySequence, cancellationToken) is null)
        {
            return new CustodianError(ErrorCodes.NotFound, 404, "No such entry in your history.");
        }

        if (await FindAsync(subject, entrySequence, cancellationToken) is { } existing)
        {
            return (existing, false);
        }

        var now = time.GetUtcNow();
        var id = "D-" + Guid.CreateVersion7(now).ToString("N");
        try
        {
            await ledger.AppendAsync(
                new AccessEntry
                {
                    Time = now,
                    Task = AccessTask.DisclosureRequest,
                    Outcome = AccessOutcome.Allowed,
                    Account = "subscriber",
                    SourceIp = sourceIp,
                    Subjects = [subject],
                    Target = string.Create(CultureInfo.InvariantCulture, $"entry:{entrySequence};request:{id}"),
                },
                cancellationToken);
        }
        catch (LedgerUnavailableException)
        {
            return new CustodianError(ErrorCodes.LedgerUnavailable, 503, "The access ledger could not record the request; try again shortly.", IsTransient: true);
        }

        await using (var connection = await db.OpenAsync(cancellationToken))
        await using (var insert = connection.Command(
            "INSERT INTO portal_disclosure_requests (id, subscriber_id, entry_seq, created_ms, state) VALUES (@id, @s, @e, @t, 'open') ON CONFLICT DO NOTHING",
            ("@id", id),
            ("@s", subject.Value),
            ("@e", entrySequence),
            ("@t", now.ToUnixTimeMilliseconds())))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        var stored = await FindAsync(subject, entrySequence, cancellationToken) ?? throw new InvalidOperationException("The disclosure request was not stored.");
        return (stored, stored.Id == id);
    }

    /// <summary>Requests, oldest first, optionally only those in <paramref name="state"/>.</summary>
    /// <param name="state">Only this state; null for all.</param>
    /// <param name="limit">1–1000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="limit"/> is outside 1–1000.</exception>
    public async Task<IReadOnlyList<DisclosureRequest>> ListAsync(DisclosureState? state, int limit = 200, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = state is { } s
            ? connection.Command($"SELECT {Columns} FROM portal_disclosure_requests WHERE state = @st ORDER BY created_ms, id LIMIT @n", ("@st", s.ToName()), ("@n", limit))
            : connection.Command($"SELECT {Columns} FROM portal_disclosure_requests ORDER BY created_ms, id LIMIT @n", ("@n", limit));
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>
    /// Answers an open request: records a <see cref="AccessTask.DisclosureAnswer"/> entry (the answer text stays out of the
    /// ledger: it may name the clerk), stores the answer, and delivers it to the subscriber's inbox (reference
    /// <c>disclosure:&lt;id&gt;</c>, with an SMS copy).
    /// </summary>
    /// <param name="id">The request.</param>
    /// <param name="decision"><see cref="DisclosureState.Disclosed"/> or <see cref="DisclosureState.Refused"/>.</param>
    /// <param name="answer">What the subscriber is told, 1–<see cref="MaxAnswerLength"/> characters (for a refusal: why, and that they may complain to the Personal Information Protection Commission); no phone number, RRN or bidirectional control (<see cref="Classification.FreeText.Check"/>).</param>
    /// <param name="officer">The privacy officer's account code.</param>
    /// <param name="context">Terminal, store and address of the officer's request, for the ledger; all may be null (CLI).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The answered request; 400 validation-failed, personal-data-in-text or bidi-control-in-text; 404 not-found; 409 <see cref="PortalErrors.DisclosureAlreadyAnswered"/>.</returns>
    /// <exception cref="LedgerUnavailableException">When the answer could not be recorded; nothing changed.</exception>
    public async Task<Result<DisclosureRequest>> AnswerAsync(string id, DisclosureState decision, string? answer, string officer, (string? Terminal, string? Store, string? SourceIp) context = default, CancellationToken cancellationToken = default)
    {
        if (decision is not (DisclosureState.Disclosed or DisclosureState.Refused))
        {
            return Hosting.ProblemResults.Validation("decision", "must be disclosed or refused");
        }

        if (string.IsNullOrWhiteSpace(answer) || answer.Length > MaxAnswerLength || answer.Any(c => char.IsControl(c) && c != '\n'))
        {
            return Hosting.ProblemResults.Validation("answer", $"must be 1-{MaxAnswerLength} characters without control characters other than line feeds");
        }

        // The answer is stored for years and delivered to the subscriber's inbox and phone: it may name the clerk, never
        // a phone number or RRN (another subscriber's, pasted by mistake), and no bidirectional control may make it read
        // differently from what is stored.
        if (Classification.FreeText.Check(answer, "answer") is { } freeText)
        {
            return freeText;
        }

        if (!Codes.IsValid(officer))
        {
            return Hosting.ProblemResults.Validation("officer", "must be a well-formed account code");
        }

        var request = await GetAsync(id ?? string.Empty, cancellationToken);
        if (request is null)
        {
            return new CustodianError(ErrorCodes.NotFound, 404, "No disclosure request has this id.");
        }

        if (request.State != DisclosureState.Open)
        {
            return new CustodianError(PortalErrors.DisclosureAlreadyAnswered, 409, $"The request was already answered ({request.State.ToName()}).");
        }

        var now = time.GetUtcNow();
        await ledger.AppendAsync(
            new AccessEntry
            {
                Time = now,
                Task = AccessTask.DisclosureAnswer,
                Outcome = AccessOutcome.Allowed,
                Account = officer,
                Role = StaffRole.PrivacyOfficer,
                Terminal = context.Terminal,
                Store = context.Store,
                SourceIp = context.SourceIp,
                Subjects = [request.Subject],
                Target = $"request:{request.Id};decision:{decision.ToName()}",
            },
            cancellationToken);

        await using (var connection = await db.OpenAsync(cancellationToken))
        await using (var update = connection.Command(
            "UPDATE portal_disclosure_requests SET state = @st, answered_ms = @t, answered_by = @by, answer = @a WHERE id = @id AND state = 'open'",
            ("@st", decision.ToName()),
            ("@t", now.ToUnixTimeMilliseconds()),
            ("@by", officer),
            ("@a", answer),
            ("@id", request.Id)))
        {
            if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return new CustodianError(PortalErrors.DisclosureAlreadyAnswered, 409, "The request was answered concurrently.");
            }
        }

        var disclosed = decision == DisclosureState.Disclosed;
        await inbox.DeliverAsync(
            request.Subject,
            NoticeKind.DisclosureAnswer,
            new NoticeText(
                disclosed ? "처리자 공개 요청에 대한 답변" : "처리자 공개 요청에 대한 답변 (공개 거절)",
                $"이용내역 {request.EntrySequence}번 항목에 대한 요청에 개인정보보호책임자가 답변했습니다.\n\n{answer}",
                disclosed ? "Answer to your disclosure request" : "Answer to your disclosure request (refused)",
                $"The privacy office answered your request about entry {request.EntrySequence} of your history.\n\n{answer}"),
            $"disclosure:{request.Id}",
            cancellationToken: cancellationToken);
        return request with { State = decision, AnsweredAt = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()), AnsweredBy = officer, Answer = answer };
    }

    /// <summary>The request with <paramref name="id"/>, or null.</summary>
    public async Task<DisclosureRequest?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {Columns} FROM portal_disclosure_requests WHERE id = @id", ("@id", id));
        var all = await ReadAllAsync(command, cancellationToken);
        return all.Count == 0 ? null : all[0];
    }

    /// <summary>The state name of every request <paramref name="subject"/> made, by entry sequence.</summary>
    internal static async Task<IReadOnlyDictionary<long, string>> StatesAsync(CustodianDatabase db, SubscriberId subject, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT entry_seq, state FROM portal_disclosure_requests WHERE subscriber_id = @s", ("@s", subject.Value));
        var states = new Dictionary<long, string>();
        await using var rows = await command.ExecuteReaderAsync(cancellationToken);
        while (await rows.ReadAsync(cancellationToken))
        {
            states[rows.GetInt64(0)] = rows.GetString(1);
        }

        return states;
    }

    private async Task<DisclosureRequest?> FindAsync(SubscriberId subject, long entrySequence, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT {Columns} FROM portal_disclosure_requests WHERE subscriber_id = @s AND entry_seq = @e",
            ("@s", subject.Value),
            ("@e", entrySequence));
        var all = await ReadAllAsync(command, cancellationToken);
        return all.Count == 0 ? null : all[0];
    }

    private static async Task<IReadOnlyList<DisclosureRequest>> ReadAllAsync(System.Data.Common.DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<DisclosureRequest>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!DisclosureStates.TryParse(reader.GetString(4), out var state))
            {
                throw new InvalidDataException("portal_disclosure_requests holds an unknown state.");
            }

            list.Add(new DisclosureRequest(
                reader.GetString(0),
                new SubscriberId(reader.GetInt64(1)),
                reader.GetInt64(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                state,
                reader.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7)));
        }

        return list;
    }
}
