using System.Data.Common;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Custodian.Access.Internal;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Storage;

namespace Custodian.Access.Approvals;

/// <summary>
/// State of a privileged-action request (column <c>privileged_requests.status</c>); in JSON the same words as the
/// column and the <c>?status=</c> filter: <c>pending</c>, <c>approved</c>, <c>rejected</c>, <c>failed</c>,
/// <c>withdrawn</c>.
/// </summary>
[JsonConverter(typeof(PrivilegedRequestStatusJsonConverter))]
public enum PrivilegedRequestStatus
{
    /// <summary>Waiting for a second officer (stored as <c>pending</c>).</summary>
    Pending = 0,

    /// <summary>Approved by a second officer and carried out (stored as <c>approved</c>).</summary>
    Approved = 1,

    /// <summary>Rejected by a second officer (stored as <c>rejected</c>).</summary>
    Rejected = 2,

    /// <summary>Approved, but carrying it out failed; the result says why (stored as <c>failed</c>).</summary>
    Failed = 3,

    /// <summary>Withdrawn by the requesting officer before anyone decided it (stored as <c>withdrawn</c>).</summary>
    Withdrawn = 4,
}

/// <summary>A request for a privileged action.</summary>
/// <param name="Id">Request ID, 16 lowercase hex digits.</param>
/// <param name="Action">Action name, e.g. <c>enroll-vdi-host</c>.</param>
/// <param name="Target">What it applies to (an account, terminal or code; never personal data).</param>
/// <param name="Reason">Why, from the requester (1–500 characters).</param>
/// <param name="RequestedBy">Requesting officer's account.</param>
/// <param name="RequestedAt">When requested.</param>
/// <param name="ExpiresAt">When an undecided request lapses (24 hours after the request).</param>
/// <param name="Status">State.</param>
/// <param name="DecidedBy">Deciding officer, once decided.</param>
/// <param name="DecidedAt">When decided.</param>
/// <param name="DecisionReason">The decider's reason.</param>
public sealed record PrivilegedRequest(
    string Id, string Action, string Target, string Reason, string RequestedBy, DateTimeOffset RequestedAt, DateTimeOffset ExpiresAt,
    PrivilegedRequestStatus Status, string? DecidedBy, DateTimeOffset? DecidedAt, string? DecisionReason);

/// <summary>
/// One kind of privileged action that needs four eyes. Register implementations in DI as <see cref="IPrivilegedAction"/>;
/// <see cref="PrivilegedActionRequests"/> finds them by <see cref="ActionName"/> (docs/access.md §7).
/// </summary>
public interface IPrivilegedAction
{
    /// <summary>Stable kebab-case name, e.g. <c>restore-clerk</c>.</summary>
    string ActionName { get; }

    /// <summary>Checks a target when the action is requested (e.g. a well-formed code, a suspended clerk).</summary>
    /// <param name="target">The target.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>Null when acceptable, else the refusal (a problem response for the requester).</returns>
    Task<CustodianError?> ValidateAsync(string target, CancellationToken cancellationToken);

    /// <summary>Carries the action out after a second officer approved it; called once per request.</summary>
    /// <param name="request">The approved request.</param>
    /// <param name="approver">The approving officer.</param>
    /// <param name="cancellationToken">Cancels the action.</param>
    /// <returns>A message for the approver (shown once; may carry a one-time secret such as an enrollment code, which is never stored), or the failure.</returns>
    Task<Result<string>> ExecuteAsync(PrivilegedRequest request, string approver, CancellationToken cancellationToken);
}

/// <summary>Error codes of the four-eyes workflow.</summary>
public static class ApprovalErrorCodes
{
    /// <summary>The approver is the requester; a different officer must decide (403).</summary>
    public const string SameOfficer = "four-eyes-same-officer";

    /// <summary>No such pending request (unknown, decided or lapsed) (404).</summary>
    public const string RequestNotPending = "approval-not-pending";

    /// <summary>Only the officer who requested it may withdraw a request (403).</summary>
    public const string NotRequester = "approval-not-requester";

