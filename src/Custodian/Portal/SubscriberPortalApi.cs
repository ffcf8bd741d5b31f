using Custodian.Hosting;
using Custodian.Ledger.Checkpoints;
using Custodian.Problems;
using Custodian.Transparency;
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

/// <summary>The subscriber's notice preferences (unknown members are refused).</summary>
/// <param name="UsageNoticeSms">Whether the periodic usage-history notice also comes by SMS (it always reaches the inbox).</param>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record NoticePreferencesView(bool? UsageNoticeSms);

/// <summary>A disclosure request as the portal shows it to the subscriber.</summary>
/// <param name="Id">Request identifier.</param>
/// <param name="Sequence">The entry asked about.</param>
/// <param name="State"><c>open</c>, <c>disclosed</c> or <c>refused</c>.</param>
/// <param name="CreatedAt">When it was made.</param>
public sealed record DisclosureRequestView(string Id, long Sequence, string State, DateTimeOffset CreatedAt);

/// <summary>
/// The subscriber portal's further endpoints under <c>/portal/api/v1</c> (bearer session from
/// <c>POST /portal/api/v1/sign-in/verify</c>, object-level authorisation by <see cref="PortalGuard"/>):
/// the notice inbox, receipts with the server's verification, and disclosure requests; plus the privacy
/// office's disclosure-request API on the terminal listener (<see cref="PrivacyOfficeApi"/>).
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
        api.MapGet("/history/{sequence}/receipt", ReceiptAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalReceipt")
            .WithSummary("A receipt (inclusion proof and cosigned checkpoint) for an entry of your own history; the entry itself is withheld.");
        api.MapGet("/history/{sequence}/receipt/verification", VerifyReceiptAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalReceiptVerification")
            .WithSummary("The server's check of that receipt, in plain words (Korean and English).");
        api.MapPost("/history/{sequence}/disclosure-request", RequestDisclosureAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalDisclosureRequest")
            .WithSummary("Ask the privacy office who (which staff member) made this entry of your history; answered in your inbox.");
        api.MapGet("/preferences", GetPreferencesAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalPreferences")
            .WithSummary("Your notice preferences.");
        api.MapPut("/preferences", SetPreferencesAsync).AddEndpointFilter(PortalGuard.Require()).WithName("PortalSetPreferences")
            .WithSummary("Turn the SMS copy of the periodic usage-history notice on or off (the notice itself always reaches your inbox).");
        app.MapPrivacyOfficeApi();
        return app;
    }

    private static async Task<Ok<NoticePreferencesView>> GetPreferencesAsync(HttpContext context, NoticePreferences preferences) =>
        TypedResults.Ok(new NoticePreferencesView(await preferences.UsageNoticeSmsAsync(PortalGuard.Session(context).Subject, context.RequestAborted)));

    private static async Task<Results<Ok<NoticePreferencesView>, ProblemHttpResult>> SetPreferencesAsync(NoticePreferencesView body, HttpContext context, NoticePreferences preferences)
    {
        if (body.UsageNoticeSms is not { } enabled)
        {
            return ProblemResults.Validation("usageNoticeSms", "is required (true or false)").ToProblem();
        }

        await preferences.SetUsageNoticeSmsAsync(PortalGuard.Session(context).Subject, enabled, context.RequestAborted);
        return TypedResults.Ok(new NoticePreferencesView(enabled));
    }

    private static async Task<Result<LedgerReceipt>> ReceiptOfAsync(string sequence, HttpContext context)
    {
        if (!LedgerApi.TryParseNumber(sequence, out var seq))
        {
            return ProblemResults.Validation("sequence", "must be a non-negative integer");
        }

        var subject = PortalGuard.Session(context).Subject;
        var history = context.RequestServices.GetRequiredService<AccessHistory>();
        if (await history.FindVisibleAsync(subject, seq, context.RequestAborted) is null)
        {
            return new CustodianError(ErrorCodes.NotFound, 404, "No such ledger entry in your history.");
        }

        return await context.RequestServices.GetRequiredService<LedgerCheckpoints>().BuildReceiptAsync(seq, subject, withholdEntry: true, context.RequestAborted);
    }

    private static async Task<Results<Ok<ReceiptDocument>, ProblemHttpResult>> ReceiptAsync(string sequence, HttpContext context)
    {
        var receipt = await ReceiptOfAsync(sequence, context);
        return receipt.IsSuccess ? TypedResults.Ok(new ReceiptDocument(receipt.Value)) : receipt.Error!.ToProblem(context);
    }

    private static async Task<Results<Ok<ReceiptVerification>, ProblemHttpResult>> VerifyReceiptAsync(string sequence, HttpContext context, ReceiptCheck check)
    {
        var receipt = await ReceiptOfAsync(sequence, context);
        return receipt.IsSuccess ? TypedResults.Ok(await check.VerifyAsync(receipt.Value, context.RequestAborted)) : receipt.Error!.ToProblem(context);
    }

    private static async Task<Results<Created<DisclosureRequestView>, Ok<DisclosureRequestView>, ProblemHttpResult>> RequestDisclosureAsync(string sequence, HttpContext context, DisclosureRequests requests)
    {
        if (!LedgerApi.TryParseNumber(sequence, out var seq))
        {
            return ProblemResults.Validation("sequence", "must be a non-negative integer").ToProblem();
        }

        var opened = await requests.OpenAsync(PortalGuard.Session(context).Subject, seq, context.Connection.RemoteIpAddress?.ToString(), context.RequestAborted);
        if (!opened.IsSuccess)
        {
            return opened.Error!.ToProblem(context);
        }

        var (request, created) = opened.Value;
        var view = new DisclosureRequestView(request.Id, request.EntrySequence, request.State.ToName(), request.CreatedAt);
        return created ? TypedResults.Created((string?)null, view) : TypedResults.Ok(view);
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
