using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Problems;

namespace Custodian.Incidents;

/// <summary>
/// Why a declaration was refused by <see cref="IncidentDeclarationRules.CheckAsync"/>.
/// </summary>
/// <param name="Field">The request member at fault: <c>scope</c> (nothing in scope), <c>to</c> (window ends in the future) or <c>clerks</c> (no such staff account).</param>
/// <param name="Index">For <c>clerks</c>, the 0-based position of the first unknown clerk in the request's list; otherwise -1.</param>
/// <param name="Error">The error the HTTP API answers (400; <see cref="IncidentErrors.ScopeIncomplete"/> or <see cref="ErrorCodes.ValidationFailed"/>); its text never repeats a value of the request.</param>
public sealed record IncidentDeclarationRefusal(string Field, int Index, CustodianError Error);

/// <summary>
/// The checks a declaration must pass before <see cref="IncidentService.DeclareAsync"/> opens a case, shared by
/// <c>POST /api/v1/incidents</c> and <c>custodian incident declare</c> (docs/incidents.md §2). In order:
/// <list type="number">
/// <item>a scope: at least one clerk, terminal, store, detector or alert (a case with nobody in scope scopes nothing)
/// — else <see cref="IncidentErrors.ScopeIncomplete"/>;</item>
/// <item>a window end (<c>to</c>), when given, not after <c>now</c> (a scoping run must be reproducible; the window is widened
/// later by scoping) — else <see cref="IncidentErrors.ScopeIncomplete"/>;</item>
/// <item>every well-formed clerk names a staff account (accounts are never deleted — a departed clerk's stays, disabled — so
/// an unknown one is a typo that would silently scope nothing) — else <see cref="ErrorCodes.ValidationFailed"/>. Malformed
/// codes, the title and the window order are left to <see cref="IncidentService.DeclareAsync"/>.</item>
/// </list>
/// </summary>
public static class IncidentDeclarationRules
{
    /// <summary>The rule of a declaration without a scope.</summary>
    public const string ScopeRule = "at least one clerk, terminal, store, detector or alert";

    /// <summary>The rule of a window end in the future.</summary>
    public const string FutureRule = "must not be in the future (the window ends at the latest now; widen it later by scoping)";

    /// <summary>The rule of an unknown clerk (its position, never its value, is named).</summary>
    public const string ClerkRule = "every clerk must name a staff account (a departed clerk's account is kept, disabled, so it would be found)";

    /// <summary>Checks <paramref name="request"/>; null when it may be declared.</summary>
    /// <param name="request">The declaration.</param>
    /// <param name="staff">The staff directory the clerks are looked up in.</param>
    /// <param name="now">The current time (from the injected <see cref="TimeProvider"/>).</param>
    /// <returns>The first refusal, or null.</returns>
    /// <exception cref="ArgumentNullException">When <paramref name="request"/> or <paramref name="staff"/> is null.</exception>
    public static async Task<IncidentDeclarationRefusal?> CheckAsync(DeclareIncident request, StaffDirectory staff, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(staff);
        var scope = request.Scope;
        if (scope.Clerks.Count + scope.Terminals.Count + scope.Stores.Count + scope.Detectors.Count + request.Alerts.Count == 0)
        {
            return new IncidentDeclarationRefusal("scope", -1, new CustodianError(IncidentErrors.ScopeIncomplete, 400, "An incident needs a scope: " + ScopeRule + ".")
            {
                Errors = new Dictionary<string, string[]> { ["scope"] = [ScopeRule] },
            });
        }

        if (scope.To is { } to && to > now)
        {
            return new IncidentDeclarationRefusal("to", -1, new CustodianError(IncidentErrors.ScopeIncomplete, 400, "The window's end 'to' " + FutureRule + ".")
            {
                Errors = new Dictionary<string, string[]> { ["to"] = [FutureRule] },
            });
        }

        return await CheckClerksAsync(scope.Clerks, staff);
    }

    /// <summary>
    /// The clerk check of <see cref="CheckAsync"/> alone: every well-formed clerk names a staff account. Also applied to the
    /// scope a scoping run sets (<c>POST /api/v1/incidents/{id}/scope</c> with a body, <c>custodian incident scope --clerk</c>),
    /// so a case cannot be re-scoped to a clerk that does not exist either.
    /// </summary>
    /// <param name="clerks">The scope's clerks, in request order.</param>
    /// <param name="staff">The staff directory the clerks are looked up in.</param>
    /// <returns>The refusal naming the first unknown clerk by position (<c>clerks[1]</c>, never its value), or null.</returns>
    /// <exception cref="ArgumentNullException">When <paramref name="clerks"/> or <paramref name="staff"/> is null.</exception>
    public static async Task<IncidentDeclarationRefusal?> CheckClerksAsync(IReadOnlyList<string> clerks, StaffDirectory staff)
    {
        ArgumentNullException.ThrowIfNull(clerks);
        ArgumentNullException.ThrowIfNull(staff);
        for (var i = 0; i < clerks.Count; i++)
        {
            if (Codes.IsValid(clerks[i]) && await staff.GetAsync(clerks[i]) is null)
            {
                return new IncidentDeclarationRefusal("clerks", i, new CustodianError(ErrorCodes.ValidationFailed, 400, $"clerks[{i}] names no staff account.")
                {
                    Errors = new Dictionary<string, string[]> { ["clerks"] = [ClerkRule] },
                });
            }
        }

        return null;
    }
}
