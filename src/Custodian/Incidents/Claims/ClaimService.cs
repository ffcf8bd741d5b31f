using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Problems;
using Custodian.Storage;
using Microsoft.Extensions.Logging;

namespace Custodian.Incidents.Claims;

/// <summary>Where a compensation claim stands. Stored and serialised by the kebab-case names (<c>information-requested</c>, …).</summary>
[JsonConverter(typeof(KebabCaseEnumConverter<ClaimState>))]
public enum ClaimState
{
    /// <summary>Filed (or answered) and waiting for an officer.</summary>
    Submitted = 1,

    /// <summary>An officer asked the claimant for more information.</summary>
    InformationRequested = 2,

    /// <summary>Approved with an amount; the payout is pending.</summary>
    Approved = 3,

    /// <summary>Rejected with a reason. Final.</summary>
    Rejected = 4,

    /// <summary>The approved amount was paid. Final.</summary>
    Paid = 5,
}

/// <summary>Stable error codes of compensation claims (problem type <c>urn:custodian:error:&lt;code&gt;</c>).</summary>
public static class ClaimErrors
{
    /// <summary>The claimant's personal data is not in the incident's affected set (or the incident does not exist, or only a token was exposed) (403).</summary>
    public const string NotInScope = "claim-not-in-scope";

    /// <summary>The claimant already filed a claim for this incident (409); the problem names the existing claim.</summary>
    public const string Duplicate = "claim-duplicate";

    /// <summary>No such claim (for this subscriber) (404).</summary>
    public const string NotFound = "claim-not-found";

    /// <summary>The action is not allowed in the claim's state (409).</summary>
    public const string StateConflict = "claim-state-conflict";
}

/// <summary>One ledger entry a claim rests on, as the claimant and officers see it: store and role, never the clerk's account (DESIGN.md, Pankki S).</summary>
/// <param name="Sequence">Ledger sequence.</param>
/// <param name="Time">When.</param>
/// <param name="Task">Task name.</param>
/// <param name="Store">Store code.</param>
/// <param name="Role">Role name.</param>
/// <param name="Purpose">Stated purpose.</param>
/// <param name="Fields">Fields shown.</param>
/// <param name="Unmasked">Fields shown in full.</param>
/// <param name="Receipt">The <c>custodian-receipt/v1</c> document (entry withheld, inclusion proof, cosigned checkpoint), verifiable offline; null while no checkpoint covers the entry yet.</param>
public sealed record EvidenceItem(long Sequence, DateTimeOffset Time, string Task, string? Store, string? Role, string? Purpose, IReadOnlyList<string> Fields, IReadOnlyList<string> Unmasked, string? Receipt);

/// <summary>A compensation claim. The claimant is an internal ID inside the server; officers see a token (<see cref="ClaimView"/>).</summary>
/// <param name="Id"><c>CLM-</c> + 10 Crockford base-32 characters.</param>
/// <param name="IncidentId">The incident.</param>
/// <param name="Subscriber">The claimant.</param>
/// <param name="Kind">Damage kind: <c>fraud</c>, <c>spam</c>, <c>phishing</c>, <c>other</c>.</param>
/// <param name="Description">The claimant's account of the damage, 1–1,000 characters.</param>
/// <param name="AmountClaimed">Amount claimed, KRW, 1–100,000,000.</param>
/// <param name="State">State.</param>
/// <param name="FiledAt">When filed.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="Question">The officer's request for information, if any.</param>
/// <param name="Answer">The claimant's answer, if any.</param>
/// <param name="AmountApproved">Approved amount, KRW.</param>
/// <param name="DecisionReason">Approval note or rejection reason.</param>
/// <param name="DecidedBy">The deciding officer.</param>
/// <param name="PaidAt">When paid.</param>
/// <param name="PayoutReference">Payout reference (e.g. a transfer ID).</param>
/// <param name="Evidence">Ledger sequences of the exposing entries concerning the claimant, ascending.</param>
public sealed record Claim(
    string Id,
    string IncidentId,
    SubscriberId Subscriber,
    string Kind,
    string Description,
    long AmountClaimed,
    ClaimState State,
    DateTimeOffset FiledAt,
    DateTimeOffset UpdatedAt,
    string? Question,
    string? Answer,
    long? AmountApproved,
    string? DecisionReason,
    string? DecidedBy,
    DateTimeOffset? PaidAt,
    string? PayoutReference,
    IReadOnlyList<long> Evidence);

