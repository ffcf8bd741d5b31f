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
    /// <summary>A terminal renewed its device certificate over mutual TLS (target: the terminal; refused renewals are recorded as denied).</summary>
    CertificateRenewed = 36,
    /// <summary>The device CA was rotated: a rotation started or finished (target: <c>ca:&lt;SHA-256 of the CA&gt;</c>).</summary>
    CaRotated = 37,

    /// <summary>An officer requested a privileged action that needs a second officer (target: <c>request:&lt;id&gt;;action:&lt;name&gt;;target:&lt;what&gt;</c>).</summary>
    PrivilegedActionRequested = 90,
    /// <summary>A second officer approved a privileged action, which was then carried out.</summary>
    PrivilegedActionApproved = 91,
    /// <summary>A second officer rejected a privileged action.</summary>
    PrivilegedActionRejected = 92,
    /// <summary>The requesting officer withdrew their own pending privileged-action request before anyone decided it (account = requester; reason as given).</summary>
    PrivilegedActionWithdrawn = 93,

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
    /// <summary>
    /// A privacy officer held an entry back from a subscriber's portal history because it would reveal a third party (docs/portal.md,
    /// "Third-party deferral"), or changed when the hold ends; subjects = the subscriber it is held from; target
    /// <c>entry:&lt;seq&gt;;until:&lt;Unix ms&gt;;basis:&lt;basis&gt;</c>.
    /// </summary>
    HistoryDeferral = 52,
    /// <summary>A subscriber asked the privacy office to disclose who (which clerk) made an entry of their history; target <c>entry:&lt;seq&gt;;request:&lt;id&gt;</c>.</summary>
    DisclosureRequest = 53,
    /// <summary>A privacy officer answered a disclosure request; target <c>request:&lt;id&gt;;decision:&lt;disclosed|refused&gt;</c>.</summary>
    DisclosureAnswer = 54,
    /// <summary>A run of the periodic usage-history notice (PIPA Art. 20-2) finished; target <c>usage-history:&lt;cycle&gt;;delivered:&lt;n&gt;;skipped:&lt;n&gt;</c>.</summary>
    UsageNoticeRun = 55,

    /// <summary>Entries' payloads erased after the retention period.</summary>
    RetentionErasure = 60,
    /// <summary>A reviewer signed off a periodic access-log review (PIPA safety standard Art. 8(2)); the target names the period and the report's SHA-256.</summary>
    ReviewSignOff = 61,
    /// <summary>Ledger entries exported from the access-log review (e.g. to CSV); the reason is required and the export is flagged in the review report.</summary>
    Export = 62,

    /// <summary>An officer declared an incident (by hand or from alerts); the target is <c>incident:&lt;id&gt;</c> (docs/incidents.md).</summary>
    IncidentDeclared = 80,
    /// <summary>An incident's affected subscribers were computed from the ledger; the target names the incident, the ledger size scanned and the SHA-256 of the affected set.</summary>
    IncidentScoped = 81,
    /// <summary>Breach notices of an incident were sent to the affected subscribers (PIPA Art. 34).</summary>
    IncidentNotified = 82,
    /// <summary>An incident was closed by an officer; the reason is the closing note.</summary>
    IncidentClosed = 83,
    /// <summary>An incident's affected set was exported as subscriber tokens; the reason is required.</summary>
    IncidentExport = 84,
    /// <summary>A subscriber filed a compensation claim for secondary damage after an incident (the subscriber is the subject).</summary>
    ClaimFiled = 85,
    /// <summary>An officer asked the claimant for more information.</summary>
    ClaimInformationRequested = 86,
    /// <summary>The claimant answered an officer's request for information.</summary>
    ClaimAnswered = 87,
    /// <summary>An officer approved (with an amount) or rejected (with a reason) a claim.</summary>
    ClaimDecided = 88,
    /// <summary>A payout of an approved claim was recorded.</summary>
    ClaimPaid = 89,

    /// <summary>
    /// An officer opened a compensation claim (its description and evidence, written by or about the claimant, who is
    /// the subject); the target is <c>claim:&lt;id&gt;</c>. The claim list shows tokens and amounts only and is not recorded.
    /// </summary>
    ClaimView = 110,
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

    /// <summary>
    /// Whether the task records a download or export of data out of Custodian: <see cref="AccessTask.Download"/> (a data
    /// set, a backup), <see cref="AccessTask.Export"/> (review exports, one-off SIEM exports to a file) and
    /// <see cref="AccessTask.IncidentExport"/> (an incident's affected set). The one list the access-log review flags
    /// (PIPA safety standard Art. 8(2): a download's reason must be confirmed; docs/review.md "FLAGGED downloads and exports").
    /// </summary>
    public static bool IsDownloadOrExport(this AccessTask task) =>
        task is AccessTask.Download or AccessTask.Export or AccessTask.IncidentExport;

    /// <summary>
    /// Whether the task records a grant, change or revocation of access rights (accounts, terminals and their
    /// certificates, suspensions). PIPA safety standard (개인정보의 안전성 확보조치 기준) Art. 5(3): such records are kept
    /// at least 3 years, longer than the 2 years of ordinary access logs; ledger retention honours this
    /// (<c>Retention:AccessRightsYears</c>, docs/ledger-format.md §13).
    /// </summary>
    public static bool RecordsAccessRights(this AccessTask task) =>
        task is AccessTask.EnrollmentIssued or AccessTask.Enrolled or AccessTask.Revoked or AccessTask.StaffCreated
            or AccessTask.StaffChanged or AccessTask.StaffDisabled or AccessTask.Suspended or AccessTask.Restored
            or AccessTask.CertificateRenewed or AccessTask.CaRotated
            or AccessTask.PrivilegedActionRequested or AccessTask.PrivilegedActionApproved or AccessTask.PrivilegedActionRejected
            or AccessTask.PrivilegedActionWithdrawn;

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
