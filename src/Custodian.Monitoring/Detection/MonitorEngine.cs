using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// What the engine decided after a finding: raise an alert at <see cref="Action"/> level, and step up or suspend the
/// listed principals.
/// </summary>
/// <param name="Finding">The finding that triggered the decision.</param>
/// <param name="Risk">The principal's combined risk after the finding (0–100).</param>
/// <param name="Action">The policy's action for that risk (never <see cref="MonitorAction.None"/>).</param>
/// <param name="Time">Ledger time of the decision (the entry's time, or the time the engine advanced to).</param>
/// <param name="Sequence">The sequence of the entry being processed when the decision was made.</param>
/// <param name="Targets">For <see cref="MonitorAction.StepUp"/> and <see cref="MonitorAction.Suspend"/>: the principal, plus the clerk and terminal of the entry when the finding came from an entry of that principal.</param>
public sealed record MonitorDecision(Finding Finding, int Risk, MonitorAction Action, DateTimeOffset Time, long Sequence, IReadOnlyList<Principal> Targets)
{
    /// <summary>
    /// Whether <paramref name="alert"/> already answers this decision, so that acting on it again (a decision re-made by
    /// the embedded monitor's replay, or by a monitor worker after a restart or a rebalance) would duplicate it: an alert
    /// of the same detector about the same principal whose evidence reaches the finding's last evidence entry (the
    /// deciding entry's sequence when the finding has none), raised at this decision's <see cref="Action"/> or higher
    /// (<see cref="AlertEvidence.Action"/>; an alert that does not record its action answers any). A decision of the
    /// same evidence at a HIGHER action is not answered: the action rose (the risk rose through another detector's
    /// finding the replay judged at the same time, or the thresholds were lowered between runs), and the rise is
    /// recorded as any rise is, with its own alert and <c>stepped-up</c> or <c>suspended</c> entries. Rule:
    /// docs/monitoring.md, "Restart".
    /// </summary>
    /// <param name="alert">A stored alert about <see cref="Finding"/>'s principal.</param>
    /// <returns>True when the alert answers the decision.</returns>
    public bool IsAnsweredBy(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var reaches = Finding.Evidence is { Count: > 0 } evidence ? evidence[^1] : Sequence;
        return string.Equals(alert.Detector, Finding.Detector, StringComparison.Ordinal)
            && alert.Principal == Finding.Principal
            && alert.Evidence.LastSequence >= reaches
            && (alert.Evidence.Action is not { } raised || raised >= Action);
    }
}

/// <summary>
/// One step of a principal's risk over time (<see cref="MonitorEngine.RiskSchedule"/>): from the previous step's
/// <see cref="Until"/> (or from now, for the first step) up to but excluding <see cref="Until"/>, the principal's combined
/// risk is <see cref="Risk"/> and the policy's action for it is <see cref="Action"/>. Risk only falls between two entries
/// (findings leave memory), so a schedule answers <see cref="MonitorEngine.CurrentRisk"/> and
/// <see cref="MonitorEngine.CurrentAction"/> for any later time until the principal's next finding.
/// </summary>
/// <param name="Risk">The combined risk, 1–100.</param>
/// <param name="Action">The policy's action for that risk (<see cref="RiskPolicy.ActionFor"/>); <see cref="MonitorAction.None"/> below the alert threshold.</param>
/// <param name="Until">Ledger time at which this step ends (exclusive), Unix milliseconds precision.</param>
public readonly record struct RiskStep(int Risk, MonitorAction Action, DateTimeOffset Until);

/// <summary>
/// The detection engine: runs every <see cref="IDetector"/> over committed ledger entries in order, combines their
/// findings per principal with <see cref="RiskPolicy"/>, and returns the decisions (alert, step-up, suspend). Pure and
/// synchronous: no database, no clock but the entries' own times — the live <see cref="AccessMonitor"/>,
/// <c>custodian monitor replay</c> and <c>custodian evaluate</c> all run this same code.
/// </summary>
/// <remarks>
/// <para>Alerts are de-duplicated: a detector raises at most one alert per principal within its finding's memory, unless
/// the principal's action level rises. Suspended principals raise nothing more until <see cref="Restore"/>.</para>
/// <para>Not thread-safe: one thread drives it (the monitor's loop, under its lock).</para>
/// </remarks>
public sealed class MonitorEngine
{
    private const long AdvanceEveryMs = 60_000;

