using Custodian.Access.Approvals;
using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Approvals;

/// <summary>Body of a privileged-action request.</summary>
/// <param name="Action">Action name, e.g. <c>enroll-vdi-host</c>.</param>
/// <param name="Target">Its target.</param>
/// <param name="Reason">Why (1–500 characters).</param>
public sealed record ApprovalRequestBody(string? Action, string? Target, string? Reason);

/// <summary>Body of an approval, rejection or withdrawal.</summary>
/// <param name="Reason">Why (1–500 characters).</param>
public sealed record ApprovalDecisionBody(string? Reason);

/// <summary>The outcome of a decision.</summary>
/// <param name="Message">For an approval, the action's message (may carry a one-time code, shown only here).</param>
public sealed record ApprovalDecision(string Message);

/// <summary>
/// The four-eyes workflow on the terminal listener, for security and privacy officers (device certificate + staff
/// session): <c>GET /api/v1/approvals[?status=pending]</c>, <c>POST /api/v1/approvals</c>,
/// <c>POST /api/v1/approvals/{id}/approve</c>, <c>POST /api/v1/approvals/{id}/reject</c>, and for the requester
/// <c>POST /api/v1/approvals/{id}/withdraw</c> (docs/access.md §7).
/// </summary>
public static class ApprovalsApi
{
    /// <summary>Maps the endpoints.</summary>
    /// <param name="app">The application.</param>
    /// <returns>The same builder.</returns>
    public static IEndpointRouteBuilder MapApprovalsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/approvals").WithTags("Four eyes")
            .AddEndpointFilter(StaffApi.RefuseUndeclaredQuery) // a query parameter the route does not declare is refused (400), before the session is checked
            .AddEndpointFilter(StaffApi.RequireSessionAsync)
            .AddEndpointFilter(StaffRoleFilter.Require("approvals", "Only a security officer or privacy officer may request or decide privileged actions.", StaffRoleFilter.Officers));
        group.MapGet(string.Empty, ListAsync).WithMetadata(new QueryParameters("status")).WithName("ListApprovals").WithSummary("Privileged-action requests, newest first. Officers only.");
        group.MapPost(string.Empty, RequestAsync).WithName("RequestPrivilegedAction").WithSummary("Request a privileged action; another officer must approve it.");
        group.MapPost("/{id}/approve", ApproveAsync).WithName("ApprovePrivilegedAction").WithSummary("Approve (as another officer) and carry out a privileged action.");
        group.MapPost("/{id}/reject", RejectAsync).WithName("RejectPrivilegedAction").WithSummary("Reject (as another officer) a privileged action.");
        group.MapPost("/{id}/withdraw", WithdrawAsync).WithName("WithdrawPrivilegedAction").WithSummary("Withdraw (as the requesting officer) a pending privileged-action request.");
        return app;
    }

    private static string Officer(HttpContext context) => StaffApi.Staff(context).Session.Principal.Id;

    private static StaffRole Role(HttpContext context) => StaffApi.Staff(context).Session.Principal.Role;

    private static async Task<Results<Ok<IReadOnlyList<PrivilegedRequest>>, ProblemHttpResult>> ListAsync(string? status, PrivilegedActionRequests requests, CancellationToken cancellationToken)
    {
        PrivilegedRequestStatus? filter = status switch
        {
            null => null,
            "pending" => PrivilegedRequestStatus.Pending,
            "approved" => PrivilegedRequestStatus.Approved,
            "rejected" => PrivilegedRequestStatus.Rejected,
            "failed" => PrivilegedRequestStatus.Failed,
            "withdrawn" => PrivilegedRequestStatus.Withdrawn,
            _ => (PrivilegedRequestStatus)(-1),
        };
        return filter is { } f && !Enum.IsDefined(f)
            ? ProblemResults.Validation("status", "must be pending, approved, rejected, failed or withdrawn").ToProblem()
            : TypedResults.Ok(await requests.ListAsync(filter, cancellationToken));
    }

    private static async Task<Results<Created<PrivilegedRequest>, ProblemHttpResult>> RequestAsync(ApprovalRequestBody body, HttpContext context, PrivilegedActionRequests requests, CancellationToken cancellationToken)
    {
        var result = await requests.RequestAsync(body.Action ?? string.Empty, body.Target ?? string.Empty, body.Reason ?? string.Empty, Officer(context), Role(context), cancellationToken);
        return result.IsSuccess
            ? TypedResults.Created($"/api/v1/approvals/{result.Value.Id}", result.Value)
            : (await ApprovalRefusals.RequestRefusedAsync(context.RequestServices, StaffApi.Staff(context), requests, body.Action, body.Target, result.Error!, cancellationToken)).ToProblem();
    }

    private static async Task<Results<Ok<ApprovalDecision>, ProblemHttpResult>> ApproveAsync(string id, ApprovalDecisionBody body, HttpContext context, PrivilegedActionRequests requests, CancellationToken cancellationToken)
    {
        var result = await requests.ApproveAsync(id, Officer(context), body.Reason ?? string.Empty, Role(context), cancellationToken);
        return result.IsSuccess
            ? TypedResults.Ok(new ApprovalDecision(result.Value))
            : (await ApprovalRefusals.DecisionRefusedAsync(context.RequestServices, StaffApi.Staff(context), requests, id, approve: true, result.Error!, cancellationToken)).ToProblem();
    }

    private static async Task<Results<Ok<ApprovalDecision>, ProblemHttpResult>> RejectAsync(string id, ApprovalDecisionBody body, HttpContext context, PrivilegedActionRequests requests, CancellationToken cancellationToken)
    {
        var result = await requests.RejectAsync(id, Officer(context), body.Reason ?? string.Empty, Role(context), cancellationToken);
        return result.IsSuccess
            ? TypedResults.Ok(new ApprovalDecision(result.Value))
            : (await ApprovalRefusals.DecisionRefusedAsync(context.RequestServices, StaffApi.Staff(context), requests, id, approve: false, result.Error!, cancellationToken)).ToProblem();
    }

    private static async Task<Results<Ok<ApprovalDecision>, ProblemHttpResult>> WithdrawAsync(string id, ApprovalDecisionBody body, HttpContext context, PrivilegedActionRequests requests, CancellationToken cancellationToken)
    {
        var result = await requests.WithdrawAsync(id, Officer(context), body.Reason ?? string.Empty, Role(context), cancellationToken);
        return result.IsSuccess
            ? TypedResults.Ok(new ApprovalDecision(result.Value))
            : (await ApprovalRefusals.WithdrawalRefusedAsync(context.RequestServices, StaffApi.Staff(context), requests, id, result.Error!, cancellationToken)).ToProblem();
    }
}
