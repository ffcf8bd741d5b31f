using System.Globalization;
using Custodian.Access.Approvals;
using Custodian.Approvals;
using Custodian.Ledger;
using Custodian.Problems;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Localization;

namespace Custodian.Pages.Console.Approvals;

/// <summary>Shared parts of the approvals console pages.</summary>
public static class ApprovalPages
{
    /// <summary>A UTC time as <c>yyyy-MM-dd HH:mm:ss</c>.</summary>
    public static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>A status's stable name: <c>pending</c>, <c>approved</c>, <c>rejected</c>, <c>failed</c>.</summary>
    public static string Name(PrivilegedRequestStatus status) => status.ToString().ToLowerInvariant();

    /// <summary>Parses a status filter; null or empty means pending, <c>all</c> means no filter.</summary>
    /// <param name="text">The query value.</param>
    /// <param name="status">The filter, null for all.</param>
    /// <returns>False when the value is not one of pending, approved, rejected, failed, withdrawn, all.</returns>
    public static bool TryParseFilter(string? text, out PrivilegedRequestStatus? status)
    {
        status = text switch
        {
            null or "" or "pending" => PrivilegedRequestStatus.Pending,
            "approved" => PrivilegedRequestStatus.Approved,
            "rejected" => PrivilegedRequestStatus.Rejected,
            "failed" => PrivilegedRequestStatus.Failed,
            "withdrawn" => PrivilegedRequestStatus.Withdrawn,
            _ => null,
        };
        return status is not null || text == "all";
    }

    /// <summary>A refusal in the officer's language: the four-eyes rules by name, anything else by its message.</summary>
    public static string Describe(CustodianError error, IStringLocalizer<ApprovalText> text)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(text);
        return error.Code switch
        {
            ApprovalErrorCodes.SameOfficer => text["Four eyes: you requested this action, so another officer must decide it."],
            ApprovalErrorCodes.NotRequester => text["Only the officer who filed a request can withdraw it."],
            ApprovalErrorCodes.RequestNotPending when error.Status == 404 => text["This request is no longer pending (decided by another officer, or lapsed after 24 hours)."],
            ApprovalErrorCodes.RequestNotPending => text["Approved, but it could not be carried out: {0}", Incidents.IncidentPages.Describe(error, text)], // 409: the target changed meanwhile (e.g. already restored)
            ApprovalErrorCodes.AlreadyPending => text["You already requested this action on this target; that request is still pending for another officer's decision, so nothing new was filed."],
            _ => Incidents.IncidentPages.Describe(error, text),
        };
    }

    /// <summary>Runs a workflow step, turning a ledger outage into <c>ledger-unavailable</c> (503, transient): nothing changed.</summary>
    public static async Task<Result<T>> GuardAsync<T>(Func<Task<Result<T>>> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        try
        {
            return await step();
        }
        catch (LedgerUnavailableException)
        {
            return new CustodianError(ErrorCodes.LedgerUnavailable, 503, "The access ledger could not record this step, so nothing changed. Try again shortly.", IsTransient: true);
        }
    }
}

/// <summary>
/// <c>/console/approvals</c>: privileged-action requests, pending ones by default (<c>?status=approved|rejected|failed|all</c>),
/// newest first, and a form to request one. Requesting goes through <see cref="PrivilegedActionRequests.RequestAsync"/>,
/// so it is in the ledger before it is stored; a different officer decides it on the request's page (docs/access.md §7).
/// </summary>
/// <param name="requests">The four-eyes workflow.</param>
/// <param name="text">The pages' strings.</param>
public sealed class IndexModel(PrivilegedActionRequests requests, IStringLocalizer<ApprovalText> text) : ConsolePageModel
{
    /// <summary>The rule a <c>?status=</c> filter breaks (English; the page shows it in its language).</summary>
    public const string StatusRule = "must be pending, approved, rejected, failed, withdrawn or all";

    /// <summary>The listed requests (at most 200).</summary>
    public IReadOnlyList<PrivilegedRequest> Requests { get; private set; } = [];

    /// <summary>The filter's stable name: pending, approved, rejected, failed or all.</summary>
    public string Filter { get; private set; } = "pending";

    /// <summary>The registered actions, for the request form.</summary>
    public IReadOnlyList<string> Actions => requests.Actions;

    /// <summary>Why the last request was refused, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>
    /// Lists the requests of <paramref name="status"/> (pending when absent). Any other value than pending, approved,
    /// rejected, failed, withdrawn or all (docs/access.md §7.2) is refused as the claims page refuses a bad state: 400, the
    /// page with <see cref="Error"/> naming the rule (<see cref="StatusRule"/>) and the pending requests.
    /// </summary>
    public async Task<IActionResult> OnGetAsync(string? status)
    {
        if (!ApprovalPages.TryParseFilter(status, out var filter))
        {
            Error = ApprovalPages.Describe(Custodian.Hosting.ProblemResults.Validation("status", StatusRule), text);
            Response.StatusCode = StatusCodes.Status400BadRequest;
            Requests = await requests.ListAsync(PrivilegedRequestStatus.Pending, HttpContext.RequestAborted);
            return Page();
        }

        Filter = string.IsNullOrEmpty(status) ? "pending" : status;
        Requests = await requests.ListAsync(filter, HttpContext.RequestAborted);
        return Page();
    }

