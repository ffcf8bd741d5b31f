using System.Text.Json.Serialization;
using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Incidents.Claims;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Incidents;

/// <summary>Body of a declaration (all lists optional; times ISO 8601 with offset).</summary>
/// <param name="Title">1–200 characters, never personal data.</param>
/// <param name="Alerts">Alert IDs.</param>
/// <param name="Clerks">Staff accounts.</param>
/// <param name="Terminals">Terminal IDs.</param>
/// <param name="Stores">Store codes.</param>
/// <param name="From">Window start (inclusive).</param>
/// <param name="To">Window end (exclusive).</param>
/// <param name="Detectors">Detector names whose alerts in the window add principals.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)] // a misnamed scope member must not declare an open-ended case
public sealed record DeclareIncidentRequest(string? Title, string[]? Alerts, string[]? Clerks, string[]? Terminals, string[]? Stores, DateTimeOffset? From, DateTimeOffset? To, string[]? Detectors);

/// <summary>Body of a scoping run; when every member is null the case's current scope is used, otherwise the body replaces it.</summary>
/// <param name="Clerks">Staff accounts.</param>
/// <param name="Terminals">Terminal IDs.</param>
/// <param name="Stores">Store codes.</param>
/// <param name="From">Window start (inclusive).</param>
/// <param name="To">Window end (exclusive), not after now.</param>
/// <param name="Detectors">Detector names.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)] // a misnamed member must not fall back to the case's scope
public sealed record ScopeIncidentRequest(string[]? Clerks, string[]? Terminals, string[]? Stores, DateTimeOffset? From, DateTimeOffset? To, string[]? Detectors);

/// <summary>Body of a notification (and of a draft preview).</summary>
/// <param name="How">How it happened, 1–40 characters.</param>
/// <param name="Measures">What the company did, 1–40 characters.</param>
/// <param name="Contact">Where to get help, 1–30 characters.</param>
/// <param name="Language"><c>ko</c> (default) or <c>en</c>: the SMS language.</param>
public sealed record NotifyIncidentRequest(string? How, string? Measures, string? Contact, string? Language);

/// <summary>Body carrying a required reason or note.</summary>
/// <param name="Reason">1–500 characters, recorded in the ledger.</param>
public sealed record IncidentReasonRequest(string? Reason);

/// <summary>A case as the API shows it, with its 72-hour clock and recorded actions.</summary>
/// <param name="Incident">The case.</param>
/// <param name="Deadline">Notice deadline.</param>
/// <param name="Clock">Clock text, e.g. <c>41h 12m left</c>.</param>
/// <param name="RemainingSeconds">Seconds left (negative when overdue; the margin at notification once notified).</param>
/// <param name="DeadlineMet">Null until notified.</param>
/// <param name="Actions">Recorded actions with ledger sequences.</param>
public sealed record IncidentView(Incident Incident, DateTimeOffset Deadline, string Clock, long RemainingSeconds, bool? DeadlineMet, IReadOnlyList<IncidentAction> Actions);

/// <summary>Notice drafts in one language.</summary>
/// <param name="Subscribers">The full notice to subscribers (Markdown).</param>
/// <param name="Regulator">The report to the regulator (Markdown).</param>
/// <param name="SampleSms">The SMS the case's most exposed subscribers get, to check the length and wording: its worst grade (RRN in full, another field in full, or masked), every field the case exposed and those it showed in full.</param>
public sealed record NoticeDrafts(string Subscribers, string Regulator, string SampleSms);

/// <summary>Counts of a notification.</summary>
/// <param name="Sent">Sent in this run.</param>
/// <param name="Failed">Failed in this run.</param>
/// <param name="NotRequired">Token-only subscribers.</param>
/// <param name="AlreadySent">Sent by an earlier run.</param>
/// <param name="LedgerSequence">The <c>incident-notified</c> entry.</param>
public sealed record NotifyResponse(long Sent, long Failed, long NotRequired, long AlreadySent, long LedgerSequence);