    /// <summary>
    /// How often the time-driven detectors are advanced (lookups left open turning into orphans, counts leaving their
    /// windows): at the first entry at least this much ledger time after the last advance, or by
    /// <see cref="AdvanceIfQuiet"/> when no entry comes. One minute.
    /// </summary>
    public static TimeSpan AdvanceInterval { get; } = TimeSpan.FromMilliseconds(AdvanceEveryMs);

    private readonly DetectionOptions _options;
    private readonly IDetector[] _detectors;
    private readonly Action<long, AccessEntry, List<Finding>>[] _observe; // each detector's Observe, in run order (those that do something)
    private readonly List<Finding> _findings = [];
    private readonly List<MonitorDecision> _decisions = [];
    private readonly Dictionary<Principal, RiskState> _risk = [];
    private readonly HashSet<Principal> _suspended = [];
    private readonly HashSet<Principal> _riskChanged = [];
    private long _nowMs = long.MinValue / 4;
    private long _lastAdvanceMs = long.MinValue / 4;

    /// <summary>Creates an engine over <paramref name="detectors"/>.</summary>
    /// <param name="options">Thresholds; validated here.</param>
    /// <param name="detectors">The detectors, run in this order.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="options"/> is out of range.</exception>
    public MonitorEngine(DetectionOptions options, IEnumerable<IDetector> detectors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(detectors);
        options.Validate();
        _options = options;
        _detectors = [.. detectors];
        Baseline = _detectors.OfType<BaselineDetector>().FirstOrDefault();

        // Bound once: the delegate holds each detector's own Observe, so the per-entry loop makes direct calls
        // instead of an interface call at one call site shared by eight types (a virtual stub dispatch lookup each).
        // Detectors whose Observe is empty (collusion and side lookups learn from orphan lookups) are left out.
        _observe = [.. _detectors.Where(d => d is not IObservesNoEntries).Select(d => (Action<long, AccessEntry, List<Finding>>)d.Observe)];
    }

    /// <summary>The detectors, in run order.</summary>
    public IReadOnlyList<IDetector> Detectors => _detectors;

    /// <summary>The thresholds.</summary>
    public DetectionOptions Options => _options;

    /// <summary>The engine's baseline detector, or null when it has none (its closed days are stored by the live monitor, docs/monitoring.md "Restart").</summary>
    public BaselineDetector? Baseline { get; }

    /// <summary>
    /// How far back a restarted monitor replays the ledger through this engine: the longest <see cref="IDetector.History"/>
    /// of its detectors plus <see cref="DetectionOptions.OrphanAfter"/> (so a lookup made just before the oldest replayed
    /// day is found orphaned again); 7 days and 1 hour with the standard detectors. Shorter, and a restart would forget
    /// the slow scraper's side lookups and a step-up's reason (both count for 7 days): a scraper kept under the
    /// allowance by nightly restarts. Docs: docs/monitoring.md, "Restart".
    /// </summary>
    public TimeSpan History => _detectors.Length == 0 ? TimeSpan.Zero : _detectors.Max(d => d.History) + _options.OrphanAfter;

    /// <summary>
    /// Tells, by detector name, which detectors officers have switched off (four eyes, <c>disable-detector</c>,
    /// docs/access.md §7): their findings are dropped before the risk policy, so they raise no alert, step-up or
    /// suspension, while the detectors keep observing (re-enabling one resumes with its state warm). Called from the
    /// engine's thread for each finding; must be fast and thread-safe. Null (the default, and in replays): none is off.
    /// </summary>
    public Func<string, bool>? DetectorDisabled { get; set; }

    /// <summary>
    /// Whether the engine remembers which principals' risk changed (a finding was recorded, or a restore forgot it), for
    /// <see cref="DrainRiskChanges"/>. Off by default (the embedded monitor answers from memory); the monitor workers'
    /// aggregate partition switches it on to store each changed principal's <see cref="RiskSchedule"/>.
    /// </summary>
    public bool TracksRiskChanges { get; set; }

