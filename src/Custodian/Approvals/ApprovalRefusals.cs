using Custodian.Access.Approvals;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;

namespace Custodian.Approvals;

/// <summary>
/// Records a refused four-eyes step — a request, an approval, a rejection or a withdrawal — from the officer API, the console and the CLI alike
/// as one denied entry of the step's own task with the problem's error code (<see cref="OfficerRefusals"/>). The target
/// names only what exists: a registered action, a request that exists (<c>request:…;action:…;target:…</c>, as in the
/// allowed entry); never the officer's reason, and never a refused target text.
/// </summary>
public static class ApprovalRefusals
{
    /// <summary>
    /// Appends a denied <see cref="AccessTask.PrivilegedActionRequested"/> entry for a refused request; returns <paramref name="error"/>.
    /// The target is the officer's pending request when the refusal is <see cref="ApprovalErrorCodes.AlreadyPending"/>,
    /// else <c>action:…</c> when the action is registered, else none.
    /// </summary>
    /// <param name="services">The request's services.</param>
    /// <param name="staff">The officer refused: a terminal request's (a <see cref="StaffRequest"/> converts) or the CLI's local operator.</param>
    /// <param name="requests">The four-eyes workflow.</param>
    /// <param name="action">The action asked for.</param>
    /// <param name="target">The target asked for (recorded only as part of an existing pending request).</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static async Task<CustodianError> RequestRefusedAsync(
        IServiceProvider services, RefusedOfficer staff, PrivilegedActionRequests requests, string? action, string? target, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(staff);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(error);
        string? recorded = null;
        if (action is not null && requests.Actions.Contains(action, StringComparer.Ordinal))
        {
            recorded = "action:" + action;
            if (error.Code == ApprovalErrorCodes.AlreadyPending
                && (await requests.ListAsync(PrivilegedRequestStatus.Pending, cancellationToken)).FirstOrDefault(r =>
                    r.Action == action && r.Target == target && r.RequestedBy == staff.Account) is { } pending)
            {
                recorded = Target(pending);
            }
        }

        return await OfficerRefusals.RecordAsync(services, staff, AccessTask.PrivilegedActionRequested, recorded, null, error, cancellationToken);
    }

    /// <summary>
    /// Appends a denied <see cref="AccessTask.PrivilegedActionApproved"/> or <see cref="AccessTask.PrivilegedActionRejected"/>
    /// entry for a refused decision; the target is the request when one with <paramref name="id"/> exists. Returns <paramref name="error"/>.
    /// </summary>
    /// <param name="services">The request's services.</param>
    /// <param name="staff">The officer refused: a terminal request's (a <see cref="StaffRequest"/> converts) or the CLI's local operator.</param>
    /// <param name="requests">The four-eyes workflow.</param>
    /// <param name="id">The request ID asked for.</param>
    /// <param name="approve">True for an approval, false for a rejection.</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static async Task<CustodianError> DecisionRefusedAsync(
        IServiceProvider services, RefusedOfficer staff, PrivilegedActionRequests requests, string id, bool approve, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var request = await requests.GetAsync(id, cancellationToken);
        var task = approve ? AccessTask.PrivilegedActionApproved : AccessTask.PrivilegedActionRejected;
        return await OfficerRefusals.RecordAsync(services, staff, task, request is null ? null : Target(request), null, error, cancellationToken);
    }

    /// <summary>
    /// Appends a denied <see cref="AccessTask.PrivilegedActionWithdrawn"/> entry for a refused withdrawal (not the requester,
    /// not pending, a bad reason); the target is the request when one with <paramref name="id"/> exists. Returns <paramref name="error"/>.
    /// </summary>
    /// <param name="services">The request's services.</param>
    /// <param name="staff">The officer refused: a terminal request's (a <see cref="StaffRequest"/> converts) or the CLI's local operator.</param>
    /// <param name="requests">The four-eyes workflow.</param>
    /// <param name="id">The request ID asked for.</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static async Task<CustodianError> WithdrawalRefusedAsync(
        IServiceProvider services, RefusedOfficer staff, PrivilegedActionRequests requests, string id, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var request = await requests.GetAsync(id, cancellationToken);
        return await OfficerRefusals.RecordAsync(services, staff, AccessTask.PrivilegedActionWithdrawn, request is null ? null : Target(request), null, error, cancellationToken);
    }

    private static string Target(PrivilegedRequest request) => $"request:{request.Id};action:{request.Action};target:{request.Target}";
}
