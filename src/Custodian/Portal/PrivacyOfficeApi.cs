using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Portal;

/// <summary>A disclosure request as officers see it: the subscriber only as a token.</summary>
/// <param name="Id">Request identifier.</param>
/// <param name="SubscriberToken">The requesting subscriber's FF1 token (19 digits).</param>
/// <param name="Sequence">The ledger entry asked about (look it up with the access-log review).</param>
/// <param name="State"><c>open</c>, <c>disclosed</c> or <c>refused</c>.</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="AnsweredAt">When it was answered, or null.</param>
/// <param name="AnsweredBy">Who answered, or null.</param>
public sealed record DisclosureRequestSummary(string Id, [property: Classification.Pseudonymous] string SubscriberToken, long Sequence, string State, DateTimeOffset CreatedAt, DateTimeOffset? AnsweredAt, string? AnsweredBy);

/// <summary>Body of an answer to a disclosure request (unknown members are refused).</summary>
/// <param name="Decision"><c>disclosed</c> or <c>refused</c>.</param>
/// <param name="Answer">What the subscriber is told, 1–1000 characters.</param>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record DisclosureAnswerRequest(string? Decision, string? Answer);

/// <summary>
/// The privacy office's API for disclosure requests on the sales-terminal listener (mutual TLS, staff session):
/// <c>GET /api/v1/privacy/disclosure-requests?state=open|disclosed|refused</c> and
/// <c>POST /api/v1/privacy/disclosure-requests/{id}/answer</c>. Only a <c>privacy-officer</c> session may use it;
/// anyone else is refused with <c>role-not-permitted</c> (403), and the refusal is recorded in the ledger.
/// </summary>
public static class PrivacyOfficeApi
{
    /// <summary>Maps the endpoints.</summary>
    /// <param name="app">The route builder.</param>
    /// <returns>The route builder.</returns>
    public static IEndpointRouteBuilder MapPrivacyOfficeApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/privacy/disclosure-requests").WithTags("Privacy office")
            .AddEndpointFilter(StaffApi.RefuseUndeclaredQuery) // a query parameter the route does not declare is refused (400), before the session is checked
            .AddEndpointFilter(StaffApi.RequireSessionAsync)
            .AddEndpointFilter(StaffRoleFilter.Require("disclosure-requests", "Only a privacy officer may handle disclosure requests.", [StaffRole.PrivacyOfficer]));
        api.MapGet(string.Empty, ListAsync).WithMetadata(new QueryParameters("state")).WithName("DisclosureRequests").WithSummary("Subscribers' requests to disclose who made an entry, oldest first. Privacy officers only.");
        api.MapPost("/{id}/answer", AnswerAsync).WithName("DisclosureAnswer").WithSummary("Answer a request (disclosed or refused); the answer goes to the subscriber's inbox. Privacy officers only.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<DisclosureRequestSummary>>, ProblemHttpResult>> ListAsync(string? state, DisclosureRequests requests, Siem.Ocsf.ISubjectTokenizer tokens, CancellationToken cancellationToken)
    {
        DisclosureState? filter = null;
        if (state is not null)
        {
            if (!DisclosureStates.TryParse(state, out var parsed))
            {
                return ProblemResults.Validation("state", "must be open, disclosed or refused").ToProblem();
            }

            filter = parsed;
        }

        var list = await requests.ListAsync(filter, 1000, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<DisclosureRequestSummary>>(list.Select(r => Summarise(r, tokens)).ToList());
    }

    private static async Task<Results<Ok<DisclosureRequestSummary>, ProblemHttpResult>> AnswerAsync(string id, DisclosureAnswerRequest body, HttpContext context, DisclosureRequests requests, Siem.Ocsf.ISubjectTokenizer tokens)
    {
        if (!DisclosureStates.TryParse(body.Decision, out var decision) || decision == DisclosureState.Open)
        {
            return ProblemResults.Validation("decision", "must be disclosed or refused").ToProblem();
        }

        var staff = StaffApi.Staff(context);
        var answered = await requests.AnswerAsync(id, decision, body.Answer, staff.Session.Principal.Id, (staff.Device.Terminal, staff.Device.Store, staff.SourceIp), context.RequestAborted);
        return answered.IsSuccess ? TypedResults.Ok(Summarise(answered.Value, tokens)) : answered.Error!.ToProblem();
    }

    /// <summary>The officer's view of a request.</summary>
    internal static DisclosureRequestSummary Summarise(DisclosureRequest r, Siem.Ocsf.ISubjectTokenizer tokens) =>
        new(r.Id, tokens.Tokenize(r.Subject), r.EntrySequence, r.State.ToName(), r.CreatedAt, r.AnsweredAt, r.AnsweredBy);

}
