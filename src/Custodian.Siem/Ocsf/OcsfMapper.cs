using System.Globalization;
using System.Text.Json.Nodes;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Monitoring.Detection;

namespace Custodian.Siem.Ocsf;

/// <summary>
/// Maps committed access-ledger entries to OCSF 1.8.0 events (schema.ocsf.io 1.8.0; the mapping table is
/// in docs/siem.md):
/// <list type="bullet">
/// <item>reads and changes of subscriber data → 6005 Datastore Activity (category 6 Application Activity);</item>
/// <item>staff sign-in, sign-out, password change, lockout, refused device certificates and portal sign-in → 3002 Authentication (category 3 Identity &amp; Access Management);</item>
/// <item>alerts raised by the monitor → 2004 Detection Finding (category 2 Findings), enriched from the alert store when the alert is there;</item>
/// <item>officer, administrator and system actions (staff and terminal administration, certificate and CA changes, four-eyes approvals,
/// suspensions and restores, alert reviews, step-ups, incidents, claims, disclosure requests, review sign-offs, retention erasure)
/// → 6003 API Activity (category 6 Application Activity), <c>api.operation</c> = the ledger task name (<see cref="ApiActivityOf"/>).</item>
/// </list>
/// Every event declares the profiles in <see cref="Profiles"/> in <c>metadata.profiles</c>, carries
/// <c>metadata.uid</c> = the ledger sequence (decimal), <c>metadata.product.name</c> = <c>Custodian</c> and
/// <c>metadata.version</c> = <c>1.8.0</c>. Subscribers appear only as tokens from <see cref="ISubjectTokenizer"/>.
/// Thread-safe when the tokenizer is.
/// </summary>
/// <param name="tokens">Subscriber tokenization (FF1 in the host).</param>
public sealed class OcsfMapper(ISubjectTokenizer tokens)
{
    /// <summary>The OCSF schema version of every event.</summary>
    public const string SchemaVersion = "1.8.0";

    /// <summary>The product name in <c>metadata.product.name</c>.</summary>
    public const string ProductName = "Custodian";

    /// <summary>OCSF class 6005 Datastore Activity.</summary>
    public const int DatastoreActivity = 6005;

    /// <summary>OCSF class 3002 Authentication.</summary>
    public const int Authentication = 3002;

    /// <summary>OCSF class 2004 Detection Finding.</summary>
    public const int DetectionFinding = 2004;

    /// <summary>OCSF class 6003 API Activity.</summary>
    public const int ApiActivity = 6003;

    private const string ApiServiceName = "custodian";

    /// <summary>
    /// The OCSF profiles every event declares (<c>metadata.profiles</c>): <c>datetime</c> (<c>time_dt</c>),
    /// <c>host</c> (<c>device</c> = the store terminal), <c>security_control</c> (<c>action_id</c>) and
    /// <c>data_classification</c>. Validators must use the schema for exactly these profiles.
    /// </summary>
    public static IReadOnlyList<string> Profiles { get; } = ["data_classification", "datetime", "host", "security_control"];

    private readonly ISubjectTokenizer _tokens = tokens ?? throw new ArgumentNullException(nameof(tokens));

    /// <summary>The OCSF class an entry of <paramref name="task"/> becomes, or null when the task is not exported.</summary>
    public static int? Classify(AccessTask task) => task switch
    {
        AccessTask.Search or AccessTask.View or AccessTask.Unmask or AccessTask.Change or AccessTask.Insert or AccessTask.Delete
            or AccessTask.Print or AccessTask.Download or AccessTask.ConsentRequest or AccessTask.ServiceComplete
            or AccessTask.Refused or AccessTask.HistoryView or AccessTask.Export or AccessTask.ClaimView => DatastoreActivity,
        AccessTask.SignIn or AccessTask.SignOut or AccessTask.PasswordChange or AccessTask.Lockout
            or AccessTask.DeviceRefused or AccessTask.PortalSignIn => Authentication,
        AccessTask.AlertRaised => DetectionFinding,
        _ when ApiActivityOf(task) is not null => ApiActivity,
        _ => null,
    };

