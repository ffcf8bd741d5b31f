using System.Globalization;
using Custodian.Access;
using Custodian.Access.Approvals;
using Custodian.Access.Terminals;
using Custodian.Identity;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Storage;

namespace Custodian.Approvals;

/// <summary>
/// <c>enroll-vdi-host</c>: target <c>&lt;zone&gt;/&lt;name&gt;</c> (e.g. <c>VDI/vdi-7</c>). On approval a one-time enrollment
/// code for a terminal of trust class <see cref="TrustClass.VdiHost"/> is issued and shown to the approver once; when it
/// replaces an earlier unused code of that host, the message says the earlier code is now void.
/// </summary>
public sealed class EnrollVdiHostAction(TerminalRegistry terminals) : IPrivilegedAction
{
    /// <inheritdoc />
    public string ActionName => "enroll-vdi-host";

    /// <inheritdoc />
    /// <remarks>
    /// A zone that differs only in letter case from a store code in use (<see cref="TerminalRegistry.FindStoreCaseVariantAsync"/>)
    /// is refused as the approval's enrollment would refuse it: 400 <c>validation-failed</c>, field <c>target</c>, rule
    /// <c>zone must be written 'VDI' like the store code already in use (store codes are case-sensitive)</c>.
    /// </remarks>
    public async Task<CustodianError?> ValidateAsync(string target, CancellationToken cancellationToken)
    {
        if (Parse(target) is not { } parsed)
        {
            return PrivilegedActionRefusals.MalformedTarget("must be <zone>/<name>, both codes, e.g. VDI/vdi-7");
        }

        return await terminals.FindStoreCaseVariantAsync(parsed.Store, cancellationToken) is { } inUse
            ? PrivilegedActionRefusals.MalformedTarget("zone " + Access.Staff.StaffAccountRules.StoreCaseRule(inUse))
            : null;
    }

    /// <inheritdoc />
    public async Task<Result<string>> ExecuteAsync(PrivilegedRequest request, string approver, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (store, name) = Parse(request.Target)!.Value;
        try
        {
            var code = await terminals.IssueEnrollmentCodeAsync(store, name, null, TrustClass.VdiHost);
            var voided = code.VoidedCodeExpiresAt is { } earlier
                ? string.Create(CultureInfo.InvariantCulture, $" The earlier code for {code.TerminalId} (it would have expired {earlier:yyyy-MM-ddTHH:mm:ssZ}) is now void: only this code enrolls the host.")
                : string.Empty;
            return string.Create(CultureInfo.InvariantCulture, $"VDI host {code.TerminalId}: one-time enrollment code {code.Code} (expires {code.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}); run 'custodian terminal init' on the host with it.{voided}");
        }
        catch (CustodianException e)
        {
            return e.Error;
        }
    }

    private static (string Store, string Name)? Parse(string target)
    {
        var parts = target.Split('/');
        return parts.Length == 2 && Codes.IsValid(parts[0]) && Codes.IsValid(parts[1]) ? (parts[0], parts[1]) : null;
    }
}

/// <summary><c>restore-clerk</c> and <c>restore-terminal</c>: lift a monitor suspension (target: the account or terminal) through <see cref="AccessMonitor.RestoreAsync"/>.</summary>
public sealed class RestoreAction(AccessMonitor monitor, SuspensionRegistry suspensions, PrincipalKind kind) : IPrivilegedAction
{
    /// <summary>Action name for restoring a clerk.</summary>
    public const string RestoreClerk = "restore-clerk";

    /// <summary>Action name for restoring a terminal.</summary>
    public const string RestoreTerminal = "restore-terminal";

    /// <inheritdoc />
    public string ActionName => NameFor(kind);

    /// <summary>The action that restores a principal of <paramref name="kind"/>: <c>restore-clerk</c> or <c>restore-terminal</c>.</summary>
    /// <param name="kind">Clerk or terminal.</param>
    /// <returns>The action name.</returns>
    public static string NameFor(PrincipalKind kind) => kind == PrincipalKind.Clerk ? RestoreClerk : RestoreTerminal;

