using Custodian.Ledger;
using Custodian.Problems;

namespace Custodian.Lookup;

/// <summary>
/// Records a refused officer action (an alert review or restore, a four-eyes request or decision) as one denied entry of
/// the action's own task with the problem's error code ("deny by default, with a reason": every refusal is itself
/// recorded). Callers pass only codes, IDs of things that exist and enumerated states — never the officer's free text
/// (a note, reason or description may hold personal data, and a refused text is often refused because it looked like some).
/// </summary>
public static class OfficerRefusals
{
    /// <summary>Appends the denied entry (a failure to write it is logged and the refusal stands); returns <paramref name="error"/>.</summary>
    /// <param name="services">The request's services (<see cref="AccessRecorder"/>, <see cref="TimeProvider"/>).</param>
    /// <param name="staff">The officer, device and source address.</param>
    /// <param name="task">The refused action's own task.</param>
    /// <param name="target">What the action named, only when it exists (never free text), or null.</param>
    /// <param name="reason">The enumerated state asked for, or null; never free text.</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static Task<CustodianError> RecordAsync(
        IServiceProvider services, StaffRequest staff, AccessTask task, string? target, string? reason, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(staff);
        ArgumentNullException.ThrowIfNull(error);
        var principal = staff.Session.Principal;
        return services.GetRequiredService<AccessRecorder>().RefuseAsync(
            new AccessEntry
            {
                Time = services.GetRequiredService<TimeProvider>().GetUtcNow(),
                Task = task,
                Outcome = AccessOutcome.Denied,
                Account = principal.Id,
                Role = principal.Role,
                Terminal = staff.Device.Terminal,
                Store = staff.Device.Store,
                SourceIp = staff.SourceIp,
                Target = target,
                Reason = reason,
            },
            error,
            cancellationToken);
    }
}
