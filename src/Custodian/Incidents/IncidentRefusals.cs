using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;

namespace Custodian.Incidents;

/// <summary>
/// Records a refused incident action — a declaration, scoping run, notification, export or closing — from the officer API
/// and the console alike as one denied entry of the action's own task with the problem's error code
/// (<see cref="OfficerRefusals"/>). The target is <c>incident:&lt;id&gt;</c> (the stored spelling) only when a case with the
/// ID asked for exists, else none; never the title, note, reason or notice facts the officer typed, nor a refused scope.
/// Reads (list, show, report, notice drafts) record nothing when served and nothing when refused.
/// </summary>
public static class IncidentRefusals
{
    /// <summary>Appends the denied entry (a failure to write it is logged and the refusal stands); returns <paramref name="error"/>.</summary>
    /// <param name="services">The request's services (<see cref="IncidentService"/>, <see cref="AccessRecorder"/>, <see cref="TimeProvider"/>).</param>
    /// <param name="staff">The officer refused: a terminal request's (a <see cref="StaffRequest"/> converts) or the CLI's local operator.</param>
    /// <param name="task">The refused action's own task, e.g. <see cref="AccessTask.IncidentClosed"/>.</param>
    /// <param name="id">The case ID asked for, or null for a declaration (no case yet).</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels the look-up and the append.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static async Task<CustodianError> RefusedAsync(
        IServiceProvider services, RefusedOfficer staff, AccessTask task, string? id, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        string? target = null;
        if (id is not null)
        {
            var got = await services.GetRequiredService<IncidentService>().GetAsync(id, cancellationToken);
            target = got.IsSuccess ? "incident:" + got.Value.Id : null; // an unknown ID is outside input: not recorded
        }

        return await OfficerRefusals.RecordAsync(services, staff, task, target, null, error, cancellationToken);
    }
}
