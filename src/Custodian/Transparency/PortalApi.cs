using Custodian.Classification;
using Custodian.Hosting;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Transparency;

/// <summary>Body of a portal code request (unknown members are refused).</summary>
/// <param name="Phone">The subscriber's own phone number.</param>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record PortalCodeRequest([property: PersonalData] string? Phone);

/// <summary>Body of a portal code check (unknown members are refused).</summary>
/// <param name="Phone">The same phone number.</param>
/// <param name="Code">The 6-digit code from the SMS.</param>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
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
    /// <summary>Maps the portal API.</summary>
    public static IEndpointRouteBuilder MapPortalApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/portal/api/v1").WithTags("Subscriber portal");
        api.MapPost("/sign-in", RequestCodeAsync).WithName("PortalRequestCode").WithSummary("Send a one-time code to your phone.");
        api.MapPost("/sign-in/verify", VerifyAsync).WithName("PortalVerify").WithSummary("Exchange the code for a session token.");
        api.MapGet("/history", HistoryAsync).AddEndpointFilter(Portal.PortalGuard.Require("before", "limit", "from", "to")).WithName("PortalHistory")
            .WithSummary("Your access history: when, which store and role, what purpose, which fields; newest first; 'from' and 'to' (yyyy-MM-dd, Korea time, inclusive) limit the period.");
        api.MapDelete("/session", SignOut).AddEndpointFilter(Portal.PortalGuard.Require()).WithName("PortalSignOut");
        return app;
    }

    private static string? Ip(HttpContext context) => context.Connection.RemoteIpAddress?.ToString();

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

    private static async Task<Results<Ok<HistoryPage>, ProblemHttpResult>> HistoryAsync(long? before, int? limit, string? from, string? to, HttpContext context, AccessHistory history)
    {
        // Object-level authorisation: the subject is the session's (PortalGuard refuses any other query parameter).
        if (!TryParseDay(from, "from", out var fromDay, out var problem) || !TryParseDay(to, "to", out var toDay, out problem))
        {
            return problem!.ToProblem();
        }

        var page = await history.GetAsync(Portal.PortalGuard.Session(context).Subject, new HistoryQuery(before, limit ?? 50, fromDay, toDay), Ip(context), context.RequestAborted);
        return page.IsSuccess ? TypedResults.Ok(page.Value) : page.Error!.ToProblem();
    }

    /// <summary>Parses an optional day <c>yyyy-MM-dd</c> (2000-01-01 to 2099-12-31).</summary>
    internal static bool TryParseDay(string? text, string field, out DateOnly? day, out CustodianError? problem)
    {
        day = null;
        problem = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var parsed) && parsed.Year is >= 2000 and <= 2099)
        {
            day = parsed;
            return true;
        }

        problem = ProblemResults.Validation(field, "must be a day yyyy-MM-dd from 2000 to 2099");
        return false;
    }

    private static NoContent SignOut(HttpContext context, PortalSignIn signIn)
    {
        signIn.SignOut(Portal.PortalGuard.Session(context).Token);
        return TypedResults.NoContent();
    }
}
