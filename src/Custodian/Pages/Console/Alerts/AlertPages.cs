using System.Globalization;
using System.Text.Json;
using Custodian.Access.Approvals;
using Custodian.Access.Sessions;
using Custodian.Approvals;
using Custodian.Events;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Monitoring.Detection;
using Custodian.Problems;
using Custodian.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Logging;

namespace Custodian.Pages.Console.Alerts;

/// <summary>
/// One alert as the console shows it, in the list and in the live stream (JSON, camelCase). Localised texts come
/// from the request's culture. No personal data: principals are staff and terminal codes, evidence is counts.
/// </summary>
/// <param name="Id">Alert identifier (<c>A-</c> + ULID).</param>
/// <param name="Raised">When raised, UTC, <c>yyyy-MM-dd HH:mm:ss</c>.</param>
/// <param name="RaisedMs">When raised, Unix milliseconds (newest-first ordering in the page script).</param>
/// <param name="Severity">Severity's stable name (CSS class).</param>
/// <param name="SeverityText">Severity, localised.</param>
/// <param name="State">State's stable name.</param>
/// <param name="StateText">State, localised.</param>
/// <param name="Principal">Principal as <c>clerk:C0042</c> or <c>terminal:S001-counter-1</c>.</param>
/// <param name="Store">Store code, or empty.</param>
/// <param name="Detector">Detector's stable name.</param>
/// <param name="Summary">Evidence summary: observed against limit over the window, evidence entries, detector detail.</param>
public sealed record AlertRow(
    string Id, string Raised, long RaisedMs, string Severity, string SeverityText, string State, string StateText, string Principal, string Store, string Detector, string Summary)
{
    /// <summary>The row of <paramref name="alert"/> with texts from <paramref name="text"/>.</summary>
    public static AlertRow From(Alert alert, IStringLocalizer<AlertText> text)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(text);
        var measure = alert.Limit == 0 // a rule that flags every one (an off-hours read, a disabled account's password): not "1 against 0"
            ? text["{0} where none is allowed, over {1}; {2} ledger entries", alert.Observed, AlertPages.Window(alert.Window), alert.Evidence.TotalSequences]
            : text["{0} against {1} over {2}; {3} ledger entries", alert.Observed, alert.Limit, AlertPages.Window(alert.Window), alert.Evidence.TotalSequences];
        var summary = measure.Value
            + (alert.Evidence.Detail is { Length: > 0 } detail ? ". " + detail : string.Empty);
        return new AlertRow(
            alert.Id,
            AlertPages.Utc(alert.RaisedAt),
            alert.RaisedAt.ToUnixTimeMilliseconds(),
            alert.Severity.ToName(),
            text[alert.Severity.ToName()],
            alert.State.ToName(),
            text[alert.State.ToName()],
            alert.Principal.ToString(),
            alert.Store ?? string.Empty,
            alert.Detector,
            summary);
    }
}

/// <summary>Shared parts of the alert console pages.</summary>
public static class AlertPages
{
    /// <summary>How many alerts the list and the stream's first snapshot show, newest first.</summary>
    public const int ListLimit = 200;

    /// <summary>A UTC time as <c>yyyy-MM-dd HH:mm:ss</c>.</summary>
    public static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>A window as <c>10m</c>, <c>1h</c>, <c>1d</c> or <c>90s</c>.</summary>
    public static string Window(TimeSpan window) =>
        window.TotalSeconds % 86_400 == 0 && window > TimeSpan.Zero ? $"{window.TotalDays:0}d"
        : window.TotalSeconds % 3_600 == 0 && window > TimeSpan.Zero ? $"{window.TotalHours:0}h"
        : window.TotalSeconds % 60 == 0 && window > TimeSpan.Zero ? $"{window.TotalMinutes:0}m"
        : $"{window.TotalSeconds:0}s";
}

/// <summary>
/// <c>/console/alerts</c>: the monitor's alerts, newest first, kept current by the live stream
/// (<c>/console/alerts/stream</c>, read by <c>/static/js/alerts.js</c>).
/// </summary>
/// <param name="alerts">Alert storage.</param>
/// <param name="text">The pages' strings.</param>
public sealed class IndexModel(AlertStore alerts, IStringLocalizer<AlertText> text) : ConsolePageModel
{
    /// <summary>The alerts, newest first, at most <see cref="AlertPages.ListLimit"/>.</summary>
    public IReadOnlyList<AlertRow> Alerts { get; private set; } = [];