/// <summary>A claim as shown outside the server: the claimant by token.</summary>
/// <param name="Id">Claim ID.</param>
/// <param name="IncidentId">Incident.</param>
/// <param name="SubscriberToken">The claimant's FF1 token.</param>
/// <param name="Kind">Damage kind.</param>
/// <param name="Description">The claimant's account.</param>
/// <param name="AmountClaimed">KRW.</param>
/// <param name="State">State.</param>
/// <param name="FiledAt">Filed.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="Question">Officer's question.</param>
/// <param name="Answer">Claimant's answer.</param>
/// <param name="AmountApproved">KRW.</param>
/// <param name="DecisionReason">Note or reason.</param>
/// <param name="PaidAt">Paid.</param>
/// <param name="PayoutReference">Payout reference.</param>
/// <param name="Evidence">Evidence sequences.</param>
public sealed record ClaimView(
    string Id,
    string IncidentId,
    [property: Classification.Pseudonymous] string SubscriberToken,
    string Kind,
    string Description,
    long AmountClaimed,
    ClaimState State,
    DateTimeOffset FiledAt,
    DateTimeOffset UpdatedAt,
    string? Question,
    string? Answer,
    long? AmountApproved,
    string? DecisionReason,
    DateTimeOffset? PaidAt,
    string? PayoutReference,
    IReadOnlyList<long> Evidence);

/// <summary>Claims per state with amounts (KRW).</summary>
/// <param name="State">State name.</param>
/// <param name="Claims">How many.</param>
/// <param name="Claimed">Sum claimed.</param>
/// <param name="Approved">Sum approved.</param>
/// <param name="Paid">Sum paid.</param>
public sealed record ClaimReportRow(string State, long Claims, long Claimed, long Approved, long Paid);

/// <summary>
/// Compensation claims for secondary damage (fraud, spam, phishing) after an incident (docs/incidents.md, "Claims"). A
/// subscriber files one claim per incident from the portal; it is accepted only when their personal data is in the
/// incident's affected set, and it is linked to the ledger entries concerning them (the evidence, with receipts). Officers
/// request information, approve with an amount or reject with a reason, and record the payout. Every step is appended to
/// the ledger before it is stored. Thread-safe.
/// </summary>
public sealed class ClaimService(CustodianDatabase db, IncidentStore incidents, IAccessLedger ledger, IAccessLedgerReader reader, LedgerCheckpoints checkpoints, TimeProvider time, ILogger<ClaimService> logger, Lookup.AccessRecorder recorder)
{
    /// <summary>Largest amount, KRW (a claim above it goes to the courts, not this process).</summary>
    public const long MaxAmount = 100_000_000;

    /// <summary>Longest description or answer, in characters.</summary>
    public const int MaxText = 1_000;

    /// <summary>Damage kinds accepted.</summary>
    public static readonly IReadOnlySet<string> Kinds = new HashSet<string>(StringComparer.Ordinal) { "fraud", "spam", "phishing", "other" };

    private const string Columns = "id, incident_id, subscriber_id, kind, description, amount_claimed, state, filed_ms, updated_ms, question, answer, amount_approved, decision_reason, decided_by, paid_ms, payout_reference, evidence";
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>
    /// Files a claim for <paramref name="subscriber"/> (from the portal session, never from the request). Refused with
    /// <see cref="ClaimErrors.NotInScope"/> when the incident does not exist, is still open (not scoped), or the subscriber's
    /// personal data is not in its affected set (token-only exposure included); <see cref="ClaimErrors.Duplicate"/> when they
    /// already filed one for it; <see cref="ErrorCodes.ValidationFailed"/> for a bad kind, description or amount.
    /// </summary>
    /// <exception cref="LedgerUnavailableException">When the claim could not be recorded; nothing is stored.</exception>
    public async Task<Result<Claim>> FileAsync(SubscriberId subscriber, string? incidentId, string? kind, string? description, long? amount, string? sourceIp, CancellationToken cancellationToken = default)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (kind is null || !Kinds.Contains(kind))
        {
            errors["kind"] = ["must be fraud, spam, phishing or other"];
        }

