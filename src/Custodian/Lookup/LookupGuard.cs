using System.Collections.Concurrent;
using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Messaging;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Protection.Masking;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using Custodian.Storage;
using Microsoft.Extensions.Logging;

namespace Custodian.Lookup;

/// <summary>A staff request that passed the gateway: device identity, session and source address.</summary>
/// <param name="Device">The terminal's device-certificate identity.</param>
/// <param name="Session">The staff session bound to that terminal.</param>
/// <param name="SourceIp">Client IP address as text.</param>
public sealed record StaffRequest(DeviceIdentity Device, StaffSession Session, string? SourceIp);

/// <summary>
/// The guard on the lookup path. For every search, view and unmask it checks role, purpose,
/// consent and the monitor's current verdict on the clerk and terminal; then appends the access
/// entry to the ledger, with its signals (<see cref="ReadSignals"/>: computed from clear columns and a keyed pseudonym,
/// never by decrypting); and only then decrypts and masks. No durable entry, no data (fail closed).
/// Search, view and unmask read the subjects' rows as stored (ciphertexts and clear columns) in one statement before the
/// append, take the signals' columns from them, and decrypt them (<see cref="SubscriberVault.Decrypt(SealedSubscriber)"/>)
/// only after it. This is the only component that calls <see cref="SubscriberVault.DecryptAsync"/> or
/// <see cref="SubscriberVault.Decrypt(SealedSubscriber)"/>.
/// </summary>
public sealed class LookupGuard
{
    /// <summary>The <see cref="OneTimeCodes"/> scope of consent codes in the <c>one_time_codes</c> table: <c>consent</c>.</summary>
    public const string ConsentCodeScope = "consent";

    /// <summary>Error code: the stated purpose does not allow showing fields in full (403).</summary>
    public const string PurposeDoesNotAllowUnmask = "purpose-does-not-allow-unmask";

    private static readonly string[] SummaryFields = ["name", "phone", "rate-plan"];
    private static readonly string[] ViewFields = ["name", "rrn", "phone", "address", "rate-plan", "contract-dates"];

    private readonly SubscriberVault _vault;
    private readonly MaskingPolicy _masking;
    private readonly IAccessLedger _ledger;
    private readonly AccessRecorder _recorder;
    private readonly AccessMonitor _monitor;
    private readonly SuspensionRegistry _suspensions;
    private readonly ISmsSender _sms;
    private readonly TimeProvider _time;
    private readonly TimeSpan _monitorCatchUp;
    private readonly ILogger<LookupGuard> _logger;
    private readonly OneTimeCodes _consentCodes;
    private readonly ConsentAttemptBudget _consentBudget;
    private readonly Monitoring.Workers.MonitorWorkerGate? _workers;
    private readonly Gateway.NetworkPolicy? _policy;
    private readonly ReadSignals _signals;
    private readonly HouseholdSignal? _household; // household: the SameHousehold signal (HouseholdSignal.cs)
    private readonly ConcurrentDictionary<string, long> _lastByClerk = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lastByTerminal = new(StringComparer.Ordinal);

    /// <summary>Creates the guard.</summary>
    public LookupGuard(
        SubscriberVault vault,
        MaskingPolicy masking,
        IAccessLedger ledger,
        AccessRecorder recorder,
        AccessMonitor monitor,
        SuspensionRegistry suspensions,
        ISmsSender sms,
        TimeProvider time,
        MonitorOptions monitorOptions,
        ILogger<LookupGuard> logger,
        CustodianDatabase database,
        Access.Staff.SecretProtector secrets,
        ConsentAttemptBudget consentBudget,
        ReadSignals signals,
        Monitoring.Workers.MonitorWorkerGate? workers = null,
        Gateway.NetworkPolicy? policy = null,
        HouseholdSignal? household = null)
    {
        _household = household; // household: the SameHousehold signal (HouseholdSignal.cs)
        _policy = policy; // trust classes per task (docs/access.md §3.3), for every front end: the API and the workstation pages
        _workers = workers; // serve --monitor workers: catch up with the sharded workers instead (docs/events.md, "Monitor workers")
        _vault = vault;
        _signals = signals; // the entry's signals, from clear columns and a keyed pseudonym, before the append (docs/ledger-format.md §1.1)
        _masking = masking;
        _ledger = ledger;
        _recorder = recorder;
        _monitor = monitor;
        _suspensions = suspensions;
        _sms = sms;
        _time = time;
        _logger = logger;
        _monitorCatchUp = monitorOptions.GuardWaitTimeout;
        // Both in the deployment's database, so every API node sees the same codes and budget (docs/web.md, "Consent-code budget").
        _consentCodes = new OneTimeCodes(database, secrets, time, ConsentCodeScope, TimeSpan.FromMinutes(5), maxAttempts: 3);
        _consentBudget = consentBudget; // survives new codes: 3 per code, 10 per clerk and subscriber a day
    }

