using System.Globalization;
using System.Security.Cryptography;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Messaging;
using Custodian.Monitoring;
using Custodian.Monitoring.Detection;
using Custodian.Problems;
using Custodian.Protection.Keys;
using Custodian.Review;
using CsvHelper;
using Microsoft.Extensions.Logging;

namespace Custodian.Incidents;

/// <summary>What an officer gives to declare an incident.</summary>
/// <param name="Title">Short description, 1–200 characters, never personal data (recorded in the ledger).</param>
/// <param name="Alerts">Monitor alert IDs the incident comes from; their principals join the scope and, when no window is given, their windows make the window.</param>
/// <param name="Scope">Principals, window and detectors known so far; may be empty when alerts are given.</param>
public sealed record DeclareIncident(string? Title, IReadOnlyList<string> Alerts, IncidentScope Scope);

/// <summary>Outcome of sending an incident's notices.</summary>
/// <param name="Sent">Deliveries (subscriber × channel: inbox, SMS) made in this run.</param>
/// <param name="Failed">Deliveries that failed in this run (retried by running notify again).</param>
/// <param name="NotRequired">Token-only subscribers (no breach notice).</param>
/// <param name="AlreadySent">Deliveries skipped because an earlier run already made them.</param>
/// <param name="Entry">The <c>incident-notified</c> ledger entry.</param>
public sealed record NotifyOutcome(long Sent, long Failed, long NotRequired, long AlreadySent, CommittedEntry Entry);

/// <summary>Outcome of re-running a case's scope against the ledger size it was scoped at.</summary>
/// <param name="Recorded">The SHA-256 recorded at scoping.</param>
/// <param name="Recomputed">The SHA-256 now.</param>
public sealed record ScopeVerification(string Recorded, string Recomputed)
{
    /// <summary>Whether the re-run gave the same set.</summary>
    public bool Same => string.Equals(Recorded, Recomputed, StringComparison.Ordinal);
}

