namespace Custodian.Incidents;

/// <summary>Stable error codes of incident response (problem type <c>urn:custodian:error:&lt;code&gt;</c>; kebab-case, never change meaning).</summary>
public static class IncidentErrors
{
    /// <summary>No incident has the given ID (404).</summary>
    public const string NotFound = "incident-not-found";

    /// <summary>The action is not allowed in the case's current state, e.g. notifying an open case or closing a scoped one with affected subscribers (409).</summary>
    public const string StateConflict = "incident-state-conflict";

    /// <summary>An alert named at declaration does not exist (400).</summary>
    public const string AlertUnknown = "incident-alert-unknown";

    /// <summary>The scope is incomplete (no principal, no window) or the window ends in the future (400).</summary>
    public const string ScopeIncomplete = "incident-scope-incomplete";

    /// <summary>A required reason, note or notice fact is missing, blank or too long (400).</summary>
    public const string ReasonRequired = "incident-reason-required";
}
