using Custodian.Classification;
using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Review;

/// <summary>
/// Body of an access-log review query or export. Every criterion is optional; criteria combine with AND.
/// Sent in the body, never the URL (proxies and logs keep URLs).
/// </summary>
/// <param name="Clerk">Staff account.</param>
/// <param name="Terminal">Terminal ID.</param>
/// <param name="Store">Store code.</param>
/// <param name="SubscriberToken">Subscriber token (19 digits).</param>
/// <param name="Task">Task name, e.g. <c>unmask</c>.</param>
/// <param name="From">From this time (inclusive).</param>
/// <param name="To">Before this time (exclusive).</param>
/// <param name="Before">Paging: only entries with a lower sequence number (queries only); 0 or more, a negative value is refused (400 <c>validation-failed</c>).</param>
/// <param name="Limit">Entries per page, 1–1,000, default 100 (queries only).</param>
/// <param name="Reason">Why the export is needed; required for exports, 1–500 characters (PIPA safety standard Art. 8(2)).</param>
public sealed record ReviewRequest(
    string? Clerk,
    string? Terminal,
    string? Store,
    [property: Pseudonymous] string? SubscriberToken,
    string? Task,
    DateTimeOffset? From,
    DateTimeOffset? To,
    long? Before,
    int? Limit,
    string? Reason);

/// <summary>
/// The officers' access-log review on the sales-terminal API (mutual TLS, staff session): query and CSV
/// export. Only a <c>security-officer</c> or <c>privacy-officer</c> session may use it; anyone else is
/// refused with <c>role-not-permitted</c> (403), and the refusal is recorded. An export needs a reason and
/// is recorded in the ledger before the CSV is returned (docs/review.md).
/// </summary>
public static class ReviewApi
{
    /// <summary>Maps <c>POST /api/v1/review/entries</c> and <c>POST /api/v1/review/exports</c>.</summary>
    /// <param name="app">The application.</param>
    /// <returns>The same builder.</returns>
    public static IEndpointRouteBuilder MapReviewApi(this IEndpointRouteBuilder app)
    {
        var review = app.MapGroup("/api/v1/review").WithTags("Access-log review")
            .AddEndpointFilter(StaffApi.RefuseUndeclaredQuery) // a query parameter the route does not declare is refused (400), before the session is checked
            .AddEndpointFilter(StaffApi.RequireSessionAsync)
            .AddEndpointFilter(StaffRoleFilter.Require("access-log-review", "Only a security officer or privacy officer may review the access log.", StaffRoleFilter.Officers));
        review.MapPost("/entries", QueryAsync).WithName("ReviewQuery").WithSummary("Ledger entries matching the criteria, newest first; subjects as subscriber tokens. Officers only.");
        review.MapPost("/exports", ExportAsync).WithName("ReviewExport").WithSummary("Every matching entry as CSV; requires a reason; recorded in the ledger and flagged in the review report. Officers only.");
        return app;
    }

    private static async Task<Results<Ok<ReviewPage>, ProblemHttpResult>> QueryAsync(ReviewRequest request, LedgerReview review, CancellationToken cancellationToken)
    {
        var filter = ToFilter(request, review);
        return filter.IsSuccess ? TypedResults.Ok(await review.QueryAsync(filter.Value, cancellationToken)) : filter.Error!.ToProblem();
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportAsync(ReviewRequest request, LedgerReview review, HttpContext context, CancellationToken cancellationToken)
    {
        var filter = ToFilter(request with { Before = null, Limit = null }, review);
        if (!filter.IsSuccess)
        {
            return filter.Error!.ToProblem();
        }

        var staff = StaffApi.Staff(context);
        var csv = new StringWriter();
        var exported = await review.ExportAsync(filter.Value, request.Reason, staff.Session.Principal.Id, staff.Session.Principal.Role, csv, staff.Device.Terminal, staff.Device.Store, staff.SourceIp, cancellationToken);
        return exported.IsSuccess
            ? TypedResults.File(System.Text.Encoding.UTF8.GetBytes(csv.ToString()), "text/csv; charset=utf-8", "access-log.csv")
            : exported.Error!.ToProblem();
    }

    private static Result<ReviewFilter> ToFilter(ReviewRequest request, LedgerReview review)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        Code(request.Clerk, "clerk");
        Code(request.Terminal, "terminal");
        Code(request.Store, "store");
        AccessTask? task = null;
        if (request.Task is not null)
        {
            if (AccessTasks.TryParse(request.Task, out var parsed))
            {
                task = parsed;
            }
            else
            {
                errors["task"] = ["must be a ledger task name, e.g. view, unmask, download, export"];
            }
        }

        SubscriberId? subject = null;
        if (request.SubscriberToken is not null)
        {
            var resolved = review.ResolveToken(request.SubscriberToken);
            if (resolved.IsSuccess)
            {
                subject = resolved.Value;
            }
            else
            {
                errors["subscriberToken"] = ["must be 19 digits issued by this server"];
            }
        }

        if (request.From is { } from && request.To is { } to && from >= to)
        {
            errors["to"] = ["must be after 'from' (exclusive)"];
        }

        if (request.Before is < 0)
        {
            errors["before"] = ["must be a sequence number of 0 or more (nextBefore of the previous page)"];
        }

        if (request.Limit is < 1 or > 1_000)
        {
            errors["limit"] = ["must be 1-1000"];
        }

        if (errors.Count > 0)
        {
            return new CustodianError(ErrorCodes.ValidationFailed, 400, "The review criteria are invalid.") { Errors = errors };
        }

        return new ReviewFilter
        {
            Clerk = request.Clerk,
            Terminal = request.Terminal,
            Store = request.Store,
            Subject = subject,
            Task = task,
            From = request.From,
            To = request.To,
            Before = request.Before,
            Limit = request.Limit ?? 100,
        };

        void Code(string? value, string field)
        {
            if (value is not null && !Codes.IsValid(value))
            {
                errors[field] = ["must be " + Codes.Rule];
            }
            else if (value is not null && Codes.LooksLikePersonalNumber(value))
            {
                errors[field] = [Codes.NotPersonalNumberRule]; // an export's ledger entry names its criteria, kept for years
            }
        }
    }

}
