using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;

namespace Custodian.Gateway;

/// <summary>
/// The role gate of the officer endpoints on the terminal API. Runs after <see cref="StaffApi.RequireSessionAsync"/>;
/// a session whose role is not allowed is refused with <c>role-not-permitted</c> (403) and the refusal is recorded in
/// the ledger as an <see cref="AccessTask.Refused"/> entry whose target names the area.
/// </summary>
public static class StaffRoleFilter
{
    /// <summary>Security and privacy officers: the roles of the console and of every officer API.</summary>
    public static readonly IReadOnlyList<StaffRole> Officers = [StaffRole.SecurityOfficer, StaffRole.PrivacyOfficer];

    /// <summary>An endpoint filter admitting only <paramref name="roles"/>.</summary>
    /// <param name="area">The ledger entry's target for a refusal, e.g. <c>incidents</c> (kebab-case, no personal data).</param>
    /// <param name="message">The problem's detail for a refusal, e.g. "Only a security officer or privacy officer may handle incidents."</param>
    /// <param name="roles">The roles allowed.</param>
    public static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> Require(string area, string message, IReadOnlyCollection<StaffRole> roles) =>
        async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var staff = StaffApi.Staff(context);
            var principal = staff.Session.Principal;
            if (roles.Contains(principal.Role))
            {
                return await next(invocation);
            }

            var error = await OfficerRefusals.RecordAsync(
                context.RequestServices, staff, AccessTask.Refused, area, null, new CustodianError(ErrorCodes.RoleNotPermitted, 403, message), context.RequestAborted);
            return error.ToProblem();
        };
}
