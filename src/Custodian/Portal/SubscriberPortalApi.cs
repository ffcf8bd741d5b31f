using Custodian.Hosting;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Portal;

/// <summary>One inbox notice as the portal serves it.</summary>
/// <param name="Id">Delivery identifier.</param>
/// <param name="Kind">Stable kind name.</param>
/// <param name="TitleKo">Korean title.</param>
/// <param name="BodyKo">Korean body.</param>
/// <param name="TitleEn">English title.</param>
/// <param name="BodyEn">English body.</param>
/// <param name="CreatedAt">When it was delivered.</param>
/// <param name="Read">Whether it has been opened.</param>
public sealed record InboxItem(string Id, string Kind, string TitleKo, string BodyKo, string TitleEn, string BodyEn, DateTimeOffset CreatedAt, bool Read);

/// <summary>The inbox as the portal serves it.</summary>
/// <param name="Unread">Unread notices in all.</param>
/// <param name="Items">Newest first.</param>
public sealed record InboxPage(int Unread, IReadOnlyList<InboxItem> Items);

/// <summary>
/// The subscriber portal's further endpoints under <c>/portal/api/v1</c> (bearer session from
/// <c>POST /portal/api/v1/sign-in/verify</c>, object-level authorisation by <see cref="PortalGuard"/>):
/// the notice inbox.
/// </summary>
public static class SubscriberPortalApi
{
    /// <summary>Maps the endpoints.</summary>
    /// <param name="app">The route builder.</param>
    /// <returns>The route builder.</returns>
    public static IEndpointRouteBuilder MapSubscriberPortalApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/portal/api/v1").WithTags("Subscriber portal");
        api.MapGet("/inbox", InboxAsync).AddEndpointFilter(PortalGuard.Require("limit")).WithName("PortalInbox")
            .WithSummary("Your notices (flagged accesses, incidents, periodic usage notices, answers), newest first.");
        api.MapPost("/inbox/{id}/read", MarkReadAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalInboxRead")
            .WithSummary("Mark one of your notices read.");
        return app;
    }

    private static async Task<Results<Ok<InboxPage>, ProblemHttpResult>> InboxAsync(int? limit, HttpContext context, SubscriberInbox inbox)
    {
        if (limit is < 1 or > 200)
        {
            return ProblemResults.Validation("limit", "must be between 1 and 200").ToProblem();
        }

        var subject = PortalGuard.Session(context).Subject;
        var messages = await inbox.ListAsync(subject, limit ?? 50, context.RequestAborted);
        var unread = await inbox.CountUnreadAsync(subject, context.RequestAborted);
        return TypedResults.Ok(new InboxPage(
            unread,
            messages.Select(m => new InboxItem(m.Id, m.Kind, m.Text.TitleKo, m.Text.BodyKo, m.Text.TitleEn, m.Text.BodyEn, m.CreatedAt, m.ReadAt is not null)).ToList()));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> MarkReadAsync(string id, HttpContext context, SubscriberInbox inbox) =>
        await inbox.MarkReadAsync(PortalGuard.Session(context).Subject, id, context.RequestAborted)
            ? TypedResults.NoContent()
            : new CustodianError(ErrorCodes.NotFound, 404, "You have no notice with this id.").ToProblem();
}