    /// <summary>
    /// Files a <c>restore-clerk</c> / <c>restore-terminal</c> request for <paramref name="id"/> — the only way the alerts API,
    /// the console's alert page and <c>custodian alerts restore</c> lift a suspension (docs/access.md §7).
    /// </summary>
    /// <param name="requests">The four-eyes workflow.</param>
    /// <param name="kind">Clerk or terminal.</param>
    /// <param name="id">Its code.</param>
    /// <param name="reason">Why (1–500 characters, no personal data).</param>
    /// <param name="officer">The requesting officer.</param>
    /// <param name="role">Their role (null: security officer).</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The pending request, the workflow's refusals (<c>validation-failed</c> 400 when the target is not suspended),
    /// or <c>ledger-unavailable</c> (503, transient) when the request could not be recorded (nothing is stored).</returns>
    public static async Task<Result<PrivilegedRequest>> RequestAsync(PrivilegedActionRequests requests, PrincipalKind kind, string id, string reason, string officer, StaffRole? role, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        try
        {
            return await requests.RequestAsync(NameFor(kind), id, reason, officer, role, cancellationToken);
        }
        catch (Ledger.LedgerUnavailableException)
        {
            return new CustodianError(ErrorCodes.LedgerUnavailable, 503, "The access ledger could not record the request, so nothing was filed. Try again shortly.", IsTransient: true);
        }
    }

    /// <summary>
    /// The clerk or terminal a restore request names, when <paramref name="kind"/> is <c>clerk</c> or <c>terminal</c> and
    /// <paramref name="id"/> a well-formed code; else null (what the refusal's ledger entry may name as its target).
    /// </summary>
    /// <param name="kind">The kind asked for.</param>
    /// <param name="id">The code asked for.</param>
    /// <returns>The principal, or null.</returns>
    public static Principal? Named(string? kind, string? id) =>
        PrincipalKinds.TryParse(kind, out var k) && Codes.IsValid(id) ? Principal.Create(k, id!) : null;