    /// <summary>The action name is not a registered privileged action (400).</summary>
    public const string UnknownAction = "privileged-action-unknown";

    /// <summary>
    /// The same officer already has a pending request for the same action on the same target (409): nothing new is filed,
    /// the message names the pending request, which a second officer decides.
    /// </summary>
    public const string AlreadyPending = "approval-already-pending";
}

/// <summary>
/// Which refusals of a privileged-action request are the requester's own input (a malformed or unknown value) and which
/// the current state (a clerk not suspended, a detector already off, a request already pending). The CLI exits 1 for the
/// first and 2 for the second (README, exit codes); over HTTP both keep their problem code and status.
/// </summary>
public static class PrivilegedActionRefusals
{
    /// <summary>
    /// A target whose form breaks the action's rule, judged on the text alone (no state read): 400
    /// <see cref="ErrorCodes.ValidationFailed"/>, message <c>target: RULE</c>, field <c>target</c> in
    /// <see cref="CustodianError.Errors"/>. Every <see cref="IPrivilegedAction.ValidateAsync"/> refuses a malformed target
    /// with this, and a target refused in the current state without it.
    /// </summary>
    /// <param name="rule">The rule, e.g. <c>must be &lt;zone&gt;/&lt;name&gt;, both codes, e.g. VDI/vdi-7</c>.</param>
    /// <returns>The refusal.</returns>
    public static CustodianError MalformedTarget(string rule) => AccessErrors.Validation("target", rule);

    /// <summary>
    /// Whether <paramref name="error"/> refuses the request's input rather than the current state: an unknown action
    /// (<see cref="ApprovalErrorCodes.UnknownAction"/>), or a 400 naming the fields it refuses (<see cref="CustodianError.Errors"/>:
    /// a malformed target, <see cref="MalformedTarget"/>; a missing or too long target or reason; personal data or a bidi
    /// control in the reason).
    /// </summary>
    /// <param name="error">A refusal of <see cref="PrivilegedActionRequests.RequestAsync"/>.</param>
    /// <returns>True for an input refusal.</returns>
    public static bool IsInputRefusal(CustodianError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.Code == ApprovalErrorCodes.UnknownAction || (error.Status == 400 && error.Errors is { Count: > 0 });
    }
}

/// <summary>
/// The generic four-eyes workflow (table <c>privileged_requests</c>): one officer requests a privileged action, a
/// different officer approves (and the action is carried out at once) or rejects it; until then the requester may
/// withdraw it. Request, approval, rejection and withdrawal are each recorded in the ledger
/// (<see cref="AccessTask.PrivilegedActionRequested"/>, <see cref="AccessTask.PrivilegedActionApproved"/>,
/// <see cref="AccessTask.PrivilegedActionRejected"/>, <see cref="AccessTask.PrivilegedActionWithdrawn"/>) before they
/// take effect; undecided requests lapse after <see cref="Lifetime"/>. Thread-safe: a request is decided once, even
/// under concurrent approvals (conditional UPDATE).
/// </summary>
public sealed class PrivilegedActionRequests(CustodianDatabase db, IAccessLedger ledger, IEnumerable<IPrivilegedAction> actions, TimeProvider time)
{
    /// <summary>The role recorded for an officer whose role the caller does not pass (the CLI's local operator).</summary>
    private const StaffRole DefaultRole = StaffRole.SecurityOfficer;

    /// <summary>How long a request waits for a decision: 24 hours.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    private readonly Dictionary<string, IPrivilegedAction> _actions = actions.ToDictionary(a => a.ActionName, StringComparer.Ordinal);