        if (string.IsNullOrWhiteSpace(description) || description.Trim().Length > MaxText)
        {
            errors["description"] = [$"required, 1-{MaxText} characters"];
        }

        if (amount is null or < 1 or > MaxAmount)
        {
            errors["amount"] = [$"required, 1-{MaxAmount} (KRW)"];
        }

        if (string.IsNullOrEmpty(incidentId) || incidentId.Length > 40)
        {
            errors["incidentId"] = ["required, an incident ID from your notice"];
        }

        if (errors.Count > 0)
        {
            return new CustodianError(ErrorCodes.ValidationFailed, 400, "The claim is invalid.") { Errors = errors };
        }

        // One answer for "no such incident", "not scoped yet" and "not affected", so the portal reveals nothing about other cases.
        var notInScope = new CustodianError(ClaimErrors.NotInScope, 403, "This incident did not expose your personal information, so a claim cannot be filed for it. If you believe otherwise, contact the privacy office.");
        var incident = await incidents.GetAsync(incidentId!, cancellationToken);
        if (incident is not { Summary: { } summary, Scope: { From: { } from, To: { } to } } || incident.State == IncidentState.Open)
        {
            return notInScope;
        }

        var grade = await incidents.GradeOfAsync(incident.Id, subscriber, cancellationToken);
        if (grade is null or ExposureGrade.TokenOnly)
        {
            return notInScope;
        }

        if (await FindAsync("incident_id = @i AND subscriber_id = @s", [("@i", incident.Id), ("@s", subscriber.Value)], cancellationToken) is { Count: > 0 } existing)
        {
            return new CustodianError(ClaimErrors.Duplicate, 409, $"You already filed claim {existing[0].Id} for this incident; follow it in the portal.");
        }

        var evidence = await EvidenceSequencesAsync(subscriber, summary, from, to, cancellationToken);
        var now = Ms(time.GetUtcNow());
        var id = NewId();
        await AppendAsync(AccessTask.ClaimFiled, "subscriber", null, [subscriber], $"claim:{id} incident:{incident.Id}", string.Create(CultureInfo.InvariantCulture, $"{kind} amount={amount}"), sourceIp, cancellationToken);
        var claim = new Claim(id, incident.Id, subscriber, kind!, description!.Trim(), amount!.Value, ClaimState.Submitted, now, now, null, null, null, null, null, null, null, evidence);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var insert = connection.Command(
            $"INSERT INTO incident_claims ({Columns}) VALUES (@id, @i, @s, @k, @d, @a, @st, @t, @t, NULL, NULL, NULL, NULL, NULL, NULL, NULL, @e)",
            ("@id", id), ("@i", claim.IncidentId), ("@s", subscriber.Value), ("@k", claim.Kind), ("@d", claim.Description), ("@a", claim.AmountClaimed),
            ("@st", Name(ClaimState.Submitted)), ("@t", now.ToUnixTimeMilliseconds()), ("@e", JsonSerializer.Serialize(evidence)));
        try
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (DbException)
        {
            // Two filings raced past the check: the UNIQUE (incident, subscriber) constraint kept one.
            var raced = await FindAsync("incident_id = @i AND subscriber_id = @s", [("@i", incident.Id), ("@s", subscriber.Value)], cancellationToken);
            if (raced.Count == 0)
            {
                throw;
            }

            return new CustodianError(ClaimErrors.Duplicate, 409, $"You already filed claim {raced[0].Id} for this incident; follow it in the portal.");
        }

