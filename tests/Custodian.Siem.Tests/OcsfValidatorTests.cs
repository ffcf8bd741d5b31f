using System.Text.Json;
using System.Text.Json.Nodes;
using Custodian.Ledger;
using Custodian.Siem.Ocsf;

namespace Custodian.Siem.Tests;

/// <summary>The test-side validators themselves: they must agree with expected-validation.json on the upstream samples and reject broken events.</summary>
public sealed class OcsfValidatorTests
{
    private static readonly JsonArray Expected = TestData.Json("ocsf", "sample-events", "expected-validation.json").AsArray();

    public static TheoryData<string> SampleFiles() => [.. Expected.Select(e => e!["file"]!.GetValue<string>())];

    [Theory]
    [MemberData(nameof(SampleFiles))]
    public void Class_validator_agrees_with_the_reference_results_on_each_sample(string file)
    {
        var expected = Expected.Single(e => e!["file"]!.GetValue<string>() == file)!;
        var text = File.ReadAllText(TestData.Shared("ocsf", "sample-events", file));
        if (!expected["json_parse"]!.GetValue<string>().Equals("ok", StringComparison.Ordinal))
        {
            Assert.ThrowsAny<JsonException>(() => JsonNode.Parse(text));
            return;
        }

        var ev = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(expected["class_uid"]!.GetValue<int>(), ev["class_uid"]!.GetValue<int>());
        var declared = expected["declared_profiles"]!.AsArray().Select(p => p!.GetValue<string>()).ToList();

        var withProfiles = OcsfClassValidator.Instance.Validate(ev, declared);
        Assert.True(
            expected["validation"]!["v1.8.0_declared_profiles"]!["valid"]!.GetValue<bool>() == (withProfiles.Count == 0),
            $"{file} with its profiles: {string.Join("; ", withProfiles)}");
        var noProfiles = OcsfClassValidator.Instance.Validate(ev, []);
        Assert.True(
            expected["validation"]!["v1.8.0_no_profiles"]!["valid"]!.GetValue<bool>() == (noProfiles.Count == 0),
            $"{file} without profiles: {string.Join("; ", noProfiles)}");
    }

    [Theory]
    [InlineData("Okta_v130_Authentication.json", "authentication")]
    [InlineData("GitHub_v130_Authentication.json", "authentication")]
    [InlineData("Okta_v130_Detection_Finding.json", "detection_finding")]
    [InlineData("AWS_v110_Detection_Finding.json", "detection_finding")]
    public void Json_schema_no_profiles_result_matches_the_reference(string file, string className)
    {
        var expected = Expected.Single(e => e!["file"]!.GetValue<string>() == file)!;
        var ev = JsonNode.Parse(File.ReadAllText(TestData.Shared("ocsf", "sample-events", file)))!;
        var errors = OcsfSchemas.Errors(className, "no-profiles", ev);
        Assert.Equal(expected["validation"]!["v1.8.0_no_profiles"]!["valid"]!.GetValue<bool>(), errors.Count == 0);
    }

    public static TheoryData<string, string> Breakages() => new()
    {
        { "missing src_endpoint", "src_endpoint" },
        { "activity_id 11", "activity_id" },
        { "type_uid arithmetic", "type_uid" },
        { "status_id 3", "status_id" },
        { "severity_id 7", "severity_id" },
        { "category_uid 3", "category_uid" },
        { "string activity_id", "activity_id" },
        { "no database", "at_least_one" },
        { "unknown attribute", "colour" },
        { "metadata without product", "metadata.product" },
        { "actor without user", "actor" },
        { "unmapped not an object", "unmapped" },
    };

    [Theory]
    [MemberData(nameof(Breakages))]
    public void Class_validator_rejects_broken_datastore_events(string breakage, string mentioned)
    {
        var ev = ValidDatastoreEvent();
        Assert.Empty(OcsfClassValidator.Instance.Validate(ev, OcsfMapper.Profiles));
        switch (breakage)
        {
            case "missing src_endpoint": ev.Remove("src_endpoint"); break;
            case "activity_id 11": ev["activity_id"] = 11; ev["type_uid"] = 600511; break;
            case "type_uid arithmetic": ev["type_uid"] = 600504; break;
            case "status_id 3": ev["status_id"] = 3; break;
            case "severity_id 7": ev["severity_id"] = 7; break;
            case "category_uid 3": ev["category_uid"] = 3; break;
            case "string activity_id": ev["activity_id"] = "1"; break;
            case "no database": ev.Remove("database"); break;
            case "unknown attribute": ev["colour"] = "blue"; break;
            case "metadata without product": ev["metadata"]!.AsObject().Remove("product"); break;
            case "actor without user": ev["actor"] = new JsonObject(); break;
            case "unmapped not an object": ev["unmapped"] = "x"; break;
        }

        var errors = OcsfClassValidator.Instance.Validate(ev, OcsfMapper.Profiles);
        Assert.Contains(errors, e => e.Contains(mentioned, StringComparison.Ordinal));
    }

    [Fact]
    public void Class_validator_rejects_a_device_when_the_host_profile_is_not_declared()
    {
        var errors = OcsfClassValidator.Instance.Validate(ValidDatastoreEvent(), ["datetime", "security_control"]);
        Assert.Contains("device: not an attribute here (or its profile is not applied)", errors);
    }

    [Fact]
    public void Json_schema_rejects_broken_authentication_events()
    {
        var mapper = new OcsfMapper(new FixedTokenizer());
        var ev = mapper.Map(new CommittedEntry(5, new byte[32], new AccessEntry
        {
            Time = DateTimeOffset.FromUnixTimeMilliseconds(1_796_022_000_123), Task = AccessTask.SignIn, Outcome = AccessOutcome.Allowed, Account = "C1", SourceIp = "10.0.0.1",
        }))!.Json;
        Assert.Empty(OcsfSchemas.Errors("authentication", OcsfSchemas.CustodianVariant, ev));

        var noUser = ev.DeepClone().AsObject();
        noUser.Remove("user");
        Assert.NotEmpty(OcsfSchemas.Errors("authentication", OcsfSchemas.CustodianVariant, noUser));
        var badActivity = ev.DeepClone().AsObject();
        badActivity["activity_id"] = 42;
        Assert.NotEmpty(OcsfSchemas.Errors("authentication", OcsfSchemas.CustodianVariant, badActivity));
        var noService = ev.DeepClone().AsObject();
        noService.Remove("service");
        Assert.NotEmpty(OcsfSchemas.Errors("authentication", OcsfSchemas.CustodianVariant, noService));

        // Without the profiles it declares, the same event is refused (time_dt, device, action_id need them).
        Assert.NotEmpty(OcsfSchemas.Errors("authentication", "no-profiles", ev));
    }

    private static JsonObject ValidDatastoreEvent() =>
        new OcsfMapper(new FixedTokenizer()).Map(new CommittedEntry(5, new byte[32], new AccessEntry
        {
            Time = DateTimeOffset.FromUnixTimeMilliseconds(1_796_022_000_123), Task = AccessTask.View, Outcome = AccessOutcome.Allowed, Account = "C1",
            Terminal = "S001-counter-1", SourceIp = "10.0.0.1", Purpose = "plan-change", Subjects = [Identity.SubscriberId.From(5)],
        }))!.Json;

    private sealed class FixedTokenizer : ISubjectTokenizer
    {
        public string Tokenize(Identity.SubscriberId subscriber) => "0000000000000000001";
    }
}
