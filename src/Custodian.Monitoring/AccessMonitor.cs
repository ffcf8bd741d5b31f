using System.Globalization;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring.Detection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Custodian.Monitoring;

/// <summary>
/// The real-time monitor: a hosted service that consumes committed access-ledger entries from
/// <see cref="IAccessEventStream"/> in sequence order, feeds allowed reads of personal data
/// (<see cref="AccessTasks.ReadsPersonalData"/>) to the <see cref="DistinctSubjectsDetector"/>, and on a breach
/// raises ONE alert, suspends the clerk AND the terminal of the breaching entry, and appends
/// <see cref="AccessTask.AlertRaised"/> and <see cref="AccessTask.Suspended"/> entries (account <c>monitor</c>).
/// </summary>
/// <remarks>
/// <para>
/// On start it subscribes to the stream, loads the suspended set, and rebuilds the detector by replaying the ledger
/// from now − the largest window: <c>suspended</c> ledger entries latch their principal (no duplicate alert),
/// <c>restored</c> entries clear it, and a breach found in the replay that no suspension answered (a crash between
/// the read and the monitor) is acted on once replay ends. Until then <see cref="ProcessedSequence"/> stays −1.
/// </para>
/// <para>
/// "Suspended before the next request is served": the host's guard, before serving a principal's read, awaits
/// <see cref="WaitForProcessedAsync"/> with the sequence of that principal's previous entry and then checks
/// <see cref="SuspensionRegistry.IsSuspended(PrincipalKind, string)"/>. The monitor advances
/// <see cref="ProcessedSequence"/> past an entry only after the suspensions it caused are in the registry.
/// </para>
/// <para>
/// <c>suspended</c>/<c>restored</c> ledger entries name their principal in <see cref="AccessEntry.Target"/> as
/// <see cref="Principal.ToString"/> (<c>clerk:C0042</c>, <c>terminal:counter-1</c>); officers' manual suspensions
/// and restores recorded by the host or CLI must use the same form so that replay honours them. A principal
/// whose suspension is lifted by another process is forgotten by the detector at its next entry.
/// </para>
/// <para>Thread-safe: one loop processes entries; <see cref="RestoreAsync"/> and the queries may be called from any thread.</para>
/// </remarks>
public sealed class AccessMonitor : BackgroundService
{
    /// <summary>The account the monitor's own ledger entries carry.</summary>
    public const string MonitorAccount = "monitor";

    /// <summary>Name of the monitor's subscription to the event stream.</summary>
    public const string SubscriptionName = "monitor";

