using System.Text.Json.Serialization;
using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Portal;
using Custodian.Problems;
using Custodian.Protection.Keys;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Incidents.Claims;

/// <summary>Body of a claim filed from the portal. The claimant is the session's subscriber; a body naming anyone is refused (unknown members).</summary>
/// <param name="IncidentId">The incident ID from the notice.</param>
/// <param name="Kind"><c>fraud</c>, <c>spam</c>, <c>phishing</c> or <c>other</c>.</param>
/// <param name="Description">What happened, 1–1,000 characters.</param>
/// <param name="Amount">Amount claimed, KRW, 1–100,000,000.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record FileClaimRequest(string? IncidentId, string? Kind, string? Description, long? Amount);

/// <summary>The claimant's answer to an officer's question.</summary>
/// <param name="Answer">1–1,000 characters.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ClaimAnswerRequest(string? Answer);

/// <summary>An officer's decision or request on a claim.</summary>
/// <param name="Question">For an information request: 1–500 characters.</param>
/// <param name="Amount">For an approval: KRW, 1 to the amount claimed.</param>
/// <param name="Reason">For a rejection (required) or an approval (optional note): 1–500 characters.</param>
/// <param name="Reference">For a payout: the transfer reference, a code of 1–64 letters, digits, '-', '_' or '.'.</param>
public sealed record ClaimDecisionRequest(string? Question, long? Amount, string? Reason, string? Reference);

/// <summary>
/// A claim as the officers' list and decision answers show it: tokens, states and amounts only (docs/incidents.md). The
/// claimant's own words (description, answer) and the officer's question and reasons are read only through
/// <c>GET /api/v1/claims/{id}</c>, which records a <c>claim-view</c> entry naming the claimant first.
/// </summary>
/// <param name="Id">Claim ID.</param>
/// <param name="IncidentId">Incident.</param>
/// <param name="SubscriberToken">The claimant's FF1 token.</param>
/// <param name="Kind">Damage kind.</param>
/// <param name="AmountClaimed">KRW.</param>
/// <param name="State">State.</param>
/// <param name="FiledAt">Filed.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="AmountApproved">KRW.</param>
/// <param name="PaidAt">Paid.</param>
/// <param name="PayoutReference">Payout reference.</param>
public sealed record ClaimSummary(
    string Id,
    string IncidentId,
    [property: Classification.Pseudonymous] string SubscriberToken,
    string Kind,
    long AmountClaimed,
    ClaimState State,
    DateTimeOffset FiledAt,
    DateTimeOffset UpdatedAt,
    long? AmountApproved,
    DateTimeOffset? PaidAt,
    string? PayoutReference);

/// <summary>A claim as its claimant sees it, with the evidence bundle.</summary>
/// <param name="Claim">The claim.</param>
/// <param name="Evidence">The ledger entries concerning the claimant, with receipts.</param>
public sealed record ClaimWithEvidence(ClaimView Claim, IReadOnlyList<EvidenceItem> Evidence);

