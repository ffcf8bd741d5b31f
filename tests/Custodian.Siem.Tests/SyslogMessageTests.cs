using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Custodian.Siem.Export;
using Custodian.Siem.Syslog;

namespace Custodian.Siem.Tests;

public sealed class SyslogMessageTests
{
    private static readonly JsonArray Examples = TestData.Json("syslog-cef", "rfc5424-section6.5-examples.json")["examples"]!.AsArray();

    public static TheoryData<int> ExampleIndexes() => [.. Enumerable.Range(0, Examples.Count)];

    [Fact]
    public void All_four_rfc_examples_are_present() => Assert.Equal(4, Examples.Count);

    [Theory]
    [MemberData(nameof(ExampleIndexes))]
    public void Parses_each_rfc5424_example_into_the_reference_fields(int index)
    {
        var example = Examples[index]!;
        var input = Encoding.UTF8.GetString(Convert.FromHexString(example["input_hex"]!.GetValue<string>()));
        Assert.Equal(example["input"]!.GetValue<string>(), input);
        var parsed = example["parsed"]!;

        Assert.True(SyslogMessage.TryParse(input, out var message, out var error), error);
        Assert.Equal(parsed["priority"]!.GetValue<int>(), message!.Priority);
        Assert.Equal(parsed["facility"]!.GetValue<int>(), message.Facility);
        Assert.Equal(parsed["severity"]!.GetValue<int>(), message.Severity);
        Assert.Equal(parsed["timestamp"]!.GetValue<string>(), message.TimestampText);
        Assert.Equal(DateTimeOffset.Parse(parsed["timestamp"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture), message.Timestamp);
        Assert.Equal(parsed["hostname"]?.GetValue<string>(), message.HostName);
        Assert.Equal(parsed["appname"]?.GetValue<string>(), message.AppName);
        Assert.Equal(parsed["procid"]?.GetValue<string>(), message.ProcId);
        Assert.Equal(parsed["msgid"]?.GetValue<string>(), message.MsgId);
        Assert.Equal(parsed["message"]?.GetValue<string>(), message.Message);
        var sd = parsed["structured_data"] as JsonObject;
        Assert.Equal(sd?.Count ?? 0, message.StructuredData.Count);
        foreach (var element in message.StructuredData)
        {
            var expected = sd![element.Id]!.AsObject();
            Assert.Equal(expected.Count, element.Parameters.Count);
            foreach (var (name, value) in element.Parameters)
            {
                Assert.Equal(expected[name]!.GetValue<string>(), value);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ExampleIndexes))]
    public void Formatting_a_parsed_example_reproduces_its_bytes(int index)
    {
        var input = Encoding.UTF8.GetString(Convert.FromHexString(Examples[index]!["input_hex"]!.GetValue<string>()));
        Assert.True(SyslogMessage.TryParse(input, out var message, out _));
        Assert.Equal(input, message!.Format());

        // Also from the value alone (not the original timestamp text): the formatter's own timestamp rule gives the same text.
        Assert.Equal(input, (message with { TimestampText = null }).Format());
    }

    [Theory]
    [InlineData("34>1 2003-10-11T22:14:15.003Z h a - - -", "PRI")]
    [InlineData("<034>1 2003-10-11T22:14:15.003Z h a - - -", "PRI")]
    [InlineData("<192>1 2003-10-11T22:14:15.003Z h a - - -", "PRI")]
    [InlineData("<34>2 2003-10-11T22:14:15.003Z h a - - -", "VERSION")]
    [InlineData("<34>1 2003-10-11 h a - - -", "TIMESTAMP")]
    [InlineData("<34>1 2003-10-11T22:14:15.0031234Z h a - - -", "TIMESTAMP")]
    [InlineData("<34>1 2003-10-11T22:14:15.003Z h a - -", "MSGID")]
    [InlineData("<34>1 2003-10-11T22:14:15.003Z h a - - [x a=\"1\"", "SD-ELEMENT")]
    [InlineData("<34>1 2003-10-11T22:14:15.003Z h a - - x", "STRUCTURED-DATA")]
    public void Malformed_messages_are_refused_naming_the_part(string input, string part)
    {
        Assert.False(SyslogMessage.TryParse(input, out _, out var error));
        Assert.StartsWith(part, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Structured_data_values_escape_quote_backslash_and_bracket()
    {
        var message = new SyslogMessage(13, 6, new DateTimeOffset(2026, 11, 30, 7, 0, 0, 123, TimeSpan.Zero), "h", "custodian", null, "600501",
            [new StructuredDataElement("x@32473", [new("v", "a\"b\\c]d")])], "m");
        var text = message.Format();
        Assert.Equal("<110>1 2026-11-30T07:00:00.123Z h custodian - 600501 [x@32473 v=\"a\\\"b\\\\c\\]d\"] m", text);
        Assert.True(SyslogMessage.TryParse(text, out var back, out _));
        Assert.Equal("a\"b\\c]d", back!.StructuredData[0].Parameters[0].Value);
    }

    [Fact]
    public void Octet_counting_prefixes_the_length_in_bytes_not_characters()
    {
        var buffer = new ArrayBufferWriter<byte>();
        SyslogTcpSink.Frame("<110>1 - - - - - - 한", buffer);
        var expected = Encoding.UTF8.GetBytes("22 <110>1 - - - - - - 한");
        Assert.Equal(expected, buffer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData("siem.example:6514", "siem.example", 6514)]
    [InlineData("127.0.0.1:514", "127.0.0.1", 514)]
    [InlineData("[::1]:6514", "::1", 6514)]
    public void Targets_parse(string text, string host, int port)
    {
        Assert.True(SyslogTarget.TryParse(text, out var target, out _));
        Assert.Equal(new SyslogTarget(host, port), target);
        Assert.Equal(text, target!.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("host")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("::1:514")]
    [InlineData("[nothost]:514")]
    [InlineData("bad host:514")]
    public void Bad_targets_are_refused(string text) => Assert.False(SyslogTarget.TryParse(text, out _, out _));
}