    /// <summary>Lists the alerts.</summary>
    public async Task OnGetAsync() =>
        Alerts = [.. (await alerts.ListAsync(null, AlertPages.ListLimit, HttpContext.RequestAborted)).Select(a => AlertRow.From(a, text))];
}

/// <summary>
/// <c>/console/alerts/stream</c>: server-sent events (WHATWG HTML §9.2, <c>text/event-stream</c>) for the alert list.
/// The officer session is checked like any console page before the stream opens, and again — the same conditions a
/// page request meets at the gateway and the page filter — before every event and at least every
/// <see cref="RecheckInterval"/> while no event comes: the session still open and bound to this certificate, the
/// account still active with the same role and store (<c>StaffDirectory.GetStandingAsync</c>), the terminal still
/// active with this certificate current and unexpired (<c>TerminalRegistry.CheckAsync</c>) and within its opening hours.
/// When one fails the stream ends and the refusal is recorded (<see cref="AccessTask.Refused"/>, reason "alert
/// stream"); a disabled or moved account's sessions end as at the gateway. It also ends when the browser leaves or the
/// server stops. On (re)connection it sends the newest <see cref="AlertPages.ListLimit"/> alerts, then one
/// <c>alert</c> event (data: an <see cref="AlertRow"/> as JSON) per alert raised, reviewed or restored, taken from the
/// committed access-ledger stream (<c>alert-raised</c>, <c>alert-reviewed</c>, <c>restored</c> entries), so nothing
/// reaches the page before it is in the ledger.
/// </summary>
/// <param name="alerts">Alert storage.</param>
/// <param name="events">The committed-entry stream.</param>
/// <param name="sessions">Staff sessions, re-checked (without touching the idle timer) before each event.</param>
/// <param name="standing">Staff accounts, for the account's standing.</param>
/// <param name="terminals">The terminal registry, for revocation and replacement of the certificate.</param>
/// <param name="policy">Opening hours.</param>
/// <param name="recorder">Records the refusal that ends a stream.</param>
/// <param name="time">The clock for the re-check interval and certificate expiry.</param>
/// <param name="lifetime">Ends the stream when the server stops.</param>
/// <param name="text">The pages' strings.</param>
/// <param name="logger">Logs sessions ended for a changed account.</param>
public sealed class StreamModel(
    AlertStore alerts,
    IAccessEventStream events,
    SessionStore sessions,
    Access.Staff.StaffDirectory standing,
    Access.Terminals.TerminalRegistry terminals,
    Gateway.NetworkPolicy policy,
    Lookup.AccessRecorder recorder,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    IStringLocalizer<AlertText> text,
    ILogger<StreamModel> logger) : ConsolePageModel
{
    /// <summary>Name of the stream's subscription to the ledger events (diagnostics only).</summary>
    public const string SubscriptionName = "console-alerts";

    /// <summary>Longest time between two checks of the officer's session, account and terminal while no event comes: 5 seconds.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(5);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly CustodianError SessionEnded = new(ErrorCodes.SessionRequired, 401, "The staff session ended (closed, idle too long, or the account was disabled or changed); the alert stream ended.");
    private static readonly CustodianError CertificateExpired = new(ErrorCodes.DeviceCertificateExpired, 403, "The device certificate is outside its validity period; the alert stream ended.");

    /// <summary>Streams until the browser leaves, the officer may no longer see the console, or the server stops.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(HttpContext.RequestAborted, lifetime.ApplicationStopping);
        var cancellationToken = stop.Token;
        using var subscription = events.Subscribe(SubscriptionName); // before the snapshot, so nothing raised in between is missed
        Response.ContentType = "text/event-stream";
        Response.Headers.CacheControl = "no-store";
        try
        {
            await Response.WriteAsync(": alerts\nretry: 2000\n\n", cancellationToken);
            var snapshot = await alerts.ListAsync(null, AlertPages.ListLimit, cancellationToken);
            foreach (var alert in snapshot.Reverse())
            {
                await WriteAsync(alert, cancellationToken);
            }

            await Response.Body.FlushAsync(cancellationToken);
            Task<bool>? ready = null;
            while (true)
            {
                ready ??= subscription.Reader.WaitToReadAsync(cancellationToken).AsTask();
                using (var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    var delay = Task.Delay(RecheckInterval, time, tick.Token);
                    if (await Task.WhenAny(ready, delay) == delay)
                    {
                        if (!await AllowedAsync(cancellationToken))
                        {
                            break;
                        }

                        continue;
                    }

                    await tick.CancelAsync();
                }

                if (!await ready)
                {
                    break; // the event stream completed
                }

                ready = null;
                if (!await DrainAsync(subscription.Reader, cancellationToken))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The browser left or the server is stopping: the stream simply ends.
        }

        return new EmptyResult();
    }

    // Writes the alerts the buffered entries changed; false when the officer may no longer see them (checked before each).
    private async Task<bool> DrainAsync(System.Threading.Channels.ChannelReader<CommittedEntry> reader, CancellationToken cancellationToken)
    {
        while (reader.TryRead(out var committed))
        {
            var changed = await ChangedAsync(committed.Entry, cancellationToken);
            if (changed.Count == 0)
            {
                continue;
            }

            if (!await AllowedAsync(cancellationToken))
            {
                return false;
            }

            foreach (var alert in changed)
            {
                await WriteAsync(alert, cancellationToken);
            }

            await Response.Body.FlushAsync(cancellationToken);
        }

        return true;
    }

    // The conditions a console page request meets (DeviceGatewayMiddleware, NetworkPolicyMiddleware, StaffPageModel), re-checked.
    private async Task<bool> AllowedAsync(CancellationToken cancellationToken)
    {
        var device = Staff.Device;
        var now = time.GetUtcNow();
        var session = sessions.Peek(Request.Cookies[CookieName], device);
        CustodianError? refusal = null;
        if (session is null)
        {
            refusal = SessionEnded;
        }
        else if (!await standing.GetStandingAsync(session.Principal, session.SignedInAt))
        {
            sessions.RevokeAccount(session.Principal.Id); // as the gateway does: a leaver's or mover's sessions end everywhere
            Gateway.GatewayLog.SessionsEnded(logger, session.Principal.Id);
            refusal = SessionEnded;
        }
        else if (device.NotAfter is { } notAfter && notAfter <= now)
        {
            refusal = CertificateExpired;
        }
        else if (await terminals.CheckAsync(device) is { IsSuccess: false } status)
        {
            refusal = status.Error!;
        }
        else
        {
            refusal = policy.CheckHours(device, now, session.CreatedAt);
        }

        if (refusal is null)
        {
            return true;
        }

        var principal = Staff.Session.Principal;
        await recorder.RefuseAsync(
            new AccessEntry
            {
                Time = now,
                Task = AccessTask.Refused,
                Outcome = AccessOutcome.Denied,
                Account = principal.Id,
                Role = principal.Role,
                Terminal = device.Terminal,
                Store = device.Store,
                SourceIp = Staff.SourceIp,
                Reason = "alert stream",
            },
            refusal,
            cancellationToken);
        return false;
    }

    private async Task<IReadOnlyList<Alert>> ChangedAsync(AccessEntry entry, CancellationToken cancellationToken)
    {
        if (entry.Task is AccessTask.AlertRaised or AccessTask.AlertReviewed && entry.Target is { } id)
        {
            return await alerts.GetAsync(id, cancellationToken) is { } alert ? [alert] : [];
        }

        if (entry.Task is AccessTask.Restored && Custodian.Monitoring.Principal.TryParse(entry.Target, out var principal))
        {
            return await alerts.ListForPrincipalAsync(principal.Value, cancellationToken);
        }

        return [];
    }

    private async Task WriteAsync(Alert alert, CancellationToken cancellationToken)
    {
        // System.Text.Json writes no raw newline, so one data line carries the whole row.
        var json = JsonSerializer.Serialize(AlertRow.From(alert, text), Json);
        await Response.WriteAsync("event: alert\nid: " + alert.Id + "\ndata: " + json + "\n\n", cancellationToken);
    }
}