        ClaimLog.Filed(logger, claim.Id, claim.IncidentId, claim.Kind, claim.AmountClaimed);
        return claim;
    }

    /// <summary>The subscriber's own claims, newest first (at most 100).</summary>
    public Task<IReadOnlyList<Claim>> ListForAsync(SubscriberId subscriber, CancellationToken cancellationToken = default) =>
        FindAsync("subscriber_id = @s", [("@s", subscriber.Value)], cancellationToken);

    /// <summary>Claims, newest first, optionally of one state (at most 1,000).</summary>
    public Task<IReadOnlyList<Claim>> ListAsync(ClaimState? state, CancellationToken cancellationToken = default) =>
        state is null ? FindAsync("1 = 1", [], cancellationToken) : FindAsync("state = @st", [("@st", Name(state.Value))], cancellationToken);

    /// <summary>The claim, or <see cref="ClaimErrors.NotFound"/>; with <paramref name="owner"/>, only when it is theirs (object-level authorisation).</summary>
    public async Task<Result<Claim>> GetAsync(string? id, SubscriberId? owner = null, CancellationToken cancellationToken = default)
    {
        var found = string.IsNullOrEmpty(id) || id.Length > 40 ? [] : await FindAsync("id = @id", [("@id", id)], cancellationToken);
        return found.Count == 1 && (owner is null || found[0].Subscriber == owner)
            ? found[0]
            : new CustodianError(ClaimErrors.NotFound, 404, "No such claim.");
    }

    /// <summary>
    /// The claim for an officer, recorded first as an <see cref="AccessTask.ClaimView"/> entry naming the claimant as
    /// subject (so the claimant's history shows that the security office read it): no record, no claim. A refused read
    /// (no claim with that ID) is recorded as the officers' refused claim steps are (<see cref="ClaimRefusals"/>, through
    /// <see cref="Lookup.AccessRecorder"/>): one denied <see cref="AccessTask.ClaimView"/> entry with the officer's account,
    /// role, terminal, store and source IP, error code <see cref="ClaimErrors.NotFound"/>, no target (an unknown ID is
    /// outside input: not recorded), no reason and no subject; a failure to write it is logged and the refusal stands.
    /// </summary>
    /// <param name="id">The claim ID.</param>
    /// <param name="officer">The officer reading it.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The claim, or <see cref="ClaimErrors.NotFound"/> (recorded as a denied entry).</returns>
    /// <exception cref="LedgerUnavailableException">When the ledger cannot record the read; the claim is not returned.</exception>
    public async Task<Result<Claim>> ShowToOfficerAsync(string? id, IncidentActor officer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(officer);
        var got = await GetAsync(id, null, cancellationToken);
        if (got.IsSuccess)
        {
            await AppendAsync(AccessTask.ClaimView, officer.Account, officer, [got.Value.Subscriber], $"claim:{got.Value.Id}", null, officer.SourceIp, cancellationToken);
            return got;
        }

        return await Lookup.OfficerRefusals.RecordAsync(
            recorder, time, new Lookup.RefusedOfficer(officer.Account, officer.Role, officer.Terminal, officer.Store, officer.SourceIp), AccessTask.ClaimView, null, null, got.Error!, cancellationToken);
    }

    /// <summary>The evidence bundle: each evidence entry as store, role, purpose and fields (never the clerk), with a receipt when a checkpoint covers it.</summary>
    /// <exception cref="FormatException">When a stored payload cannot be decoded.</exception>
    public async Task<IReadOnlyList<EvidenceItem>> EvidenceAsync(Claim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var items = new List<EvidenceItem>();
        var wanted = claim.Evidence.ToHashSet();
        long? before = null;
        while (wanted.Count > 0)
        {
            var page = await reader.ReadBySubjectAsync(claim.Subscriber, before, 1_000, cancellationToken);
            foreach (var c in page.Where(c => wanted.Remove(c.Sequence)))
            {
                var receipt = await checkpoints.BuildReceiptAsync(c.Sequence, claim.Subscriber, withholdEntry: true, cancellationToken);
                var e = c.Entry;
                items.Add(new EvidenceItem(c.Sequence, e.Time, e.Task.ToName(), e.Store, e.Role is { } r ? StaffRoles.ToName(r) : null, e.Purpose, e.Fields, e.UnmaskedFields, receipt.IsSuccess ? receipt.Value.ToJson() : null));
            }

            if (page.Count < 1_000)
            {
                break;
            }

            before = page[^1].Sequence;
        }

        items.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return items;
    }

    /// <summary>The claimant answers an officer's question: <c>information-requested</c> → <c>submitted</c>.</summary>
    public async Task<Result<Claim>> AnswerAsync(string? id, SubscriberId owner, string? answer, string? sourceIp, CancellationToken cancellationToken = default)
    {
        var got = await GetAsync(id, owner, cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        if (got.Value.State != ClaimState.InformationRequested)
        {
            return Conflict("No information was requested for this claim.");
        }

        if (string.IsNullOrWhiteSpace(answer) || answer.Trim().Length > MaxText)
        {
            return Invalid("answer", $"required, 1-{MaxText} characters");
        }

        await AppendAsync(AccessTask.ClaimAnswered, "subscriber", null, [owner], $"claim:{got.Value.Id}", null, sourceIp, cancellationToken);
        ClaimLog.Answered(logger, got.Value.Id);
        return await UpdateAsync(got.Value with { State = ClaimState.Submitted, Answer = answer.Trim() }, cancellationToken);
    }

    /// <summary>
    /// The claim <paramref name="id"/> when it is in one of <paramref name="states"/>; otherwise its lookup error, or a
    /// conflict (409) reading <paramref name="conflict"/> followed by the claim's current state.
    /// </summary>
    private async Task<Result<Claim>> GetInStateAsync(string? id, ClaimState[] states, string conflict, CancellationToken cancellationToken)
    {
        var got = await GetAsync(id, null, cancellationToken);
        if (got.IsSuccess && !states.Contains(got.Value.State))
        {
            return Conflict($"{conflict}{Name(got.Value.State)}.");
        }

        return got;
    }

    /// <summary>An officer asks for more information: <c>submitted</c> → <c>information-requested</c>.</summary>
    public async Task<Result<Claim>> RequestInformationAsync(string? id, string? question, IncidentActor officer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(officer);
        var got = await GetInStateAsync(id, [ClaimState.Submitted], "Information can be requested only for a submitted claim; it is ", cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        if (CheckOfficerText(question, "question", required: true) is { } invalid)
        {
            return invalid;
        }

        var trimmed = question!.Trim(); // required: checked non-blank above

        await AppendAsync(AccessTask.ClaimInformationRequested, officer.Account, officer, [], $"claim:{got.Value.Id}", trimmed, officer.SourceIp, cancellationToken);
        ClaimLog.InformationRequested(logger, got.Value.Id, officer.Account);
        return await UpdateAsync(got.Value with { State = ClaimState.InformationRequested, Question = trimmed }, cancellationToken);
    }

    /// <summary>An officer approves with an amount (1 – the amount claimed, KRW): <c>submitted</c> → <c>approved</c>.</summary>
    public async Task<Result<Claim>> ApproveAsync(string? id, long? amount, string? note, IncidentActor officer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(officer);
        var got = await GetInStateAsync(id, [ClaimState.Submitted], "Only a submitted claim can be approved; it is ", cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        if (amount is null || amount < 1 || amount > got.Value.AmountClaimed)
        {
            return Invalid("amount", "required, 1 to the amount claimed (KRW)");
        }

        if (CheckOfficerText(note, "note", required: false) is { } invalid)
        {
            return invalid;
        }

        await AppendAsync(AccessTask.ClaimDecided, officer.Account, officer, [], string.Create(CultureInfo.InvariantCulture, $"claim:{got.Value.Id} approved amount={amount}"), note?.Trim(), officer.SourceIp, cancellationToken);
        ClaimLog.Approved(logger, got.Value.Id, officer.Account, amount.Value);
        return await UpdateAsync(got.Value with { State = ClaimState.Approved, AmountApproved = amount, DecisionReason = note?.Trim(), DecidedBy = officer.Account }, cancellationToken);
    }

    /// <summary>An officer rejects with a reason: <c>submitted</c> or <c>information-requested</c> → <c>rejected</c>.</summary>
    public async Task<Result<Claim>> RejectAsync(string? id, string? reason, IncidentActor officer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(officer);
        var got = await GetInStateAsync(id, [ClaimState.Submitted, ClaimState.InformationRequested], "The claim is ", cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        if (CheckOfficerText(reason, "reason", required: true) is { } invalid)
        {
            return invalid;
        }

        var trimmed = reason!.Trim(); // required: checked non-blank above

        await AppendAsync(AccessTask.ClaimDecided, officer.Account, officer, [], $"claim:{got.Value.Id} rejected", trimmed, officer.SourceIp, cancellationToken);
        ClaimLog.Rejected(logger, got.Value.Id, officer.Account);
        return await UpdateAsync(got.Value with { State = ClaimState.Rejected, DecisionReason = trimmed, DecidedBy = officer.Account }, cancellationToken);
    }

    /// <summary>Records the payout of the approved amount: <c>approved</c> → <c>paid</c>. The reference (e.g. a transfer ID) follows <see cref="Codes"/> rules.</summary>
    public async Task<Result<Claim>> PayAsync(string? id, string? reference, IncidentActor officer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(officer);
        var got = await GetInStateAsync(id, [ClaimState.Approved], "Only an approved claim can be paid; it is ", cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        if (!Codes.IsValid(reference))
        {
            return Invalid("reference", "required, " + Codes.Rule);
        }

        var entry = await AppendAsync(AccessTask.ClaimPaid, officer.Account, officer, [], string.Create(CultureInfo.InvariantCulture, $"claim:{got.Value.Id} amount={got.Value.AmountApproved} reference={reference}"), null, officer.SourceIp, cancellationToken);
        ClaimLog.Paid(logger, got.Value.Id, officer.Account, got.Value.AmountApproved ?? 0);
        return await UpdateAsync(got.Value with { State = ClaimState.Paid, PaidAt = Ms(entry.Entry.Time), PayoutReference = reference }, cancellationToken);
    }

    /// <summary>Claims per state (every state listed, in state order) with sums claimed, approved and paid (KRW).</summary>
    public async Task<IReadOnlyList<ClaimReportRow>> ReportAsync(CancellationToken cancellationToken = default)
    {
        var rows = Enum.GetValues<ClaimState>().ToDictionary(s => Name(s), s => new ClaimReportRow(Name(s), 0, 0, 0, 0), StringComparer.Ordinal);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT state, COUNT(*), SUM(amount_claimed), COALESCE(SUM(amount_approved), 0), COALESCE(SUM(CASE WHEN paid_ms IS NULL THEN 0 ELSE amount_approved END), 0) FROM incident_claims GROUP BY state");
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            rows[r.GetString(0)] = new ClaimReportRow(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4));
        }

        return [.. Enum.GetValues<ClaimState>().Select(s => rows[Name(s)])];
    }

    /// <summary>The stable name of a state: <c>submitted</c>, <c>information-requested</c>, <c>approved</c>, <c>rejected</c>, <c>paid</c>.</summary>
    public static string Name(ClaimState state) => JsonNamingPolicy.KebabCaseLower.ConvertName(state.ToString());

    /// <summary>Parses a state name; false for anything else.</summary>
    public static bool TryParseState(string? name, out ClaimState state)
    {
        state = Enum.GetValues<ClaimState>().FirstOrDefault(s => Name(s) == name);
        return state != 0;
    }

    private async Task<List<long>> EvidenceSequencesAsync(SubscriberId subscriber, ScopeSummary summary, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var principals = summary.Principals.ToHashSet(StringComparer.Ordinal);
        var list = new List<long>();
        long? before = summary.LedgerSize;
        while (list.Count < 1_000)
        {
            var page = await reader.ReadBySubjectAsync(subscriber, before, 1_000, cancellationToken);
            foreach (var c in page)
            {
                var e = c.Entry;
                if (e.Time >= from && e.Time < to && e.Outcome == AccessOutcome.Allowed && IncidentScoper.Exposes(e.Task)
                    && (principals.Contains("clerk:" + e.Account) || principals.Contains("terminal:" + e.Terminal) || principals.Contains("store:" + e.Store)))
                {
                    list.Add(c.Sequence);
                }
            }

            if (page.Count < 1_000)
            {
                break;
            }

            before = page[^1].Sequence;
        }

        list.Sort();
        return list;
    }

    private async Task<Claim> UpdateAsync(Claim claim, CancellationToken cancellationToken)
    {
        var updated = claim with { UpdatedAt = Ms(time.GetUtcNow()) };
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "UPDATE incident_claims SET state = @st, updated_ms = @t, question = @q, answer = @a, amount_approved = @ap, decision_reason = @dr, decided_by = @db, paid_ms = @p, payout_reference = @ref WHERE id = @id",
            ("@st", Name(updated.State)), ("@t", updated.UpdatedAt.ToUnixTimeMilliseconds()), ("@q", updated.Question), ("@a", updated.Answer), ("@ap", updated.AmountApproved),
            ("@dr", updated.DecisionReason), ("@db", updated.DecidedBy), ("@p", updated.PaidAt?.ToUnixTimeMilliseconds()), ("@ref", updated.PayoutReference), ("@id", updated.Id));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return updated;
    }

    private async Task<IReadOnlyList<Claim>> FindAsync(string where, (string, object?)[] parameters, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {Columns} FROM incident_claims WHERE {where} ORDER BY filed_ms DESC, id DESC LIMIT 1000", parameters);
        var list = new List<Claim>();
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new Claim(
                r.GetString(0), r.GetString(1), new SubscriberId(r.GetInt64(2)), r.GetString(3), r.GetString(4), r.GetInt64(5),
                TryParseState(r.GetString(6), out var state) ? state : throw new FormatException("incident_claims.state holds an unknown state name."),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)),
                r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? null : r.GetString(10), r.IsDBNull(11) ? null : r.GetInt64(11),
                r.IsDBNull(12) ? null : r.GetString(12), r.IsDBNull(13) ? null : r.GetString(13),
                r.IsDBNull(14) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(14)), r.IsDBNull(15) ? null : r.GetString(15),
                JsonSerializer.Deserialize<long[]>(r.GetString(16)) ?? []));
        }

        return list;
    }

    private async Task<CommittedEntry> AppendAsync(AccessTask task, string account, IncidentActor? officer, IReadOnlyList<SubscriberId> subjects, string target, string? reason, string? sourceIp, CancellationToken cancellationToken) =>
        await ledger.AppendAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = task,
                Outcome = AccessOutcome.Allowed,
                Account = account,
                Role = officer?.Role,
                Terminal = officer?.Terminal,
                Store = officer?.Store,
                SourceIp = sourceIp,
                Subjects = subjects,
                Target = target,
                Reason = reason,
            },
            cancellationToken);

    private static DateTimeOffset Ms(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());

    /// <summary>
    /// Checks an officer's free text (question, note, reason): when <paramref name="required"/>, 1 to
    /// <see cref="LeafCodec.MaxReasonLength"/> characters after trimming, otherwise absent or at most that many; and free of
    /// personal data (<see cref="Classification.FreeText"/>). Returns the validation error, or <see langword="null"/> when valid.
    /// </summary>
    private static CustodianError? CheckOfficerText(string? text, string field, bool required)
    {
        if (required ? string.IsNullOrWhiteSpace(text) || text.Trim().Length > LeafCodec.MaxReasonLength : text is { Length: > LeafCodec.MaxReasonLength })
        {
            return Invalid(field, required ? $"required, 1-{LeafCodec.MaxReasonLength} characters" : $"at most {LeafCodec.MaxReasonLength} characters");
        }

        return Classification.FreeText.Check(text, field);
    }

    private static CustodianError Conflict(string message) => new(ClaimErrors.StateConflict, 409, message);

    private static CustodianError Invalid(string field, string rule) =>
        new(ErrorCodes.ValidationFailed, 400, $"The field '{field}' is invalid: {rule}") { Errors = new Dictionary<string, string[]> { [field] = [rule] } };

    private static string NewId()
    {
        Span<byte> random = stackalloc byte[10];
        RandomNumberGenerator.Fill(random);
        var chars = new char[10];
        for (var i = 0; i < 10; i++)
        {
            chars[i] = Crockford[random[i] & 31];
        }

        return "CLM-" + new string(chars);
    }
}