    private const int MaxReasonLength = HardLimitBreaches.MaxReasonLength;
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);

    private readonly IAccessEventStream _events;
    private readonly IAccessLedger _ledger;
    private readonly IAccessLedgerReader _reader;
    private readonly AlertStore _alerts;
    private readonly SuspensionRegistry _suspensions;
    private readonly DistinctSubjectsDetector _detector;
    private readonly MonitorEngine? _engine;
    private readonly BaselineDayStore _baselineDays;
    private readonly BaselineDetector? _baseline;
    private readonly List<BaselineDay> _unwrittenDays = []; // baseline days (closed, and open ones' snapshots) not yet written, in the order taken; under _gate
    private bool _baselineWriterRunning; // under _gate
    private Task _baselineWriter = Task.CompletedTask; // under _gate
    private ITimer? _openDayTimer; // stores the changed open days every DetectionOptions.BaselineOpenDayInterval once the replay is done
    private ITimer? _quietTimer; // advances the engine's time-driven detectors when no entry does (MonitorEngine.AdvanceIfQuiet)
    private readonly SemaphoreSlim _acting = new(1, 1); // one caller at a time acts on the engine's decisions: the processing loop or the quiet timer
    private readonly Workers.RiskStandingStore? _storedStanding;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    private readonly Lock _gate = new(); // guards _detector and _pending
    private readonly Dictionary<Principal, PendingBreach> _pending = [];
    private readonly Dictionary<Principal, (MonitorDecision Decision, AccessEntry Entry)> _replayDecisions = []; // under _gate: the replay's last decision per finding principal not yet answered in the ledger
    private readonly Lock _waitGate = new();
    private readonly PriorityQueue<TaskCompletionSource<bool>, long> _waiters = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IAccessEventSubscription? _subscription;
    private long _processed = -1;
    private long _received = -1; // the highest sequence the processing loop has taken from the stream (in hand until _processed reaches it)
    private int _waiterCount;
    private bool _stopped;
    private long _lastPruneMs;

    /// <summary>Creates the monitor; it does nothing until started as a hosted service.</summary>
    /// <param name="events">The stream of committed entries.</param>
    /// <param name="ledger">Where the monitor appends its alert, suspension and restore entries.</param>
    /// <param name="reader">Read side of the ledger, for the replay on start.</param>
    /// <param name="alerts">Alert storage.</param>
    /// <param name="suspensions">Suspension storage and the guard's fast check.</param>
    /// <param name="detector">The detector (the monitor becomes its only user).</param>
    /// <param name="time">Clock for the replay start, timeouts and the monitor's own entries.</param>
    /// <param name="logger">Logger (<c>[LoggerMessage]</c> catalog, event IDs 4000–4099).</param>
    public AccessMonitor(
        IAccessEventStream events,
        IAccessLedger ledger,
        IAccessLedgerReader reader,
        AlertStore alerts,
        SuspensionRegistry suspensions,
        DistinctSubjectsDetector detector,
        TimeProvider time,
        ILogger<AccessMonitor> logger)
        : this(events, ledger, reader, alerts, suspensions, detector, null, time, logger)
    {
    }

    /// <summary>
    /// Creates the monitor with the hard limits of <paramref name="detector"/> AND the detectors of
    /// <paramref name="engine"/> (baseline, open lookups, timing, enumeration, identity, watch list, collusion; see
    /// docs/monitoring.md). The engine's decisions are acted on like breaches: an alert, and for step-up a
    /// <see cref="AccessTask.SteppedUp"/> entry (the guard then refuses plain views, see <see cref="CurrentAction"/>),
    /// for suspend the clerk and terminal suspended — all before <see cref="ProcessedSequence"/> moves past the entry.
    /// </summary>
    /// <param name="events">The stream of committed entries.</param>
    /// <param name="ledger">Where the monitor appends its alert, suspension and restore entries.</param>
    /// <param name="reader">Read side of the ledger, for the replay on start.</param>
    /// <param name="alerts">Alert storage.</param>
    /// <param name="suspensions">Suspension storage and the guard's fast check.</param>
    /// <param name="detector">The hard-limit detector (the monitor becomes its only user).</param>
    /// <param name="engine">The detection engine WITHOUT hard limits (<see cref="MonitorEngine.CreateDefault"/> with no hard limits), or null for hard limits only.</param>
    /// <param name="time">Clock for the replay start, timeouts and the monitor's own entries.</param>
    /// <param name="logger">Logger (<c>[LoggerMessage]</c> catalogs, event IDs 4000–4099 and 5000–5099).</param>
    public AccessMonitor(
        IAccessEventStream events,
        IAccessLedger ledger,
        IAccessLedgerReader reader,
        AlertStore alerts,
        SuspensionRegistry suspensions,
        DistinctSubjectsDetector detector,
        MonitorEngine? engine,
        TimeProvider time,
        ILogger<AccessMonitor> logger)
        : this(events, ledger, reader, alerts, suspensions, detector, engine, null, time, logger)
    {
    }

    /// <summary>
    /// Creates the monitor of an API node whose detection runs in monitor workers (<c>serve --monitor workers</c>;
    /// docs/events.md, "Monitor workers"): as the constructor with an engine, and <see cref="CurrentStandingAsync"/> reads
    /// the risk the workers' aggregate partition stored in <paramref name="storedStanding"/> instead of the local engine's
    /// (which does not run); <see cref="RestoreAsync"/> also clears the stored risk.
    /// </summary>
    /// <param name="events">The stream of committed entries.</param>
    /// <param name="ledger">Where the monitor appends its alert, suspension and restore entries.</param>
    /// <param name="reader">Read side of the ledger, for the replay on start.</param>
    /// <param name="alerts">Alert storage.</param>
    /// <param name="suspensions">Suspension storage and the guard's fast check.</param>
    /// <param name="detector">The hard-limit detector (the monitor becomes its only user).</param>
    /// <param name="engine">The detection engine WITHOUT hard limits, or null for hard limits only.</param>
    /// <param name="storedStanding">The workers' stored risk, or null to answer from <paramref name="engine"/>.</param>
    /// <param name="time">Clock for the replay start, timeouts and the monitor's own entries.</param>
    /// <param name="logger">Logger (<c>[LoggerMessage]</c> catalogs, event IDs 4000–4099 and 5000–5099).</param>
    public AccessMonitor(
        IAccessEventStream events,
        IAccessLedger ledger,
        IAccessLedgerReader reader,
        AlertStore alerts,
        SuspensionRegistry suspensions,
        DistinctSubjectsDetector detector,
        MonitorEngine? engine,
        Workers.RiskStandingStore? storedStanding,
        TimeProvider time,
        ILogger<AccessMonitor> logger)
    {
        _engine = engine;
        _storedStanding = storedStanding;
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
        _reader = reader ?? throw new ArgumentNullException(nameof(reader));
        _alerts = alerts ?? throw new ArgumentNullException(nameof(alerts));
        _baselineDays = new BaselineDayStore(alerts.Database);
        _baseline = engine?.Baseline;
        _suspensions = suspensions ?? throw new ArgumentNullException(nameof(suspensions));
        _detector = detector ?? throw new ArgumentNullException(nameof(detector));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>
    /// Highest ledger sequence the monitor has fully processed (detector updated, resulting suspensions in the
    /// registry); −1 until the replay on start has finished.
    /// </summary>
    public long ProcessedSequence => Volatile.Read(ref _processed);

    /// <summary>Completes when the replay on start has finished and the monitor consumes the live stream.</summary>
    public Task Ready => _ready.Task;

    /// <summary>
    /// Waits until <see cref="ProcessedSequence"/> ≥ <paramref name="sequence"/>. Completes synchronously without
    /// allocating when it already is; otherwise parks on a completion that the processing loop signals (no polling).
    /// </summary>
    /// <param name="sequence">The ledger sequence to wait for; a negative value (no previous entry) returns true at once.</param>
    /// <param name="timeout">Longest wait (measured with the monitor's <see cref="TimeProvider"/>), or <see cref="Timeout.InfiniteTimeSpan"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>True when processed; false on timeout or when the monitor has stopped — the guard must then refuse the
    /// read (<see cref="MonitoringErrorCodes.MonitorBehind"/>, 503, transient).</returns>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled.</exception>
    public ValueTask<bool> WaitForProcessedAsync(long sequence, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (sequence < 0 || Volatile.Read(ref _processed) >= sequence)
        {
            return ValueTask.FromResult(true);
        }

        return timeout == TimeSpan.Zero ? ValueTask.FromResult(false) : WaitSlowAsync(sequence, timeout, cancellationToken);
    }

    /// <summary>
    /// Restores a suspended clerk or terminal after an officer's review: appends an <see cref="AccessTask.Restored"/>
    /// entry (account = <paramref name="officer"/>, target = the principal) FIRST (no record, no restore), lifts the
    /// suspension, sets the principal's <c>open</c>/<c>acknowledged</c> alerts to <c>restored</c>, and clears its
    /// window state (the officer judged its past activity legitimate). Works whether or not the monitor is running.
    /// </summary>
    /// <param name="kind">Clerk or terminal.</param>
    /// <param name="id">Its code.</param>
    /// <param name="officer">The officer's account code.</param>
    /// <param name="reason">Why, 1–500 characters, never personal data.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>True when a suspension was lifted; false when the principal was not suspended (nothing changes).</returns>
    /// <exception cref="ArgumentException">When a code is malformed or the reason is empty or too long.</exception>
    /// <exception cref="LedgerUnavailableException">When the restore could not be recorded; nothing was lifted.</exception>
    public async Task<bool> RestoreAsync(PrincipalKind kind, string id, string officer, string reason, CancellationToken cancellationToken = default)
    {
        var principal = Principal.Create(kind, id);
        Codes.Require(officer, "officer");
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
        {
            throw new ArgumentException($"The reason must be 1-{MaxReasonLength} characters.", nameof(reason));
        }

        var active = await _suspensions.GetActiveAsync(principal, cancellationToken);
        if (active is null && !_suspensions.IsSuspended(principal))
        {
            return false;
        }

        await _ledger.AppendAsync(
            new AccessEntry
            {
                Time = _time.GetUtcNow(),
                Task = AccessTask.Restored,
                Outcome = AccessOutcome.Allowed,
                Account = officer,
                Target = principal.ToString(),
                Reason = reason,
            },
            cancellationToken);

        var lifted = await _suspensions.LiftAsync(kind, principal.Id, officer, reason, cancellationToken);
        if (_storedStanding is not null)
        {
            await _storedStanding.ClearAsync(principal, cancellationToken); // the aggregate partition forgets it too when it reaches the restored entry
        }

        var restoredAlerts = await _alerts.MarkRestoredAsync(principal, officer, reason, cancellationToken);
        lock (_gate)
        {
            _detector.Reset(principal);
            _engine?.Restore(principal);
            _pending.Remove(principal);
        }

        var kindName = kind.ToName();
        Log.PrincipalRestored(_logger, kindName, principal.Id, officer, restoredAlerts);
        return lifted || active is not null;
    }

    /// <summary>
    /// The principal's current distinct-subscriber counts per window (shortest first) with their limits — for the
    /// console and the guard's risk view. Zero counts for an unknown principal.
    /// </summary>
    public IReadOnlyList<WindowCount> GetCounts(PrincipalKind kind, string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (_gate)
        {
            return _detector.GetCounts(new Principal(kind, id), _time.GetUtcNow());
        }
    }

    /// <summary>
    /// An officer's review of an alert: <c>acknowledged</c>, <c>false-positive</c> or <c>confirmed</c>. The decision is
    /// appended to the ledger FIRST (<see cref="AccessTask.AlertReviewed"/>, account = officer, target = alert id,
    /// reason = <c>&lt;state&gt;: &lt;note&gt;</c>) — no record, no change — then stored (<see cref="AlertStore.SetStateAsync"/>)
    /// only if the alert is still in the state checked here (compare-and-set). When another decision (another officer's
    /// review, a restore) changed it in between, nothing is stored and the answer is 409
    /// <see cref="MonitoringErrorCodes.AlertStateConflict"/>: the allowed entry is already written, so the caller records
    /// the refusal as a denied entry after it (the officer API and console do, through <c>AlertActionRefusals</c>), as a
    /// four-eyes decision lost to another officer is (docs/monitoring.md, "Two officers at once").
    /// A confirmed alert leaves suspensions as they are; restoring is <see cref="RestoreAsync"/>.
    /// </summary>
    /// <param name="id">The alert's identifier.</param>
    /// <param name="state">The new state.</param>
    /// <param name="officer">The officer's account code.</param>
    /// <param name="note">Optional note (≤ 500 characters, never personal data).</param>
    /// <param name="cancellationToken">Cancels before the ledger append.</param>
    /// <returns>The updated alert, or the errors of <see cref="AlertStore.SetStateAsync"/>, or <c>ledger-unavailable</c> (503).</returns>
    public async Task<Custodian.Problems.Result<Alert>> ReviewAlertAsync(string id, AlertState state, string officer, string? note, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var current = await _alerts.GetAsync(id, cancellationToken);
        if (current is null || current.State.IsFinal() || !Codes.IsValid(officer) || note is { Length: > AlertStore.MaxNoteLength }
            || Classification.FreeText.Check(note, "note") is not null // a bidi control or personal data never reaches the ledger's reason
            || state is not (AlertState.Acknowledged or AlertState.FalsePositive or AlertState.Confirmed))
        {
            return await _alerts.SetStateAsync(id, state, officer, note, cancellationToken: cancellationToken); // the store names the rule broken
        }

        try
        {
            await _ledger.AppendAsync(
                new AccessEntry
                {
                    Time = _time.GetUtcNow(),
                    Task = AccessTask.AlertReviewed,
                    Outcome = AccessOutcome.Allowed,
                    Account = officer,
                    Store = current.Store,
                    Target = current.Id,
                    Reason = Truncate(note is null ? state.ToName() : state.ToName() + ": " + note),
                },
                cancellationToken);
        }
        catch (LedgerUnavailableException)
        {
            return new Custodian.Problems.CustodianError(Custodian.Problems.ErrorCodes.LedgerUnavailable, 503, "The access ledger could not record the review, so nothing changed. Try again shortly.", IsTransient: true);
        }

        var result = await _alerts.SetStateAsync(id, state, officer, note, expected: current.State, cancellationToken); // refused if the state checked above changed meanwhile
        if (result.IsSuccess)
        {
            var stateName = state.ToName();
            DetectionLog.AlertReviewed(_logger, id, stateName, officer);
        }

        return result;
    }

    /// <summary>
    /// What the detection engine's policy currently applies to the principal: <see cref="MonitorAction.StepUp"/> means
    /// the guard must refuse plain views (<see cref="MonitoringErrorCodes.StepUpRequired"/>) and serve only reads the
    /// subscriber consented to; <see cref="MonitorAction.Suspend"/> is also reflected in the <see cref="SuspensionRegistry"/>,
    /// which stays the authority on suspension. <see cref="MonitorAction.None"/> without an engine. A lock and a few
    /// dictionary lookups: no I/O, no allocation.
    /// </summary>
    public MonitorAction CurrentAction(PrincipalKind kind, string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (_engine is null)
        {
            return MonitorAction.None;
        }

        lock (_gate)
        {
            return _engine.CurrentAction(new Principal(kind, id), _time.GetUtcNow());
        }
    }

    /// <summary>
    /// The principal's risk and the action it calls for, as the guard and the console use them: from the local engine
    /// (<see cref="CurrentRisk"/>, <see cref="CurrentAction"/>; synchronous, no I/O) in embedded mode, or with
    /// <c>serve --monitor workers</c> from the risk the workers' aggregate partition stored (one point query at this
    /// monitor's clock; docs/events.md, "Monitor workers").
    /// </summary>
    /// <param name="kind">Clerk or terminal.</param>
    /// <param name="id">Its code.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The risk (0–100) and action; <see cref="RiskStanding.None"/> when nothing is known.</returns>
    /// <exception cref="System.Data.Common.DbException">In workers mode, when the storage fails.</exception>
    public ValueTask<RiskStanding> CurrentStandingAsync(PrincipalKind kind, string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        return _storedStanding is null
            ? ValueTask.FromResult(new RiskStanding(CurrentRisk(kind, id), CurrentAction(kind, id)))
            : new ValueTask<RiskStanding>(_storedStanding.GetAsync(new Principal(kind, id), cancellationToken));
    }

    /// <summary>
    /// Whether the action for the clerk or for the terminal is at least <see cref="MonitorAction.StepUp"/> (the guard then
    /// refuses plain views; docs/monitoring.md, "Risk and actions"): the same answer as
    /// <see cref="CurrentStandingAsync"/>'s action for each, without computing the risk figures the check does not use.
    /// Embedded: one lock and the engine's action for each principal at one reading of the clock (no I/O). With
    /// <c>serve --monitor workers</c>: the stored standing of the clerk, then of the terminal when the clerk's does not call for it.
    /// </summary>
    /// <param name="clerk">The clerk's account code.</param>
    /// <param name="terminal">The terminal's code.</param>
    /// <param name="cancellationToken">Cancels the read (workers mode).</param>
    /// <returns>True when either calls for step-up or more; false without an engine.</returns>
    /// <exception cref="System.Data.Common.DbException">In workers mode, when the storage fails.</exception>
    public async ValueTask<bool> StepUpRequiredAsync(string clerk, string terminal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clerk);
        ArgumentNullException.ThrowIfNull(terminal);
        if (_storedStanding is not null)
        {
            return (await _storedStanding.GetAsync(new Principal(PrincipalKind.Clerk, clerk), cancellationToken)).Action >= MonitorAction.StepUp
                || (await _storedStanding.GetAsync(new Principal(PrincipalKind.Terminal, terminal), cancellationToken)).Action >= MonitorAction.StepUp;
        }

        if (_engine is null)
        {
            return false;
        }

        lock (_gate)
        {
            var now = _time.GetUtcNow();
            return _engine.CurrentAction(new Principal(PrincipalKind.Clerk, clerk), now) >= MonitorAction.StepUp
                || _engine.CurrentAction(new Principal(PrincipalKind.Terminal, terminal), now) >= MonitorAction.StepUp;
        }
    }

    /// <summary>The principal's combined risk (0–100) from the detection engine; 0 without one.</summary>
    public int CurrentRisk(PrincipalKind kind, string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (_engine is null)
        {
            return 0;
        }

        lock (_gate)
        {
            return _engine.CurrentRisk(new Principal(kind, id), _time.GetUtcNow());
        }
    }

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribe before replaying so nothing committed in between is missed; duplicates are skipped by sequence.
        _subscription ??= _events.Subscribe(SubscriptionName);
        await _suspensions.RefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscription = _subscription ?? throw new InvalidOperationException("The monitor must be started with StartAsync.");
        try
        {
            await ReplayAsync(stoppingToken);
            StartOpenDayTimer();
            StartQuietTimer();
            _ready.TrySetResult();
            var channel = subscription.Reader;
            while (await channel.WaitToReadAsync(stoppingToken))
            {
                while (true)
                {
                    // Marked in hand before it leaves the stream (peeked), so that a quiet tick always sees it in one place or
                    // the other (AdvanceIfQuietAsync looks at the stream first).
                    if (channel.TryPeek(out var next))
                    {
                        Volatile.Write(ref _received, next.Sequence);
                    }

                    if (!channel.TryRead(out var committed))
                    {
                        break;
                    }

                    Volatile.Write(ref _received, committed.Sequence);
                    if (committed.Sequence <= Volatile.Read(ref _processed))
                    {
                        continue; // already replayed
                    }

                    try
                    {
                        await ProcessAsync(committed, replaying: false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        Log.EntryProcessingFailed(_logger, committed.Sequence, ex);
                    }

                    SetProcessed(committed.Sequence);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
        finally
        {
            if (_quietTimer is { } quiet)
            {
                await quiet.DisposeAsync();
            }

            await StopBaselineWriterAsync(); // the days closed, and the open days changed, are stored before the monitor reports stopped
            subscription.Dispose();
            _subscription = null;
            _ready.TrySetCanceled(CancellationToken.None);
            Stop();
            Log.MonitorStopped(_logger, ProcessedSequence);
        }
    }

    private async Task ReplayAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var size = await _reader.GetSizeAsync(cancellationToken);
        var now = _time.GetUtcNow();
        var hardLimitsSince = now - _detector.LargestWindow;
        var since = _engine is { History: var history } && history > _detector.LargestWindow ? now - history : hardLimitsSince;
        var last = size - 1;
        var replayed = 0;
        var seeded = await SeedBaselineAsync(since, cancellationToken);
        await foreach (var committed in _reader.ReadSinceAsync(since, cancellationToken))
        {
            // The engine's detectors get everything since their History (7 days); the hard limits only their largest
            // window, as before: an older breach was answered (or not) then and is not acted on again.
            await ProcessAsync(committed, replaying: true, hardLimits: committed.Entry.Time >= hardLimitsSince || !committed.Entry.Task.ReadsPersonalData());
            last = Math.Max(last, committed.Sequence);
            replayed++;
        }

        List<PendingBreach> missed;
        lock (_gate)
        {
            missed = [.. _pending.Values.OrderBy(p => p.Breach.Sequence)];
            _pending.Clear();
        }

        var acted = 0;
        foreach (var pending in missed)
        {
            if (!_suspensions.IsSuspended(pending.Breach.Principal))
            {
                await ActOnBreachAsync(pending.Breach, pending.Alert, pending.Entry);
                acted++;
            }
        }

        var missedDecisions = await ActOnMissedDecisionsAsync(cancellationToken);
        await StoreClosedDaysAsync(); // the days the replay closed: rewritten with the same counts, or written if a crash lost them
        SetProcessed(last);
        int tracked;
        lock (_gate)
        {
            tracked = _detector.TrackedPrincipals;
        }

        var elapsedMs = (long)_time.GetElapsedTime(started).TotalMilliseconds;
        Log.MonitorStarted(_logger, replayed, (long)(now - since).TotalHours, elapsedMs, seeded, last, tracked, acted, missedDecisions);
    }

    // Caller holds _gate; replaying. Keeps the engine's decisions for the end of the replay (the last per finding principal),
    // and forgets a principal's decision when a later step-up, suspension or restoration of it is replayed (it was answered).
    private void KeepReplayDecisions(IReadOnlyList<MonitorDecision> found, AccessEntry entry)
    {
        if (entry.Task is AccessTask.SteppedUp or AccessTask.Suspended or AccessTask.Restored
            && entry.Outcome == AccessOutcome.Allowed
            && Principal.TryParse(entry.Target, out var target))
        {
            _replayDecisions.Remove(target.Value);
        }

        foreach (var decision in found)
        {
            _replayDecisions[decision.Finding.Principal] = (decision, entry);
        }
    }

    // After the replay: a decision the replay made that nothing in the ledger or the alert store answers (the process
    // stopped between the finding and acting on it, or the detection settings changed between runs) is acted on now when
    // it is still in force, i.e. the principal's standing now still carries its action (a suspension always does; a
    // step-up or alert only while the risk behind it lasts), so that nobody stays refused with no alert to review. An
    // alert of the same detector about the same principal whose evidence reaches the finding's last evidence answers it
    // when raised at the decision's action or higher (MonitorDecision.IsAnsweredBy): a rise is acted on.
    // Returns how many were acted on.
    private async Task<int> ActOnMissedDecisionsAsync(CancellationToken cancellationToken)
    {
        List<(MonitorDecision Decision, AccessEntry Entry)> kept;
        lock (_gate)
        {
            kept = [.. _replayDecisions.Values.OrderBy(d => d.Decision.Sequence)];
            _replayDecisions.Clear();
        }

        var acted = 0;
        foreach (var (decision, entry) in kept)
        {
            var principal = decision.Finding.Principal;
            MonitorAction standing;
            lock (_gate)
            {
                standing = _engine!.CurrentAction(principal, _time.GetUtcNow());
            }

            if (standing < decision.Action || _suspensions.IsSuspended(principal))
            {
                continue;
            }

            IReadOnlyList<Alert> alerts;
            try
            {
                alerts = await _alerts.ListForPrincipalAsync(principal, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                alerts = []; // unknown: acted on (at worst a second alert), never left unanswered
                Log.AlertStoreFailed(_logger, principal.Kind.ToName(), principal.Id, ex);
            }

            // The finding's own evidence, not the deciding entry: a quiet tick decides with no entry (sequence -1), and the
            // replay decides the same finding at the next entry. An alert raised at a lower action does not answer a rise.
            if (alerts.Any(decision.IsAnsweredBy))
            {
                continue;
            }

            await ActOnDecisionsAsync([decision], entry);
            acted++;
        }

        return acted;
    }

    // Restores the baseline's stored days before the first replayed day (BaselineDayStore) and has it record the days
    // it closes from now on; returns how many days were restored. A failed read leaves the baseline to the replay alone.
    private async Task<int> SeedBaselineAsync(DateTimeOffset replayFrom, CancellationToken cancellationToken)
    {
        if (_baseline is not { } baseline)
        {
            return 0;
        }

        var firstDay = baseline.FirstReplayedDay(replayFrom);
        IReadOnlyList<BaselineDay> days;
        try
        {
            days = await _baselineDays.ReadBeforeAsync(firstDay, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.BaselineDaysUnavailable(_logger, ex.GetType().Name, ex);
            days = [];
        }

        lock (_gate)
        {
            baseline.SeedThrough(firstDay);
            foreach (var day in days)
            {
                baseline.Seed(day);
            }

            baseline.RecordsClosedDays = true;
            baseline.RecordsOpenDays = true;
        }

        return days.Count;
    }

    // After the replay: every BaselineOpenDayInterval, the open days whose counts changed are handed to the writer (with
    // any closed days waiting), so that a principal's last active day is stored before it closes (docs/monitoring.md,
    // "Restart"). The processing loop never waits for it.
    private void StartOpenDayTimer()
    {
        if (_baseline is null || _engine is null)
        {
            return;
        }

        var interval = _engine.Options.BaselineOpenDayInterval;
        _openDayTimer = _time.CreateTimer(static state => ((AccessMonitor)state!).StoreChangedOpenDays(), this, interval, interval);
    }

    private void StoreChangedOpenDays()
    {
        if (_baseline is not { } baseline)
        {
            return;
        }

        lock (_gate)
        {
            if (ClaimBaselineWriter(baseline, openDays: true))
            {
                StartBaselineWriter();
            }
        }
    }

    // At the stop: no more ticks; when the replay was done (so the open days are whole, not half-replayed), the open days
    // changed since the last tick are stored too; then waits for the writer.
    private async Task StopBaselineWriterAsync()
    {
        if (_openDayTimer is { } timer)
        {
            _openDayTimer = null;
            await timer.DisposeAsync();
            StoreChangedOpenDays();
        }

        Task writer;
        lock (_gate)
        {
            writer = _baselineWriter;
        }

        await writer;
    }

    // Under _gate, after a successful ClaimBaselineWriter: runs the writer beside the caller.
    private void StartBaselineWriter() => _baselineWriter = Task.Run(WriteBaselineDaysAsync, CancellationToken.None);

    // Stores the baseline days closed since the last call (at the end of the replay: awaited before the monitor is ready).
    private async Task StoreClosedDaysAsync()
    {
        if (_baseline is not { } baseline)
        {
            return;
        }

        bool write;
        lock (_gate)
        {
            write = ClaimBaselineWriter(baseline);
        }

        if (write)
        {
            await WriteBaselineDaysAsync();
        }
    }

    // Under _gate: moves the baseline's newly closed days (and with openDays its changed open days, after them: a day is
    // open only after its principal's earlier days closed) to _unwrittenDays and, when there were some and no writer runs,
    // makes the caller the writer (it then runs WriteBaselineDaysAsync). The writer writes them in this order, so a later
    // snapshot of a day, open or closed, replaces an earlier one.
    private bool ClaimBaselineWriter(BaselineDetector baseline, bool openDays = false)
    {
        var drained = baseline.DrainClosedDays(_unwrittenDays) + (openDays ? baseline.DrainChangedOpenDays(_unwrittenDays) : 0);
        if (drained == 0 || _baselineWriterRunning)
        {
            return false;
        }

        _baselineWriterRunning = true;
        return true;
    }

    // Writes the days waiting in _unwrittenDays until none is left (one writer at a time: the caller claimed it with
    // ClaimBaselineWriter). Live, it runs beside the processing loop, which never waits for it: a day closes at a
    // principal's first read of a later day, and that read's answer must not wait for a database write. A failure is
    // logged; a closed day is then rebuilt only from what a later restart replays, an open one restored with the counts
    // of its last stored snapshot.
    private async Task WriteBaselineDaysAsync()
    {
        while (true)
        {
            List<BaselineDay> days;
            lock (_gate)
            {
                if (_unwrittenDays.Count == 0)
                {
                    _baselineWriterRunning = false;
                    return;
                }

                days = [.. _unwrittenDays];
                _unwrittenDays.Clear();
            }

            try
            {
                await _baselineDays.WriteAsync(days, CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.BaselineDaysNotStored(_logger, days.Count, ex.GetType().Name, ex);
            }
        }
    }

    private async Task ProcessAsync(CommittedEntry committed, bool replaying, bool hardLimits = true)
    {
        List<MonitorDecision>? decisions = null;
        HardLimitFound breaches = default;
        lock (_gate)
        {
            // One lock for the detectors and the hard limits: the per-entry work of a normal read is all in here.
            if (_engine is not null)
            {
                var found = _engine.Process(committed.Sequence, committed.Entry);
                if (found.Count > 0 && !replaying)
                {
                    decisions = [.. found];
                }
                else if (replaying)
                {
                    KeepReplayDecisions(found, committed.Entry);
                }

                if (!replaying && _baseline is { } baseline && ClaimBaselineWriter(baseline))
                {
                    StartBaselineWriter();
                }
            }

            if (hardLimits)
            {
                breaches = ObserveHardLimits(committed, replaying);
            }
        }

        if (breaches.Any)
        {
            await ActOnHardLimitsAsync(breaches, committed.Entry, replaying);
        }

        if (decisions is not null)
        {
            await ActOnDecisionsAsync(decisions, committed.Entry);
        }
    }

    private async Task ActOnDecisionsAsync(List<MonitorDecision> decisions, AccessEntry? entry)
    {
        await _acting.WaitAsync(CancellationToken.None);
        try
        {
            foreach (var decision in decisions)
            {
                await ActOnDecisionAsync(decision, entry);
            }
        }
        finally
        {
            _acting.Release();
        }
    }

    // After the replay, every MonitorEngine.AdvanceInterval: when no entry has advanced the engine for that long (nobody
    // reads), the time-driven detectors are advanced to now and their decisions acted on, so that a clerk's last lookups
    // left open are judged within about a minute of OrphanAfter, not at the next entry of anyone (a quiet store at night
    // may have none for hours, and a restart would then find them in its replay, where nothing is acted on).
    private void StartQuietTimer()
    {
        if (_engine is null)
        {
            return;
        }

        var interval = MonitorEngine.AdvanceInterval;
        _quietTimer = _time.CreateTimer(static state => _ = ((AccessMonitor)state!).AdvanceIfQuietAsync(), this, interval, interval);
    }

    // Quiet means nothing to process: while an entry is in hand or waiting in the stream (the loop lags, say behind a
    // burst), the loop advances the engine itself, in ledger order. Advancing to now ahead of it would judge a read whose
    // service-complete is still waiting as an orphan once the backlog spans OrphanAfter.
    private async Task AdvanceIfQuietAsync()
    {
        try
        {
            List<MonitorDecision> decisions;
            lock (_gate)
            {
                if (_subscription is { Reader.Count: > 0 } || Volatile.Read(ref _received) > Volatile.Read(ref _processed))
                {
                    return;
                }

                decisions = [.. _engine!.AdvanceIfQuiet(_time.GetUtcNow())];
            }

            if (decisions.Count > 0)
            {
                await ActOnDecisionsAsync(decisions, null);
            }
        }
        catch (Exception ex)
        {
            Log.QuietAdvanceFailed(_logger, ex);
        }
    }

    private async Task ActOnDecisionAsync(MonitorDecision decision, AccessEntry? entry)
    {
        var cancellationToken = CancellationToken.None; // like a breach: completed even during shutdown
        var f = decision.Finding;
        if (_suspensions.IsSuspended(f.Principal))
        {
            return;
        }

        var action = decision.Action.ToName();
        string? alertId = null;
        try
        {
            var sequences = f.Evidence.Count > 0 ? f.Evidence : [decision.Sequence];
            var evidence = new AlertEvidence(sequences[0], Math.Max(decision.Sequence, sequences[^1]), sequences, sequences.Count)
            {
                Detail = Truncate(string.Create(CultureInfo.InvariantCulture, $"{f.Detail}; risk {decision.Risk}, action {action}")),
                Action = decision.Action,
            };
            var alert = await _alerts.CreateAsync(
                new NewAlert(f.Detector, f.Principal, f.Store, f.Window, f.Observed, f.Threshold, evidence, RiskPolicy.SeverityOf(decision.Action)),
                cancellationToken);
            alertId = alert.Id;
            var kindName = f.Principal.Kind.ToName();
            DetectionLog.DecisionMade(_logger, alert.Id, f.Detector, kindName, f.Principal.Id, f.Score, decision.Risk, action, decision.Sequence);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AlertStoreFailed(_logger, f.Principal.Kind.ToName(), f.Principal.Id, ex);
        }

        var finding = Truncate(string.Create(CultureInfo.InvariantCulture, $"{f.Detector}: {f.Principal} {f.Detail}; risk {decision.Risk}, action {action} (alert {alertId ?? "not stored"})."));
        await AppendAsync(
            MonitorEntry(AccessTask.AlertRaised, entry?.Store ?? f.Store, alertId ?? f.Principal.ToString(), finding),
            cancellationToken);

        if (decision.Action == MonitorAction.StepUp)
        {
            foreach (var target in decision.Targets)
            {
                await AppendAsync(
                    MonitorEntry(AccessTask.SteppedUp, entry?.Store ?? f.Store, target.ToString(), finding),
                    cancellationToken);
            }

            return;
        }

        if (decision.Action != MonitorAction.Suspend)
        {
            return;
        }

        foreach (var target in decision.Targets)
        {
            lock (_gate)
            {
                _detector.Latch(target);
            }

            try
            {
                if (!await _suspensions.SuspendAsync(target.Kind, target.Id, alertId, finding, cancellationToken))
                {
                    continue;
                }

                Log.PrincipalSuspended(_logger, target.Kind.ToName(), target.Id, alertId);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.SuspensionPersistFailed(_logger, target.Kind.ToName(), target.Id, ex);
                if (!_suspensions.IsSuspended(target))
                {
                    continue;
                }
            }

            await AppendAsync(
                MonitorEntry(AccessTask.Suspended, entry?.Store ?? f.Store, target.ToString(), finding),
                cancellationToken);
        }
    }

    /// <summary>An entry the monitor writes on its own account (alerts, step-ups, suspensions), stamped now.</summary>
    private AccessEntry MonitorEntry(AccessTask task, string? store, string target, string? reason) =>
        HardLimitBreaches.MonitorEntry(_time.GetUtcNow(), task, store, target, reason);

    // Caller holds _gate. The hard limits' bookkeeping for one committed entry: a suspended/restored entry latches/resets
    // its target; an allowed read of personal data is observed for its clerk and its terminal (and, every PruneEvery of
    // ledger time, idle principals are pruned). Returns the breaches, acted on by ActOnHardLimitsAsync outside the lock.
    private HardLimitFound ObserveHardLimits(CommittedEntry committed, bool replaying)
    {
        var entry = committed.Entry;
        if (entry.Outcome != AccessOutcome.Allowed)
        {
            return default; // refusals read nothing
        }

        if (entry.Task is AccessTask.Suspended or AccessTask.Restored)
        {
            if (Principal.TryParse(entry.Target, out var target))
            {
                _pending.Remove(target.Value);
                if (entry.Task == AccessTask.Suspended)
                {
                    _detector.Latch(target.Value);
                }
                else
                {
                    _detector.Reset(target.Value);
                }
            }

            return default;
        }

        if (!entry.Task.ReadsPersonalData() || entry.Subjects.Count == 0)
        {
            return default;
        }

        HardLimitFound found = default;
        if (entry.Account is { } account)
        {
            (found.Clerk, found.ClerkAlert) = Observe(new Principal(PrincipalKind.Clerk, account), committed, replaying);
        }

        if (entry.Terminal is { } terminal)
        {
            (found.Terminal, found.TerminalAlert) = Observe(new Principal(PrincipalKind.Terminal, terminal), committed, replaying);
        }

        var entryMs = entry.Time.ToUnixTimeMilliseconds();
        if (!replaying && entryMs - _lastPruneMs >= (long)PruneEvery.TotalMilliseconds)
        {
            _lastPruneMs = entryMs;
            var dropped = _detector.Prune(entry.Time, p => _suspensions.IsSuspended(p));
            if (dropped > 0)
            {
                Log.PrincipalsPruned(_logger, dropped, _detector.TrackedPrincipals);
            }
        }

        return found;
    }

    // The breaches ObserveHardLimits found for entry: while replaying, kept pending for the end of the replay; live,
    // acted on (one alert per breaching entry).
    private async Task ActOnHardLimitsAsync(HardLimitFound found, AccessEntry entry, bool replaying)
    {
        var (clerkBreach, clerkAlert, terminalBreach, terminalAlert) = (found.Clerk, found.ClerkAlert, found.Terminal, found.TerminalAlert);
        if (replaying)
        {
            // Decide at the end of the replay: a later suspended/restored entry may answer it.
            lock (_gate)
            {
                if (clerkBreach is { } cb)
                {
                    _pending[cb.Principal] = new PendingBreach(cb, clerkAlert!, entry);
                }

                if (terminalBreach is { } tb)
                {
                    _pending[tb.Principal] = new PendingBreach(tb, terminalAlert!, entry);
                }
            }

            return;
        }

        // One alert per breaching entry: the clerk's breach when both breach, unless already suspended.
        foreach (var (breach, alert) in new[] { (clerkBreach, clerkAlert), (terminalBreach, terminalAlert) })
        {
            if (breach is not { } b)
            {
                continue;
            }

            if (_suspensions.IsSuspended(b.Principal))
            {
                var kindName = b.Principal.Kind.ToName();
                var seconds = (long)b.Window.TotalSeconds;
                Log.BreachWhileSuspended(_logger, kindName, b.Principal.Id, b.Observed, b.Limit, seconds);
                continue;
            }

            await ActOnBreachAsync(b, alert!, entry);
            return;
        }
    }

    // Caller holds _gate.
    private (DetectorBreach? Breach, NewAlert? Alert) Observe(Principal principal, CommittedEntry committed, bool replaying)
    {
        var entry = committed.Entry;
        if (!replaying && _detector.IsLatched(principal) && !_suspensions.IsSuspended(principal))
        {
            // Lifted elsewhere (CLI, another node): the officer judged its past activity legitimate.
            _detector.Reset(principal);
        }

        if (!_detector.Observe(principal, entry.Time, entry.Subjects, committed.Sequence, out var breach))
        {
            return (null, null);
        }

        return (breach, HardLimitBreaches.Alert(_detector, breach, entry.Store));
    }

    // What ObserveHardLimits found for one entry: each principal's new breach and its alert draft, or nulls.
    private struct HardLimitFound
    {
        public DetectorBreach? Clerk;
        public NewAlert? ClerkAlert;
        public DetectorBreach? Terminal;
        public NewAlert? TerminalAlert;

        public readonly bool Any => Clerk is not null || Terminal is not null;
    }

    private async Task ActOnBreachAsync(DetectorBreach breach, NewAlert draft, AccessEntry entry)
    {
        // Not cancellable: once a breach is found, the suspension and its records are completed even during shutdown.
        var cancellationToken = CancellationToken.None;
        var p = breach.Principal;
        var windowSeconds = (long)breach.Window.TotalSeconds;
        string? alertId = null;
        try
        {
            var alert = await _alerts.CreateAsync(draft, cancellationToken);
            alertId = alert.Id;
            Log.AlertRaised(_logger, alert.Id, draft.Detector, p.Kind.ToName(), p.Id, breach.Observed, windowSeconds, breach.Limit, breach.Sequence);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AlertStoreFailed(_logger, p.Kind.ToName(), p.Id, ex);
        }

        var finding = HardLimitBreaches.Finding(draft.Detector, breach);
        var targets = HardLimitBreaches.Targets(entry); // the clerk AND the terminal of the breaching entry

        var suspended = new List<Principal>(2);
        foreach (var target in targets)
        {
            lock (_gate)
            {
                _detector.Latch(target);
            }

            var reason = HardLimitBreaches.SuspensionReason(finding, target, p, alertId ?? "not stored");
            try
            {
                if (await _suspensions.SuspendAsync(target.Kind, target.Id, alertId, reason, cancellationToken))
                {
                    suspended.Add(target);
                    var kindName = target.Kind.ToName();
                    Log.PrincipalSuspended(_logger, kindName, target.Id, alertId);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The registry keeps a failed write suspended in memory (fail closed), unless the code was malformed.
                if (_suspensions.IsSuspended(target))
                {
                    suspended.Add(target);
                }

                Log.SuspensionPersistFailed(_logger, target.Kind.ToName(), target.Id, ex);
            }
        }

        // Record what happened in the ledger (the monitor's own entries come back through the stream and latch again).
        await AppendAsync(
            MonitorEntry(AccessTask.AlertRaised, entry.Store, alertId ?? p.ToString(), Truncate(finding + ".")),
            cancellationToken);
        foreach (var target in suspended)
        {
            await AppendAsync(
                MonitorEntry(AccessTask.Suspended, entry.Store, target.ToString(), Truncate($"{finding} (alert {alertId ?? "not stored"}).")),
                cancellationToken);
        }
    }

    private async Task AppendAsync(AccessEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            await _ledger.AppendAsync(entry, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.LedgerAppendFailed(_logger, entry.Task.ToName(), entry.Target ?? string.Empty, ex);
        }
    }

    private static string Truncate(string text) => HardLimitBreaches.Truncate(text);

    private async ValueTask<bool> WaitSlowAsync(long sequence, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tcs = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waitGate)
        {
            if (_stopped)
            {
                return false;
            }

            _waiters.Enqueue(tcs, sequence);
            Interlocked.Increment(ref _waiterCount); // full fence: pairs with the exchange in SetProcessed
        }

        if (Volatile.Read(ref _processed) >= sequence)
        {
            return true; // processed meanwhile; the parked completion is released by the next SetProcessed
        }

        try
        {
            return await tcs.Task.WaitAsync(timeout, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void SetProcessed(long sequence)
    {
        Interlocked.Exchange(ref _processed, sequence); // full fence: pairs with the increment in WaitSlowAsync
        if (Volatile.Read(ref _waiterCount) == 0)
        {
            return;
        }

        lock (_waitGate)
        {
            while (_waiters.TryPeek(out var tcs, out var waited) && waited <= sequence)
            {
                _waiters.Dequeue();
                Interlocked.Decrement(ref _waiterCount);
                tcs.TrySetResult(true);
            }
        }
    }

    private void Stop()
    {
        lock (_waitGate)
        {
            _stopped = true;
            while (_waiters.TryDequeue(out var tcs, out _))
            {
                tcs.TrySetResult(false);
            }

            Volatile.Write(ref _waiterCount, 0);
        }
    }

    private sealed record PendingBreach(DetectorBreach Breach, NewAlert Alert, AccessEntry Entry);
}