    /// <summary>
    /// The 6003 API Activity mapping of an officer, administrator or system action, or null when <paramref name="task"/>
    /// is exported as another class. Create = something new exists (account, enrollment code, certificate, request,
    /// incident, claim, sign-off); Read = data leaves (an incident's affected set exported); Update = the state of an
    /// existing thing changes (account, certificate, CA, request decision, suspension, alert, incident, claim); Delete =
    /// something is removed (certificate revoked, ledger payloads erased); Other = a run with effects outside the store
    /// (notices sent).
    /// </summary>
    public static ApiActivityMapping? ApiActivityOf(AccessTask task) => task switch
    {
        AccessTask.EnrollmentIssued => Create("terminal"),
        AccessTask.Enrolled => Create("terminal"),
        AccessTask.Revoked => Delete("terminal"),
        AccessTask.StaffCreated => Create("staff-account"),
        AccessTask.StaffChanged => Update("staff-account"),
        AccessTask.StaffDisabled => Update("staff-account"),
        AccessTask.CertificateRenewed => Update("terminal"),
        AccessTask.CaRotated => Update("device-ca"),
        AccessTask.PrivilegedActionRequested => Create("privileged-action-request"),
        AccessTask.PrivilegedActionApproved => Update("privileged-action-request"),
        AccessTask.PrivilegedActionRejected => Update("privileged-action-request"),
        AccessTask.PrivilegedActionWithdrawn => Update("privileged-action-request"),
        AccessTask.Suspended => Update("principal"),
        AccessTask.Restored => Update("principal"),
        AccessTask.AlertReviewed => Update("alert"),
        AccessTask.SteppedUp => Update("principal"),
        AccessTask.HistoryDeferral => Update("ledger-entry"),
        AccessTask.DisclosureRequest => Create("disclosure-request"),
        AccessTask.DisclosureAnswer => Update("disclosure-request"),
        AccessTask.UsageNoticeRun => new(99, AccessTask.UsageNoticeRun.ToName(), "usage-notice-cycle"),
        AccessTask.RetentionErasure => Delete("ledger-range"),
        AccessTask.ReviewSignOff => Create("access-review"),
        AccessTask.IncidentDeclared => Create("incident"),
        AccessTask.IncidentScoped => Update("incident"),
        AccessTask.IncidentNotified => new(99, AccessTask.IncidentNotified.ToName(), "incident"),
        AccessTask.IncidentClosed => Update("incident"),
        AccessTask.IncidentExport => new(2, "Read", "incident"),
        AccessTask.ClaimFiled => Create("claim"),
        AccessTask.ClaimInformationRequested => Update("claim"),
        AccessTask.ClaimAnswered => Update("claim"),
        AccessTask.ClaimDecided => Update("claim"),
        AccessTask.ClaimPaid => Update("claim"),
        _ => null,
    };

    /// <summary>The event for <paramref name="committed"/>, or null when its task is not exported (<see cref="Classify"/>).</summary>
    /// <param name="committed">The ledger entry.</param>
    /// <param name="alert">For an <see cref="AccessTask.AlertRaised"/> entry, the stored alert its <c>Target</c> names, when found; ignored otherwise.</param>
    public OcsfEvent? Map(CommittedEntry committed, Alert? alert = null)
    {
        ArgumentNullException.ThrowIfNull(committed);
        return Classify(committed.Entry.Task) switch
        {
            DatastoreActivity => Datastore(committed),
            Authentication => Auth(committed),
            DetectionFinding => Finding(committed, alert),
            ApiActivity => Api(committed),
            _ => null,
        };
    }

