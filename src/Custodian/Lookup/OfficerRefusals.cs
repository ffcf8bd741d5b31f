using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;

namespace Custodian.Lookup;

/// <summary>
/// Who was refused, as the denied entry records it: an officer on a terminal (account, role, terminal, store and source
/// address, from a <see cref="StaffRequest"/>) or the local operator of the command-line interface (account and role only:
/// no terminal, store or address, as the CLI's allowed entries record it).
/// </summary>
/// <param name="Account">The staff account, e.g. <c>so-kim</c> or <c>local-&lt;OS user&gt;</c>.</param>
/// <param name="Role">The account's role.</param>
/// <param name="Terminal">The device's terminal ID, or null for the CLI.</param>
/// <param name="Store">The device's store code, or null for the CLI.</param>
/// <param name="SourceIp">The source address, or null (the CLI; or unknown).</param>
public sealed record RefusedOfficer(string Account, StaffRole Role, string? Terminal, string? Store, string? SourceIp)
{
    /// <summary>The officer of a terminal API or console request.</summary>
    /// <param name="staff">The officer, device and source address.</param>
    /// <returns>The officer with the request's terminal, store and source address.</returns>
    /// <exception cref="ArgumentNullException">When <paramref name="staff"/> is null.</exception>
    public static RefusedOfficer FromStaffRequest(StaffRequest staff)
    {
        ArgumentNullException.ThrowIfNull(staff);
        var principal = staff.Session.Principal;
        return new(principal.Id, principal.Role, staff.Device.Terminal, staff.Device.Store, staff.SourceIp);
    }

    /// <summary>The officer of a terminal API or console request (<see cref="FromStaffRequest"/>).</summary>
    /// <param name="staff">The officer, device and source address.</param>
    public static implicit operator RefusedOfficer(StaffRequest staff) => FromStaffRequest(staff);
}

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
    /// <param name="staff">The officer refused: a terminal request's (a <see cref="StaffRequest"/> converts) or the CLI's local operator.</param>
    /// <param name="task">The refused action's own task.</param>
    /// <param name="target">What the action named, only when it exists (never free text), or null.</param>
    /// <param name="reason">The enumerated state asked for, or null; never free text.</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static Task<CustodianError> RecordAsync(
        IServiceProvider services, RefusedOfficer staff, AccessTask task, string? target, string? reason, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        return RecordAsync(services.GetRequiredService<AccessRecorder>(), services.GetRequiredService<TimeProvider>(), staff, task, target, reason, error, cancellationToken);
    }

    /// <summary>As <see cref="RecordAsync(IServiceProvider, RefusedOfficer, AccessTask, string?, string?, CustodianError, CancellationToken)"/>, for a service that holds the recorder and clock itself.</summary>
    /// <param name="recorder">Appends the denied entry.</param>
    /// <param name="time">The entry's clock.</param>
    /// <param name="staff">The officer refused.</param>
    /// <param name="task">The refused action's own task.</param>
    /// <param name="target">What the action named, only when it exists (never free text), or null.</param>
    /// <param name="reason">The enumerated state asked for, or null; never free text.</param>
    /// <param name="error">The refusal.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <returns><paramref name="error"/>.</returns>
    public static Task<CustodianError> RecordAsync(
        AccessRecorder recorder, TimeProvider time, RefusedOfficer staff, AccessTask task, string? target, string? reason, CustodianError error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recorder);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(staff);
        ArgumentNullException.ThrowIfNull(error);
        return recorder.RefuseAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = task,
                Outcome = AccessOutcome.Denied,
                Account = staff.Account,
                Role = staff.Role,
                Terminal = staff.Terminal,
                Store = staff.Store,
                SourceIp = staff.SourceIp,
                Target = target,
                Reason = reason,
            },
            error,
            cancellationToken);
    }
}
