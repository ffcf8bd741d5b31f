using Custodian.Classification;
using Custodian.Hosting;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Transparency;

/// <summary>Body of a portal code request.</summary>
/// <param name="Phone">The subscriber's own phone number.</param>
public sealed record PortalCodeRequest([property: PersonalData] string? Phone);

/// <summary>Body of a portal code check.</summary>
/// <param name="Phone">The same phone number.</param>
/// <param name="Code">The 6-digit code from the SMS.</param>
public sealed record PortalVerifyRequest([property: PersonalData] string? Phone, [property: Secret] string? Code);

/// <summary>Answer to a code request: identical whether or not the number is a subscriber's.</summary>
/// <param name="Message">Plain-language status.</param>
public sealed record PortalCodeSent(string Message);

/// <summary>A portal session token.</summary>
/// <param name="Token">Bearer token.</param>
public sealed record PortalToken([property: Secret] string Token);

/// <summary>Portal API under <c>/portal/api/v1</c>: sign-in and the subscriber's own access history.</summary>
public static class PortalApi
{
    private static readonly HashSet<string> HistoryQueryKeys = new(StringComparer.OrdinalIgnoreCase) { "before", "limit" };

    /// <summary>Maps the portal API.</summary>
    public static IEndpointRouteBuilder MapPortalApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/portal/api/v1").WithTags("Subscriber portal");
        api.MapPost("/sign-in", RequestCodeAsync).WithName("PortalRequestCode").WithSummary("Send a one-time code to your phone.");
        api.MapPost("/sign-in/verify", VerifyAsync).WithName("PortalVerify").WithSummary("Exchange the code for a session token.");
        api.MapGet("/history", HistoryAsync).WithName("PortalHistory").WithSummary("Your access history: when, which store and role, what purpose, which fields.");
        api.MapDelete("/session", SignOut).WithName("PortalSignOut");
        return app;
    }

    private static string? Ip(HttpContext context) => context.Connection.RemoteIpAddress?.ToString();

    private static string? Bearer(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : null;
    }

    private static async Task<Results<Accepted<PortalCodeSent>, ProblemHttpResult>> RequestCodeAsync(PortalCodeRequest body, HttpContext context, PortalSignIn signIn)
    {
        var result = await signIn.RequestCodeAsync(body.Phone, Ip(context), context.RequestAborted);
        return result.IsSuccess
            ? TypedResults.Accepted((string?)null, new PortalCodeSent("If this number belongs to a subscriber, a code has been sent to it."))
            : result.Error!.ToProblem(context);
    }

    private static async Task<Results<Ok<PortalToken>, ProblemHttpResult>> VerifyAsync(PortalVerifyRequest body, HttpContext context, PortalSignIn signIn)
    {
        var result = await signIn.VerifyAsync(body.Phone, body.Code, Ip(context), context.RequestAborted);
        return result.IsSuccess ? TypedResults.Ok(new PortalToken(result.Value.Token)) : result.Error!.ToProblem(context);
    }

    private static async Task<Results<Ok<HistoryPage>, ProblemHttpResult>> HistoryAsync(long? before, int? limit, HttpContext context, PortalSignIn signIn, AccessHistory history)
    {
        var session = signIn.Validate(Bearer(context));
        if (!session.IsSuccess)
        {
            return session.Error!.ToProblem();
        }

        // Object-level authorisation: the subject is the session's. Any attempt to name a subject
        // (or anything else) in the query is refused rather than silently ignored.
        var unexpected = context.Request.Query.Keys.FirstOrDefault(k => !HistoryQueryKeys.Contains(k));
        if (unexpected is not null)
        {
            return new CustodianError(ErrorCodes.NotYourData, 400, "The history is always your own; only 'before' and 'limit' may be given.").ToProblem();
        }

        var page = await history.GetAsync(session.Value.Subject, before, limit ?? 50, Ip(context), context.RequestAborted);
        return page.IsSuccess ? TypedResults.Ok(page.Value) : page.Error!.ToProblem();
    }

    private static Results<NoContent, ProblemHttpResult> SignOut(HttpContext context, PortalSignIn signIn)
    {
        var session = signIn.Validate(Bearer(context));
        if (!session.IsSuccess)
        {
            return session.Error!.ToProblem();
        }

        signIn.SignOut(session.Value.Token);
        return TypedResults.NoContent();
    }
}