    /// <summary>Names of the registered actions, ordered.</summary>
    public IReadOnlyList<string> Actions => [.. _actions.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Requests <paramref name="action"/> on <paramref name="target"/>; recorded before it is stored.</summary>
    /// <param name="action">A registered action name.</param>
    /// <param name="target">Its target (1–128 characters, no personal data).</param>
    /// <param name="reason">Why (1–500 characters).</param>
    /// <param name="officer">The requesting officer's account.</param>
    /// <param name="role">The officer's role, recorded in the ledger; null for security officer.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The pending request, or a refusal: <see cref="ApprovalErrorCodes.UnknownAction"/>, validation, the action's own, or
    /// <see cref="ApprovalErrorCodes.AlreadyPending"/> (409) when this officer's identical request is still pending.</returns>
    public async Task<Result<PrivilegedRequest>> RequestAsync(string action, string target, string reason, string officer, StaffRole? role = null, CancellationToken cancellationToken = default)
    {
        if (!_actions.TryGetValue(action ?? string.Empty, out var handler))
        {
            return new CustodianError(ApprovalErrorCodes.UnknownAction, 400, $"action: must be one of {string.Join(", ", Actions)}.");
        }

        if (string.IsNullOrWhiteSpace(target) || target.Length > 128)
        {
            return AccessErrors.Validation("target", "is required, at most 128 characters");
        }

        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 500)
        {
            return AccessErrors.Validation("reason", "is required, at most 500 characters");
        }

        if (Classification.FreeText.Check(reason, "reason") is { } personal)
        {
            return personal;
        }

        if (await handler.ValidateAsync(target, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        var now = time.GetUtcNow();
        await using var connection = await db.OpenAsync(cancellationToken);
        await using (var pending = connection.Command(
            Select + " WHERE action = @action AND target = @target AND requested_by = @by AND status = 'pending' AND expires_ms > @now ORDER BY requested_ms LIMIT 1",
            ("@action", handler.ActionName),
            ("@target", target),
            ("@by", officer),
            ("@now", UnixMs.From(now))))
        await using (var reader = await pending.ExecuteReaderAsync(cancellationToken))
        {
            // The same officer running the same request twice (a repeated command, a resubmitted form) files nothing new:
            // two pending requests for one change would ask a second officer to decide the same thing twice.
            if (await reader.ReadAsync(cancellationToken))
            {
                var existing = Read(reader);
                return new CustodianError(
                    ApprovalErrorCodes.AlreadyPending,
                    409,
                    $"You already requested {existing.Action} on {existing.Target}: request {existing.Id} is pending until {existing.ExpiresAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} for another officer's decision; nothing new was filed.");
            }
        }

        var request = new PrivilegedRequest(RandomNumberGenerator.GetHexString(16, lowercase: true), handler.ActionName, target, reason, officer, now, now + Lifetime, PrivilegedRequestStatus.Pending, null, null, null);
        await RecordAsync(AccessTask.PrivilegedActionRequested, officer, role, request, reason, cancellationToken);
        await using var insert = connection.Command(
            """
            INSERT INTO privileged_requests (id, action, target, reason, requested_by, requested_ms, expires_ms, status)
            VALUES (@id, @action, @target, @reason, @by, @now, @expires, 'pending')
            """,
            ("@id", request.Id),
            ("@action", handler.ActionName),
            ("@target", target),
            ("@reason", reason),
            ("@by", officer),
            ("@now", UnixMs.From(now)),
            ("@expires", UnixMs.From(request.ExpiresAt)));
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return request;
    }

    /// <summary>Approves a pending request as a different officer and carries the action out.</summary>
    /// <param name="id">Request ID.</param>
    /// <param name="officer">The approving officer (not the requester).</param>
    /// <param name="reason">Why (1–500 characters).</param>
    /// <param name="role">The officer's role, recorded in the ledger; null for security officer.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The action's message for the approver, or a refusal: <see cref="ApprovalErrorCodes.SameOfficer"/> (403),
    /// <see cref="ApprovalErrorCodes.RequestNotPending"/> (404), validation (400), or the action's own failure.</returns>
    public Task<Result<string>> ApproveAsync(string id, string officer, string reason, StaffRole? role = null, CancellationToken cancellationToken = default) =>
        DecideAsync(id, officer, role, reason, Decision.Approve, cancellationToken);

    /// <summary>Rejects a pending request as a different officer.</summary>
    /// <param name="id">Request ID.</param>
    /// <param name="officer">The rejecting officer (not the requester).</param>
    /// <param name="reason">Why (1–500 characters).</param>
    /// <param name="role">The officer's role, recorded in the ledger; null for security officer.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>A confirmation, or the same refusals as <see cref="ApproveAsync"/>.</returns>
    public Task<Result<string>> RejectAsync(string id, string officer, string reason, StaffRole? role = null, CancellationToken cancellationToken = default) =>
        DecideAsync(id, officer, role, reason, Decision.Reject, cancellationToken);

    /// <summary>
    /// Withdraws a pending request as the officer who requested it (a request filed by mistake, or no longer needed),
    /// so that no second officer approves it later. Recorded in the ledger (<see cref="AccessTask.PrivilegedActionWithdrawn"/>)
    /// before the status changes to <see cref="PrivilegedRequestStatus.Withdrawn"/>.
    /// </summary>
    /// <param name="id">Request ID.</param>
    /// <param name="officer">The withdrawing officer: must be the requester.</param>
    /// <param name="reason">Why (1–500 characters, no personal data).</param>
    /// <param name="role">The officer's role, recorded in the ledger; null for security officer.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>A confirmation, or a refusal: <see cref="ApprovalErrorCodes.NotRequester"/> (403),
    /// <see cref="ApprovalErrorCodes.RequestNotPending"/> (404: unknown, decided, withdrawn or lapsed; also when a
    /// second officer decided it a moment before), validation (400).</returns>
    public Task<Result<string>> WithdrawAsync(string id, string officer, string reason, StaffRole? role = null, CancellationToken cancellationToken = default) =>
        DecideAsync(id, officer, role, reason, Decision.Withdraw, cancellationToken);

    /// <summary>Requests, newest first (at most 200), optionally only those in <paramref name="status"/>; lapsed pending requests are left out of <c>Pending</c>.</summary>
    /// <param name="status">Filter, or null for all.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The requests.</returns>
    public async Task<IReadOnlyList<PrivilegedRequest>> ListAsync(PrivilegedRequestStatus? status = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            Select + " WHERE (CAST(@status AS TEXT) IS NULL OR status = @status) AND (CAST(@status AS TEXT) IS NULL OR @status <> 'pending' OR expires_ms > @now) ORDER BY requested_ms DESC, id LIMIT 200",
            ("@status", status is null ? null : StatusName(status.Value)),
            ("@now", UnixMs.From(time.GetUtcNow())));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<PrivilegedRequest>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(Read(reader));
        }

        return list;
    }