/// <summary>
/// Compensation-claim endpoints: for the subscriber on the portal listener (<c>/portal/api/v1/claims</c>, portal session,
/// object-level authorisation by <see cref="PortalGuard"/>: a claim ID that is not yours is <c>claim-not-found</c>), and for
/// officers on the terminal listener (<c>/api/v1/claims</c>, security or privacy officer session). An officer's refused step
/// (information request, approval, rejection, payout) is recorded as a denied entry of its own task (<see cref="ClaimRefusals"/>).
/// </summary>
public static class ClaimApi
{
    /// <summary>Maps both groups.</summary>
    /// <param name="app">The application.</param>
    /// <returns>The same builder.</returns>
    public static IEndpointRouteBuilder MapClaimApi(this IEndpointRouteBuilder app)
    {
        var portal = app.MapGroup("/portal/api/v1/claims").WithTags("Subscriber portal");
        portal.MapPost("/", FileAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalFileClaim").WithSummary("File a compensation claim for damage after an incident that exposed your data.");
        portal.MapGet("/", MineAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalClaims").WithSummary("Your claims and where they stand.");
        portal.MapGet("/{id}", MineOneAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalClaim").WithSummary("One of your claims with its evidence bundle (ledger entries concerning you, with receipts).");
        portal.MapPost("/{id}/answer", AnswerAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalClaimAnswer").WithSummary("Answer the officer's request for information.");

        var officers = app.MapGroup("/api/v1/claims").WithTags("Incidents")
            .AddEndpointFilter(StaffApi.RefuseUndeclaredQuery) // a query parameter the route does not declare is refused (400), before the session is checked
            .AddEndpointFilter(StaffApi.RequireSessionAsync)
            .AddEndpointFilter(StaffRoleFilter.Require("claims", "Only a security officer or privacy officer may decide compensation claims.", StaffRoleFilter.Officers));
        officers.MapGet("/", ListAsync).WithMetadata(new QueryParameters("state")).WithName("ListClaims").WithSummary("Claims, newest first; claimants by token. Officers only.");
        officers.MapGet("/report", ReportAsync).WithName("ClaimReport").WithSummary("Claims per state with amounts claimed, approved and paid. Officers only.");
        officers.MapGet("/{id}", ShowAsync).WithName("ShowClaim").WithSummary("One claim with its evidence bundle. Officers only.");
        officers.MapPost("/{id}/information-requests", (string id, ClaimDecisionRequest r, ClaimService s, Tokenizer t, HttpContext c) => DecideAsync(s.RequestInformationAsync(id, r.Question, IncidentApi.Actor(c), c.RequestAborted), t, c, id, AccessTask.ClaimInformationRequested, null)).WithName("RequestClaimInformation");
        officers.MapPost("/{id}/approval", (string id, ClaimDecisionRequest r, ClaimService s, Tokenizer t, HttpContext c) => DecideAsync(s.ApproveAsync(id, r.Amount, r.Reason, IncidentApi.Actor(c), c.RequestAborted), t, c, id, AccessTask.ClaimDecided, ClaimState.Approved)).WithName("ApproveClaim");
        officers.MapPost("/{id}/rejection", (string id, ClaimDecisionRequest r, ClaimService s, Tokenizer t, HttpContext c) => DecideAsync(s.RejectAsync(id, r.Reason, IncidentApi.Actor(c), c.RequestAborted), t, c, id, AccessTask.ClaimDecided, ClaimState.Rejected)).WithName("RejectClaim");
        officers.MapPost("/{id}/payout", (string id, ClaimDecisionRequest r, ClaimService s, Tokenizer t, HttpContext c) => DecideAsync(s.PayAsync(id, r.Reference, IncidentApi.Actor(c), c.RequestAborted), t, c, id, AccessTask.ClaimPaid, null)).WithName("PayClaim");
        return app;
    }

    /// <summary>The officers' summary of <paramref name="claim"/> (no free text: nothing that needs a <c>claim-view</c> entry).</summary>
    public static ClaimSummary Summary(Claim claim, Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new ClaimSummary(claim.Id, claim.IncidentId, tokenizer.TokenizeSubscriber(claim.Subscriber), claim.Kind, claim.AmountClaimed, claim.State,
            claim.FiledAt, claim.UpdatedAt, claim.AmountApproved, claim.PaidAt, claim.PayoutReference);
    }

    /// <summary>The outside view of <paramref name="claim"/>.</summary>
    public static ClaimView View(Claim claim, Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new ClaimView(claim.Id, claim.IncidentId, tokenizer.TokenizeSubscriber(claim.Subscriber), claim.Kind, claim.Description, claim.AmountClaimed, claim.State,
            claim.FiledAt, claim.UpdatedAt, claim.Question, claim.Answer, claim.AmountApproved, claim.DecisionReason, claim.PaidAt, claim.PayoutReference, claim.Evidence);
    }

    private static async Task<Results<Created<ClaimWithEvidence>, ProblemHttpResult>> FileAsync(FileClaimRequest request, HttpContext context, ClaimService claims, Tokenizer tokenizer)
    {
        var filed = await claims.FileAsync(PortalGuard.Session(context).Subject, request.IncidentId, request.Kind, request.Description, request.Amount, context.Connection.RemoteIpAddress?.ToString(), context.RequestAborted);
        return filed.IsSuccess
            ? TypedResults.Created($"/portal/api/v1/claims/{filed.Value.Id}", new ClaimWithEvidence(View(filed.Value, tokenizer), await claims.EvidenceAsync(filed.Value, context.RequestAborted)))
            : filed.Error!.ToProblem();
    }

    private static async Task<Ok<ClaimView[]>> MineAsync(HttpContext context, ClaimService claims, Tokenizer tokenizer) =>
        TypedResults.Ok((await claims.ListForAsync(PortalGuard.Session(context).Subject, context.RequestAborted)).Select(c => View(c, tokenizer)).ToArray());

    private static async Task<Results<Ok<ClaimWithEvidence>, ProblemHttpResult>> MineOneAsync(string id, HttpContext context, ClaimService claims, Tokenizer tokenizer)
    {
        var got = await claims.GetAsync(id, PortalGuard.Session(context).Subject, context.RequestAborted);
        return got.IsSuccess ? TypedResults.Ok(new ClaimWithEvidence(View(got.Value, tokenizer), await claims.EvidenceAsync(got.Value, context.RequestAborted))) : got.Error!.ToProblem();
    }

    private static async Task<Results<Ok<ClaimView>, ProblemHttpResult>> AnswerAsync(string id, ClaimAnswerRequest request, HttpContext context, ClaimService claims, Tokenizer tokenizer)
    {
        var answered = await claims.AnswerAsync(id, PortalGuard.Session(context).Subject, request.Answer, context.Connection.RemoteIpAddress?.ToString(), context.RequestAborted);
        return answered.IsSuccess ? TypedResults.Ok(View(answered.Value, tokenizer)) : answered.Error!.ToProblem();
    }

    private static async Task<Results<Ok<ClaimSummary[]>, ProblemHttpResult>> ListAsync(string? state, ClaimService claims, Tokenizer tokenizer, CancellationToken cancellationToken)
    {
        ClaimState? filter = null;
        if (state is not null)
        {
            if (!ClaimService.TryParseState(state, out var parsed))
            {
                return ProblemResults.Validation("state", "must be submitted, information-requested, approved, rejected or paid").ToProblem();
            }

            filter = parsed;
        }

        // Summaries only: the list is not recorded, so it must not carry what GET /api/v1/claims/{id} records (docs/incidents.md).
        return TypedResults.Ok((await claims.ListAsync(filter, cancellationToken)).Select(c => Summary(c, tokenizer)).ToArray());
    }

    private static async Task<Ok<IReadOnlyList<ClaimReportRow>>> ReportAsync(ClaimService claims, CancellationToken cancellationToken) =>
        TypedResults.Ok(await claims.ReportAsync(cancellationToken));

    private static async Task<Results<Ok<ClaimWithEvidence>, ProblemHttpResult>> ShowAsync(string id, ClaimService claims, Tokenizer tokenizer, HttpContext context, CancellationToken cancellationToken)
    {
        var got = await claims.ShowToOfficerAsync(id, IncidentApi.Actor(context), cancellationToken);
        return got.IsSuccess ? TypedResults.Ok(new ClaimWithEvidence(View(got.Value, tokenizer), await claims.EvidenceAsync(got.Value, cancellationToken))) : got.Error!.ToProblem();
    }

    private static async Task<Results<Ok<ClaimSummary>, ProblemHttpResult>> DecideAsync(Task<Result<Claim>> decision, Tokenizer tokenizer, HttpContext context, string id, AccessTask task, ClaimState? asked)
    {
        // A decision's entry names no subject, so its answer is the summary: acting on a claim ID is no unrecorded way to read it.
        var result = await decision;
        return result.IsSuccess
            ? TypedResults.Ok(Summary(result.Value, tokenizer))
            : (await ClaimRefusals.RefusedAsync(context.RequestServices, StaffApi.Staff(context), task, id, asked, result.Error!, context.RequestAborted)).ToProblem();
    }
}
