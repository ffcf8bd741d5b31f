using Custodian.Ledger;
using Custodian.Monitoring.Detection;

namespace Custodian.Monitoring.Evaluation;

/// <summary>What one scenario run produced.</summary>
/// <param name="Scenario">The scenario.</param>
/// <param name="Seed">The workload seed.</param>
/// <param name="Days">Simulated days.</param>
/// <param name="Clerks">Clerks (plus one manager per store).</param>
/// <param name="ClerkDays">Working days of innocent staff (clerks and managers with at least one request that day).</param>
/// <param name="Requests">Requests fed through the guard and the engine.</param>
/// <param name="ExposedMasked">Distinct subscribers the attacker obtained in any form (masked search summaries or views) before being stopped.</param>
/// <param name="ExposedUnmasked">Distinct subscribers whose RRN the attacker obtained in full without the subscriber's consent.</param>
/// <param name="Contained">Whether every attacking account was stepped up or suspended (or, for credential and device attacks, every request refused).</param>
/// <param name="TimeToContainment">From an attacker's first request to the step-up or suspension that stopped it (the longest over attackers); null when not contained.</param>
/// <param name="TimeToSuspension">From the first attack request to the attacker's suspension; null when never suspended.</param>
/// <param name="AttackRequestsRefused">Attack requests the guard refused.</param>
/// <param name="AttackDetectors">Detectors whose decisions named an attacker principal, in order of first firing.</param>
/// <param name="FalseAlerts">Alerts (decisions of any level) about innocent principals.</param>
/// <param name="FalseSuspensions">Innocent clerks or terminals suspended.</param>
/// <param name="FalseAlertDetectors">Detectors behind the false alerts with their counts, e.g. <c>baseline×2</c>.</param>
public sealed record ScenarioResult(
    Scenario Scenario, int Seed, int Days, int Clerks, int ClerkDays, long Requests, int ExposedMasked, int ExposedUnmasked, bool Contained,
    TimeSpan? TimeToContainment, TimeSpan? TimeToSuspension, int AttackRequestsRefused, IReadOnlyList<string> AttackDetectors,
    int FalseAlerts, int FalseSuspensions, string FalseAlertDetectors)
{
    /// <summary>False alerts per 1,000 clerk-days.</summary>
    public double FalseAlertsPer1000 => ClerkDays == 0 ? 0 : 1000.0 * FalseAlerts / ClerkDays;

    /// <summary>False suspensions per 1,000 clerk-days.</summary>
    public double FalseSuspensionsPer1000 => ClerkDays == 0 ? 0 : 1000.0 * FalseSuspensions / ClerkDays;
}

