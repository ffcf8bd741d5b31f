using Custodian.Classification;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Logging;

namespace Custodian.Tests.Conventions;

/// <summary>
/// The server's logging pipeline erases classified data with no explicit redactor: a source-generated
/// [LoggerMessage] method with classified parameters, logged through the real host's logger factory
/// (EnableRedaction with the ErasingRedactor fallback), reaches the sink without the values.
/// </summary>
public sealed partial class LogRedactionTests
{
    private const string Phone = "+821012345678";
    private const string Rrn = "7112311234567";
    private const string Name = "홍길동";
    private const string Other = "unlisted-classified-value";

    [Fact]
    public async Task Classified_logger_message_parameters_are_erased_and_unclassified_ones_kept()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var logger = host.Get<ILoggerFactory>().CreateLogger("Custodian.Tests.Redaction");

        Log.LookedUp(logger, Phone, Rrn, Name, Other, "S001");

        var record = Assert.Single(host.Logs.GetSnapshot(), r => r.Category == "Custodian.Tests.Redaction");
        Assert.Equal(9901, record.Id.Id);
        var state = record.StructuredState!.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("S001", state["store"]);
        Assert.Equal(string.Empty, state["phone"]);
        Assert.Equal(string.Empty, state["rrn"]);
        Assert.Equal(string.Empty, state["name"]);
        Assert.Equal(string.Empty, state["other"]);
        foreach (var value in new[] { Phone, Rrn, Name, Other })
        {
            Assert.DoesNotContain(value, record.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(value, string.Join("|", state.Values), StringComparison.Ordinal);
        }
    }

    /// <summary>A classification no redactor is configured for: only the fallback can handle it.</summary>
    private sealed class UnlistedAttribute() : DataClassificationAttribute(new DataClassification(CustodianTaxonomy.Name, "Unlisted"));

    private static partial class Log
    {
        [LoggerMessage(EventId = 9901, Level = LogLevel.Information, Message = "Looked up {phone} {rrn} {name} {other} at store {store}.")]
        public static partial void LookedUp(ILogger logger, [PersonalData] string phone, [UniqueIdentifier] string rrn, [PersonalData] string name, [Unlisted] string other, string store);
    }
}
