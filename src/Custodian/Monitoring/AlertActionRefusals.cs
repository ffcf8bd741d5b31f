using Custodian.Approvals;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;

namespace Custodian.Monitoring;

/// <summary>
/// Records a refused officer action on an alert — a review (acknowledge, false positive, confirm) or a restore
/// request — from the officer API and the console alike ("deny by default, with a reason": every refusal is itself
/// recorded) — and from the CLI's <c>alerts restore</c>. The entry is the action's own task with outcome denied and the problem's error code; its reason is
/// only the state asked for, never the officer's note or reason text (it may hold personal data, and a refused text
/// is refused precisely because it looked like some).
/// </summary>
public static class AlertActionRefusals
{
    /// <summary>
    /// Appends a denied <see cref="AccessTask.AlertReviewed"/> entry for a refused review; returns <paramref name="error"/>.
    /// </summary>
    /// <param name="services">The request's services (<see cref="AccessRecorder"/>, <see cref="TimeProvider"/>).</param>
    /// <param name="staff">The officer, device and source address (a <see cref="StaffRequest"/> converts; the CLI passes its own actor).</param>
    /// <param name="alertId">The alert reviewed, recorded as the target only when <paramref name="known"/>.</param>
    /// <param name="known">Whether an alert with that ID exists (an unknown ID is outside input and is not recorded).</param>
    /// <param name="state">The state asked for, when it was a valid state name; recorded as the reason.</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static Task<CustodianError> ReviewRefusedAsync(
        IServiceProvider services, RefusedOfficer staff, string alertId, bool known, AlertState? state, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(staff);
        return OfficerRefusals.RecordAsync(services, staff, AccessTask.AlertReviewed, known ? alertId : null, state?.ToName(), error, cancellationToken);
    }

    /// <summary>
    /// Appends a denied <see cref="AccessTask.PrivilegedActionRequested"/> entry for a refused restore request;
    /// returns <paramref name="error"/>.
    /// </summary>
    /// <param name="services">The request's services (<see cref="AccessRecorder"/>, <see cref="TimeProvider"/>).</param>
    /// <param name="staff">The officer, device and source address (a <see cref="StaffRequest"/> converts; the CLI passes its own actor).</param>
    /// <param name="principal">The clerk or terminal named, when the kind and code were valid; recorded as the target
    /// <c>action:restore-clerk;target:C0042</c> (the granted request's target without its request ID).</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static Task<CustodianError> RestoreRefusedAsync(
        IServiceProvider services, RefusedOfficer staff, Principal? principal, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(staff);
        var target = principal is { } p ? "action:" + RestoreAction.NameFor(p.Kind) + ";target:" + p.Id : null;
        return OfficerRefusals.RecordAsync(services, staff, AccessTask.PrivilegedActionRequested, target, null, error, cancellationToken);
    }
}