    /// <summary>
    /// The standard detector set: open lookups (with orphans feeding the baseline, collusion and side-lookups detectors),
    /// baseline, machine timing, enumeration (not-found searches and number blocks), identity, watch list, collusion,
    /// side lookups, targeting (after the baseline, whose counts it reads) and household; plus, when <paramref name="hardLimits"/> is
    /// given, the hard distinct-subscriber limits (<see cref="HardLimitDetector"/>). The live monitor leaves the hard
    /// limits out because <see cref="AccessMonitor"/> applies them itself.
    /// </summary>
    public static MonitorEngine CreateDefault(DetectionOptions options, MonitorOptions? hardLimits = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var slots = new PrincipalSlots(); // one table for all: each entry's clerk and terminal are interned once
        var baseline = new BaselineDetector(options, slots);
        var collusion = new CollusionDetector(options);
        var side = new SideLookupsDetector(options);
        var detectors = new List<IDetector>();
        if (hardLimits is not null)
        {
            detectors.Add(new HardLimitDetector(hardLimits));
        }

        detectors.Add(new OpenLookupsDetector(options, [baseline, collusion, side], slots));
        detectors.Add(baseline);
        detectors.Add(new TimingDetector(options, slots));
        detectors.Add(new EnumerationDetector(options));
        detectors.Add(new IdentityDetector(slots));
        detectors.Add(new WatchListDetector(options));
        detectors.Add(collusion);
        detectors.Add(side);
        detectors.Add(new TargetingDetector(options, baseline));
        detectors.Add(new HouseholdDetector(options));
        return new MonitorEngine(options, detectors);
    }

    /// <summary>
    /// Processes one committed entry: advances time-driven state (at most once per ledger minute), runs every
    /// detector, and applies the risk policy. <c>suspended</c> / <c>restored</c> entries (any account) mark and clear
    /// suspensions; the monitor's own entries are otherwise ignored.
    /// </summary>
    /// <remarks>
    /// The engine's ledger time is the latest time of the entries it observes: <c>suspended</c>, <c>restored</c> and the
    /// monitor's own entries do not move it. Those are written after the fact by whichever process acted — with monitor
    /// workers (docs/events.md) a worker stamps its <c>alert-raised</c>, <c>stepped-up</c> and <c>suspended</c> entries with its own
    /// clock, not the API node's — so a worker's clock running ahead would otherwise age every open lookup and finding
    /// at once and the next reads would be judged against a future time. On one clock this changes nothing: such an
    /// entry is stamped between the entry that caused it and the next one.
    /// </remarks>
    /// <param name="sequence">The entry's ledger sequence.</param>
    /// <param name="entry">The entry.</param>
    /// <returns>The decisions, valid until the next call (the list is reused).</returns>
    public IReadOnlyList<MonitorDecision> Process(long sequence, AccessEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _decisions.Clear();
        if (entry.Task is AccessTask.Suspended or AccessTask.Restored)
        {
            if (entry.Outcome == AccessOutcome.Allowed && Principal.TryParse(entry.Target, out var target))
            {
                if (entry.Task == AccessTask.Suspended)
                {
                    MarkSuspended(target.Value);
                }
                else
                {
                    Restore(target.Value);
                }
            }

            return _decisions;
        }

        if (string.Equals(entry.Account, AccessMonitor.MonitorAccount, StringComparison.Ordinal))
        {
            return _decisions;
        }

        _nowMs = Math.Max(_nowMs, entry.Time.ToUnixTimeMilliseconds());
        _findings.Clear();
        if (_nowMs - _lastAdvanceMs >= AdvanceEveryMs)
        {
            _lastAdvanceMs = _nowMs;
            foreach (var d in _detectors)
            {
                d.Advance(_nowMs, _findings);
            }

            Apply(null, sequence);
        }

        foreach (var observe in _observe)
        {
            observe(sequence, entry, _findings);
        }

        Apply(entry, sequence);
        return _decisions;
    }

    /// <summary>Advances time-driven state to <paramref name="now"/> with no entry (a quiet period); returns the decisions.</summary>
    public IReadOnlyList<MonitorDecision> AdvanceTo(DateTimeOffset now)
    {
        _decisions.Clear();
        _findings.Clear();
        _nowMs = Math.Max(_nowMs, now.ToUnixTimeMilliseconds());
        _lastAdvanceMs = _nowMs;
        foreach (var d in _detectors)
        {
            d.Advance(_nowMs, _findings);
        }

        Apply(null, -1);
        return _decisions;
    }

