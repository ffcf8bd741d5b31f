using System.Text.Json.Nodes;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Siem.Ocsf;
using Custodian.Siem.Cef;

namespace Custodian.Siem.Tests;

public sealed class OcsfMappingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 7, 0, 0, 123, TimeSpan.Zero);

    private static readonly SubscriberId Subject = SubscriberId.From(123456789012345);

    public static TheoryData<string> ExportedTasks() => [.. Enum.GetValues<AccessTask>().Where(t => OcsfMapper.Classify(t) is not null).Select(t => t.ToName())];

    [Fact]
    public void Every_task_is_classified_as_documented()
    {
        var expected = new Dictionary<AccessTask, int?>
        {
            [AccessTask.Search] = 6005, [AccessTask.View] = 6005, [AccessTask.Unmask] = 6005, [AccessTask.Change] = 6005,
            [AccessTask.Insert] = 6005, [AccessTask.Delete] = 6005, [AccessTask.Print] = 6005, [AccessTask.Download] = 6005,
            [AccessTask.ConsentRequest] = 6005, [AccessTask.ServiceComplete] = 6005, [AccessTask.Refused] = 6005, [AccessTask.HistoryView] = 6005, [AccessTask.Export] = 6005, [AccessTask.ClaimView] = 6005,
            [AccessTask.SignIn] = 3002, [AccessTask.SignOut] = 3002, [AccessTask.PasswordChange] = 3002, [AccessTask.Lockout] = 3002,
            [AccessTask.DeviceRefused] = 3002, [AccessTask.PortalSignIn] = 3002,
            [AccessTask.AlertRaised] = 2004,
            [AccessTask.EnrollmentIssued] = 6003, [AccessTask.Enrolled] = 6003, [AccessTask.Revoked] = 6003, [AccessTask.StaffCreated] = 6003,
            [AccessTask.StaffChanged] = 6003, [AccessTask.StaffDisabled] = 6003, [AccessTask.Suspended] = 6003, [AccessTask.Restored] = 6003,
            [AccessTask.RetentionErasure] = 6003, [AccessTask.ReviewSignOff] = 6003,
            [AccessTask.HistoryDeferral] = 6003, [AccessTask.DisclosureRequest] = 6003, [AccessTask.DisclosureAnswer] = 6003, [AccessTask.UsageNoticeRun] = 6003,
            [AccessTask.IncidentDeclared] = 6003, [AccessTask.IncidentScoped] = 6003, [AccessTask.IncidentNotified] = 6003, [AccessTask.IncidentClosed] = 6003, [AccessTask.IncidentExport] = 6003,
            [AccessTask.ClaimFiled] = 6003, [AccessTask.ClaimInformationRequested] = 6003, [AccessTask.ClaimAnswered] = 6003, [AccessTask.ClaimDecided] = 6003, [AccessTask.ClaimPaid] = 6003,
            [AccessTask.CertificateRenewed] = 6003, [AccessTask.CaRotated] = 6003,
            [AccessTask.PrivilegedActionRequested] = 6003, [AccessTask.PrivilegedActionApproved] = 6003, [AccessTask.PrivilegedActionRejected] = 6003, [AccessTask.PrivilegedActionWithdrawn] = 6003,
            [AccessTask.AlertReviewed] = 6003, [AccessTask.SteppedUp] = 6003,
        };
        Assert.Equal(Enum.GetValues<AccessTask>().Order(), expected.Keys.Order());
        foreach (var (task, cls) in expected)
        {
            Assert.True(cls == OcsfMapper.Classify(task), $"{task.ToName()} should map to {cls?.ToString() ?? "nothing"}");
        }
    }

    [Fact]
    public async Task An_unmask_becomes_a_datastore_read_with_exact_attributes_and_a_token()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var e = env.Mapper.Map(new CommittedEntry(42, new byte[32], new AccessEntry
        {
            Time = T0,
            Task = AccessTask.Unmask,
            Outcome = AccessOutcome.Allowed,
            Account = "C0042",
            Role = StaffRole.StoreManager,
            Terminal = "S001-counter-1",
            Store = "S001",
            SourceIp = "10.1.2.3",
            Purpose = "identity-verification",
            Subjects = [Subject],
            Fields = ["name", "rrn"],
            UnmaskedFields = ["rrn"],
        }))!;
        var token = env.Tokenizer.TokenizeSubscriber(Subject);
        Assert.Equal(19, token.Length);
        Assert.NotEqual(Subject.Value.ToString("D19", System.Globalization.CultureInfo.InvariantCulture), token);

        var expected = JsonNode.Parse($$$"""
            {"class_uid":6005,"class_name":"Datastore Activity","category_uid":6,"category_name":"Application Activity",
             "activity_id":1,"activity_name":"Read","type_uid":600501,"type_name":"Datastore Activity: Read",
             "severity_id":1,"severity":"Informational","time":1796022000123,"time_dt":"2026-11-30T07:00:00.123Z",
             "metadata":{"uid":"42","version":"1.8.0","product":{"name":"Custodian","vendor_name":"Custodian"},
               "profiles":["data_classification","datetime","host","security_control"],"log_name":"access-ledger","event_code":"unmask"},
             "action_id":1,"action":"Allowed","status_id":1,"status":"Success",
             "actor":{"user":{"name":"C0042","uid":"C0042","type_id":1,"type":"User"}},
             "src_endpoint":{"ip":"10.1.2.3","uid":"S001-counter-1"},
             "device":{"uid":"S001-counter-1","name":"S001-counter-1","type_id":99,"type":"Store terminal"},
             "database":{"name":"subscribers","type_id":1,"type":"Relational"},
             "message":"unmask allowed, 1 subscriber(s), purpose identity-verification",
             "unmapped":{"task":"unmask","outcome":"allowed","role":"store-manager","store":"S001","purpose":"identity-verification",
               "subject_tokens":["{{{token}}}"],"fields":["name","rrn"],"unmasked_fields":["rrn"]}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, e.Json), e.Json.ToJsonString());
        Assert.Empty(OcsfClassValidator.Instance.Validate(e.Json, OcsfMapper.Profiles));
    }

    [Fact]
    public async Task A_read_carries_the_guards_signals_in_unmapped_and_in_cef_flexString2()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var entry = new AccessEntry
        {
            Time = T0,
            Task = AccessTask.Search,
            Outcome = AccessOutcome.Allowed,
            Account = "C0042",
            Terminal = "S001-counter-1",
            Store = "S001",
            Subjects = [Subject],
            Fields = ["name", "phone"],
            Signals = new AccessSignals { NumberBlock = "0123456789abcdef", ContractEnding = true, SameHousehold = true },
        };
        var e = env.Mapper.Map(new CommittedEntry(7, new byte[32], entry))!;
        Assert.True(
            JsonNode.DeepEquals(JsonNode.Parse("""{"number_block":"0123456789abcdef","contract_ending":true,"same_household":true}"""), e.Json["unmapped"]!["signals"]),
            e.Json.ToJsonString());
        Assert.Empty(OcsfClassValidator.Instance.Validate(e.Json, OcsfMapper.Profiles));
        var cef = CefEncoder.Encode(OcsfCefMapper.ToCef(e));
        Assert.Contains(" flexString2=number_block\\=0123456789abcdef contract_ending same_household flexString2Label=signals ", cef, StringComparison.Ordinal);

        // Without signals: no member and no flexString2.
        var plain = env.Mapper.Map(new CommittedEntry(8, new byte[32], entry with { Signals = null }))!;
        Assert.Null(plain.Json["unmapped"]!["signals"]);
        Assert.DoesNotContain("flexString2", CefEncoder.Encode(OcsfCefMapper.ToCef(plain)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_exported_task_validates_against_the_ocsf_schema_in_both_outcomes()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var alert = await env.Alerts.CreateAsync(new NewAlert("distinct-subjects", new Principal(PrincipalKind.Clerk, "C0042"), "S001",
            TimeSpan.FromMinutes(10), 40, 20, new AlertEvidence(3, 9, [3, 5, 9], 3), AlertSeverity.Critical));
        var checkedClasses = new HashSet<int>();
        long seq = 0;
        foreach (var task in Enum.GetValues<AccessTask>().Where(t => OcsfMapper.Classify(t) is not null))
        {
            foreach (var outcome in new[] { AccessOutcome.Allowed, AccessOutcome.Denied })
            {
                foreach (var bare in new[] { false, true })
                {
                    var entry = bare
                        ? new AccessEntry { Time = T0, Task = task, Outcome = outcome }
                        : new AccessEntry
                        {
                            Time = T0, Task = task, Outcome = outcome, Account = "C0042", Role = StaffRole.Clerk, Terminal = "S001-counter-1",
                            Store = "S001", SourceIp = "2001:db8::7", Purpose = "plan-change", Subjects = [Subject, SubscriberId.From(7)],
                            Fields = ["phone"], ErrorCode = outcome == AccessOutcome.Denied ? "purpose-required" : null,
                            Target = task == AccessTask.AlertRaised ? alert.Id : OcsfMapper.Classify(task) == OcsfMapper.ApiActivity ? "incident:I-1 tokens=3;x" : null, Reason = "a reason | with = and \\ and\nnewline",
                        };
                    var e = env.Mapper.Map(new CommittedEntry(seq++, new byte[32], entry), task == AccessTask.AlertRaised && !bare ? alert : null)!;
                    var label = $"{task.ToName()}/{outcome}/{(bare ? "bare" : "full")}";
                    Assert.Equal(OcsfMapper.Classify(task), e.ClassUid);
                    var own = OcsfClassValidator.Instance.Validate(e.Json, OcsfMapper.Profiles);
                    Assert.True(own.Count == 0, label + ": " + string.Join("; ", own));
                    if (e.ClassUid != OcsfMapper.DatastoreActivity)
                    {
                        var className = e.ClassUid switch { OcsfMapper.Authentication => "authentication", OcsfMapper.ApiActivity => "api_activity", _ => "detection_finding" };
                        var errors = OcsfSchemas.Errors(className, OcsfSchemas.CustodianVariant, e.Json);
                        Assert.True(errors.Count == 0, label + ": " + string.Join("; ", errors));
                    }

                    Assert.Equal((seq - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), e.Json["metadata"]!["uid"]!.GetValue<string>());
                    Assert.Equal("1.8.0", e.Json["metadata"]!["version"]!.GetValue<string>());
                    Assert.Equal("Custodian", e.Json["metadata"]!["product"]!["name"]!.GetValue<string>());
                    Assert.DoesNotContain("123456789012345", e.ToJsonLine(), StringComparison.Ordinal);
                    checkedClasses.Add(e.ClassUid);
                }
            }
        }

        Assert.Equal([2004, 3002, 6003, 6005], checkedClasses.Order());
    }

    [Fact]
    public async Task A_finding_carries_the_stored_alert()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var alert = await env.Alerts.CreateAsync(new NewAlert("distinct-subjects", new Principal(PrincipalKind.Terminal, "S001-counter-2"), "S001",
            TimeSpan.FromMinutes(10), 45, 20, new AlertEvidence(3, 9, [3, 5, 9], 3), AlertSeverity.Critical));
        var e = env.Mapper.Map(new CommittedEntry(9, new byte[32], new AccessEntry
        {
            Time = T0, Task = AccessTask.AlertRaised, Outcome = AccessOutcome.Allowed, Account = "monitor", Store = "S001", Target = alert.Id, Reason = "over the limit.",
        }), alert)!;
        Assert.Equal(200401, e.TypeUid);
        Assert.Equal(5, e.SeverityId);
        Assert.Equal(alert.Id, e.Json["finding_info"]!["uid"]!.GetValue<string>());
        Assert.Equal("distinct-subjects", e.Json["finding_info"]!["analytic"]!["name"]!.GetValue<string>());
        Assert.Equal("terminal", e.Json["unmapped"]!["principal_kind"]!.GetValue<string>());
        Assert.Equal(45, e.Json["unmapped"]!["observed"]!.GetValue<int>());
        Assert.Equal(20, e.Json["unmapped"]!["limit"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("machine-timing", "Machine-like or off-hours reads")]
    [InlineData("enumeration", "Phone-number enumeration")]
    [InlineData("collusion", "Same subscribers looked up with a clerk of another store")]
    [InlineData("open-lookups", "Customers looked up and not served")]
    [InlineData("distinct-subjects", "Distinct-subscriber limit exceeded")]
    [InlineData("no-such-detector", "Access monitor alert")]
    public async Task A_finding_is_titled_after_its_detector(string detector, string title)
    {
        // A README-only evaluation found every 2004 event titled "Distinct-subscriber limit exceeded", off-hours alerts too.
        await using var env = await SiemTestEnvironment.CreateAsync();
        var alert = await env.Alerts.CreateAsync(new NewAlert(detector, new Principal(PrincipalKind.Clerk, "C0001"), "S001",
            TimeSpan.FromHours(1), 1, 0, new AlertEvidence(3, 3, [3], 1), AlertSeverity.High));
        var e = env.Mapper.Map(new CommittedEntry(4, new byte[32], new AccessEntry
        {
            Time = T0, Task = AccessTask.AlertRaised, Outcome = AccessOutcome.Allowed, Account = "monitor", Store = "S001", Target = alert.Id, Reason = "1 subscriber read outside store hours within an hour",
        }), alert)!;
        Assert.Equal(title, e.Json["finding_info"]!["title"]!.GetValue<string>());
        Assert.Equal(detector, e.Json["finding_info"]!["analytic"]!["name"]!.GetValue<string>());
        Assert.Empty(OcsfSchemas.Errors("detection_finding", OcsfSchemas.CustodianVariant, e.Json));
        Assert.Empty(OcsfClassValidator.Instance.Validate(e.Json, OcsfMapper.Profiles));
    }

    [Fact]
    public void Every_detector_has_one_distinct_title()
    {
        Assert.Equal(11, Custodian.Monitoring.Detection.DetectorCatalog.All.Count);
        Assert.Equal(11, Custodian.Monitoring.Detection.DetectorCatalog.All.Select(d => d.Value).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Custodian.Monitoring.Detection.MonitorEngine.CreateDefault(new Custodian.Monitoring.Detection.DetectionOptions(), new Custodian.Monitoring.MonitorOptions()).Detectors.Select(d => d.Id).Order(StringComparer.Ordinal),
            Custodian.Monitoring.Detection.DetectorCatalog.Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_portal_sign_in_names_the_subscriber_only_by_token()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var e = env.Mapper.Map(new CommittedEntry(1, new byte[32], new AccessEntry
        {
            Time = T0, Task = AccessTask.PortalSignIn, Outcome = AccessOutcome.Allowed, Account = "subscriber", SourceIp = "192.0.2.9", Subjects = [Subject],
        }))!;
        Assert.Equal(env.Tokenizer.TokenizeSubscriber(Subject), e.Json["user"]!["uid"]!.GetValue<string>());
        Assert.Equal("custodian-portal", e.Json["service"]!["name"]!.GetValue<string>());
        Assert.Empty(OcsfSchemas.Errors("authentication", OcsfSchemas.CustodianVariant, e.Json));
    }

    [Fact]
    public void Every_task_maps_to_an_event_and_entries_without_subjects_never_call_the_tokenizer()
    {
        var mapper = new OcsfMapper(new ThrowingTokenizer());
        foreach (var task in Enum.GetValues<AccessTask>())
        {
            var e = mapper.Map(new CommittedEntry(0, new byte[32], new AccessEntry { Time = T0, Task = task, Outcome = AccessOutcome.Allowed, Account = "subscriber" }));
            Assert.True(e is not null, task.ToName());
            Assert.Equal(OcsfMapper.Classify(task), e.ClassUid);
        }
    }

    [Fact]
    public void The_siem_assembly_cannot_reach_the_decryption_api()
    {
        // DESIGN.md: SIEM export works on tokens; the dependency graph itself shows it never references Protection (the vault).
        var references = typeof(OcsfMapper).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains("Custodian.Core", references);
        Assert.DoesNotContain("Custodian.Protection", references);
    }

    private sealed class ThrowingTokenizer : ISubjectTokenizer
    {
        public string Tokenize(SubscriberId subscriber) => throw new InvalidOperationException("not expected");
    }
}