    /// <summary>Exact-match search by phone number through the blind index; masked summaries.</summary>
    public async Task<Result<SearchResponse>> SearchAsync(StaffRequest request, string? phone, CancellationToken cancellationToken)
    {
        var entry = Template(request, AccessTask.Search, purpose: null);
        var refusal = await PreCheckAsync(request, entry, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        if (string.IsNullOrWhiteSpace(phone))
        {
            return await _recorder.RefuseAsync(entry, Hosting.ProblemResults.Validation("phone", "is required; search is by exact phone number only"), cancellationToken);
        }

        var normalized = PhoneNumbers.NormalizeKorean(phone);
        if (!normalized.IsSuccess)
        {
            return await _recorder.RefuseAsync(entry, normalized.Error!, cancellationToken);
        }

        // One statement finds the rows and reads them as stored (ciphertexts and the clear columns the signals use);
        // nothing is decrypted before the append.
        var rows = await _vault.FindSealedByPhoneAsync(normalized.Value, cancellationToken);
        var ids = new SubscriberId[rows.Count];
        var facts = new SubscriberContractFacts[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            ids[i] = rows[i].Id;
            facts[i] = rows[i].Facts;
        }

        var signalled = await _signals.ApplyAsync(entry with { Subjects = ids, Fields = ids.Length > 0 ? SummaryFields : [] }, _signals.NumberBlock(normalized.Value), facts, cancellationToken);
        var committed = await AppendAsync(request, signalled);
        if (!committed.IsSuccess)
        {
            return committed.Error!;
        }

        var hits = new List<SearchHit>(rows.Count);
        foreach (var row in rows)
        {
            var id = row.Id;
            var record = _vault.Decrypt(row);
            hits.Add(new SearchHit(
                request.Session.AddHandle(id),
                _masking.MaskName(record.Name),
                _masking.MaskPhone(record.Phone),
                record.RatePlan,
                record.HomeStore));
        }

        return new SearchResponse(hits, committed.Value);
    }

    /// <summary>Views one subscriber found by this session's search, masked, for a stated purpose.</summary>
    public async Task<Result<SubscriberView>> ViewAsync(StaffRequest request, string handle, string? purpose, CancellationToken cancellationToken)
    {
        var entry = Template(request, AccessTask.View, purpose);
        var subject = await ResolveAsync(request, entry, handle, purpose, needsUnmask: false, cancellationToken);
        if (!subject.IsSuccess)
        {
            return subject.Error!;
        }

        // Step-up (docs/monitoring.md, "Risk and actions"): while the monitor's risk for the clerk or the terminal
        // calls for it, plain views are refused; consent + unmask (the subscriber present) still work. With monitor
        // workers the risk is the one their aggregate partition stored, read after PreCheck waited for it.
        bool steppedUp;
        try
        {
            steppedUp = await _monitor.StepUpRequiredAsync(request.Session.Principal.Id, request.Device.Terminal, cancellationToken);
        }
        catch (System.Data.Common.DbException)
        {
            return await RefuseNamingAsync(entry with { Subjects = [subject.Value] }, new CustodianError(MonitoringErrorCodes.MonitorBehind, 503, "The monitor's risk could not be checked; try again shortly.", IsTransient: true), cancellationToken);
        }

        if (steppedUp)
        {
            return await RefuseNamingAsync(
                entry with { Subjects = [subject.Value] },
                new CustodianError(MonitoringErrorCodes.StepUpRequired, 403, "Views now need the subscriber's consent: request a consent code and unmask with it, or contact the security office."),
                cancellationToken);
        }

        // The row is read as stored before the append (its clear columns give the signals) and decrypted only after it.
        var row = await _vault.ReadSealedAsync(subject.Value, cancellationToken);
        var committed = await AppendAsync(request, await _signals.ApplyAsync(entry with { Subjects = [subject.Value], Fields = ViewFields }, null, FactsOf(row), cancellationToken));
        if (!committed.IsSuccess)
        {
            return committed.Error!;
        }

        if (row is null)
        {
            return new CustodianError(ErrorCodes.NotFound, 404, "The subscriber no longer exists.");
        }

        var record = _vault.Decrypt(row);

        var masked = _masking.Mask(record);
        return new SubscriberView(
            handle,
            purpose!,
            masked.Name,
            masked.Rrn,
            masked.Phone,
            masked.Address,
            masked.RatePlan,
            masked.ContractStart,
            masked.ContractEnd,
            masked.HomeStore,
            committed.Value);
    }

    /// <summary>Sends a consent code to the subscriber's phone (SMS seam) so that they can approve an unmask in person.</summary>
    public async Task<Result<ConsentIssued>> RequestConsentAsync(StaffRequest request, string handle, string? purpose, CancellationToken cancellationToken)
    {
        var entry = Template(request, AccessTask.ConsentRequest, purpose);
        var subject = await ResolveAsync(request, entry, handle, purpose, needsUnmask: true, cancellationToken);
        if (!subject.IsSuccess)
        {
            return subject.Error!;
        }

        if (await ConsentExhaustedAsync(request, subject.Value, cancellationToken) is { } exhausted)
        {
            return await RefuseNamingAsync(entry with { Subjects = [subject.Value] }, exhausted, cancellationToken);
        }

        var committed = await AppendAsync(request, await _signals.ApplyAsync(entry with { Subjects = [subject.Value] }, null, cancellationToken));
        if (!committed.IsSuccess)
        {
            return committed.Error!;
        }

        var (code, expires) = await _consentCodes.IssueAsync(ConsentKey(request, subject.Value, purpose!), cancellationToken);
        var body = $"[Custodian] 동의 코드 {code}. 매장 {request.Device.Store} 직원이 '{purpose}' 목적으로 개인정보 전체 열람을 요청했습니다. 본인이 매장에 계실 때만 알려 주세요. 5분간 유효.";
        await _sms.SendAsync(subject.Value, SmsKind.ConsentCode, body, cancellationToken);
        return new ConsentIssued(expires, committed.Value);
    }

    /// <summary>Shows fields in full for a purpose that allows it, with the subscriber's consent code.</summary>
    public async Task<Result<UnmaskedView>> UnmaskAsync(StaffRequest request, string handle, UnmaskRequest body, CancellationToken cancellationToken)
    {
        var entry = Template(request, AccessTask.Unmask, body.Purpose);
        var subject = await ResolveAsync(request, entry, handle, body.Purpose, needsUnmask: true, cancellationToken);
        if (!subject.IsSuccess)
        {
            return subject.Error!;
        }

        var fields = body.Fields is { Count: > 0 } ? body.Fields.Distinct(StringComparer.Ordinal).ToArray() : ["rrn"];
        if (fields.Any(f => f is null || !PurposeCatalog.UnmaskableFields.Contains(f)))
        {
            // A JSON null in the list is an unknown field too (FirstOrDefault could not tell it from "none"); it would
            // otherwise reach the ledger's encoder, which refuses nulls, and end as a 500 with the refusal unrecorded.
            return await RefuseNamingAsync(
                entry with { Subjects = [subject.Value] },
                Hosting.ProblemResults.Validation("fields", "each field must be one of rrn, phone, name, address"),
                cancellationToken);
        }

        if (string.IsNullOrWhiteSpace(body.ConsentCode))
        {
            return await RefuseNamingAsync(
                entry with { Subjects = [subject.Value], Fields = fields },
                new CustodianError(ErrorCodes.ConsentRequired, 403, "Showing fields in full needs the subscriber's consent code; request one first."),
                cancellationToken);
        }

        if (await ConsentExhaustedAsync(request, subject.Value, cancellationToken) is { } exhausted)
        {
            // Refused without looking at the code: a guess made now must not be able to succeed.
            return await RefuseNamingAsync(entry with { Subjects = [subject.Value], Fields = fields }, exhausted, cancellationToken);
        }

        var check = await _consentCodes.VerifyAsync(ConsentKey(request, subject.Value, body.Purpose!), body.ConsentCode, cancellationToken);
        if (check is CodeCheck.Invalid or CodeCheck.TooManyAttempts)
        {
            await _consentBudget.RecordWrongAsync(request.Session.Principal.Id, subject.Value, cancellationToken);
        }

        if (check != CodeCheck.Valid)
        {
            var message = check switch
            {
                CodeCheck.Expired => "The consent code has expired; request a new one.",
                CodeCheck.TooManyAttempts => "Too many wrong consent codes; request a new one.",
                _ => "The consent code is wrong or was already used.",
            };
            return await RefuseNamingAsync(
                entry with { Subjects = [subject.Value], Fields = fields },
                new CustodianError(ErrorCodes.ConsentInvalid, 403, message),
                cancellationToken);
        }

        var row = await _vault.ReadSealedAsync(subject.Value, cancellationToken); // as stored; decrypted only after the append
        var committed = await AppendAsync(request, await _signals.ApplyAsync(entry with { Subjects = [subject.Value], Fields = fields, UnmaskedFields = fields }, null, FactsOf(row), cancellationToken));
        if (!committed.IsSuccess)
        {
            return committed.Error!;
        }

        if (row is null)
        {
            return new CustodianError(ErrorCodes.NotFound, 404, "The subscriber no longer exists.");
        }

        var record = _vault.Decrypt(row);

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            values[field] = field switch
            {
                "rrn" => ResidentRegistrationNumbers.FormatWithHyphen(record.Rrn),
                "phone" => PhoneNumbers.FormatNational(record.Phone),
                "name" => record.Name,
                _ => record.Address,
            };
        }

        return new UnmaskedView(handle, body.Purpose!, values, committed.Value);
    }

