using Custodian.Access.Approvals;
using Custodian.Approvals;
using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Monitoring.Detection;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Monitoring;

/// <summary>An alert as the officer API shows it. No personal data: principals are staff and terminal codes, evidence is ledger sequences.</summary>
/// <param name="Id">Alert identifier (<c>A-</c> + ULID).</param>
/// <param name="RaisedAt">When raised (UTC).</param>
/// <param name="Detector">Detector's stable name.</param>
/// <param name="PrincipalKind"><c>clerk</c> or <c>terminal</c>.</param>
/// <param name="PrincipalId">Account or terminal code.</param>
/// <param name="Store">Store code, when known.</param>
/// <param name="WindowSeconds">Window judged over, in seconds.</param>
/// <param name="Observed">Measured value.</param>
/// <param name="Limit">Limit or baseline-derived threshold.</param>
/// <param name="Detail">Baseline, peer statistics and risk, when the detector gave them.</param>
/// <param name="Sequences">Ledger sequences of the evidence.</param>
/// <param name="Severity"><c>low</c>, <c>medium</c>, <c>high</c>, <c>critical</c>.</param>
/// <param name="State"><c>open</c>, <c>acknowledged</c>, <c>false-positive</c>, <c>confirmed</c>, <c>restored</c>.</param>
/// <param name="UpdatedBy">Who changed the state last.</param>
/// <param name="Note">Officer's note.</param>
public sealed record AlertDto(
    string Id, DateTimeOffset RaisedAt, string Detector, string PrincipalKind, string PrincipalId, string? Store, long WindowSeconds,
    int Observed, int Limit, string? Detail, IReadOnlyList<long> Sequences, string Severity, string State, string UpdatedBy, string? Note)
{
    /// <summary>Maps a stored alert.</summary>
    public static AlertDto From(Alert a) => new(
        a.Id, a.RaisedAt, a.Detector, a.Principal.Kind.ToName(), a.Principal.Id, a.Store, (long)a.Window.TotalSeconds, a.Observed, a.Limit,
        a.Evidence.Detail, a.Evidence.Sequences, a.Severity.ToName(), a.State.ToName(), a.UpdatedBy, a.Note);
}

/// <summary>Body of an alert review.</summary>
/// <param name="State"><c>acknowledged</c>, <c>false-positive</c> or <c>confirmed</c>.</param>
/// <param name="Note">Optional note, ≤ 500 characters, never personal data.</param>
public sealed record AlertReviewRequest(string? State, string? Note);

/// <summary>Body of a restore.</summary>
/// <param name="Kind"><c>clerk</c> or <c>terminal</c>.</param>
/// <param name="Id">Account or terminal code.</param>
/// <param name="Reason">Why, 1–500 characters, never personal data.</param>
public sealed record RestoreRequest(string? Kind, string? Id, string? Reason);

/// <summary>A principal's current standing with the monitor.</summary>
/// <param name="Kind"><c>clerk</c> or <c>terminal</c>.</param>
/// <param name="Id">Code.</param>
/// <param name="Risk">Combined risk, 0–100.</param>
/// <param name="Action"><c>none</c>, <c>alert</c>, <c>step-up</c> or <c>suspend</c>.</param>
/// <param name="Suspended">Whether a suspension is active.</param>
public sealed record PrincipalStanding(string Kind, string Id, int Risk, string Action, bool Suspended);