/// <summary>
/// Runs a <see cref="Workload"/> through a guard model and the <see cref="MonitorEngine"/> (with the hard limits) in
/// ledger-time order, in process: 30 days of 300+ clerks take well under a minute per scenario. The guard model is
/// the host's: before each read, a suspended clerk or terminal is refused (<c>clerk-suspended</c> /
/// <c>terminal-suspended</c>), and under step-up a plain view is refused (<c>step-up-required</c>); the refusal is
/// itself an entry the detectors see. Decisions apply to the very next request, as in the live server.
/// </summary>
public static class Evaluator
{
    /// <summary>Runs one scenario.</summary>
    /// <param name="options">The workload.</param>
    /// <param name="scenario">The scenario.</param>
    /// <param name="detection">Detector thresholds (the workload's watch list is added); defaults when null.</param>
    /// <param name="hardLimits">Hard limits; defaults when null.</param>
    /// <param name="progress">Called after each simulated day with (day, days).</param>
    /// <param name="cancellationToken">Checked before each simulated request: a cancelled run stops within one request and returns no result.</param>
    /// <exception cref="ArgumentOutOfRangeException">When options are out of range.</exception>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled (e.g. Ctrl-C in <c>custodian evaluate</c>).</exception>
    public static ScenarioResult Run(WorkloadOptions options, Scenario scenario, DetectionOptions? detection = null, MonitorOptions? hardLimits = null, Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var workload = new Workload(options, scenario);
        detection ??= new DetectionOptions();
        var tuned = new DetectionOptions
        {
            LocalOffset = detection.LocalOffset, OrphanAfter = detection.OrphanAfter, OpenLookupsAllowed = detection.OpenLookupsAllowed,
            OpenLookupsStep = detection.OpenLookupsStep, ActiveMinutesAlert = detection.ActiveMinutesAlert, StoreOpens = detection.StoreOpens,
            StoreCloses = detection.StoreCloses, HoursGrace = detection.HoursGrace, NotFoundSearchesAlert = detection.NotFoundSearchesAlert,
            BlockSearchesAlert = detection.BlockSearchesAlert, TargetingMinSubjects = detection.TargetingMinSubjects,
            BaselineK = detection.BaselineK, BaselineMinDays = detection.BaselineMinDays, PeerGroupMinSize = detection.PeerGroupMinSize,
            SharedOrphansSuspend = detection.SharedOrphansSuspend, SideLookupsAllowed = detection.SideLookupsAllowed, AlertRisk = detection.AlertRisk, StepUpRisk = detection.StepUpRisk,
            SuspendRisk = detection.SuspendRisk, WatchList = new HashSet<long>(detection.WatchList.Concat(workload.WatchList)),
        };
        var engine = MonitorEngine.CreateDefault(tuned, hardLimits ?? new MonitorOptions());
        var attackers = workload.Attackers;
        var exposed = new HashSet<long>();
        var unmasked = new HashSet<long>();
        var clerkDays = new HashSet<(string, int)>();
        var firstAttack = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var contained = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        DateTimeOffset? firstAttackAny = null, suspendedAt = null;
        var attackDetectors = new List<string>();
        var falseDetectors = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var falseSuspended = new HashSet<Principal>();
        int falseAlerts = 0, refusedAttack = 0;
        long sequence = 0;
        for (var day = 0; day < options.Days; day++)
        {
            foreach (var request in workload.Day(day))
            {
                cancellationToken.ThrowIfCancellationRequested(); // Ctrl-C: a 60-day matrix takes minutes
                var entry = Guard(engine, request.Entry);
                if (!request.Attack && entry.ErrorCode == MonitoringErrorCodes.StepUpRequired)
                {
                    // A clerk under step-up serves the customer in front of them with their consent instead.
                    entry = request.Entry with { Task = AccessTask.Unmask, Purpose = "identity-verification", UnmaskedFields = ["rrn"] };
                }
                if (request.Attack)
                {
                    var who = request.Entry.Account ?? request.Entry.SourceIp ?? "unknown";
                    firstAttack.TryAdd(who, entry.Time);
                    firstAttackAny ??= entry.Time;
                    if (entry.Outcome == AccessOutcome.Allowed && entry.Task.ReadsPersonalData())
                    {
                        exposed.UnionWith(entry.Subjects.Select(s => s.Value));
                        if (entry.UnmaskedFields.Contains("rrn"))
                        {
                            unmasked.UnionWith(entry.Subjects.Select(s => s.Value));
                        }
                    }
                    else if (entry.Outcome == AccessOutcome.Denied)
                    {
                        refusedAttack++;
                    }
                }
                else if (entry.Account is not null)
                {
                    clerkDays.Add((entry.Account, day));
                }

                foreach (var d in engine.Process(sequence++, entry))
                {
                    var aboutAttacker = attackers.Contains(d.Finding.Principal);
                    if (aboutAttacker)
                    {
                        if (!attackDetectors.Contains(d.Finding.Detector))
                        {
                            attackDetectors.Add(d.Finding.Detector);
                        }
                    }
                    else
                    {
                        falseAlerts++;
                        falseDetectors[d.Finding.Detector] = falseDetectors.GetValueOrDefault(d.Finding.Detector) + 1;
                    }

                    if (d.Action < MonitorAction.StepUp)
                    {
                        continue;
                    }

                    foreach (var t in d.Targets)
                    {
                        if (attackers.Contains(t))
                        {
                            if (t.Kind == PrincipalKind.Clerk)
                            {
                                contained.TryAdd(t.Id, d.Time);
                            }

                            if (d.Action == MonitorAction.Suspend)
                            {
                                suspendedAt ??= d.Time;
                            }
                        }
                        else if (d.Action == MonitorAction.Suspend)
                        {
                            falseSuspended.Add(t);
                        }
                    }
                }
            }

            progress?.Invoke(day + 1, options.Days);
        }

        bool allContained;
        TimeSpan? toContainment = null;
        if (scenario is Scenario.DepartedCredential or Scenario.UnenrolledDevice)
        {
            // Refused at sign-in or at the gateway: nothing to contain beyond the refusal itself.
            allContained = refusedAttack > 0 && exposed.Count == 0;
            toContainment = allContained ? TimeSpan.Zero : null;
        }
        else if (scenario == Scenario.Normal)
        {
            allContained = true;
        }
        else
        {
            allContained = workload.AttackerAccounts.All(a => !firstAttack.ContainsKey(a) || contained.ContainsKey(a));
            if (allContained)
            {
                toContainment = workload.AttackerAccounts.Where(firstAttack.ContainsKey).Select(a => contained[a] - firstAttack[a]).DefaultIfEmpty(TimeSpan.Zero).Max();
            }
        }

        return new ScenarioResult(
            scenario, options.Seed, options.Days, options.Clerks, clerkDays.Count, sequence, exposed.Count, unmasked.Count, allContained, toContainment,
            suspendedAt is { } s && firstAttackAny is { } f ? s - f : null, refusedAttack, attackDetectors, falseAlerts, falseSuspended.Count,
            falseDetectors.Count == 0 ? "-" : string.Join(", ", falseDetectors.Select(p => $"{p.Key}×{p.Value}")));
    }

    /// <summary>The host's guard, applied to a requested entry: the entry as it would be recorded.</summary>
    public static AccessEntry Guard(MonitorEngine engine, AccessEntry requested)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(requested);
        if (requested.Outcome != AccessOutcome.Allowed || requested.Account is null
            || !(requested.Task.ReadsPersonalData() || requested.Task is AccessTask.ServiceComplete or AccessTask.ConsentRequest))
        {
            return requested;
        }

        var clerk = new Principal(PrincipalKind.Clerk, requested.Account);
        var terminal = requested.Terminal is null ? (Principal?)null : new Principal(PrincipalKind.Terminal, requested.Terminal);
        if (engine.IsSuspended(clerk))
        {
            return requested with { Outcome = AccessOutcome.Denied, ErrorCode = "clerk-suspended", UnmaskedFields = [] };
        }

        if (terminal is { } t && engine.IsSuspended(t))
        {
            return requested with { Outcome = AccessOutcome.Denied, ErrorCode = "terminal-suspended", UnmaskedFields = [] };
        }

        if (requested.Task == AccessTask.View
            && (engine.CurrentAction(clerk, requested.Time) >= MonitorAction.StepUp || (terminal is { } t2 && engine.CurrentAction(t2, requested.Time) >= MonitorAction.StepUp)))
        {
            return requested with { Outcome = AccessOutcome.Denied, ErrorCode = MonitoringErrorCodes.StepUpRequired };
        }

        return requested;
    }
}
