using System.Globalization;
using System.Text.RegularExpressions;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Problems;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Localization;

namespace Custodian.Pages.Console.Incidents;

/// <summary>Shared parts of the incident and claim console pages.</summary>
public static partial class IncidentPages
{
    /// <summary>The officer of a console page as an incident actor (account, role, terminal, store, source IP; recorded in the ledger).</summary>
    public static IncidentActor Actor(ConsolePageModel page)
    {
        ArgumentNullException.ThrowIfNull(page);
        return new IncidentActor(page.Staff.Session.Principal.Id, page.Staff.Session.Principal.Role, page.Staff.Device.Terminal, page.Staff.Device.Store, page.Staff.SourceIp);
    }

    /// <summary>An error as one line in English: its message and, per field, the rule (the alert pages' form).</summary>
    public static string Describe(CustodianError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.Errors is { Count: > 0 } errors ? error.Message + " " + string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value[0]}")) : error.Message;
    }

    /// <summary>
    /// An error as one line in the page's language: its message and, per field, the field's label and the rule, each
    /// through <see cref="Translate"/>. A message that only repeats its single field's rule (<c>The field 'x' is invalid: …</c>,
    /// or the rule itself) is left out, so the rule shows once.
    /// </summary>
    public static string Describe(CustodianError error, IStringLocalizer text)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(text);
        if (error.Errors is not { Count: > 0 } errors)
        {
            return Translate(error.Message, text);
        }

        var fields = string.Join("; ", errors.Select(e => $"{FieldLabel(e.Key, text)}: {Translate(e.Value[0], text)}"));
        var repeatsRule = error.Message.StartsWith("The field '", StringComparison.Ordinal)
            || (errors.Count == 1 && errors.First() is { Value: [var only] } field
                && (only == error.Message || error.Message == $"{field.Key}: {only}" || error.Message == $"{field.Key}: {only}."));
        return repeatsRule ? fields : Translate(error.Message, text) + " " + fields;
    }

    /// <summary>
    /// An English service message in the page's language. Looked up as it is; else with a trailing state name (<c>…; it is
    /// scoped.</c>, <c>The claim is paid.</c>) and every run of digits as arguments (<c>required, {0}-{1} characters</c>), the
    /// state itself translated; else the English text (a message without a translation still names the field and the rule).
    /// </summary>
    public static string Translate(string english, IStringLocalizer text)
    {
        ArgumentNullException.ThrowIfNull(english);
        ArgumentNullException.ThrowIfNull(text);
        var exact = text[english];
        if (!exact.ResourceNotFound)
        {
            return exact.Value;
        }

        var arguments = new List<object>();
        var body = english;
        string? state = null;
        if (TrailingState().Match(english) is { Success: true } match)
        {
            body = english[..match.Index];
            state = match.Groups[1].Value;
        }

        var key = Digits().Replace(body, d =>
        {
            arguments.Add(d.Value);
            return "{" + (arguments.Count - 1).ToString(CultureInfo.InvariantCulture) + "}";
        });
        if (state is not null)
        {
            key += "{" + arguments.Count.ToString(CultureInfo.InvariantCulture) + "}.";
            arguments.Add(text[state].Value);
        }

        var translated = text[key, [.. arguments]];
        return translated.ResourceNotFound ? english : translated.Value;
    }

    /// <summary>A request field's label in the page's language (resource <c>field:&lt;name&gt;</c>), else its name.</summary>
    public static string FieldLabel(string field, IStringLocalizer text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var label = text["field:" + field];
        return label.ResourceNotFound ? field : label.Value;
    }

    /// <summary>Splits a comma- or space-separated list of codes.</summary>
    public static string[] Codes(string? text) => (text ?? string.Empty).Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// Why the form's <c>from</c> or <c>to</c> is refused (<see cref="ErrorCodes.ValidationFailed"/>, 400): a value that is
    /// present but not a <c>datetime-local</c> time would otherwise be dropped and leave that end of the scope open. Null when
    /// both are empty or valid.
    /// </summary>
    public static CustodianError? CheckTimes(string? from, string? to)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (name, text) in new[] { ("from", from), ("to", to) })
        {
            if (!string.IsNullOrWhiteSpace(text) && LocalTime(text, TimeSpan.Zero) is null)
            {
                errors[name] = ["must be a local date and time yyyy-MM-ddTHH:mm"];
            }
        }

        return errors.Count == 0 ? null : new CustodianError(ErrorCodes.ValidationFailed, StatusCodes.Status400BadRequest, "The incident request is invalid.") { Errors = errors };
    }

    /// <summary>
    /// A time as a <c>datetime-local</c> value at <paramref name="offset"/>: <c>yyyy-MM-ddTHH:mm</c>, or <c>yyyy-MM-ddTHH:mm:ss</c>
    /// when it has seconds (sub-second parts are dropped); empty for null. <see cref="LocalTime"/> reads both back.
    /// </summary>
    public static string LocalInput(DateTimeOffset? time, TimeSpan offset)
    {
        if (time is not { } t)
        {
            return string.Empty;
        }

        var local = t.ToOffset(offset);
        return local.ToString(local.Second == 0 ? "yyyy-MM-ddTHH:mm" : "yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>Parses a <c>datetime-local</c> value (<c>yyyy-MM-ddTHH:mm</c>) at <paramref name="offset"/>; null when empty or malformed.</summary>
    public static DateTimeOffset? LocalTime(string? text, TimeSpan offset) =>
        DateTime.TryParseExact(text, ["yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            ? new DateTimeOffset(local, offset)
            : null;

    /// <summary>A state name closing a message: <c>… it is scoped.</c>, <c>The claim is information-requested.</c></summary>
    [GeneratedRegex(@"(?<=\bis )([a-z]+(?:-[a-z]+)*)\.$", RegexOptions.CultureInvariant)]
    private static partial Regex TrailingState();

    [GeneratedRegex(@"\d+", RegexOptions.CultureInvariant)]
    private static partial Regex Digits();
}

/// <summary>
/// <c>/console/incidents</c>: the cases with their 72-hour clocks, and a form to declare one. A declaration passes
/// <see cref="IncidentDeclarationRules"/> first, as <c>POST /api/v1/incidents</c> and <c>custodian incident declare</c> do.
/// </summary>
/// <param name="incidents">The incident service.</param>
/// <param name="staff">The staff directory a declaration's clerks are looked up in.</param>
/// <param name="time">The clock a window's end is compared with.</param>
/// <param name="text">The incident pages' strings.</param>
public sealed class IndexModel(IncidentService incidents, Access.Staff.StaffDirectory staff, TimeProvider time, IStringLocalizer<IncidentText> text) : ConsolePageModel
{
    /// <summary>The cases, newest first, with their clocks.</summary>
    public IReadOnlyList<(Incident Incident, NoticeClock Clock)> Cases { get; private set; } = [];

    /// <summary>Why the last declaration was refused, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>The review offset the form's times are read at.</summary>
    public TimeSpan Offset => incidents.Offset;

    /// <summary>Lists the cases.</summary>
    public async Task OnGetAsync() => await LoadAsync();

    /// <summary>Declares a case from the form and opens it.</summary>
    public async Task<IActionResult> OnPostDeclareAsync(string? title, string? clerks, string? terminals, string? stores, string? from, string? to)
    {
        if (IncidentPages.CheckTimes(from, to) is { } badTime)
        {
            await IncidentRefusals.RefusedAsync(HttpContext.RequestServices, Staff, AccessTask.IncidentDeclared, null, badTime, HttpContext.RequestAborted);
            Error = IncidentPages.Describe(badTime, text);
            await LoadAsync();
            Response.StatusCode = badTime.Status;
            return Page();
        }

        var scope = new IncidentScope(IncidentPages.Codes(clerks), IncidentPages.Codes(terminals), IncidentPages.Codes(stores), IncidentPages.LocalTime(from, Offset), IncidentPages.LocalTime(to, Offset), []);
        var declaration = new DeclareIncident(title, [], scope);
        if (await IncidentDeclarationRules.CheckAsync(declaration, staff, time.GetUtcNow()) is { } refusal)
        {
            // The same checks as POST /api/v1/incidents and 'custodian incident declare': recorded and shown as the API answers them.
            await IncidentRefusals.RefusedAsync(HttpContext.RequestServices, Staff, AccessTask.IncidentDeclared, null, refusal.Error, HttpContext.RequestAborted);
            Error = IncidentPages.Describe(refusal.Error, text);
            await LoadAsync();
            Response.StatusCode = refusal.Error.Status;
            return Page();
        }

        var declared = await incidents.DeclareAsync(declaration, IncidentPages.Actor(this), HttpContext.RequestAborted);
        if (declared.IsSuccess)
        {
            return Redirect("/console/incidents/" + declared.Value.Id);
        }

        await IncidentRefusals.RefusedAsync(HttpContext.RequestServices, Staff, AccessTask.IncidentDeclared, null, declared.Error!, HttpContext.RequestAborted);
        Error = IncidentPages.Describe(declared.Error!, text);
        await LoadAsync();
        Response.StatusCode = declared.Error!.Status;
        return Page();
    }

    private async Task LoadAsync() =>
        Cases = [.. (await incidents.ListAsync(null, 200, HttpContext.RequestAborted)).Select(i => (i, incidents.Clock(i)))];
}

/// <summary><c>/console/incidents/{id}</c>: one case with counts, fields, timeline, 72-hour clock, actions and the next steps.</summary>
/// <param name="incidents">The incident service.</param>
/// <param name="text">The incident pages' strings.</param>
public sealed class DetailModel(IncidentService incidents, IStringLocalizer<IncidentText> text) : ConsolePageModel
{
    /// <summary>The case.</summary>
    public Incident Incident { get; private set; } = null!;

    /// <summary>Its clock now.</summary>
    public NoticeClock Clock { get; private set; } = null!;

    /// <summary>Its actions with ledger sequences.</summary>
    public IReadOnlyList<IncidentAction> Actions { get; private set; } = [];

    /// <summary>Why the last action was refused, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>The timeline chart (SVG markup built by <see cref="IncidentReport.TimelineSvg"/>: escaped text, no script), or null before scoping.</summary>
    public string? Chart => Incident.Summary is { Timeline.Count: > 0 } s ? IncidentReport.TimelineSvg(s.Timeline, Incident.Id) : null;

    /// <summary>Shows the case; 404 when there is none.</summary>
    public async Task<IActionResult> OnGetAsync(string id) => await LoadAsync(id) ? Page() : NotFound();

    /// <summary>The review offset the scope form's times are read and shown at.</summary>
    public TimeSpan Offset => incidents.Offset;

    /// <summary>
    /// Scopes the case from the ledger with its principals and the window from the form: <paramref name="from"/> and
    /// <paramref name="to"/> as local times at <see cref="Offset"/> (<c>yyyy-MM-ddTHH:mm[:ss]</c>; the form is prefilled with the
    /// case's window), an empty one keeping that end of the case's window. A malformed time is refused as the declare form
    /// refuses it (<see cref="IncidentPages.CheckTimes"/>); the rest is <see cref="IncidentService.ScopeAsync"/>'s, as for
    /// <c>POST /api/v1/incidents/{id}/scope</c> and <c>custodian incident scope --from --to</c> (both ends, from before to, to not
    /// in the future).
    /// </summary>
    public async Task<IActionResult> OnPostScopeAsync(string id, string? from, string? to)
    {
        if (IncidentPages.CheckTimes(from, to) is { } badTime)
        {
            return await After(id, AccessTask.IncidentScoped, badTime);
        }

        var window = new IncidentScope([], [], [], IncidentPages.LocalTime(from, Offset), IncidentPages.LocalTime(to, Offset), []);
        var change = window.From is null && window.To is null ? null : window; // no principals: the case's are kept (IncidentScope.Over)
        return await After(id, AccessTask.IncidentScoped, (await incidents.ScopeAsync(id, change, IncidentPages.Actor(this), null, HttpContext.RequestAborted)).Error);
    }

    /// <summary>Sends the notices (Korean SMS; inbox in both languages).</summary>
    public async Task<IActionResult> OnPostNotifyAsync(string id, string? how, string? measures, string? contact) =>
        await After(id, AccessTask.IncidentNotified, (await incidents.NotifyAsync(id, new NoticeFacts(how ?? string.Empty, measures ?? string.Empty, contact ?? string.Empty), IncidentPages.Actor(this), NoticeLanguage.Korean, null, HttpContext.RequestAborted)).Error);

    /// <summary>Closes the case with a note.</summary>
    public async Task<IActionResult> OnPostCloseAsync(string id, string? note) =>
        await After(id, AccessTask.IncidentClosed, (await incidents.CloseAsync(id, note, IncidentPages.Actor(this), HttpContext.RequestAborted)).Error);

    /// <summary>After an action: back to the case, or the refusal recorded (<see cref="IncidentRefusals"/>) and shown.</summary>
    private async Task<IActionResult> After(string id, AccessTask task, CustodianError? error)
    {
        if (error is null)
        {
            return Redirect("/console/incidents/" + id.ToUpperInvariant());
        }

        await IncidentRefusals.RefusedAsync(HttpContext.RequestServices, Staff, task, id, error, HttpContext.RequestAborted);

        if (!await LoadAsync(id))
        {
            return NotFound();
        }

        Error = IncidentPages.Describe(error, text);
        Response.StatusCode = error.Status;
        return Page();
    }

    private async Task<bool> LoadAsync(string id)
    {
        var got = await incidents.GetAsync(id, HttpContext.RequestAborted);
        if (!got.IsSuccess)
        {
            return false;
        }

        Incident = got.Value;
        Clock = incidents.Clock(Incident);
        Actions = await incidents.ActionsAsync(Incident.Id, HttpContext.RequestAborted);
        return true;
    }
}