/// <summary>One principal's standing on the alert detail page.</summary>
/// <param name="Kind">Clerk or terminal.</param>
/// <param name="Id">Its code.</param>
/// <param name="Risk">Combined risk 0–100.</param>
/// <param name="Action">Current action's stable name.</param>
/// <param name="Suspended">Whether suspended.</param>
public sealed record StandingRow(PrincipalKind Kind, string Id, int Risk, string Action, bool Suspended);

/// <summary>
/// <c>/console/alerts/{id}</c>: one alert with its evidence, a chart of the principal's activity against its limit and
/// baseline, the current standing of the clerk and terminal involved, and the officer's actions — acknowledge,
/// false positive, confirm (<see cref="AccessMonitor.ReviewAlertAsync"/>) and a request to restore (four eyes:
/// <see cref="RestoreAction.RequestAsync"/>), the same calls as the officer API, so each is in the ledger before it takes effect.
/// </summary>
/// <param name="alerts">Alert storage.</param>
/// <param name="monitor">The monitor.</param>
/// <param name="suspensions">The suspension registry.</param>
/// <param name="ledger">Read side of the ledger, for the evidence entries' times.</param>
/// <param name="requests">The four-eyes workflow (restore requests).</param>
/// <param name="text">The pages' strings.</param>
public sealed class DetailModel(AlertStore alerts, AccessMonitor monitor, SuspensionRegistry suspensions, IAccessLedgerReader ledger, PrivilegedActionRequests requests, IStringLocalizer<AlertText> text) : ConsolePageModel
{
    /// <summary>Most ledger entries read to find the evidence's times; beyond it the chart shows what was found.</summary>
    public const int MaxScannedEntries = 200_000;