    /// <summary>Records that a business transaction was completed for a subscriber (the monitor's orphan-lookup detector uses these).</summary>
    public async Task<Result<long>> CompleteServiceAsync(StaffRequest request, string handle, string? purpose, CancellationToken cancellationToken)
    {
        var entry = Template(request, AccessTask.ServiceComplete, purpose);
        var refusal = await PreCheckAsync(request, entry, cancellationToken); // a suspended clerk or terminal writes no entries naming subscribers either
        if (refusal is not null)
        {
            return refusal;
        }

        if (!request.Session.TryResolveHandle(handle, out var id))
        {
            return await _recorder.RefuseAsync(entry, UnknownHandle(), cancellationToken);
        }

        if (!PurposeCatalog.TryGet(purpose, out _))
        {
            return await RefuseNamingAsync(entry with { Subjects = [id] }, UnknownPurpose(purpose), cancellationToken);
        }

        return await AppendAsync(request, await _signals.ApplyAsync(entry with { Subjects = [id] }, null, cancellationToken));
    }

    private async Task<CustodianError?> ConsentExhaustedAsync(StaffRequest request, SubscriberId subject, CancellationToken cancellationToken) =>
        await _consentBudget.RetryAfterAsync(request.Session.Principal.Id, subject, cancellationToken) is { } retry
            ? new CustodianError(
                ErrorCodes.ConsentAttemptsExhausted,
                429,
                $"Too many wrong consent codes for this subscriber ({_consentBudget.MaxWrongAttempts} within {_consentBudget.Window.TotalHours:0} hours); new codes do not reset this. Try again after the time in Retry-After, or ask the security office.")
            {
                RetryAfter = retry,
            }
            : null;

