using Custodian.Ledger;
using Custodian.Monitoring.Detection;

namespace Custodian.Monitoring.Replay;

/// <summary>A decision the monitor would have made during a replay.</summary>
/// <param name="Line">Line of the row being processed when it was made.</param>
/// <param name="Decision">The decision.</param>
public sealed record ReplayDecision(int Line, MonitorDecision Decision);

/// <summary>What a replay found.</summary>
/// <param name="Rows">Rows replayed.</param>
/// <param name="Decisions">Every alert-level decision, in order.</param>
/// <param name="Suspended">Each principal the monitor would have suspended, with when and on which line.</param>
/// <param name="ReadsAfterSuspension">Per suspended principal, the allowed reads in the file after its suspension: the requests the guard would have refused.</param>
/// <param name="DeviceRefusalsWithoutPrincipal">Device-refused rows naming no terminal (no certificate at all): refused at the gateway, no principal to alert on.</param>
public sealed record ReplayOutcome(
    int Rows,
    IReadOnlyList<ReplayDecision> Decisions,
    IReadOnlyList<(Principal Principal, DateTimeOffset At, int Line)> Suspended,
    IReadOnlyDictionary<Principal, int> ReadsAfterSuspension,
    int DeviceRefusalsWithoutPrincipal);

/// <summary>
/// Runs the detectors (with the hard limits) over replay rows in time order, as a backtest: outcomes in the file are
/// taken as recorded (the replay does not re-decide them), and the report says what would have fired, when, and how
/// many later reads the guard would have refused.
/// </summary>
public static class ReplayRunner
{
    /// <summary>Replays <paramref name="rows"/> (sorted by time) through a default engine built from the options.</summary>
    /// <param name="rows">The rows, sorted by time (<see cref="ReplayFile.Read"/>).</param>
    /// <param name="detection">Detector settings; default <see cref="DetectionOptions"/>.</param>
    /// <param name="hardLimits">Hard limits; default <see cref="MonitorOptions"/>.</param>
    /// <param name="cancellationToken">Checked before each row: a cancelled replay stops there and reports nothing.</param>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled.</exception>
    public static ReplayOutcome Run(IReadOnlyList<ReplayRow> rows, DetectionOptions? detection = null, MonitorOptions? hardLimits = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var engine = MonitorEngine.CreateDefault(detection ?? new DetectionOptions(), hardLimits ?? new MonitorOptions());
        var decisions = new List<ReplayDecision>();
        var suspended = new List<(Principal, DateTimeOffset, int)>();
        var after = new Dictionary<Principal, int>();
        var anonymousRefusals = 0;
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var e = row.Entry;
            if (e.Task == AccessTask.DeviceRefused && e.Terminal is null)
            {
                anonymousRefusals++;
            }

            if (e.Outcome == AccessOutcome.Allowed && e.Task.ReadsPersonalData())
            {
                foreach (var p in new[] { e.Account is null ? (Principal?)null : new Principal(PrincipalKind.Clerk, e.Account), e.Terminal is null ? null : new Principal(PrincipalKind.Terminal, e.Terminal) })
                {
                    if (p is { } principal && engine.IsSuspended(principal))
                    {
                        after[principal] = after.GetValueOrDefault(principal) + 1;
                    }
                }
            }

            foreach (var d in engine.Process(row.Line, e))
            {
                decisions.Add(new ReplayDecision(row.Line, d));
                if (d.Action == MonitorAction.Suspend)
                {
                    foreach (var t in d.Targets)
                    {
                        if (!suspended.Exists(s => s.Item1 == t))
                        {
                            suspended.Add((t, d.Time, row.Line));
                        }
                    }
                }
            }
        }

        if (rows.Count > 0)
        {
            // Let pending lookups become orphans after the last row.
            var end = rows[^1].Entry.Time + engine.Options.OrphanAfter;
            foreach (var d in engine.AdvanceTo(end))
            {
                decisions.Add(new ReplayDecision(rows[^1].Line, d));
            }
        }

        return new ReplayOutcome(rows.Count, decisions, suspended, after, anonymousRefusals);
    }
}