    /// <summary>The alert.</summary>
    public Alert Alert { get; private set; } = null!;

    /// <summary>Its row (localised severity, state and summary).</summary>
    public AlertRow Row { get; private set; } = null!;

    /// <summary>The chart's SVG markup (<see cref="AlertChart.Svg"/>: escaped text, no script).</summary>
    public string Chart { get; private set; } = string.Empty;

    /// <summary>The alert's principal and, from its last evidence entry, the other principal (clerk or terminal) involved.</summary>
    public IReadOnlyList<StandingRow> Standing { get; private set; } = [];

    /// <summary>Why the last action was refused, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>The restore request this officer just filed (from <c>?requested=</c>, shown only while it is pending), or null.</summary>
    public PrivilegedRequest? Requested { get; private set; }

    /// <summary>Shows the alert; 404 when there is none.</summary>
    /// <param name="id">The alert.</param>
    /// <param name="requested">A restore request ID to confirm (after <see cref="OnPostRestoreAsync"/>).</param>
    public async Task<IActionResult> OnGetAsync(string id, string? requested)
    {
        if (!await LoadAsync(id))
        {
            return NotFound();
        }

        if (requested is not null && await requests.GetAsync(requested, HttpContext.RequestAborted) is { Status: PrivilegedRequestStatus.Pending } pending
            && pending.Action is RestoreAction.RestoreClerk or RestoreAction.RestoreTerminal)
        {
            Requested = pending;
        }

        return Page();
    }

    /// <summary>Reviews the alert: <c>acknowledged</c>, <c>false-positive</c> or <c>confirmed</c>, with an optional note.</summary>
    public async Task<IActionResult> OnPostReviewAsync(string id, string? state, string? note)
    {
        var cancellationToken = HttpContext.RequestAborted;
        if (!AlertStates.TryParse(state, out var parsed))
        {
            var invalid = ProblemResults.Validation("state", "must be acknowledged, false-positive or confirmed");
            var exists = await alerts.GetAsync(id, cancellationToken) is not null;
            return await After(id, await AlertActionRefusals.ReviewRefusedAsync(HttpContext.RequestServices, Staff, id, exists, null, invalid, cancellationToken));
        }

        var result = await monitor.ReviewAlertAsync(id, parsed, Staff.Session.Principal.Id, string.IsNullOrWhiteSpace(note) ? null : note, cancellationToken);
        if (result.IsSuccess)
        {
            return await After(id, null);
        }

        var known = await alerts.GetAsync(id, cancellationToken) is not null;
        return await After(id, await AlertActionRefusals.ReviewRefusedAsync(HttpContext.RequestServices, Staff, id, known, parsed, result.Error!, cancellationToken));
    }

    /// <summary>
    /// Requests that the suspension of a clerk or terminal of this alert be lifted, with a reason: a <c>restore-clerk</c> /
    /// <c>restore-terminal</c> privileged-action request that a different officer approves on <c>/console/approvals</c>
    /// (docs/access.md §7). On success the page shows the request ID.
    /// </summary>
    public async Task<IActionResult> OnPostRestoreAsync(string id, string? kind, string? principal, string? reason)
    {
        var cancellationToken = HttpContext.RequestAborted;
        var result = await RestoreAction.RequestCheckedAsync(requests, suspensions, kind, principal, reason, Staff.Session.Principal, cancellationToken); // the API's checks, in its order
        return result.IsSuccess
            ? Redirect("/console/alerts/" + Uri.EscapeDataString(id) + "?requested=" + Uri.EscapeDataString(result.Value.Id))
            : await After(id, await AlertActionRefusals.RestoreRefusedAsync(HttpContext.RequestServices, Staff, RestoreAction.Named(kind, principal), result.Error!, cancellationToken));
    }

