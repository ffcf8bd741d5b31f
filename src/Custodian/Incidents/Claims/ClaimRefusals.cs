using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;

namespace Custodian.Incidents.Claims;

/// <summary>
/// Records an officer's refused step on a compensation claim — an information request, an approval, a rejection or a
/// payout — from the officer API, the console and the CLI alike as one denied entry of the step's own task with the problem's error
/// code (<see cref="OfficerRefusals"/>). The target is <c>claim:&lt;id&gt;</c> only when a claim with the ID asked for
/// exists, else none; the reason is the decision asked for (<c>approved</c> or <c>rejected</c>) on a
/// <see cref="AccessTask.ClaimDecided"/> refusal, else none; never the question, note, reason or reference the officer typed.
/// A subscriber's refused filing or answer on the portal is not recorded (no portal refusal is; docs/incidents.md).
/// </summary>
public static class ClaimRefusals
{
    /// <summary>Appends the denied entry (a failure to write it is logged and the refusal stands); returns <paramref name="error"/>.</summary>
    /// <param name="services">The request's services (<see cref="ClaimService"/>, <see cref="AccessRecorder"/>, <see cref="TimeProvider"/>).</param>
    /// <param name="staff">The officer refused: a terminal request's (a <see cref="StaffRequest"/> converts) or the CLI's local operator.</param>
    /// <param name="task">The refused step's own task, e.g. <see cref="AccessTask.ClaimPaid"/>.</param>
    /// <param name="id">The claim ID asked for.</param>
    /// <param name="decision"><see cref="ClaimState.Approved"/> or <see cref="ClaimState.Rejected"/> for a decision, else null; recorded as the reason.</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels the look-up and the append.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static async Task<CustodianError> RefusedAsync(
        IServiceProvider services, RefusedOfficer staff, AccessTask task, string? id, ClaimState? decision, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var got = await services.GetRequiredService<ClaimService>().GetAsync(id, null, cancellationToken);
        var target = got.IsSuccess ? "claim:" + got.Value.Id : null; // an unknown ID is outside input: not recorded
        return await OfficerRefusals.RecordAsync(services, staff, task, target, decision is { } d ? ClaimService.Name(d) : null, error, cancellationToken);
    }
}
