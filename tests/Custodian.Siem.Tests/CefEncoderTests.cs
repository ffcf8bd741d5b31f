using System.Text.Json.Nodes;
using Custodian.Siem.Cef;

namespace Custodian.Siem.Tests;

public sealed class CefEncoderTests
{
    private static readonly JsonNode Cases = TestData.Json("syslog-cef", "cef-encode-cases.json");

    public static TheoryData<string, string> Pairs(string group)
    {
        var data = new TheoryData<string, string>();
        foreach (var pair in Cases[group]!.AsArray())
        {
            data.Add(pair![0]!.GetValue<string>(), pair[1]!.GetValue<string>());
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs), "header_field_sanitize")]
    public void Header_fields_are_escaped_like_the_reference(string input, string expected) =>
        Assert.Equal(expected, CefEncoder.EscapeHeader(input));

    [Theory]
    [MemberData(nameof(Pairs), "extension_key_sanitize")]
    public void Extension_keys_are_sanitised_like_the_reference(string input, string expected) =>
        Assert.Equal(expected, CefEncoder.SanitizeKey(input));

    [Theory]
    [MemberData(nameof(Pairs), "extension_value_sanitize")]
    public void Extension_values_are_escaped_like_the_reference(string input, string expected) =>
        Assert.Equal(expected, CefEncoder.EscapeExtensionValue(input));

    [Fact]
    public void Severity_validity_matches_every_reference_case()
    {
        var cases = Cases["severity_validity"]!.AsArray();
        Assert.Equal(11, cases.Count);
        foreach (var c in cases)
        {
            var text = c![0] is null ? null : c[0]!.ToJsonString().Trim('"');
            Assert.True(CefEncoder.TryParseSeverity(text, out _) == c[1]!.GetValue<bool>(), $"severity case {c.ToJsonString()}");
        }
    }

    [Fact]
    public void Whole_lines_match_the_reference_examples()
    {
        var expected = Cases["whole_line_examples"]!.AsArray().Select(e => e!["expected_line"]!.GetValue<string>()).ToList();
        Assert.Equal(4, expected.Count);

        Assert.Equal(expected[0], CefEncoder.Encode(new CefRecord("ven\ndor", "pro|duct", "ver\\sion", "sig\r\nnature", "na\rme", 4, [])));
        Assert.Equal(expected[1], CefEncoder.Encode(Logstash([("foo", "foo\\value\n"), ("bar", "bar=value\r")])));
        Assert.Equal(expected[2], CefEncoder.Encode(Logstash([("foo", "foo value"), ("bar", "bar value")])));
        Assert.Equal(expected[3], CefEncoder.Encode(Logstash(
        [
            ("act", "floop"), ("app", "https"), ("c6a1", "4302:c0a5:0bb9:2dfd:7b4e:97f7:a328:98a9"), ("c6a1Label", "internal-interface"),
            ("dvc", "123.45.67.89"), ("dvchost", "banana"), ("requestClientApplication", "'Foo-Bar/2018.1.7; Email:user@example.com; Guid:test='"),
            ("sourceDnsDomain", "monkey.see"),
        ])));
    }

    [Fact]
    public void Out_of_range_severity_and_empty_keys_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CefEncoder.Encode(new CefRecord("a", "b", "c", "d", "e", 11, [])));
        Assert.Throws<ArgumentException>(() => CefEncoder.Encode(new CefRecord("a", "b", "c", "d", "e", 1, [new("-@", "x")])));
    }

    private static CefRecord Logstash(IEnumerable<(string Key, string Value)> extensions) =>
        new("Elasticsearch", "Logstash", "1.0", "Logstash", "Logstash", 6, [.. extensions.Select(e => new KeyValuePair<string, string>(e.Key, e.Value))]);
}