    private static SubscriberContractFacts[] FactsOf(SealedSubscriber? row) => row is null ? [] : [row.Facts];

    private static string ConsentKey(StaffRequest request, SubscriberId subject, string purpose) =>
        $"{request.Session.Principal.Id}|{subject.Value}|{purpose}";

    private static CustodianError UnknownHandle() =>
        new(ErrorCodes.SubscriberHandleUnknown, 404, "The subscriber handle is not one this session obtained from a search.");

    private static CustodianError UnknownPurpose(string? purpose) => string.IsNullOrWhiteSpace(purpose)
        ? new CustodianError(ErrorCodes.PurposeRequired, 400, "A purpose code is required: one of " + string.Join(", ", PurposeCatalog.All.Keys) + ".")
        : new CustodianError(ErrorCodes.PurposeUnknown, 400, "Unknown purpose code; use one of " + string.Join(", ", PurposeCatalog.All.Keys) + ".");

    private AccessEntry Template(StaffRequest request, AccessTask task, string? purpose) => new()
    {
        Time = _time.GetUtcNow(),
        Task = task,
        Outcome = AccessOutcome.Allowed,
        Account = request.Session.Principal.Id,
        Role = request.Session.Principal.Role,
        Terminal = request.Device.Terminal,
        Store = request.Device.Store,
        SourceIp = request.SourceIp,
        Purpose = PurposeCatalog.TryGet(purpose, out _) ? purpose : null,
    };

