using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Custodian.Siem.Tests;

/// <summary>The generated OCSF 1.8.0 JSON Schemas (draft 2020-12) in shared/testdata/ocsf/json-schema-2020-12, evaluated with JsonSchema.Net.</summary>
internal static class OcsfSchemas
{
    /// <summary>The variant matching the profiles Custodian declares (<c>OcsfMapper.Profiles</c>).</summary>
    public const string CustodianVariant = "datetime-host-security_control-data_classification";

    private static readonly ConcurrentDictionary<string, JsonSchema> Cache = new();

    public static JsonSchema Load(string className, string variant) =>
        Cache.GetOrAdd(className + "." + variant, key =>
            JsonSchema.FromText(File.ReadAllText(TestData.Shared("ocsf", "json-schema-2020-12", key + ".schema.json")), new BuildOptions { SchemaRegistry = new SchemaRegistry() }));

    /// <summary>Validation errors as "instance location: message"; empty when valid.</summary>
    public static List<string> Errors(string className, string variant, JsonNode instance)
    {
        using var doc = JsonDocument.Parse(instance.ToJsonString());
        var results = Load(className, variant).Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        var errors = (results.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}"))
            .ToList();
        return errors.Count > 0 ? errors : ["invalid"];
    }
}
