using System.Globalization;
using System.Text.Json.Nodes;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Siem.Cef;
using Custodian.Siem.Export;
using Custodian.Siem.Ocsf;

namespace Custodian.Siem.Tests;

/// <summary>
/// Officer, administrator and system actions as OCSF 6003 API Activity (docs/siem.md §1): exact attributes for
/// representative tasks in both outcomes, schema validation, the CEF line, and the trip through a real rsyslogd.
/// </summary>
public sealed class ApiActivityTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 7, 0, 0, 123, TimeSpan.Zero);

    private static readonly SubscriberId Subject = SubscriberId.From(123456789012345);

    private const string AlertId = "A-01JDQ7Z8K9M2N3P4Q5R6S7T8V9";

    private static readonly AccessEntry StaffCreatedByCli = new()
    {
        Time = T0, Task = AccessTask.StaffCreated, Outcome = AccessOutcome.Allowed, Account = "local-admin", Role = StaffRole.SecurityOfficer,
        Target = "C0077", Reason = "role clerk, store S001",
    };

    private static readonly AccessEntry AlertReviewRefused = new()
    {
        Time = T0, Task = AccessTask.AlertReviewed, Outcome = AccessOutcome.Denied, Account = "O0007", Role = StaffRole.SecurityOfficer,
        Terminal = "HQ-officer-1", Store = "HQ", SourceIp = "10.9.8.7", Target = AlertId, Reason = "confirmed", ErrorCode = "alert-state-conflict",
    };

    private const string Metadata = """
        "metadata":{"uid":"{seq}","version":"1.8.0","product":{"name":"Custodian","vendor_name":"Custodian"},
          "profiles":["data_classification","datetime","host","security_control"],"log_name":"access-ledger","event_code":"{task}"}
        """;

    [Fact]
    public async Task An_allowed_staff_creation_from_the_cli_has_exact_attributes_and_validates()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var e = env.Mapper.Map(new CommittedEntry(50, new byte[32], StaffCreatedByCli))!;

        var expected = JsonNode.Parse("""
            {"class_uid":6003,"class_name":"API Activity","category_uid":6,"category_name":"Application Activity",
             "activity_id":1,"activity_name":"Create","type_uid":600301,"type_name":"API Activity: Create",
             "severity_id":1,"severity":"Informational","time":1796022000123,"time_dt":"2026-11-30T07:00:00.123Z",
            """ + Metadata.Replace("{seq}", "50", StringComparison.Ordinal).Replace("{task}", "staff-created", StringComparison.Ordinal) + """
            ,
             "action_id":1,"action":"Allowed","status_id":1,"status":"Success",
             "actor":{"user":{"name":"local-admin","uid":"local-admin","type_id":1,"type":"User"}},
             "api":{"operation":"staff-created","service":{"name":"custodian"}},
             "resources":[{"uid":"C0077","type":"staff-account"}],
             "src_endpoint":{"name":"custodian"},
             "message":"staff-created allowed",
             "unmapped":{"task":"staff-created","outcome":"allowed","role":"security-officer","target":"C0077","reason":"role clerk, store S001"}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, e.Json), e.Json.ToJsonString());
        AssertValid(e);
    }

    [Fact]
    public async Task A_refused_alert_review_is_a_failed_update_with_the_error_code_as_status_detail()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var e = env.Mapper.Map(new CommittedEntry(51, new byte[32], AlertReviewRefused))!;

        var expected = JsonNode.Parse("""
            {"class_uid":6003,"class_name":"API Activity","category_uid":6,"category_name":"Application Activity",
             "activity_id":3,"activity_name":"Update","type_uid":600303,"type_name":"API Activity: Update",
             "severity_id":2,"severity":"Low","time":1796022000123,"time_dt":"2026-11-30T07:00:00.123Z",
            """ + Metadata.Replace("{seq}", "51", StringComparison.Ordinal).Replace("{task}", "alert-reviewed", StringComparison.Ordinal) + """
            ,
             "action_id":2,"action":"Denied","status_id":2,"status":"Failure",
             "status_code":"alert-state-conflict","status_detail":"alert-state-conflict",
             "actor":{"user":{"name":"O0007","uid":"O0007","type_id":1,"type":"User"}},
             "api":{"operation":"alert-reviewed","service":{"name":"custodian"}},
             "resources":[{"uid":"A-01JDQ7Z8K9M2N3P4Q5R6S7T8V9","type":"alert"}],
             "src_endpoint":{"ip":"10.9.8.7","uid":"HQ-officer-1"},
             "device":{"uid":"HQ-officer-1","name":"HQ-officer-1","type_id":99,"type":"Store terminal"},
             "message":"alert-reviewed denied, error alert-state-conflict",
             "unmapped":{"task":"alert-reviewed","outcome":"denied","role":"security-officer","store":"HQ","target":"A-01JDQ7Z8K9M2N3P4Q5R6S7T8V9","reason":"confirmed"}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, e.Json), e.Json.ToJsonString());
        AssertValid(e);
    }

    [Fact]
    public async Task A_claim_filed_by_a_subscriber_names_the_claimant_only_by_token()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var e = env.Mapper.Map(new CommittedEntry(52, new byte[32], new AccessEntry
        {
            Time = T0, Task = AccessTask.ClaimFiled, Outcome = AccessOutcome.Allowed, Account = "subscriber", SourceIp = "192.0.2.9",
            Subjects = [Subject], Target = "claim:K7 incident:I-3", Reason = "secondary-damage amount=50000",
        }))!;
        var token = env.Tokenizer.TokenizeSubscriber(Subject);

        Assert.Equal(600301, e.TypeUid);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$$"""{"user":{"uid":"{{{token}}}","name":"subscriber","type_id":99,"type":"Subscriber"}}"""), e.Json["actor"]), e.Json.ToJsonString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"uid":"claim:K7","type":"claim"}]"""), e.Json["resources"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$"""["{{token}}"]"""), e.Json["unmapped"]!["subject_tokens"]));
        Assert.Equal("claim:K7 incident:I-3", e.Json["unmapped"]!["target"]!.GetValue<string>());
        Assert.DoesNotContain("123456789012345", e.ToJsonLine(), StringComparison.Ordinal);
        AssertValid(e);

        var cef = CefEncoder.Encode(OcsfCefMapper.ToCef(e));
        Assert.Contains(" suser=subscriber ", cef, StringComparison.Ordinal);
        Assert.Contains($" cs2={token} cs2Label=subscriberTokens ", cef, StringComparison.Ordinal);
        Assert.DoesNotContain("123456789012345", cef, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("retention-erasure", "system", "seq:0-1234;cutoff:1700000000000", 4, "Delete", 3, "System", "seq:0-1234", "ledger-range")]
    [InlineData("suspended", "monitor", "clerk:C0042", 3, "Update", 3, "System", "clerk:C0042", "principal")]
    [InlineData("privileged-action-approved", "O0002", "request:R1;action:detector-off;target:distinct-subjects", 3, "Update", 1, "User", "request:R1", "privileged-action-request")]
    [InlineData("incident-export", "O0002", "incident:I-1 tokens=12", 2, "Read", 1, "User", "incident:I-1", "incident")]
    [InlineData("usage-notice-run", "local-ops", "usage-history:2026-11;delivered:10;skipped:0", 99, "usage-notice-run", 1, "User", "usage-history:2026-11", "usage-notice-cycle")]
    [InlineData("revoked", "local-ops", "S001-counter-2", 4, "Delete", 1, "User", "S001-counter-2", "terminal")]
    public async Task Representative_tasks_map_to_their_activity_actor_kind_and_resource(
        string task, string account, string target, int activityId, string activityName, int actorTypeId, string actorType, string resourceUid, string resourceType)
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        Assert.True(AccessTasks.TryParse(task, out var t));
        var e = env.Mapper.Map(new CommittedEntry(7, new byte[32], new AccessEntry { Time = T0, Task = t, Outcome = AccessOutcome.Allowed, Account = account, Target = target }))!;

        Assert.Equal(OcsfMapper.ApiActivity, e.ClassUid);
        Assert.Equal(activityId, e.Json["activity_id"]!.GetValue<int>());
        Assert.Equal(activityName, e.Json["activity_name"]!.GetValue<string>());
        Assert.Equal(600300 + activityId, e.TypeUid);
        Assert.Equal(task, e.Json["api"]!["operation"]!.GetValue<string>());
        Assert.Equal(account, e.Json["actor"]!["user"]!["uid"]!.GetValue<string>());
        Assert.Equal(actorTypeId, e.Json["actor"]!["user"]!["type_id"]!.GetValue<int>());
        Assert.Equal(actorType, e.Json["actor"]!["user"]!["type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonArray(new JsonObject { ["uid"] = resourceUid, ["type"] = resourceType }), e.Json["resources"]), e.Json.ToJsonString());
        Assert.Equal(target, e.Json["unmapped"]!["target"]!.GetValue<string>());
        AssertValid(e);
    }

    [Fact]
    public async Task The_cef_line_of_a_refused_alert_review_is_exact()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var e = env.Mapper.Map(new CommittedEntry(51, new byte[32], AlertReviewRefused))!;

        Assert.Equal(
            "CEF:0|Custodian|Custodian|1|600303|API Activity: Update|3|rt=1796022000123 externalId=51 cat=API Activity act=alert-reviewed outcome=Failure "
            + "suser=O0007 spriv=security-officer src=10.9.8.7 shost=HQ-officer-1 cs5=HQ cs5Label=store cs6=alert-state-conflict cs6Label=errorCode "
            + "flexString1=A-01JDQ7Z8K9M2N3P4Q5R6S7T8V9 flexString1Label=target reason=confirmed msg=alert-reviewed denied, error alert-state-conflict",
            CefEncoder.Encode(OcsfCefMapper.ToCef(e)));
    }

    [Fact]
    public async Task Officer_actions_reach_a_real_rsyslogd_as_cef_once_each_in_order()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await using var rsyslog = await RsyslogServer.StartAsync(tls: false);
        var sequences = await env.AppendAsync(
        [
            StaffCreatedByCli,
            AlertReviewRefused,
            new AccessEntry { Time = T0.AddSeconds(1), Task = AccessTask.Search, Outcome = AccessOutcome.Allowed, Account = "C0042", Purpose = "plan-change", Subjects = [Subject] },
            new AccessEntry
            {
                Time = T0.AddSeconds(2), Task = AccessTask.PrivilegedActionApproved, Outcome = AccessOutcome.Allowed, Account = "O0002", Role = StaffRole.SecurityOfficer,
                Target = "request:R1;action:detector-off;target:distinct-subjects", Reason = "maintenance window",
            },
        ]);
        await using (var sink = await SyslogTcpSink.ConnectAsync(new SyslogTarget("127.0.0.1", rsyslog.Port), false, null, "test-host", SyslogTcpSink.DefaultTimeout, TimeProvider.System, CancellationToken.None))
        {
            // Every entry is exported, the first start's own entry included (sequence 0: "system" created the first officer).
            var progress = await env.Exporter.ExportAvailableAsync(sink, 2, CancellationToken.None);
            Assert.Equal(sequences[^1] + 1, progress.NextSequence);
            Assert.Equal(progress.NextSequence, progress.Events);
        }

        var all = await rsyslog.WaitForAsync(m => m.Count >= sequences[^1] + 1, "every ledger entry");
        Assert.Equal(Enumerable.Range(0, (int)sequences[^1] + 1).Select(i => (long)i), all.Select(Cef.Sequence));
        var first = Cef.Extensions(Cef.Line(all[0]));
        Assert.Equal(("staff-created", "system", "API Activity"), (first["act"], first["suser"], first["cat"]));
        var messages = all.Where(m => sequences.Contains(Cef.Sequence(m))).ToList();
        Assert.Equal(sequences, messages.Select(Cef.Sequence).ToList());
        Assert.Equal(["600301", "600303", "600504", "600303"], messages.Select(m => m.MsgId!).ToList());
        Assert.Equal([6, 5, 6, 6], messages.Select(m => m.Severity).ToList());

        var refused = Cef.Extensions(Cef.Line(messages[1]));
        Assert.Equal("alert-reviewed", refused["act"]);
        Assert.Equal("Failure", refused["outcome"]);
        Assert.Equal("O0007", refused["suser"]);
        Assert.Equal("alert-state-conflict", refused["cs6"]);
        Assert.Equal(AlertId, refused["flexString1"]);

        var approved = Cef.Extensions(Cef.Line(messages[3]));
        Assert.Equal("privileged-action-approved", approved["act"]);
        Assert.Equal("Success", approved["outcome"]);
        Assert.Equal("request:R1;action:detector-off;target:distinct-subjects", approved["flexString1"]);
        Assert.Equal("maintenance window", approved["reason"]);
        Assert.Equal(sequences[^1] + 1, Assert.Single(await env.Cursors.ListAsync()).Exported);
    }

    private static void AssertValid(OcsfEvent e)
    {
        var schema = OcsfSchemas.Errors("api_activity", OcsfSchemas.CustodianVariant, e.Json);
        Assert.True(schema.Count == 0, string.Join("; ", schema));
        var own = OcsfClassValidator.Instance.Validate(e.Json, OcsfMapper.Profiles);
        Assert.True(own.Count == 0, string.Join("; ", own));
        Assert.Equal(e.Sequence.ToString(CultureInfo.InvariantCulture), e.Json["metadata"]!["uid"]!.GetValue<string>());
    }
}