    /// <summary>One request by ID, in whatever state (a lapsed pending request is returned as pending; <see cref="PrivilegedRequest.ExpiresAt"/> tells).</summary>
    /// <param name="id">Request ID.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The request, or null when there is none with this ID.</returns>
    public async Task<PrivilegedRequest?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(Select + " WHERE id = @id", ("@id", id ?? string.Empty));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private const string Select = "SELECT id, action, target, reason, requested_by, requested_ms, expires_ms, status, decided_by, decided_ms, decision_reason FROM privileged_requests";

    private enum Decision
    {
        Approve,
        Reject,
        Withdraw,
    }

    private async Task<Result<string>> DecideAsync(string id, string officer, StaffRole? role, string reason, Decision decision, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 500)
        {
            return AccessErrors.Validation("reason", "is required, at most 500 characters");
        }

        if (Classification.FreeText.Check(reason, "reason") is { } personal)
        {
            return personal;
        }

        var now = time.GetUtcNow();
        PrivilegedRequest? request;
        await using (var connection = await db.OpenAsync(cancellationToken))
        await using (var find = connection.Command(Select + " WHERE id = @id AND status = 'pending' AND expires_ms > @now", ("@id", id ?? string.Empty), ("@now", UnixMs.From(now))))
        await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
        {
            request = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }

        if (request is null)
        {
            return new CustodianError(ApprovalErrorCodes.RequestNotPending, 404, "There is no pending request with this ID (unknown, already decided, or lapsed after 24 hours).");
        }

