namespace Custodian.Ledger;

/// <summary>
/// What an access-ledger entry records. The first block mirrors the PIPA safety standard's
/// task list (view, change, insert, delete, print, download); the rest are security events.
/// Stored and exported by the kebab-case names from <see cref="AccessTasks.ToName"/>; values never change.
/// </summary>
public enum AccessTask
{
    /// <summary>An exact-match search by a blind-indexed field (returns masked summaries).</summary>
    Search = 1,
    /// <summary>Viewing a subscriber's record, masked per purpose.</summary>
    View = 2,
    /// <summary>Viewing one or more fields in full.</summary>
    Unmask = 3,
    /// <summary>Changing a subscriber's record.</summary>
    Change = 4,
    /// <summary>Inserting subscriber records (e.g. an import).</summary>
    Insert = 5,
    /// <summary>Deleting subscriber records.</summary>
    Delete = 6,
    /// <summary>Printing.</summary>
    Print = 7,
    /// <summary>Downloading or exporting a data set.</summary>
    Download = 8,
    /// <summary>Sending a consent (customer-presence) code to a subscriber.</summary>
    ConsentRequest = 9,
    /// <summary>A business transaction completed for a subscriber (service, sale).</summary>
    ServiceComplete = 10,

    /// <summary>A staff sign-in attempt.</summary>
    SignIn = 20,
    /// <summary>A staff sign-out or session expiry.</summary>
    SignOut = 21,
    /// <summary>A staff password change.</summary>
    PasswordChange = 22,
    /// <summary>An account locked after repeated authentication failures.</summary>
    Lockout = 23,
    /// <summary>A request refused at the gateway: missing, unknown, expired or revoked device certificate.</summary>
    DeviceRefused = 24,
    /// <summary>A request refused by policy (no session, no purpose, suspended, …).</summary>
    Refused = 25,

    /// <summary>A terminal enrollment code issued.</summary>
    EnrollmentIssued = 30,
    /// <summary>A device certificate issued to a terminal.</summary>
    Enrolled = 31,
    /// <summary>A device certificate revoked.</summary>
    Revoked = 32,
    /// <summary>A staff account created.</summary>
    StaffCreated = 33,
    /// <summary>A staff account changed (role, store, unlock, reset).</summary>
    StaffChanged = 34,
    /// <summary>A staff account disabled.</summary>
    StaffDisabled = 35,

    /// <summary>The monitor raised an alert.</summary>
    AlertRaised = 40,
    /// <summary>A clerk or terminal suspended (by the monitor or an officer).</summary>
    Suspended = 41,
    /// <summary>A suspension lifted by an officer.</summary>
    Restored = 42,
    /// <summary>An officer reviewed a monitor alert: acknowledged, confirmed or marked a false positive (target = alert id, reason = new state and note).</summary>
    AlertReviewed = 43,
    /// <summary>The monitor put a clerk or terminal under step-up: plain views refused, only reads with the subscriber's consent (target = principal).</summary>
    SteppedUp = 44,

    /// <summary>A subscriber signed in to the portal.</summary>
    PortalSignIn = 50,
    /// <summary>A subscriber viewed their own access history.</summary>
    HistoryView = 51,

    /// <summary>Entries' payloads erased after the retention period.</summary>
    RetentionErasure = 60,
    /// <summary>A reviewer signed off a periodic access-log review (PIPA safety standard Art. 8(2)); the target names the period and the report's SHA-256.</summary>
    ReviewSignOff = 61,
    /// <summary>Ledger entries exported from the access-log review (e.g. to CSV); the reason is required and the export is flagged in the review report.</summary>
    Export = 62,
}

/// <summary>Stable names of <see cref="AccessTask"/> values.</summary>
public static class AccessTasks
{
    private static readonly Dictionary<AccessTask, string> Names = Enum.GetValues<AccessTask>()
        .ToDictionary(t => t, t => ToKebab(t.ToString()));

    private static readonly Dictionary<string, AccessTask> ByName = Names.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    /// <summary>The kebab-case name, e.g. <c>consent-request</c>.</summary>
    public static string ToName(this AccessTask task) =>
        Names.TryGetValue(task, out var name) ? name : throw new ArgumentOutOfRangeException(nameof(task));

    /// <summary>Parses a kebab-case name.</summary>
    public static bool TryParse(string? name, out AccessTask task) => ByName.TryGetValue(name ?? string.Empty, out task);

    /// <summary>Whether the task reads subscribers' personal data (the monitor counts these).</summary>
    public static bool ReadsPersonalData(this AccessTask task) =>
        task is AccessTask.Search or AccessTask.View or AccessTask.Unmask or AccessTask.Print or AccessTask.Download;

    private static string ToKebab(string pascal)
    {
        var sb = new System.Text.StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (char.IsUpper(pascal[i]) && i > 0)
            {
                sb.Append('-');
            }

            sb.Append(char.ToLowerInvariant(pascal[i]));
        }

        return sb.ToString();
    }
}

/// <summary>Whether the recorded event was allowed or refused.</summary>
public enum AccessOutcome
{
    /// <summary>Allowed and served.</summary>
    Allowed = 1,
    /// <summary>Refused; the entry's error code says why.</summary>
    Denied = 2,
}