    /// <summary>
    /// Advances the time-driven detectors to <paramref name="now"/> when no entry has done so for
    /// <see cref="AdvanceInterval"/> of ledger time (a quiet period: a clerk's open lookups must still turn into findings
    /// when nobody reads after them); otherwise does nothing, because entries are advancing it.
    /// </summary>
    /// <param name="now">The current time (the clock the ledger stamps entries with).</param>
    /// <returns>The decisions, empty when nothing was due or the engine was not quiet.</returns>
    public IReadOnlyList<MonitorDecision> AdvanceIfQuiet(DateTimeOffset now)
    {
        if (now.ToUnixTimeMilliseconds() - _lastAdvanceMs < AdvanceEveryMs)
        {
            _decisions.Clear();
            return _decisions;
        }

        return AdvanceTo(now);
    }

    /// <summary>
    /// The engine's ledger time: the latest time of the entries it has observed (<see cref="Process"/>), or the time it
    /// was advanced to (<see cref="AdvanceTo"/>); null before either. The monitor workers' quiet-period tick advances the
    /// engine from it by the time elapsed on the worker's clock (docs/monitoring.md, "Restart").
    /// </summary>
    public DateTimeOffset? LedgerTime => _nowMs == long.MinValue / 4 ? null : DateTimeOffset.FromUnixTimeMilliseconds(_nowMs);

    /// <summary>The principal's combined risk (0–100) at <paramref name="now"/> from findings still in memory.</summary>
    public int CurrentRisk(Principal principal, DateTimeOffset now) =>
        _risk.TryGetValue(principal, out var state) ? state.Risk(now.ToUnixTimeMilliseconds()) : 0;

    /// <summary>
    /// What applies to the principal's next request: <see cref="MonitorAction.Suspend"/> when suspended, else the policy's
    /// action for its current risk (step-up decays when the findings behind it leave memory).
    /// </summary>
    public MonitorAction CurrentAction(Principal principal, DateTimeOffset now) =>
        _suspended.Contains(principal) ? MonitorAction.Suspend : RiskPolicy.ActionFor(CurrentRisk(principal, now), _options);

    /// <summary>
    /// The principal's risk from the engine's current ledger time on, as steps ordered by <see cref="RiskStep.Until"/>:
    /// the risk falls at each step's end as findings leave memory, and is 0 after the last step (empty when it is 0 now).
    /// At any time <c>t</c> before the principal's next finding, <see cref="CurrentRisk"/>(<c>t</c>) is the risk of the
    /// first step whose <see cref="RiskStep.Until"/> is after <c>t</c>.
    /// </summary>
    /// <param name="principal">A clerk or terminal.</param>
    /// <returns>The steps, at most one per detector that contributed; a new list.</returns>
    public IReadOnlyList<RiskStep> RiskSchedule(Principal principal) =>
        _risk.TryGetValue(principal, out var state) ? state.Schedule(_nowMs, _options) : [];

    /// <summary>
    /// Moves the principals whose risk changed since the last call into <paramref name="into"/> (each once) and forgets
    /// them; nothing unless <see cref="TracksRiskChanges"/> is on.
    /// </summary>
    /// <param name="into">Receives the principals.</param>
    /// <returns>How many were added.</returns>
    public int DrainRiskChanges(ICollection<Principal> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var count = _riskChanged.Count;
        foreach (var p in _riskChanged)
        {
            into.Add(p);
        }

        _riskChanged.Clear();
        return count;
    }

    /// <summary>Whether the engine regards the principal as suspended.</summary>
    public bool IsSuspended(Principal principal) => _suspended.Contains(principal);

    /// <summary>Marks a principal suspended (by the engine's own decision, an officer, or a <c>suspended</c> ledger entry).</summary>
    public void MarkSuspended(Principal principal) => _suspended.Add(principal);

    /// <summary>Restores a principal: lifts the suspension, forgets its risk and every detector's state about it.</summary>
    public void Restore(Principal principal)
    {
        _suspended.Remove(principal);
        if (_risk.Remove(principal) && TracksRiskChanges)
        {
            _riskChanged.Add(principal);
        }

        foreach (var d in _detectors)
        {
            d.Reset(principal);
        }
    }