        var requester = string.Equals(request.RequestedBy, officer, StringComparison.Ordinal);
        if (decision == Decision.Withdraw && !requester)
        {
            return new CustodianError(ApprovalErrorCodes.NotRequester, 403, "Only the officer who requested a privileged action can withdraw it; another officer rejects it instead.");
        }

        if (decision != Decision.Withdraw && requester)
        {
            return new CustodianError(ApprovalErrorCodes.SameOfficer, 403, "Four eyes: the officer who requested a privileged action cannot decide it; another officer must (the requester may withdraw it).");
        }

        var (task, status) = decision switch
        {
            Decision.Approve => (AccessTask.PrivilegedActionApproved, "approved"),
            Decision.Reject => (AccessTask.PrivilegedActionRejected, "rejected"),
            _ => (AccessTask.PrivilegedActionWithdrawn, "withdrawn"),
        };
        await RecordAsync(task, officer, role, request, reason, cancellationToken);
        if (!await SetStatusAsync(request.Id, status, officer, reason, now, cancellationToken))
        {
            return new CustodianError(ApprovalErrorCodes.RequestNotPending, 404, "The request was decided or withdrawn a moment ago.");
        }

        if (decision != Decision.Approve)
        {
            return decision == Decision.Reject ? "Rejected." : "Withdrawn.";
        }

        var outcome = await _actions[request.Action].ExecuteAsync(request with { Status = PrivilegedRequestStatus.Approved, DecidedBy = officer, DecidedAt = now, DecisionReason = reason }, officer, cancellationToken);
        if (!outcome.IsSuccess)
        {
            await SetStatusAsync(request.Id, "failed", officer, reason, now, cancellationToken, from: "approved");
        }

        return outcome;
    }

    private async Task<bool> SetStatusAsync(string id, string status, string officer, string reason, DateTimeOffset now, CancellationToken cancellationToken, string from = "pending")
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var update = connection.Command(
            "UPDATE privileged_requests SET status = @status, decided_by = @by, decided_ms = @now, decision_reason = @reason WHERE id = @id AND status = @from",
            ("@status", status),
            ("@by", officer),
            ("@now", UnixMs.From(now)),
            ("@reason", reason),
            ("@id", id),
            ("@from", from));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private async Task RecordAsync(AccessTask task, string officer, StaffRole? role, PrivilegedRequest request, string reason, CancellationToken cancellationToken) =>
        await ledger.AppendAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = task,
                Outcome = AccessOutcome.Allowed,
                Account = Codes.IsValid(officer) ? officer : null,
                Role = role ?? DefaultRole,
                Target = $"request:{request.Id};action:{request.Action};target:{request.Target}",
                Reason = reason,
            },
            cancellationToken);

    private static string StatusName(PrivilegedRequestStatus status) => status switch
    {
        PrivilegedRequestStatus.Pending => "pending",
        PrivilegedRequestStatus.Approved => "approved",
        PrivilegedRequestStatus.Rejected => "rejected",
        PrivilegedRequestStatus.Withdrawn => "withdrawn",
        _ => "failed",
    };

    private static PrivilegedRequest Read(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), UnixMs.To(r.GetInt64(5)), UnixMs.To(r.GetInt64(6)),
        r.GetString(7) switch { "pending" => PrivilegedRequestStatus.Pending, "approved" => PrivilegedRequestStatus.Approved, "rejected" => PrivilegedRequestStatus.Rejected, "withdrawn" => PrivilegedRequestStatus.Withdrawn, _ => PrivilegedRequestStatus.Failed },
        r.IsDBNull(8) ? null : r.GetString(8), UnixMs.ToNullable(r.GetValue(9)), r.IsDBNull(10) ? null : r.GetString(10));
}

/// <summary>Writes and reads <see cref="PrivilegedRequestStatus"/> as its lowercase word (never a number).</summary>
public sealed class PrivilegedRequestStatusJsonConverter() : JsonStringEnumConverter<PrivilegedRequestStatus>(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false);