/// <summary>
/// The officers' incident API on the sales-terminal listener (mutual TLS, staff session): declare, list, show, scope, notice
/// drafts, notify, export, report, close. Only a <c>security-officer</c> or <c>privacy-officer</c> session is served; anyone
/// else gets <c>role-not-permitted</c> (403), recorded as a <c>refused</c> entry with target <c>incidents</c>. A refused declaration,
/// scoping run, notification, export or closing is recorded as a denied entry of its own task (<see cref="IncidentRefusals"/>).
/// Case IDs appear in URLs (they are not personal data); everything else travels in bodies.
/// </summary>
public static class IncidentApi
{
    /// <summary>Maps the endpoints under <c>/api/v1/incidents</c>, and the compensation-claim endpoints (<see cref="ClaimApi.MapClaimApi"/>).</summary>
    /// <param name="app">The application.</param>
    /// <returns>The same builder.</returns>
    public static IEndpointRouteBuilder MapIncidentApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/incidents").WithTags("Incidents")
            .AddEndpointFilter(StaffApi.RefuseUndeclaredQuery) // a query parameter the route does not declare is refused (400), before the session is checked
            .AddEndpointFilter(StaffApi.RequireSessionAsync)
            .AddEndpointFilter(StaffRoleFilter.Require("incidents", "Only a security officer or privacy officer may handle incidents.", StaffRoleFilter.Officers));
        group.MapPost("/", DeclareAsync).WithName("DeclareIncident").WithSummary("Declare an incident by hand or from alerts. Officers only.");
        group.MapGet("/", ListAsync).WithMetadata(new QueryParameters("state")).WithName("ListIncidents").WithSummary("Incidents, newest first, with their 72-hour clocks. Officers only.");
        group.MapGet("/{id}", ShowAsync).WithName("ShowIncident").WithSummary("One incident with counts, timeline, clock and actions. Officers only.");
        group.MapPost("/{id}/scope", ScopeAsync).WithName("ScopeIncident").WithSummary("Compute the affected subscribers from the ledger. Officers only.");
        group.MapPost("/{id}/notice-drafts", DraftsAsync).WithName("IncidentNoticeDrafts").WithSummary("PIPA Art. 34 notice drafts for subscribers and the regulator, without sending. Officers only.");
        group.MapPost("/{id}/notify", NotifyAsync).WithName("NotifyIncident").WithSummary("Send the notices to affected subscribers over SMS; per-subscriber status kept. Officers only.");
        group.MapPost("/{id}/exports", ExportAsync).WithMetadata(new AccessTaskMetadata(AccessTask.Export)).WithName("ExportIncident").WithSummary("The affected set as CSV of subscriber tokens; requires a reason and an approved export-data-set request (four eyes); recorded. Officers only."); // TaskClasses "export" apply (docs/access.md §3.3)
        group.MapGet("/{id}/report", ReportAsync).WithName("IncidentReport").WithSummary("The summary report (Markdown): counts, fields, timeline, actions. Officers only.");
        group.MapPost("/{id}/close", CloseAsync).WithName("CloseIncident").WithSummary("Close the incident with a note. Officers only.");
        app.MapClaimApi();
        return app;
    }

    /// <summary>The view of <paramref name="incident"/> now.</summary>
    public static async Task<IncidentView> ViewAsync(IncidentService service, Incident incident, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(incident);
        var clock = service.Clock(incident);
        return new IncidentView(incident, clock.Deadline, clock.Describe(), (long)clock.Remaining.TotalSeconds, clock.Met, await service.ActionsAsync(incident.Id, cancellationToken));
    }

    private static async Task<Results<Created<IncidentView>, ProblemHttpResult>> DeclareAsync(DeclareIncidentRequest request, IncidentService service, Access.Staff.StaffDirectory staff, TimeProvider time, HttpContext context, CancellationToken cancellationToken)
    {
        var scope = new IncidentScope(request.Clerks ?? [], request.Terminals ?? [], request.Stores ?? [], request.From, request.To, request.Detectors ?? []);
        var declaration = new DeclareIncident(request.Title, request.Alerts ?? [], scope);
        if (await IncidentDeclarationRules.CheckAsync(declaration, staff, time.GetUtcNow()) is { } refusal)
        {
            return await RefusedAsync(context, AccessTask.IncidentDeclared, null, refusal.Error, cancellationToken); // the same checks as 'custodian incident declare'
        }

        var declared = await service.DeclareAsync(declaration, Actor(context), cancellationToken);
        return declared.IsSuccess
            ? TypedResults.Created($"/api/v1/incidents/{declared.Value.Id}", await ViewAsync(service, declared.Value, cancellationToken))
            : await RefusedAsync(context, AccessTask.IncidentDeclared, null, declared.Error!, cancellationToken);
    }

    private static async Task<Results<Ok<IncidentView[]>, ProblemHttpResult>> ListAsync(IncidentService service, string? state, CancellationToken cancellationToken)
    {
        IncidentState? filter = null;
        if (state is not null)
        {
            if (!IncidentStates.TryParse(state, out var parsed))
            {
                return ProblemResults.Validation("state", "must be open, scoped, notified or closed").ToProblem();
            }

            filter = parsed;
        }

        var list = new List<IncidentView>();
        foreach (var incident in await service.ListAsync(filter, 200, cancellationToken))
        {
            list.Add(await ViewAsync(service, incident, cancellationToken));
        }

        return TypedResults.Ok(list.ToArray());
    }

    private static async Task<Results<Ok<IncidentView>, ProblemHttpResult>> ShowAsync(string id, IncidentService service, CancellationToken cancellationToken)
    {
        var got = await service.GetAsync(id, cancellationToken);
        return got.IsSuccess ? TypedResults.Ok(await ViewAsync(service, got.Value, cancellationToken)) : got.Error!.ToProblem();
    }

    private static async Task<Results<Ok<IncidentView>, ProblemHttpResult>> ScopeAsync(string id, ScopeIncidentRequest? request, IncidentService service, Access.Staff.StaffDirectory staff, HttpContext context, CancellationToken cancellationToken)
    {
        IncidentScope? change = request is null || request == new ScopeIncidentRequest(null, null, null, null, null, null)
            ? null
            : new IncidentScope(request.Clerks ?? [], request.Terminals ?? [], request.Stores ?? [], request.From, request.To, request.Detectors ?? []);
        if (change is not null && await IncidentDeclarationRules.CheckClerksAsync(change.Clerks, staff) is { } refusal)
        {
            return await RefusedAsync(context, AccessTask.IncidentScoped, id, refusal.Error, cancellationToken); // as declaring and 'custodian incident scope --clerk' refuse it
        }

        var scoped = await service.ScopeAsync(id, change, Actor(context), null, cancellationToken);
        return scoped.IsSuccess ? TypedResults.Ok(await ViewAsync(service, scoped.Value, cancellationToken)) : await RefusedAsync(context, AccessTask.IncidentScoped, id, scoped.Error!, cancellationToken);
    }

    private static async Task<Results<Ok<NoticeDrafts>, ProblemHttpResult>> DraftsAsync(string id, NotifyIncidentRequest request, IncidentService service, CancellationToken cancellationToken)
    {
        if (!TryLanguage(request.Language, out var language))
        {
            return ProblemResults.Validation("language", "must be ko or en").ToProblem();
        }

        var got = await service.GetAsync(id, cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!.ToProblem();
        }

        var drafts = Drafts(service, got.Value, new NoticeFacts(request.How ?? string.Empty, request.Measures ?? string.Empty, request.Contact ?? string.Empty), language);
        return drafts.IsSuccess ? TypedResults.Ok(drafts.Value) : drafts.Error!.ToProblem();
    }

    /// <summary>Drafts for a scoped case, or an error when it is not scoped or the facts are invalid.</summary>
    public static Result<NoticeDrafts> Drafts(IncidentService service, Incident incident, NoticeFacts facts, NoticeLanguage language)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(incident);
        if (incident.Summary is null)
        {
            return new CustodianError(IncidentErrors.StateConflict, 409, "The incident has not been scoped.");
        }

        if (IncidentNotices.Validate(facts) is { } invalid)
        {
            return invalid;
        }

        // The sample text message is the one the most exposed subscribers of this case receive: the case's worst grade, the
        // fields it exposed and those it showed in full (not an invented worst case).
        var summary = incident.Summary;
        var c = summary.Counts;
        var grade = c.RrnUnmasked > 0 ? ExposureGrade.RrnUnmasked : c.Unmasked > 0 ? ExposureGrade.Unmasked : ExposureGrade.Masked;
        return new NoticeDrafts(
            IncidentNotices.Subscribers(incident, facts, language, service.Offset),
            IncidentNotices.Regulator(incident, facts, language, service.Offset),
            IncidentNotices.Sms(incident, facts, grade, [.. summary.Fields.Keys], grade == ExposureGrade.Masked ? [] : [.. summary.UnmaskedFields.Keys], language, service.Offset));
    }

    private static async Task<Results<Ok<NotifyResponse>, ProblemHttpResult>> NotifyAsync(string id, NotifyIncidentRequest request, IncidentService service, HttpContext context, CancellationToken cancellationToken)
    {
        if (!TryLanguage(request.Language, out var language))
        {
            return await RefusedAsync(context, AccessTask.IncidentNotified, id, ProblemResults.Validation("language", "must be ko or en"), cancellationToken);
        }

        var facts = new NoticeFacts(request.How ?? string.Empty, request.Measures ?? string.Empty, request.Contact ?? string.Empty);
        var notified = await service.NotifyAsync(id, facts, Actor(context), language, null, cancellationToken);
        return notified.IsSuccess
            ? TypedResults.Ok(new NotifyResponse(notified.Value.Sent, notified.Value.Failed, notified.Value.NotRequired, notified.Value.AlreadySent, notified.Value.Entry.Sequence))
            : await RefusedAsync(context, AccessTask.IncidentNotified, id, notified.Error!, cancellationToken);
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportAsync(string id, Approvals.ApprovedExportRequest request, IncidentService service, Approvals.ExportGrants grants, HttpContext context, CancellationToken cancellationToken)
    {
        // An unknown incident is 404 incident-not-found before the approval is asked for, as on the other incident
        // endpoints and in 'incident export' on the CLI: no approval can name an incident that does not exist, so 403
        // export-approval-required told an officer to request one for a mistyped ID. Recorded like the other refusals.
        var got = await service.GetAsync(id, cancellationToken);
        if (!got.IsSuccess)
        {
            return await RefusedAsync(context, AccessTask.IncidentExport, id, got.Error!, cancellationToken);
        }

        id = got.Value.Id; // the stored spelling, as the CLI names the approval's target
        var csv = new StringWriter();
        var actor = Actor(context);
        var exported = await grants.RunApprovedAsync(request.Approval, Approvals.ExportGrants.IncidentTarget(id), actor.Account, () => service.ExportAsync(id, request.Reason, actor, csv, cancellationToken), cancellationToken); // four eyes (docs/access.md §7)
        return exported.IsSuccess
            ? TypedResults.File(System.Text.Encoding.UTF8.GetBytes(csv.ToString()), "text/csv; charset=utf-8", $"{id}-affected.csv")
            : await RefusedAsync(context, AccessTask.IncidentExport, id, exported.Error!, cancellationToken);
    }

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> ReportAsync(string id, IncidentService service, CancellationToken cancellationToken)
    {
        var got = await service.GetAsync(id, cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!.ToProblem();
        }

        var markdown = IncidentReport.ToMarkdown(got.Value, service.Clock(got.Value), await service.ActionsAsync(id, cancellationToken));
        return TypedResults.Text(markdown, "text/markdown; charset=utf-8");
    }

    private static async Task<Results<Ok<IncidentView>, ProblemHttpResult>> CloseAsync(string id, IncidentReasonRequest request, IncidentService service, HttpContext context, CancellationToken cancellationToken)
    {
        var closed = await service.CloseAsync(id, request.Reason, Actor(context), cancellationToken);
        return closed.IsSuccess ? TypedResults.Ok(await ViewAsync(service, closed.Value, cancellationToken)) : await RefusedAsync(context, AccessTask.IncidentClosed, id, closed.Error!, cancellationToken);
    }

    /// <summary>Parses <c>ko</c> (also when null) or <c>en</c>.</summary>
    public static bool TryLanguage(string? text, out NoticeLanguage language)
    {
        language = text switch { null or "ko" => NoticeLanguage.Korean, "en" => NoticeLanguage.English, _ => 0 };
        return language != 0;
    }

    /// <summary>The officer of the request's staff session, with terminal, store and source IP.</summary>
    internal static IncidentActor Actor(HttpContext context)
    {
        var staff = StaffApi.Staff(context);
        return new IncidentActor(staff.Session.Principal.Id, staff.Session.Principal.Role, staff.Device.Terminal, staff.Device.Store, staff.SourceIp);
    }


    /// <summary>Records the refused action (<see cref="IncidentRefusals"/>) and answers it as a problem.</summary>
    private static async Task<ProblemHttpResult> RefusedAsync(HttpContext context, AccessTask task, string? id, CustodianError error, CancellationToken cancellationToken) =>
        (await IncidentRefusals.RefusedAsync(context.RequestServices, StaffApi.Staff(context), task, id, error, cancellationToken)).ToProblem();

}