/// <summary>
/// The security officers' alert API on the sales-terminal listener (mutual TLS, staff session; officer roles only,
/// anyone else refused with <c>role-not-permitted</c> and the refusal recorded): list alerts, review them
/// (acknowledge, confirm, false positive — recorded in the ledger as <c>alert-reviewed</c>), request that a suspended
/// clerk or terminal be restored (a <c>restore-clerk</c> / <c>restore-terminal</c> privileged-action request that a
/// different officer approves, docs/access.md §7), and read a principal's current risk.
/// </summary>
public static class AlertsApi
{
    /// <summary>
    /// Maps <c>GET /api/v1/alerts</c>, <c>POST /api/v1/alerts/{id}/review</c>, <c>POST /api/v1/alerts/restorations</c>
    /// and <c>GET /api/v1/alerts/standing/{kind}/{id}</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapAlertsApi(this IEndpointRouteBuilder app)
    {
        var alerts = app.MapGroup("/api/v1/alerts").WithTags("Monitor alerts")
            .AddEndpointFilter(StaffApi.RefuseUndeclaredQuery) // a query parameter the route does not declare is refused (400), before the session is checked
            .AddEndpointFilter(StaffApi.RequireSessionAsync)
            .AddEndpointFilter(StaffRoleFilter.Require("monitor-alerts", "Only a security officer or privacy officer may review monitor alerts.", StaffRoleFilter.Officers));
        alerts.MapGet(string.Empty, ListAsync).WithMetadata(new QueryParameters("state", "limit")).WithName("ListAlerts").WithSummary("Alerts, newest first, optionally by state (?state=open&limit=100). Officers only.");
        alerts.MapPost("/{id}/review", ReviewAsync).WithName("ReviewAlert").WithSummary("Acknowledge, confirm or mark an alert a false positive; recorded in the ledger. Officers only.");
        alerts.MapPost("/restorations", RestoreAsync).WithName("RestorePrincipal").WithSummary("Request that a clerk's or terminal's suspension be lifted (202 with the privileged-action request); a different officer approves it in /api/v1/approvals. Officers only.");
        alerts.MapGet("/standing/{kind}/{id}", GetStanding).WithName("PrincipalStanding").WithSummary("A clerk's or terminal's current risk and action. Officers only.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<AlertDto>>, ProblemHttpResult>> ListAsync(string? state, int? limit, AlertStore store, CancellationToken cancellationToken)
    {
        AlertState? filter = null;
        if (state is not null)
        {
            if (!AlertStates.TryParse(state, out var parsed))
            {
                return ProblemResults.Validation("state", "must be open, acknowledged, false-positive, confirmed or restored").ToProblem();
            }

            filter = parsed;
        }

        if (limit is < 1 or > 1000)
        {
            return ProblemResults.Validation("limit", "must be 1-1000").ToProblem();
        }

        var list = await store.ListAsync(filter, limit ?? 100, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<AlertDto>>([.. list.Select(AlertDto.From)]);
    }

    private static async Task<Results<Ok<AlertDto>, ProblemHttpResult>> ReviewAsync(string id, AlertReviewRequest body, HttpContext context, AccessMonitor monitor, AlertStore alerts, CancellationToken cancellationToken)
    {
        var staff = StaffApi.Staff(context);
        Custodian.Problems.Result<Alert> result;
        AlertState? asked = null;
        if (!AlertStates.TryParse(body.State, out var state))
        {
            result = ProblemResults.Validation("state", "must be acknowledged, false-positive or confirmed");
        }
        else
        {
            asked = state;
            result = await monitor.ReviewAlertAsync(id, state, staff.Session.Principal.Id, body.Note, cancellationToken);
        }

        if (result.IsSuccess)
        {
            return TypedResults.Ok(AlertDto.From(result.Value));
        }

        var known = await alerts.GetAsync(id, cancellationToken) is not null;
        return (await AlertActionRefusals.ReviewRefusedAsync(context.RequestServices, staff, id, known, asked, result.Error!, cancellationToken)).ToProblem();
    }

    private static async Task<Results<Accepted<PrivilegedRequest>, ProblemHttpResult>> RestoreAsync(RestoreRequest body, HttpContext context, PrivilegedActionRequests requests, SuspensionRegistry suspensions, CancellationToken cancellationToken)
    {
        var staff = StaffApi.Staff(context);
        // Four eyes (docs/access.md §7): this files the restore; a different officer approves it in /api/v1/approvals.
        var result = await RestoreAction.RequestCheckedAsync(requests, suspensions, body.Kind, body.Id, body.Reason, staff.Session.Principal, cancellationToken);
        return result.IsSuccess
            ? TypedResults.Accepted($"/api/v1/approvals/{result.Value.Id}", result.Value)
            : (await AlertActionRefusals.RestoreRefusedAsync(context.RequestServices, staff, RestoreAction.Named(body.Kind, body.Id), result.Error!, cancellationToken)).ToProblem();
    }

    private static async Task<Results<Ok<PrincipalStanding>, ProblemHttpResult>> GetStanding(string kind, string id, AccessMonitor monitor, SuspensionRegistry suspensions, CancellationToken cancellationToken)
    {
        if (!PrincipalKinds.TryParse(kind, out var k))
        {
            return ProblemResults.Validation("kind", "must be clerk or terminal").ToProblem();
        }

        if (!Codes.IsValid(id))
        {
            return ProblemResults.Validation("id", "must be " + Codes.Rule).ToProblem();
        }

        return TypedResults.Ok(await StandingAsync(k, id, monitor, suspensions, cancellationToken));
    }

    private static async Task<PrincipalStanding> StandingAsync(PrincipalKind kind, string id, AccessMonitor monitor, SuspensionRegistry suspensions, CancellationToken cancellationToken)
    {
        var suspended = suspensions.IsSuspended(kind, id);
        var current = await monitor.CurrentStandingAsync(kind, id, cancellationToken); // the workers' stored risk with serve --monitor workers
        var action = suspended ? MonitorAction.Suspend : current.Action;
        return new PrincipalStanding(kind.ToName(), id, current.Risk, action.ToName(), suspended);
    }

}