    /// <summary>
    /// An error from reviewing an alert or requesting a restore, as one line in the page's language: the monitor's and
    /// the approvals' English messages through <see cref="Incidents.IncidentPages.Describe(CustodianError, IStringLocalizer)"/>
    /// and the alert strings; a review refused because the alert is final names the final state in that language.
    /// </summary>
    /// <param name="error">The refusal.</param>
    /// <param name="text">The alert pages' strings (Resources/Monitoring/AlertText.*.resx).</param>
    /// <returns>The line to show; the English message when no translation exists.</returns>
    public static string Describe(CustodianError error, IStringLocalizer text)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(text);
        const string Prefix = "The alert is already ", Suffix = ", a final state.";
        if (error.Code == MonitoringErrorCodes.AlertStateConflict
            && error.Message.StartsWith(Prefix, StringComparison.Ordinal) && error.Message.EndsWith(Suffix, StringComparison.Ordinal))
        {
            var state = error.Message[Prefix.Length..^Suffix.Length];
            return text["The alert is already {0}, a final state.", text[state].Value].Value;
        }

        return Incidents.IncidentPages.Describe(error, text);
    }

    private async Task<IActionResult> After(string id, CustodianError? error)
    {
        if (error is null)
        {
            return Redirect("/console/alerts/" + Uri.EscapeDataString(id));
        }

        if (!await LoadAsync(id))
        {
            return NotFound();
        }

        Error = Describe(error, text);
        Response.StatusCode = error.Status;
        return Page();
    }

    private async Task<bool> LoadAsync(string id)
    {
        var cancellationToken = HttpContext.RequestAborted;
        if (await alerts.GetAsync(id, cancellationToken) is not { } alert)
        {
            return false;
        }

        Alert = alert;
        Row = AlertRow.From(alert, text);
        var wanted = alert.Evidence.Sequences.ToHashSet();
        wanted.Add(alert.Evidence.LastSequence);
        var times = new List<DateTimeOffset>();
        AccessEntry? last = null;
        var scanned = 0;
        var from = alert.Evidence.Sequences.Count > 0 ? alert.Evidence.Sequences[0] : alert.Evidence.LastSequence;
        await foreach (var committed in ledger.ReadAsync(from, cancellationToken))
        {
            if (committed.Sequence > alert.Evidence.LastSequence || ++scanned > MaxScannedEntries)
            {
                break;
            }

            if (alert.Evidence.Sequences.Contains(committed.Sequence))
            {
                times.Add(committed.Entry.Time);
            }

            if (committed.Sequence == alert.Evidence.LastSequence)
            {
                last = committed.Entry;
            }
        }

        var labels = new ChartLabels(text["Activity of {0} against baseline", alert.Principal.ToString()], text["evidence entries"], text["limit"], text["own median"]);
        Chart = AlertChart.Svg(times, alert.Observed, alert.Limit, AlertChart.OwnMedian(alert.Evidence.Detail), labels);

        var principals = new List<Custodian.Monitoring.Principal> { alert.Principal };
        var other = alert.Principal.Kind == PrincipalKind.Clerk ? last?.Terminal : last?.Account;
        if (Codes.IsValid(other))
        {
            principals.Add(new Custodian.Monitoring.Principal(alert.Principal.Kind == PrincipalKind.Clerk ? PrincipalKind.Terminal : PrincipalKind.Clerk, other!));
        }

        var standing = new List<StandingRow>(principals.Count);
        foreach (var p in principals)
        {
            var suspended = suspensions.IsSuspended(p.Kind, p.Id);
            var current = await monitor.CurrentStandingAsync(p.Kind, p.Id, cancellationToken); // the workers' stored risk with serve --monitor workers
            var action = suspended ? MonitorAction.Suspend : current.Action;
            standing.Add(new StandingRow(p.Kind, p.Id, current.Risk, action.ToName(), suspended));
        }

        Standing = standing;
        return true;
    }
}