    private OcsfEvent Datastore(CommittedEntry committed)
    {
        var e = committed.Entry;
        var (activityId, activityName) = e.Task switch
        {
            AccessTask.Search => (4, "Query"),
            AccessTask.View or AccessTask.Unmask or AccessTask.Print or AccessTask.Download or AccessTask.HistoryView or AccessTask.Export or AccessTask.ClaimView => (1, "Read"),
            AccessTask.Insert => (6, "Create"),
            AccessTask.Change => (2, "Update"),
            AccessTask.Delete => (7, "Delete"),
            _ => (99, e.Task.ToName()),
        };
        var denied = e.Outcome == AccessOutcome.Denied;
        var json = Header(committed, DatastoreActivity, "Datastore Activity", 6, "Application Activity", activityId, activityName, denied ? 2 : 1);
        AddStatus(json, e);
        json["actor"] = new JsonObject { ["user"] = User(e.Account ?? "unknown") };
        json["src_endpoint"] = Endpoint(e);
        AddDevice(json, e);
        // An access-log export (review query --export) reads the access ledger, not the subscriber store.
        json["database"] = new JsonObject { ["name"] = e.Task switch { AccessTask.Export => "access-ledger", AccessTask.ClaimView => "claims", _ => "subscribers" }, ["type_id"] = 1, ["type"] = "Relational" };
        json["message"] = Message(e);
        json["unmapped"] = Unmapped(e);
        return new OcsfEvent(committed.Sequence, DatastoreActivity, json);
    }

    private OcsfEvent Auth(CommittedEntry committed)
    {
        var e = committed.Entry;
        var (activityId, activityName) = e.Task switch
        {
            AccessTask.SignIn or AccessTask.PortalSignIn or AccessTask.Lockout or AccessTask.DeviceRefused => (1, "Logon"),
            AccessTask.SignOut => (2, "Logoff"),
            _ => (99, e.Task.ToName()),
        };
        var failed = e.Outcome == AccessOutcome.Denied || e.Task == AccessTask.Lockout;
        var severity = e.Task == AccessTask.Lockout ? 3 : failed ? 2 : 1;
        var json = Header(committed, Authentication, "Authentication", 3, "Identity & Access Management", activityId, activityName, severity);
        AddStatus(json, e, forceFailure: e.Task == AccessTask.Lockout);
        var portal = e.Task is AccessTask.PortalSignIn;
        var user = portal && e.Subjects.Count > 0
            ? new JsonObject { ["uid"] = _tokens.Tokenize(e.Subjects[0]), ["name"] = "subscriber", ["type_id"] = 99, ["type"] = "Subscriber" }
            : User(e.Account ?? "unknown");
        json["user"] = user;
        json["service"] = new JsonObject { ["name"] = portal ? "custodian-portal" : "custodian-terminal-api" };
        if (e.Task is AccessTask.SignIn && e.Outcome == AccessOutcome.Allowed)
        {
            json["is_mfa"] = true; // password + TOTP (RFC 6238)
        }

        json["src_endpoint"] = Endpoint(e);
        AddDevice(json, e);
        json["message"] = Message(e);
        json["unmapped"] = Unmapped(e);
        return new OcsfEvent(committed.Sequence, Authentication, json);
    }

    private OcsfEvent Finding(CommittedEntry committed, Alert? alert)
    {
        var e = committed.Entry;
        var severity = alert?.Severity switch
        {
            AlertSeverity.Low => 2,
            AlertSeverity.Medium => 3,
            AlertSeverity.Critical => 5,
            _ => 4,
        };
        var json = Header(committed, DetectionFinding, "Detection Finding", 2, "Findings", 1, "Create", severity);
        json["status_id"] = 1;
        json["status"] = "New";
        var info = new JsonObject
        {
            ["uid"] = e.Target ?? ("ledger-" + committed.Sequence.ToString(CultureInfo.InvariantCulture)),
            // One title per detector (DetectorCatalog, the list docs/monitoring.md tables); a finding without its stored alert
            // (deleted, or another process's) names the monitor only.
            ["title"] = DetectorCatalog.TitleOf(alert?.Detector) ?? "Access monitor alert",
            ["analytic"] = new JsonObject { ["name"] = alert?.Detector ?? "monitor", ["type_id"] = 1, ["type"] = "Rule" },
            ["created_time"] = (alert?.RaisedAt ?? e.Time).ToUnixTimeMilliseconds(),
        };
        if (e.Reason is not null)
        {
            info["desc"] = e.Reason;
        }

        json["finding_info"] = info;
        json["message"] = e.Reason ?? "alert raised by the access monitor";
        var unmapped = Unmapped(e);
        if (alert is not null)
        {
            unmapped["principal_kind"] = alert.Principal.Kind.ToName();
            unmapped["principal"] = alert.Principal.Id;
            unmapped["observed"] = alert.Observed;
            unmapped["limit"] = alert.Limit;
            unmapped["window_seconds"] = (long)alert.Window.TotalSeconds;
            unmapped["alert_severity"] = alert.Severity.ToName();
            unmapped["evidence_first_sequence"] = alert.Evidence.FirstSequence;
            unmapped["evidence_last_sequence"] = alert.Evidence.LastSequence;
            unmapped["evidence_total"] = alert.Evidence.TotalSequences;
        }

        json["unmapped"] = unmapped;
        return new OcsfEvent(committed.Sequence, DetectionFinding, json);
    }