    /// <summary>
    /// Checks an officer's restore request as the officer API (<c>POST /api/v1/alerts/restorations</c>) and the console's
    /// alert page take it — one place, so the same bad request gets the same problem from both — then files it
    /// (<see cref="RequestAsync"/>). In this order: the kind (<c>validation-failed</c>, field <c>kind</c>), the code
    /// (field <c>id</c>), the reason's length (field <c>reason</c>, 1–500 characters), personal data or a bidi control in
    /// the reason (<see cref="Classification.FreeText.Check"/>), and the principal suspended (<c>not-found</c>, 404) —
    /// before the request is filed, so no request names a principal that is not suspended.
    /// </summary>
    /// <param name="requests">The four-eyes workflow.</param>
    /// <param name="suspensions">The suspension registry (read through <see cref="SuspensionRegistry.IsSuspendedAsync"/>).</param>
    /// <param name="kind">The kind asked for: <c>clerk</c> or <c>terminal</c>.</param>
    /// <param name="id">The account or terminal code asked for.</param>
    /// <param name="reason">Why, as the officer typed it.</param>
    /// <param name="officer">The requesting officer.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The pending request, or the first check failed, or the refusals of <see cref="RequestAsync"/>.</returns>
    public static async Task<Result<PrivilegedRequest>> RequestCheckedAsync(
        PrivilegedActionRequests requests, SuspensionRegistry suspensions, string? kind, string? id, string? reason, Access.Staff.StaffPrincipal officer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(suspensions);
        ArgumentNullException.ThrowIfNull(officer);
        if (!PrincipalKinds.TryParse(kind, out var parsed))
        {
            return Hosting.ProblemResults.Validation("kind", "must be clerk or terminal");
        }

        if (Named(kind, id) is not { } named)
        {
            return Hosting.ProblemResults.Validation("id", "must be " + Codes.Rule);
        }

        if (string.IsNullOrWhiteSpace(reason) || reason.Length > SuspensionRegistry.MaxReasonLength)
        {
            return Hosting.ProblemResults.Validation("reason", "is required, 1-500 characters");
        }

        if (Classification.FreeText.Check(reason, "reason") is { } personal)
        {
            return personal;
        }

        if (!await suspensions.IsSuspendedAsync(parsed, named.Id, cancellationToken))
        {
            return new CustodianError(ErrorCodes.NotFound, 404, "That clerk or terminal is not suspended.");
        }

        return await RequestAsync(requests, parsed, named.Id, reason, officer.Id, officer.Role, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<CustodianError?> ValidateAsync(string target, CancellationToken cancellationToken)
    {
        if (!Codes.IsValid(target))
        {
            return PrivilegedActionRefusals.MalformedTarget("must be an account or terminal code");
        }

        return await suspensions.IsSuspendedAsync(kind, target, cancellationToken)
            ? null
            : new CustodianError(ErrorCodes.ValidationFailed, 400, "target: is not suspended");
    }

    /// <inheritdoc />
    public async Task<Result<string>> ExecuteAsync(PrivilegedRequest request, string approver, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reason = $"four eyes: requested by {request.RequestedBy}, approved by {approver}: {request.Reason}";
        return await monitor.RestoreAsync(kind, request.Target, Codes.IsValid(approver) ? approver : "officer", reason.Length <= 500 ? reason : reason[..500], cancellationToken)
            ? $"Restored {kind.ToName()} {request.Target}."
            : new CustodianError(ApprovalErrorCodes.RequestNotPending, 409, "The target is no longer suspended; nothing was restored.");
    }
}

/// <summary>Registers the four-eyes workflow and the privileged actions that exist today.</summary>
public static class ApprovalServiceCollectionExtensions
{
    /// <summary>Adds <see cref="PrivilegedActionRequests"/>, the built-in actions (<c>enroll-vdi-host</c>, <c>restore-clerk</c>, <c>restore-terminal</c>) <c>disable-detector</c> and <c>enable-detector</c> (<see cref="DetectorSwitches"/>, table <c>approvals-001</c>), <c>raise-quota</c> (<see cref="QuotaRaises"/>, <c>approvals-002</c>), <c>export-data-set</c> (<see cref="ExportGrants"/>, <c>approvals-003</c>) and <see cref="StaffLifecycle.DormantAccounts"/>.</summary>
    /// <param name="services">The collection.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddCustodianApprovals(this IServiceCollection services)
    {
        services.AddSingleton<PrivilegedActionRequests>();
        services.AddSingleton<StaffLifecycle.DormantAccounts>(); // staff disable-dormant and the daily run in serve
        services.AddSingleton<DetectorSwitches>();
        services.AddSingleton<IMigrationSource, ApprovalMigrations>();
        services.AddSingleton<QuotaRaises>();
        services.AddSingleton<IPrivilegedAction, RaiseQuotaAction>();
        services.AddSingleton<ExportGrants>();
        services.AddSingleton<IPrivilegedAction, ExportDataSetAction>();
        services.AddSingleton<IPrivilegedAction>(sp => new DetectorSwitchAction(sp.GetRequiredService<DetectorSwitches>(), disable: true, sp.GetRequiredService<ILogger<DetectorSwitchAction>>()));
        services.AddSingleton<IPrivilegedAction>(sp => new DetectorSwitchAction(sp.GetRequiredService<DetectorSwitches>(), disable: false, sp.GetRequiredService<ILogger<DetectorSwitchAction>>()));
        services.AddSingleton<IPrivilegedAction, EnrollVdiHostAction>();
        services.AddSingleton<IPrivilegedAction>(sp => new RestoreAction(sp.GetRequiredService<AccessMonitor>(), sp.GetRequiredService<SuspensionRegistry>(), PrincipalKind.Clerk));
        services.AddSingleton<IPrivilegedAction>(sp => new RestoreAction(sp.GetRequiredService<AccessMonitor>(), sp.GetRequiredService<SuspensionRegistry>(), PrincipalKind.Terminal));
        return services;
    }
}