    /// <summary>Files a request for <paramref name="action"/> on <paramref name="target"/>; on success shows its page.</summary>
    public async Task<IActionResult> OnPostRequestAsync(string? action, string? target, string? reason)
    {
        var officer = Staff.Session.Principal;
        var result = await ApprovalPages.GuardAsync(() => requests.RequestAsync(action ?? string.Empty, target ?? string.Empty, reason ?? string.Empty, officer.Id, officer.Role, HttpContext.RequestAborted));
        if (result.IsSuccess)
        {
            return Redirect("/console/approvals/" + Uri.EscapeDataString(result.Value.Id));
        }

        await ApprovalRefusals.RequestRefusedAsync(HttpContext.RequestServices, Staff, requests, action, target, result.Error!, HttpContext.RequestAborted);
        Error = ApprovalPages.Describe(result.Error!, text);
        Requests = await requests.ListAsync(PrivilegedRequestStatus.Pending, HttpContext.RequestAborted);
        Response.StatusCode = result.Error!.Status;
        return Page();
    }
}

/// <summary>
/// <c>/console/approvals/{id}</c>: one request, and for another officer the approve and reject forms (each with a reason).
/// Approving carries the action out at once and shows its message here only (it may hold a one-time enrollment code,
/// which is never stored). The requester sees the request and a withdraw form instead; were they to post an approval or
/// rejection anyway, it is refused (<c>four-eyes-same-officer</c>).
/// </summary>
/// <param name="requests">The four-eyes workflow.</param>
/// <param name="time">Clock, to tell a lapsed request.</param>
/// <param name="text">The pages' strings.</param>
public sealed class DetailModel(PrivilegedActionRequests requests, TimeProvider time, IStringLocalizer<ApprovalText> text) : ConsolePageModel
{
    /// <summary>The request.</summary>
    public PrivilegedRequest Current { get; private set; } = null!;

    /// <summary>Whether it can still be decided (pending and not lapsed).</summary>
    public bool Decidable { get; private set; }

    /// <summary>Whether the signed-in officer filed it (and so may not decide it).</summary>
    public bool OwnRequest { get; private set; }

    /// <summary>The outcome of the decision just made (shown once), or null.</summary>
    public string? Message { get; private set; }

    /// <summary>Why the last decision was refused, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>Shows the request; 404 when there is none.</summary>
    public async Task<IActionResult> OnGetAsync(string id) => await LoadAsync(id) ? Page() : NotFound();

    /// <summary>Approves the request (as a different officer) and carries it out.</summary>
    public Task<IActionResult> OnPostApproveAsync(string id, string? reason) => DecideAsync(id, reason, approve: true);

    /// <summary>Rejects the request (as a different officer).</summary>
    public Task<IActionResult> OnPostRejectAsync(string id, string? reason) => DecideAsync(id, reason, approve: false);

    /// <summary>Withdraws the request (as the officer who filed it).</summary>
    public Task<IActionResult> OnPostWithdrawAsync(string id, string? reason) => DecideAsync(id, reason, approve: null);

    // approve: true approves, false rejects, null withdraws.
    private async Task<IActionResult> DecideAsync(string id, string? reason, bool? approve)
    {
        var officer = Staff.Session.Principal;
        var result = await ApprovalPages.GuardAsync(() => approve switch
        {
            true => requests.ApproveAsync(id, officer.Id, reason ?? string.Empty, officer.Role, HttpContext.RequestAborted),
            false => requests.RejectAsync(id, officer.Id, reason ?? string.Empty, officer.Role, HttpContext.RequestAborted),
            null => requests.WithdrawAsync(id, officer.Id, reason ?? string.Empty, officer.Role, HttpContext.RequestAborted),
        });
        if (!result.IsSuccess)
        {
            _ = approve is { } decision
                ? await ApprovalRefusals.DecisionRefusedAsync(HttpContext.RequestServices, Staff, requests, id, decision, result.Error!, HttpContext.RequestAborted)
                : await ApprovalRefusals.WithdrawalRefusedAsync(HttpContext.RequestServices, Staff, requests, id, result.Error!, HttpContext.RequestAborted);
        }

        if (!await LoadAsync(id))
        {
            return NotFound();
        }

        if (result.IsSuccess)
        {
            Message = approve switch
            {
                true => text["Approved and carried out: {0}", result.Value],
                false => text["Rejected."],
                null => text["Withdrawn."],
            };
        }
        else
        {
            Error = ApprovalPages.Describe(result.Error!, text);
            Response.StatusCode = result.Error!.Status;
        }

        return Page();
    }

    private async Task<bool> LoadAsync(string id)
    {
        if (await requests.GetAsync(id, HttpContext.RequestAborted) is not { } request)
        {
            return false;
        }

        Current = request;
        Decidable = request.Status == PrivilegedRequestStatus.Pending && request.ExpiresAt > time.GetUtcNow();
        OwnRequest = string.Equals(request.RequestedBy, Staff.Session.Principal.Id, StringComparison.Ordinal);
        return true;
    }
}