    private static ApiActivityMapping Create(string resourceType) => new(1, "Create", resourceType);

    private static ApiActivityMapping Update(string resourceType) => new(3, "Update", resourceType);

    private static ApiActivityMapping Delete(string resourceType) => new(4, "Delete", resourceType);

    private OcsfEvent Api(CommittedEntry committed)
    {
        var e = committed.Entry;
        var mapping = ApiActivityOf(e.Task)!;
        var denied = e.Outcome == AccessOutcome.Denied;
        var json = Header(committed, ApiActivity, "API Activity", 6, "Application Activity", mapping.ActivityId, mapping.ActivityName, denied ? 2 : 1);
        AddStatus(json, e);
        if (e.ErrorCode is not null)
        {
            json["status_detail"] = e.ErrorCode;
        }

        // The subscriber acts (claims, disclosure requests): only the token, as for a portal sign-in.
        json["actor"] = new JsonObject
        {
            ["user"] = e.Account == "subscriber" && e.Subjects.Count > 0
                ? new JsonObject { ["uid"] = _tokens.Tokenize(e.Subjects[0]), ["name"] = "subscriber", ["type_id"] = 99, ["type"] = "Subscriber" }
                : e.Account is "system" or "monitor"
                    ? new JsonObject { ["name"] = e.Account, ["uid"] = e.Account, ["type_id"] = 3, ["type"] = "System" }
                    : User(e.Account ?? "unknown"),
        };
        json["api"] = new JsonObject { ["operation"] = e.Task.ToName(), ["service"] = new JsonObject { ["name"] = ApiServiceName } };
        if (e.Target is not null)
        {
            json["resources"] = new JsonArray(new JsonObject { ["uid"] = ResourceUid(e.Target), ["type"] = mapping.ResourceType });
        }

        json["src_endpoint"] = Endpoint(e);
        AddDevice(json, e);
        json["message"] = Message(e);
        json["unmapped"] = Unmapped(e);
        return new OcsfEvent(committed.Sequence, ApiActivity, json);
    }

    /// <summary>A target's identifier: the text before the first space or <c>;</c> (<c>incident:I-1 tokens=3</c> → <c>incident:I-1</c>); the whole target stays in <c>unmapped.target</c>.</summary>
    private static string ResourceUid(string target)
    {
        var end = target.AsSpan().IndexOfAny(' ', ';');
        return end > 0 ? target[..end] : target;
    }

    private static JsonObject Header(CommittedEntry committed, int classUid, string className, int categoryUid, string categoryName, int activityId, string activityName, int severityId)
    {
        var e = committed.Entry;
        return new JsonObject
        {
            ["class_uid"] = classUid,
            ["class_name"] = className,
            ["category_uid"] = categoryUid,
            ["category_name"] = categoryName,
            ["activity_id"] = activityId,
            ["activity_name"] = activityName,
            ["type_uid"] = (classUid * 100L) + activityId,
            ["type_name"] = className + ": " + activityName,
            ["severity_id"] = severityId,
            ["severity"] = SeverityName(severityId),
            ["time"] = e.Time.ToUnixTimeMilliseconds(),
            ["time_dt"] = e.Time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["metadata"] = new JsonObject
            {
                ["uid"] = committed.Sequence.ToString(CultureInfo.InvariantCulture),
                ["version"] = SchemaVersion,
                ["product"] = new JsonObject { ["name"] = ProductName, ["vendor_name"] = ProductName },
                ["profiles"] = new JsonArray([.. Profiles.Select(p => (JsonNode)p)]),
                ["log_name"] = "access-ledger",
                ["event_code"] = e.Task.ToName(),
            },
            ["action_id"] = e.Outcome == AccessOutcome.Allowed ? 1 : 2,
            ["action"] = e.Outcome == AccessOutcome.Allowed ? "Allowed" : "Denied",
        };
    }