    private async Task<Result<SubscriberId>> ResolveAsync(StaffRequest request, AccessEntry entry, string handle, string? purpose, bool needsUnmask, CancellationToken cancellationToken)
    {
        var refusal = await PreCheckAsync(request, entry, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        if (!request.Session.TryResolveHandle(handle, out var id))
        {
            return await _recorder.RefuseAsync(entry, UnknownHandle(), cancellationToken);
        }

        if (!PurposeCatalog.TryGet(purpose, out var stated))
        {
            return await RefuseNamingAsync(entry with { Subjects = [id] }, UnknownPurpose(purpose), cancellationToken);
        }

        if (needsUnmask && !stated.AllowsUnmask)
        {
            return await RefuseNamingAsync(
                entry with { Subjects = [id] },
                new CustodianError(PurposeDoesNotAllowUnmask, 403, "This purpose does not allow showing fields in full; use one of " +
                    string.Join(", ", PurposeCatalog.All.Values.Where(p => p.AllowsUnmask).Select(p => p.Code)) + "."),
                cancellationToken);
        }

        return id;
    }

    /// <summary>Role, monitor catch-up and suspension checks shared by every read.</summary>
    private async Task<CustodianError?> PreCheckAsync(StaffRequest request, AccessEntry entry, CancellationToken cancellationToken)
    {
        var principal = request.Session.Principal;
        if (!principal.Role.IsStoreStaff())
        {
            return await _recorder.RefuseAsync(entry, new CustodianError(ErrorCodes.RoleNotPermitted, 403, "Only clerks and store managers read subscriber data."), cancellationToken);
        }

        // The gateway applies TaskClasses to the terminal API's endpoints by name; a page handler (the workstation's
        // ?handler=Unmask) is no named endpoint, so the guard, which every front end calls, applies them as well.
        if (_policy?.CheckTaskClass(request.Device, entry.Task.ToName()) is { } classRefusal)
        {
            return await _recorder.RefuseAsync(entry, classRefusal, cancellationToken);
        }

        // Make "suspended before the next request is served" deterministic: wait until the monitor
        // has seen this clerk's and this terminal's previous reads.
        var last = Math.Max(LastSequence(_lastByClerk, principal.Id), LastSequence(_lastByTerminal, request.Device.Terminal));
        if (_workers is not null
            ? !await _workers.WaitForProcessedAsync(principal.Id, LastSequence(_lastByClerk, principal.Id), request.Device.Terminal, LastSequence(_lastByTerminal, request.Device.Terminal), _monitorCatchUp, cancellationToken)
            : last >= 0 && !await _monitor.WaitForProcessedAsync(last, _monitorCatchUp, cancellationToken))
        {
            return await _recorder.RefuseAsync(entry, new CustodianError(MonitoringErrorCodes.MonitorBehind, 503, "The real-time monitor is behind; try again shortly.", IsTransient: true), cancellationToken);
        }

        bool clerkSuspended, terminalSuspended;
        try
        {
            // Awaits a refresh when the in-memory set is older than a second, so a restore or a
            // suspension written by another process (the CLI) applies to this very request.
            clerkSuspended = await _suspensions.IsSuspendedAsync(PrincipalKind.Clerk, principal.Id, cancellationToken);
            terminalSuspended = await _suspensions.IsSuspendedAsync(PrincipalKind.Terminal, request.Device.Terminal, cancellationToken);
            if (_workers is not null)
            {
                // Suspensions come from other processes (the workers): read them from the shared storage, not the cached set.
                clerkSuspended = clerkSuspended || await _suspensions.GetActiveAsync(new Principal(PrincipalKind.Clerk, principal.Id), cancellationToken) is not null;
                terminalSuspended = terminalSuspended || await _suspensions.GetActiveAsync(new Principal(PrincipalKind.Terminal, request.Device.Terminal), cancellationToken) is not null;
            }
        }
        catch (System.Data.Common.DbException)
        {
            return await _recorder.RefuseAsync(entry, new CustodianError(MonitoringErrorCodes.MonitorBehind, 503, "Suspensions could not be checked; try again shortly.", IsTransient: true), cancellationToken);
        }

        if (clerkSuspended)
        {
            return await _recorder.RefuseAsync(entry, new CustodianError(ErrorCodes.ClerkSuspended, 403, "This account is suspended pending a security review; contact the security office."), cancellationToken);
        }

        if (terminalSuspended)
        {
            return await _recorder.RefuseAsync(entry, new CustodianError(ErrorCodes.TerminalSuspended, 403, "This terminal is suspended pending a security review; contact the security office."), cancellationToken);
        }

        return null;
    }

    /// <summary>Records a refusal that names subjects, with the signals of those subjects (without them when the columns cannot be read).</summary>
    private async Task<CustodianError> RefuseNamingAsync(AccessEntry entry, CustodianError error, CancellationToken cancellationToken) =>
        await _recorder.RefuseAsync(await _signals.ApplyToRefusalAsync(entry, cancellationToken), error, cancellationToken);

    private static long LastSequence(ConcurrentDictionary<string, long> last, string key) => last.TryGetValue(key, out var seq) ? seq : -1;

    private async Task<Result<long>> AppendAsync(StaffRequest request, AccessEntry entry)
    {
        if (_household is not null) // household: the SameHousehold signal before the append (HouseholdSignal.cs)
        {
            var marked = await _household.ApplyAsync(entry);
            if (!marked.IsSuccess)
            {
                return marked.Error!;
            }

            entry = marked.Value;
        }

        CommittedEntry committed;
        try
        {
            // Not cancelled by the client going away: once queued, the entry is committed anyway, and waiting for that
            // (one group commit) spares each read a cancellable wrapper task and a registration on the request's token.
            committed = await _ledger.AppendAsync(entry, CancellationToken.None);
        }
        catch (LedgerUnavailableException ex)
        {
            Hosting.Log.LedgerFailed(_logger, ex);
            return new CustodianError(ErrorCodes.LedgerUnavailable, 503, "The access ledger could not record this read, so it was refused. Try again shortly.", IsTransient: true);
        }

        Remember(_lastByClerk, request.Session.Principal.Id, committed.Sequence);
        Remember(_lastByTerminal, request.Device.Terminal, committed.Sequence);
        return committed.Sequence;
    }

    private static void Remember(ConcurrentDictionary<string, long> last, string key, long sequence) =>
        last.AddOrUpdate(key, static (_, s) => s, static (_, old, s) => Math.Max(old, s), sequence);
}