/// <summary>
/// Incident response (docs/incidents.md): declares cases by hand or from monitor alerts, scopes them from the access ledger,
/// exports the affected set as subscriber tokens, drafts and sends the PIPA Art. 34 notices, and closes them. Enforces the
/// state machine of <see cref="IncidentState"/>; records every action in the ledger before its effect is stored. Never
/// decrypts. Thread-safe.
/// </summary>
public sealed class IncidentService(
    IncidentStore store,
    IncidentScoper scoper,
    IAccessLedger ledger,
    IAccessLedgerReader reader,
    AlertStore alerts,
    Tokenizer tokenizer,
    ISmsSender sms,
    Portal.SubscriberInbox inbox,
    ReviewOptions reviewOptions,
    TimeProvider time,
    ILogger<IncidentService> logger)
{
    /// <summary>Longest title, in characters.</summary>
    public const int MaxTitle = 200;

    /// <summary>Channel name of SMS deliveries.</summary>
    public const string SmsChannel = "sms";

    /// <summary>Channel name of portal inbox deliveries.</summary>
    public const string InboxChannel = "inbox";

    private static readonly string[] Channels = [InboxChannel, SmsChannel];

    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>The offset days and dates are reckoned at (the review offset, <c>Custodian__Review__UtcOffset</c>, default +09:00).</summary>
    public TimeSpan Offset => reviewOptions.UtcOffset;

    /// <summary>The case, or <see cref="IncidentErrors.NotFound"/>. IDs are matched case-insensitively (Crockford base 32 is; routing may lower-case URLs).</summary>
    public async Task<Result<Incident>> GetAsync(string? id, CancellationToken cancellationToken = default)
    {
        var incident = string.IsNullOrEmpty(id) || id.Length > 40 ? null : await store.GetAsync(id.ToUpperInvariant(), cancellationToken);
        return incident is null ? new CustodianError(IncidentErrors.NotFound, 404, "No incident has this ID.") : incident;
    }

    /// <summary>Cases, newest first.</summary>
    public Task<IReadOnlyList<Incident>> ListAsync(IncidentState? state = null, int limit = 200, CancellationToken cancellationToken = default) =>
        store.ListAsync(state, limit, cancellationToken);

    /// <summary>The case's actions, each with its ledger sequence.</summary>
    public Task<IReadOnlyList<IncidentAction>> ActionsAsync(string id, CancellationToken cancellationToken = default) => store.ListActionsAsync(id, cancellationToken);

    /// <summary>Per-subscriber delivery statuses of the case (internal IDs; callers outside the server show tokens).</summary>
    public Task<IReadOnlyList<NoticeDelivery>> DeliveriesAsync(string id, CancellationToken cancellationToken = default) => store.ListDeliveriesAsync(id, cancellationToken);

    /// <summary>The 72-hour clock of <paramref name="incident"/> now.</summary>
    public NoticeClock Clock(Incident incident) => NoticeClock.For(incident, time.GetUtcNow());

    /// <summary>The token of a subscriber, for showing delivery statuses outside the server.</summary>
    public string Token(SubscriberId subscriber) => tokenizer.TokenizeSubscriber(subscriber);

    /// <summary>
    /// Declares a case in state <c>open</c>. Alerts must exist; their principals join the scope, and when the scope has no
    /// window, the alerts' windows make it ([earliest raised − window, latest raised + 1 ms)). Recorded as an
    /// <see cref="AccessTask.IncidentDeclared"/> entry (target <c>incident:&lt;id&gt;</c>, reason = the title).
    /// </summary>
    /// <returns>The case; or <see cref="ErrorCodes.ValidationFailed"/> (bad title, code or window) or <see cref="IncidentErrors.AlertUnknown"/>.</returns>
    /// <exception cref="LedgerUnavailableException">When the declaration could not be recorded; nothing is stored.</exception>
    public async Task<Result<Incident>> DeclareAsync(DeclareIncident request, IncidentActor actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(actor);
        var errors = ValidateScope(request.Scope);
        if (string.IsNullOrWhiteSpace(request.Title) || request.Title.Trim().Length > MaxTitle)
        {
            errors["title"] = [$"required, 1-{MaxTitle} characters"];
        }
        else if (Classification.FreeText.Check(request.Title, "title") is { Errors: { } titleErrors })
        {
            errors["title"] = titleErrors["title"]; // the free-text rule that failed, in FreeText.Check's order
        }

        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        var scope = request.Scope;
        var alertIds = request.Alerts.Distinct(StringComparer.Ordinal).ToList();
        var found = new List<Alert>();
        foreach (var alertId in alertIds)
        {
            var alert = alertId is { Length: <= 40 } ? await alerts.GetAsync(alertId, cancellationToken) : null; // a JSON null in the list is no stored alert
            if (alert is null)
            {
                return new CustodianError(IncidentErrors.AlertUnknown, 400, "An alert named for the incident does not exist.") { Errors = new Dictionary<string, string[]> { ["alerts"] = ["every alert ID must name a stored alert"] } };
            }

            found.Add(alert);
        }

        if (found.Count > 0)
        {
            scope = scope with
            {
                Clerks = Merge(scope.Clerks, found.Where(a => a.Principal.Kind == PrincipalKind.Clerk).Select(a => a.Principal.Id)),
                Terminals = Merge(scope.Terminals, found.Where(a => a.Principal.Kind == PrincipalKind.Terminal).Select(a => a.Principal.Id)),
                From = scope.From ?? found.Min(a => a.RaisedAt - a.Window),
                To = scope.To ?? found.Max(a => a.RaisedAt).AddMilliseconds(1),
            };
        }

        var now = time.GetUtcNow();
        var id = NewId(now);
        var title = request.Title!.Trim();
        var entry = await AppendAsync(AccessTask.IncidentDeclared, actor, $"incident:{id}", title, cancellationToken);
        var incident = new Incident(id, title, IncidentState.Open, TruncateMs(entry.Entry.Time), actor.Account, alertIds, scope, null, null, null, null, null);
        await store.InsertAsync(incident, Action(entry), cancellationToken);
        Log.Declared(logger, id, actor.Account, scope.Describe());
        return incident;
    }

    /// <summary>
    /// Computes the affected subscribers from the ledger and moves the case to <c>scoped</c>. Allowed from <c>open</c> and
    /// <c>scoped</c> (a re-scope replaces the set). <paramref name="change"/>, when given, is laid over the case's scope
    /// (<see cref="IncidentScope.Over"/>: the parts it names replace the case's). The scope needs at
    /// least one principal or detector and a window that has ended (<c>to</c> ≤ now), so that the run is reproducible; only
    /// entries below the current ledger size are read. Recorded as an <see cref="AccessTask.IncidentScoped"/> entry whose target
    /// is <c>incident:&lt;id&gt; ledger-size=&lt;n&gt; sha256:&lt;set hash&gt;</c> and whose reason gives the counts per grade.
    /// </summary>
    /// <returns>The scoped case; or <see cref="IncidentErrors.NotFound"/>, <see cref="IncidentErrors.StateConflict"/>,
    /// <see cref="ErrorCodes.ValidationFailed"/> or <see cref="IncidentErrors.ScopeIncomplete"/>.</returns>
    /// <exception cref="LedgerUnavailableException">When the run could not be recorded; the case is unchanged.</exception>
    public async Task<Result<Incident>> ScopeAsync(string id, IncidentScope? change, IncidentActor actor, IProgress<ScopeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var got = await GetAsync(id, cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        id = got.Value.Id; // the stored spelling

        var incident = got.Value;
        if (incident.State is not (IncidentState.Open or IncidentState.Scoped))
        {
            return Conflict($"An incident can be scoped only while open or scoped; it is {incident.State.ToName()}.");
        }

        var scope = change?.Over(incident.Scope) ?? incident.Scope;
        var errors = ValidateScope(scope);
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        var now = time.GetUtcNow();
        if (!scope.HasPrincipals)
        {
            return new CustodianError(IncidentErrors.ScopeIncomplete, 400, "Scoping needs at least one clerk, terminal, store or detector; the scope names none.");
        }

        if (scope.From is null || scope.To is null)
        {
            return new CustodianError(IncidentErrors.ScopeIncomplete, 400, "Scoping needs a window with both 'from' and 'to'; the scope lacks at least one of them.");
        }

        if (scope.To > now)
        {
            return new CustodianError(IncidentErrors.ScopeIncomplete, 400, "Scoping needs a window that has ended: its 'to' is after now, so the run would not be reproducible.");
        }

        var principals = await PrincipalsAsync(scope, cancellationToken);
        var size = await reader.GetSizeAsync(cancellationToken);
        var result = await scoper.ScanAsync(principals, scope.From.Value, scope.To.Value, size, Offset, progress, cancellationToken);
        var c = result.Counts;
        var entry = await AppendAsync(
            AccessTask.IncidentScoped,
            actor,
            string.Create(CultureInfo.InvariantCulture, $"incident:{id} ledger-size={size} sha256:{result.SetSha256}"),
            string.Create(CultureInfo.InvariantCulture, $"subscribers={c.Total} rrn-unmasked={c.RrnUnmasked} unmasked={c.Unmasked} masked={c.Masked} token-only={c.TokenOnly} entries={result.EntriesExposing}"),
            cancellationToken);
        var summary = new ScopeSummary(
            size,
            result.EntriesMatched,
            result.EntriesExposing,
            c,
            result.SetSha256,
            CountFields(result, unmasked: false),
            CountFields(result, unmasked: true),
            result.Timeline,
            result.Principals,
            TruncateMs(entry.Entry.Time),
            actor.Account);
        await store.SaveScopeAsync(id, scope, summary, result, Action(entry), cancellationToken);
        Log.Scoped(logger, id, actor.Account, c.Total, c.PersonalData, result.EntriesExposing, result.SetSha256);
        return incident with { State = IncidentState.Scoped, Scope = scope, Summary = summary };
    }

    /// <summary>
    /// Re-runs the recorded scope over the recorded ledger size and compares the set's SHA-256 with the recorded one. Changes
    /// nothing and records nothing (a read of the ledger's own tables).
    /// </summary>
    /// <returns>Both hashes; or <see cref="IncidentErrors.NotFound"/>, or <see cref="IncidentErrors.StateConflict"/> when never scoped.</returns>
    public async Task<Result<ScopeVerification>> VerifyAsync(string id, IProgress<ScopeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var got = await GetAsync(id, cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        id = got.Value.Id; // the stored spelling

        if (got.Value is not { Summary: { } summary, Scope: { From: { } from, To: { } to } })
        {
            return Conflict("The incident has not been scoped.");
        }

        var principals = summary.Principals.Select(p => p.Split(':', 2)).Select(p => (p[0], p[1])).ToList();
        var result = await scoper.ScanAsync(principals, from, to, summary.LedgerSize, Offset, progress, cancellationToken);
        return new ScopeVerification(summary.SetSha256, result.SetSha256);
    }

    /// <summary>
    /// Writes the affected set as CSV of subscriber tokens (never internal IDs or personal values), ascending by token:
    /// <c>token,grade,fields,unmasked,entries,first_utc,last_utc</c> (RFC 4180, CRLF, header row; fields space-separated).
    /// First recorded as an <see cref="AccessTask.IncidentExport"/> entry carrying <paramref name="reason"/>.
    /// </summary>
    /// <returns>Rows written; or <see cref="IncidentErrors.NotFound"/>, <see cref="IncidentErrors.StateConflict"/> (never scoped) or <see cref="IncidentErrors.ReasonRequired"/>.</returns>
    /// <exception cref="LedgerUnavailableException">When the export could not be recorded; nothing is written.</exception>
    public async Task<Result<long>> ExportAsync(string id, string? reason, IncidentActor actor, TextWriter destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(destination);
        var got = await GetAsync(id, cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        id = got.Value.Id; // the stored spelling

        if (got.Value.Summary is null)
        {
            return Conflict("The incident has not been scoped.");
        }

        if (string.IsNullOrWhiteSpace(reason) || reason.Trim().Length > LeafCodec.MaxReasonLength)
        {
            return Reason("reason", LeafCodec.MaxReasonLength);
        }

        if (Classification.FreeText.Check(reason, "reason") is { } personal)
        {
            return personal;
        }

        var rows = new List<string[]>();
        await foreach (var s in store.ReadSubjectsAsync(id, null, cancellationToken))
        {
            rows.Add(
            [
                tokenizer.TokenizeSubscriber(s.Subscriber),
                s.Grade.ToName(),
                s.Fields,
                s.Unmasked,
                s.Entries.ToString(CultureInfo.InvariantCulture),
                Iso(s.FirstMs),
                Iso(s.LastMs),
            ]);
        }

        rows.Sort((a, b) => string.CompareOrdinal(a[0], b[0]));
        var entry = await AppendAsync(AccessTask.IncidentExport, actor, string.Create(CultureInfo.InvariantCulture, $"incident:{id} tokens={rows.Count}"), reason.Trim(), cancellationToken);
        await store.AddActionAsync(id, Action(entry), cancellationToken);
        await using (var csv = CsvWriter.Create(destination, new CsvWriterOptions { Injection = CsvInjection.Escape }, leaveOpen: true))
        {
            await csv.WriteRecordAsync(["token", "grade", "fields", "unmasked", "entries", "first_utc", "last_utc"], cancellationToken);
            foreach (var row in rows)
            {
                await csv.WriteRecordAsync(row, cancellationToken);
            }
        }

        await destination.FlushAsync(cancellationToken);
        Log.Exported(logger, id, actor.Account, rows.Count);
        return rows.Count;
    }

    /// <summary>
    /// Delivers the breach notice to every affected subscriber whose personal data was exposed, on two channels: the portal
    /// inbox (<see cref="Portal.SubscriberInbox"/>, kind <c>incident</c>, reference <c>incident:&lt;id&gt;</c>; Korean and English:
    /// the subscriber's own items followed by the full notice of <see cref="IncidentNotices.Subscribers"/>) and an SMS
    /// (<see cref="IncidentNotices.Sms"/>, in <paramref name="language"/>). Each (subscriber, channel) gets a delivery status;
    /// token-only subscribers get <c>not-required</c> on both. Moves the case to <c>notified</c>. Allowed from <c>scoped</c>, and from
    /// <c>notified</c> to retry failed deliveries (deliveries already made are skipped, so a retry never sends twice). Recorded
    /// as an <see cref="AccessTask.IncidentNotified"/> entry with the counts; the first notification time is kept.
    /// </summary>
    /// <returns>The counts; or <see cref="IncidentErrors.NotFound"/>, <see cref="IncidentErrors.StateConflict"/> or <see cref="IncidentErrors.ReasonRequired"/> (bad facts).</returns>
    /// <exception cref="LedgerUnavailableException">When the notification could not be recorded (deliveries already made keep their status).</exception>
    public async Task<Result<NotifyOutcome>> NotifyAsync(string id, NoticeFacts facts, IncidentActor actor, NoticeLanguage language = NoticeLanguage.Korean, IProgress<ScopeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(actor);
        var got = await GetAsync(id, cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        id = got.Value.Id; // the stored spelling

        var incident = got.Value;
        if (incident.State is not (IncidentState.Scoped or IncidentState.Notified) || incident.Summary is null)
        {
            return Conflict($"Notices can be sent only for a scoped incident (or again, to retry failures, once notified); it is {incident.State.ToName()}.");
        }

        if (IncidentNotices.Validate(facts) is { } invalid)
        {
            return invalid;
        }

        facts = new NoticeFacts(facts.How.Trim(), facts.Measures.Trim(), facts.Contact.Trim());
        var done = (await store.ListDeliveriesAsync(id, cancellationToken))
            .Where(d => d.Status is "sent" or "not-required")
            .Select(d => (d.Subscriber.Value, d.Channel))
            .ToHashSet();
        var fullKo = IncidentNotices.Subscribers(incident, facts, NoticeLanguage.Korean, Offset).Replace("\r", string.Empty, StringComparison.Ordinal);
        var fullEn = IncidentNotices.Subscribers(incident, facts, NoticeLanguage.English, Offset).Replace("\r", string.Empty, StringComparison.Ordinal);
        long sent = 0, failed = 0, notRequired = 0, already = 0, index = 0;
        var total = incident.Summary.Counts.Total;
        progress?.Report(new ScopeProgress(0, total));
        await foreach (var s in store.ReadSubjectsAsync(id, null, cancellationToken))
        {
            progress?.Report(new ScopeProgress(++index, total));
            if (s.Grade == ExposureGrade.TokenOnly)
            {
                notRequired++;
                foreach (var channel in Channels.Where(c => !done.Contains((s.Subscriber.Value, c))))
                {
                    await store.SetDeliveryAsync(id, new NoticeDelivery(s.Subscriber, channel, "not-required", time.GetUtcNow(), null), cancellationToken);
                }

                continue;
            }

            foreach (var channel in Channels)
            {
                if (done.Contains((s.Subscriber.Value, channel)))
                {
                    already++;
                    continue;
                }

                try
                {
                    if (channel == InboxChannel)
                    {
                        var ko = IncidentNotices.Sms(incident, facts, s.Grade, Split(s.Fields), Split(s.Unmasked), NoticeLanguage.Korean, Offset);
                        var en = IncidentNotices.Sms(incident, facts, s.Grade, Split(s.Fields), Split(s.Unmasked), NoticeLanguage.English, Offset);
                        var text = new Portal.NoticeText($"개인정보 유출 통지 {incident.Id}", ko + "\n\n" + fullKo, $"Personal data breach notice {incident.Id}", en + "\n\n" + fullEn);
                        await inbox.DeliverAsync(s.Subscriber, Portal.NoticeKind.Incident, text, $"incident:{incident.Id}", sendSms: false, cancellationToken);
                    }
                    else
                    {
                        await sms.SendAsync(s.Subscriber, SmsKind.Notice, IncidentNotices.Sms(incident, facts, s.Grade, Split(s.Fields), Split(s.Unmasked), language, Offset), cancellationToken);
                    }

                    await store.SetDeliveryAsync(id, new NoticeDelivery(s.Subscriber, channel, "sent", time.GetUtcNow(), null), cancellationToken);
                    sent++;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.DeliveryFailed(logger, id, channel, ex.GetType().Name);
                    await store.SetDeliveryAsync(id, new NoticeDelivery(s.Subscriber, channel, "failed", time.GetUtcNow(), ex.GetType().Name), cancellationToken);
                    failed++;
                }
            }
        }

        var entry = await AppendAsync(
            AccessTask.IncidentNotified,
            actor,
            string.Create(CultureInfo.InvariantCulture, $"incident:{id} sent={sent} failed={failed} not-required={notRequired} already-sent={already}"),
            string.Create(CultureInfo.InvariantCulture, $"how: {facts.How} | measures: {facts.Measures} | contact: {facts.Contact}"),
            cancellationToken);
        await store.SaveNotifiedAsync(id, facts, incident.NotifiedAt ?? TruncateMs(entry.Entry.Time), Action(entry), cancellationToken);
        Log.Notified(logger, id, sent, failed, notRequired);
        return new NotifyOutcome(sent, failed, notRequired, already, entry);
    }

    /// <summary>
    /// Closes the case. Allowed from <c>notified</c>; from <c>open</c> (declared in error); and from <c>scoped</c> only when no
    /// subscriber's personal data was exposed (nobody to notify). Recorded as an <see cref="AccessTask.IncidentClosed"/> entry
    /// with the note as reason.
    /// </summary>
    /// <returns>The closed case; or <see cref="IncidentErrors.NotFound"/>, <see cref="IncidentErrors.StateConflict"/> or <see cref="IncidentErrors.ReasonRequired"/>.</returns>
    /// <exception cref="LedgerUnavailableException">When the closing could not be recorded; the case is unchanged.</exception>
    public async Task<Result<Incident>> CloseAsync(string id, string? note, IncidentActor actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var got = await GetAsync(id, cancellationToken);
        if (!got.IsSuccess)
        {
            return got.Error!;
        }

        id = got.Value.Id; // the stored spelling

        var incident = got.Value;
        var allowed = incident.State switch
        {
            IncidentState.Open or IncidentState.Notified => true,
            IncidentState.Scoped => incident.Summary is { Counts.PersonalData: 0 },
            _ => false,
        };
        if (!allowed)
        {
            return Conflict(incident.State == IncidentState.Scoped
                ? "A scoped incident with affected subscribers must be notified before it is closed (PIPA Art. 34)."
                : $"The incident is {incident.State.ToName()}.");
        }

        if (string.IsNullOrWhiteSpace(note) || note.Trim().Length > LeafCodec.MaxReasonLength)
        {
            return Reason("note", LeafCodec.MaxReasonLength);
        }

        if (Classification.FreeText.Check(note, "note") is { } personal)
        {
            return personal;
        }

        var entry = await AppendAsync(AccessTask.IncidentClosed, actor, $"incident:{id}", note.Trim(), cancellationToken);
        await store.SaveClosedAsync(id, note.Trim(), TruncateMs(entry.Entry.Time), Action(entry), cancellationToken);
        Log.Closed(logger, id, actor.Account);
        return incident with { State = IncidentState.Closed, ClosedAt = TruncateMs(entry.Entry.Time), CloseNote = note.Trim() };
    }

    /// <summary>
    /// The rule of a scope's detectors: each one of the monitor's detector names (<see cref="DetectorCatalog.Names"/>,
    /// the list <c>approvals request --action disable-detector</c> checks its target against, plus <c>distinct-subjects</c>).
    /// </summary>
    public static readonly string DetectorRule = "each must be one of " + string.Join(", ", DetectorCatalog.Names.Order(StringComparer.Ordinal));

    /// <summary>Validation errors of a scope's codes, detector names and window order (field name → rule); empty when fine. A scope being declared may lack principals or a window end; scoping checks completeness.</summary>
    public static Dictionary<string, string[]> ValidateScope(IncidentScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        Check(scope.Clerks, "clerks");
        Check(scope.Terminals, "terminals");
        Check(scope.Stores, "stores");
        Check(scope.Detectors, "detectors");
        if (!errors.ContainsKey("detectors") && !scope.Detectors.All(DetectorCatalog.IsKnown))
        {
            errors["detectors"] = [DetectorRule];
        }

        if (scope.From is { } from && scope.To is { } to && from >= to)
        {
            errors["to"] = ["must be after 'from' (exclusive)"];
        }

        return errors;

        void Check(IReadOnlyList<string>? codes, string field)
        {
            if (codes is null || codes.Count > 100 || codes.Any(c => !Codes.IsValid(c)))
            {
                errors[field] = ["at most 100 codes of " + Codes.Rule];
            }
            else if (codes.Any(Codes.LooksLikePersonalNumber))
            {
                errors[field] = ["each code " + Codes.NotPersonalNumberRule]; // the case's scope is stored and exported for years
            }
        }
    }

    private async Task<List<(string Kind, string Code)>> PrincipalsAsync(IncidentScope scope, CancellationToken cancellationToken)
    {
        var set = new SortedSet<(string Kind, string Code)>(
            scope.Clerks.Select(c => ("clerk", c)).Concat(scope.Terminals.Select(t => ("terminal", t))).Concat(scope.Stores.Select(s => ("store", s))));
        if (scope.Detectors.Count > 0)
        {
            foreach (var alert in await alerts.ListAsync(null, 1_000, cancellationToken))
            {
                if (scope.Detectors.Contains(alert.Detector, StringComparer.Ordinal) && alert.RaisedAt >= scope.From && alert.RaisedAt < scope.To)
                {
                    set.Add((alert.Principal.Kind == PrincipalKind.Clerk ? "clerk" : "terminal", alert.Principal.Id));
                }
            }
        }

        return [.. set];
    }

    private static SortedDictionary<string, long> CountFields(ScopeResult result, bool unmasked)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var s in result.Subjects)
        {
            foreach (var name in IncidentScoper.Names(unmasked ? s.UnmaskedMask : s.FieldMask, result.FieldNames))
            {
                counts[name] = counts.GetValueOrDefault(name) + 1;
            }
        }

        return counts;
    }

    private async Task<CommittedEntry> AppendAsync(AccessTask task, IncidentActor actor, string target, string reason, CancellationToken cancellationToken) =>
        await ledger.AppendAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = task,
                Outcome = AccessOutcome.Allowed,
                Account = actor.Account,
                Role = actor.Role,
                Terminal = actor.Terminal,
                Store = actor.Store,
                SourceIp = actor.SourceIp,
                Target = target,
                Reason = reason.Length > LeafCodec.MaxReasonLength ? reason[..LeafCodec.MaxReasonLength] : reason,
            },
            cancellationToken);

    private static IncidentAction Action(CommittedEntry entry) =>
        new(entry.Sequence, TruncateMs(entry.Entry.Time), entry.Entry.Task.ToName(), entry.Entry.Account ?? "unknown", entry.Entry.Target ?? string.Empty);

    private static IReadOnlyList<string> Merge(IReadOnlyList<string> given, IEnumerable<string> more) => [.. given.Concat(more).Distinct(StringComparer.Ordinal)];

    private static string[] Split(string names) => names.Length == 0 ? [] : names.Split(' ');

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static DateTimeOffset TruncateMs(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());

    private static CustodianError Conflict(string message) => new(IncidentErrors.StateConflict, 409, message);

    private static CustodianError Invalid(Dictionary<string, string[]> errors) =>
        new(ErrorCodes.ValidationFailed, 400, "The incident request is invalid.") { Errors = errors };

    private static CustodianError Reason(string field, int max) =>
        new(IncidentErrors.ReasonRequired, 400, $"A {field} is required (1-{max} characters, recorded in the ledger).") { Errors = new Dictionary<string, string[]> { [field] = [$"required, 1-{max} characters"] } };

    private static string NewId(DateTimeOffset now)
    {
        Span<byte> random = stackalloc byte[6];
        RandomNumberGenerator.Fill(random);
        var suffix = new char[6];
        for (var i = 0; i < 6; i++)
        {
            suffix[i] = Crockford[random[i] & 31];
        }

        return "INC-" + now.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + "-" + new string(suffix);
    }
}