    private static void AddStatus(JsonObject json, AccessEntry e, bool forceFailure = false)
    {
        var failure = forceFailure || e.Outcome == AccessOutcome.Denied;
        json["status_id"] = failure ? 2 : 1;
        json["status"] = failure ? "Failure" : "Success";
        if (e.ErrorCode is not null)
        {
            json["status_code"] = e.ErrorCode;
        }
    }

    private static JsonObject User(string account) => new() { ["name"] = account, ["uid"] = account, ["type_id"] = 1, ["type"] = "User" };

    private static JsonObject Endpoint(AccessEntry e)
    {
        var endpoint = new JsonObject();
        if (e.SourceIp is not null)
        {
            endpoint["ip"] = e.SourceIp;
        }

        if (e.Terminal is not null)
        {
            endpoint["uid"] = e.Terminal;
        }

        if (endpoint.Count == 0)
        {
            endpoint["name"] = "custodian"; // the server itself or a local administrative command
        }

        return endpoint;
    }

    private static void AddDevice(JsonObject json, AccessEntry e)
    {
        if (e.Terminal is not null)
        {
            json["device"] = new JsonObject { ["uid"] = e.Terminal, ["name"] = e.Terminal, ["type_id"] = 99, ["type"] = "Store terminal" };
        }
    }

    private JsonObject Unmapped(AccessEntry e)
    {
        var unmapped = new JsonObject { ["task"] = e.Task.ToName(), ["outcome"] = e.Outcome == AccessOutcome.Allowed ? "allowed" : "denied" };
        if (e.Role is { } role)
        {
            unmapped["role"] = role.ToName();
        }

        if (e.Store is not null)
        {
            unmapped["store"] = e.Store;
        }

        if (e.Purpose is not null)
        {
            unmapped["purpose"] = e.Purpose;
        }

        if (e.Subjects.Count > 0)
        {
            unmapped["subject_tokens"] = new JsonArray([.. e.Subjects.Select(s => (JsonNode)_tokens.Tokenize(s))]);
        }

        if (e.Fields.Count > 0)
        {
            unmapped["fields"] = new JsonArray([.. e.Fields.Select(f => (JsonNode)f)]);
        }

        if (e.UnmaskedFields.Count > 0)
        {
            unmapped["unmasked_fields"] = new JsonArray([.. e.UnmaskedFields.Select(f => (JsonNode)f)]);
        }

        if (e.Target is not null)
        {
            unmapped["target"] = e.Target;
        }

        if (e.Reason is not null)
        {
            unmapped["reason"] = e.Reason;
        }

        if (e.Signals is { IsEmpty: false } signals)
        {
            // docs/ledger-format.md §1.1: the guard's facts for the detectors; only the ones set, never a personal value.
            var json = new JsonObject();
            if (signals.NumberBlock is { } block)
            {
                json["number_block"] = block;
            }

            if (signals.ContractEnding)
            {
                json["contract_ending"] = true;
            }

            if (signals.OtherArea)
            {
                json["other_area"] = true;
            }

            if (signals.SameHousehold)
            {
                json["same_household"] = true;
            }

            unmapped["signals"] = json;
        }

        return unmapped;
    }

    private static string Message(AccessEntry e)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{e.Task.ToName()} {(e.Outcome == AccessOutcome.Allowed ? "allowed" : "denied")}");
        if (e.Subjects.Count > 0)
        {
            text += string.Create(CultureInfo.InvariantCulture, $", {e.Subjects.Count} subscriber(s)");
        }

        if (e.Purpose is not null)
        {
            text += ", purpose " + e.Purpose;
        }

        if (e.ErrorCode is not null)
        {
            text += ", error " + e.ErrorCode;
        }

        return text;
    }

    private static string SeverityName(int id) => id switch
    {
        0 => "Unknown",
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        6 => "Fatal",
        _ => "Other",
    };
}