    private void Apply(AccessEntry? entry, long sequence)
    {
        if (_findings.Count == 0)
        {
            return;
        }

        var time = DateTimeOffset.FromUnixTimeMilliseconds(_nowMs);
        foreach (var f in _findings)
        {
            if (_suspended.Contains(f.Principal) || f.Score <= 0 || DetectorDisabled?.Invoke(f.Detector) == true)
            {
                continue;
            }

            ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_risk, f.Principal, out _);
            slot ??= new RiskState();
            var state = slot;
            var alertedBefore = state.Record(f, _nowMs);
            if (TracksRiskChanges)
            {
                _riskChanged.Add(f.Principal);
            }

            var risk = state.Risk(_nowMs);
            var action = RiskPolicy.ActionFor(risk, _options);
            if (action == MonitorAction.None)
            {
                continue;
            }

            var rises = action > state.Level;
            if (!rises && alertedBefore)
            {
                continue;
            }

            state.Level = (MonitorAction)Math.Max((int)state.Level, (int)action);
            state.MarkAlerted(f, _nowMs);
            var targets = new List<Principal>(2) { f.Principal };
            if (action >= MonitorAction.StepUp && entry is not null && Involves(entry, f.Principal))
            {
                AddTarget(targets, entry.Account, PrincipalKind.Clerk);
                AddTarget(targets, entry.Terminal, PrincipalKind.Terminal);
            }

            if (action == MonitorAction.Suspend)
            {
                foreach (var t in targets)
                {
                    _suspended.Add(t);
                }
            }

            _decisions.Add(new MonitorDecision(f, risk, action, time, sequence, targets));
        }
    }

    private static bool Involves(AccessEntry entry, Principal p) =>
        p.Kind == PrincipalKind.Clerk ? string.Equals(entry.Account, p.Id, StringComparison.Ordinal) : string.Equals(entry.Terminal, p.Id, StringComparison.Ordinal);

    private static void AddTarget(List<Principal> targets, string? id, PrincipalKind kind)
    {
        if (id is not null && !targets.Contains(new Principal(kind, id)))
        {
            targets.Add(new Principal(kind, id));
        }
    }

    private sealed class RiskState
    {
        private readonly Dictionary<string, (int Score, long UntilMs, long AlertedUntilMs)> _slots = new(StringComparer.Ordinal);

        public MonitorAction Level { get; set; }

        // Returns whether this detector already alerted on the principal within memory.
        public bool Record(Finding f, long nowMs)
        {
            _ = Risk(nowMs); // resets Level when everything earlier has left memory
            var until = nowMs + (long)f.Memory.TotalMilliseconds;
            if (_slots.TryGetValue(f.Detector, out var s) && s.UntilMs > nowMs)
            {
                _slots[f.Detector] = (Math.Max(s.Score, f.Score), Math.Max(s.UntilMs, until), s.AlertedUntilMs);
                return s.AlertedUntilMs > nowMs;
            }

            _slots[f.Detector] = (f.Score, until, s.AlertedUntilMs);
            return s.AlertedUntilMs > nowMs;
        }

        public void MarkAlerted(Finding f, long nowMs)
        {
            var s = _slots[f.Detector];
            _slots[f.Detector] = (s.Score, s.UntilMs, nowMs + (long)f.Memory.TotalMilliseconds);
        }

        // The risk steps after nowMs: one per distinct expiry still ahead, each with the risk just before it.
        public List<RiskStep> Schedule(long nowMs, DetectionOptions options)
        {
            var ends = new SortedSet<long>();
            foreach (var (_, s) in _slots)
            {
                if (s.UntilMs > nowMs)
                {
                    ends.Add(s.UntilMs);
                }
            }

            var steps = new List<RiskStep>(ends.Count);
            foreach (var end in ends)
            {
                var risk = RiskAt(end - 1);
                if (risk > 0)
                {
                    steps.Add(new RiskStep(risk, RiskPolicy.ActionFor(risk, options), DateTimeOffset.FromUnixTimeMilliseconds(end)));
                }
            }

            return steps;
        }

        public int Risk(long nowMs)
        {
            var risk = RiskAt(nowMs);
            if (risk < 0)
            {
                Level = MonitorAction.None;
                return 0;
            }

            return risk;
        }

        // The noisy-OR of the slots still in memory at nowMs; −1 when none is.
        private int RiskAt(long nowMs)
        {
            var keep = 1.0;
            var any = false;
            foreach (var (_, s) in _slots)
            {
                if (s.UntilMs > nowMs)
                {
                    keep *= 1.0 - (Math.Clamp(s.Score, 0, 100) / 100.0);
                    any = true;
                }
            }

            return any ? (int)Math.Floor((100.0 * (1.0 - keep)) + 1e-9) : -1;
        }
    }
}
