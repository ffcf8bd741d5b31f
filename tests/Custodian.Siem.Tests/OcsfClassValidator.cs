using System.Text.Json;
using System.Text.Json.Nodes;

namespace Custodian.Siem.Tests;

/// <summary>
/// A small OCSF event validator over the official 1.8.0 schema export (shared/testdata/ocsf/official-export), for
/// classes with no generated JSON Schema (6005 Datastore Activity). Checks, recursively through every present object:
/// required attributes present; no attribute outside the class/object or from a profile not applied; JSON types of
/// the OCSF data types (integer/long/timestamp → integer, float → number, boolean, string and its subtypes, json_t
/// anything, object_t → object or array of objects when <c>is_array</c>); enum values of every enumerated attribute
/// (activity_id, status_id, severity_id, type_uid, …); <c>at_least_one</c> / <c>just_one</c> constraints; and at class
/// level class_uid, category_uid and type_uid = class_uid × 100 + activity_id.
/// </summary>
internal sealed class OcsfClassValidator
{
    private static readonly Lazy<OcsfClassValidator> Shared = new(() => new OcsfClassValidator(TestData.Shared("ocsf", "official-export", "ocsf-1.8.0-export-v2-schema.json")));

    private readonly JsonElement _classes;
    private readonly JsonElement _objects;
    private readonly JsonElement _types;

    private OcsfClassValidator(string exportPath)
    {
        var doc = JsonDocument.Parse(File.ReadAllBytes(exportPath));
        _classes = doc.RootElement.GetProperty("classes");
        _objects = doc.RootElement.GetProperty("objects");
        _types = doc.RootElement.GetProperty("dictionary").GetProperty("types").GetProperty("attributes");
    }

    public static OcsfClassValidator Instance => Shared.Value;

    /// <summary>Every problem, as "path: rule"; empty when valid.</summary>
    public List<string> Validate(JsonObject ev, IReadOnlyCollection<string> profiles)
    {
        var errors = new List<string>();
        if (!TryInteger(ev["class_uid"], out var classUid))
        {
            errors.Add("class_uid: required integer");
            return errors;
        }

        JsonElement? cls = null;
        foreach (var c in _classes.EnumerateObject())
        {
            if (c.Value.GetProperty("uid").GetInt64() == classUid)
            {
                cls = c.Value;
            }
        }

        if (cls is null)
        {
            errors.Add("class_uid: not an OCSF 1.8.0 class");
            return errors;
        }

        ValidateObject(string.Empty, ev, cls.Value, profiles, errors);
        if (TryInteger(ev["category_uid"], out var category) && category != cls.Value.GetProperty("category_uid").GetInt64())
        {
            errors.Add("category_uid: must be the class's category");
        }

        if (TryInteger(ev["activity_id"], out var activity) && TryInteger(ev["type_uid"], out var typeUid)
            && typeUid != (classUid * 100) + activity)
        {
            errors.Add("type_uid: must be class_uid * 100 + activity_id");
        }

        return errors;
    }

    private void ValidateObject(string path, JsonObject value, JsonElement definition, IReadOnlyCollection<string> profiles, List<string> errors)
    {
        var attributes = definition.GetProperty("attributes");
        var allowed = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var attr in attributes.EnumerateObject())
        {
            if (attr.Value.TryGetProperty("profiles", out var ap) && ap.ValueKind == JsonValueKind.Array
                && !ap.EnumerateArray().Any(p => profiles.Contains(p.GetString()!)))
            {
                continue; // belongs to a profile that is not applied
            }

            allowed[attr.Name] = attr.Value;
            if (attr.Value.TryGetProperty("requirement", out var req) && req.GetString() == "required" && value[attr.Name] is null)
            {
                errors.Add($"{Join(path, attr.Name)}: required");
            }
        }

        foreach (var (name, node) in value)
        {
            if (!allowed.TryGetValue(name, out var attr))
            {
                errors.Add($"{Join(path, name)}: not an attribute here (or its profile is not applied)");
                continue;
            }

            if (node is null)
            {
                continue;
            }

            var isArray = attr.TryGetProperty("is_array", out var arr) && arr.ValueKind == JsonValueKind.True;
            if (isArray)
            {
                if (node is not JsonArray items)
                {
                    errors.Add($"{Join(path, name)}: must be an array");
                    continue;
                }

                for (var i = 0; i < items.Count; i++)
                {
                    ValidateValue($"{Join(path, name)}/{i}", items[i], attr, profiles, errors);
                }
            }
            else
            {
                ValidateValue(Join(path, name), node, attr, profiles, errors);
            }
        }

        if (definition.TryGetProperty("constraints", out var constraints) && constraints.ValueKind == JsonValueKind.Object)
        {
            foreach (var constraint in constraints.EnumerateObject())
            {
                var present = constraint.Value.EnumerateArray().Count(n => value[n.GetString()!] is not null);
                if ((constraint.Name == "at_least_one" && present == 0) || (constraint.Name == "just_one" && present != 1))
                {
                    errors.Add($"{(path.Length == 0 ? "/" : path)}: {constraint.Name} of [{string.Join(", ", constraint.Value.EnumerateArray().Select(n => n.GetString()))}]");
                }
            }
        }
    }

    private void ValidateValue(string path, JsonNode? node, JsonElement attr, IReadOnlyCollection<string> profiles, List<string> errors)
    {
        var type = attr.GetProperty("type").GetString()!;
        if (type == "object_t")
        {
            if (node is not JsonObject obj)
            {
                errors.Add($"{path}: must be an object");
                return;
            }

            var objectType = attr.GetProperty("object_type").GetString()!;
            if (objectType != "object" && _objects.TryGetProperty(objectType, out var definition))
            {
                ValidateObject(path, obj, definition, profiles, errors);
            }

            return;
        }

        var baseType = BaseType(type);
        var ok = baseType switch
        {
            "integer_t" or "long_t" => TryInteger(node, out _),
            "float_t" => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number,
            "boolean_t" => node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
            "string_t" => node is JsonValue v && v.GetValueKind() == JsonValueKind.String,
            "json_t" => true, // any JSON value
            _ => false,
        };
        if (!ok)
        {
            errors.Add($"{path}: must be of OCSF type {type}");
            return;
        }

        if (attr.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Object)
        {
            var key = node is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : node!.ToJsonString();
            if (!values.TryGetProperty(key, out _))
            {
                errors.Add($"{path}: not one of the enumerated values");
            }
        }
    }

    private string BaseType(string type)
    {
        var current = type;
        for (var i = 0; i < 5 && _types.TryGetProperty(current, out var def) && def.TryGetProperty("type", out var parent); i++)
        {
            current = parent.GetString()!;
        }

        return current;
    }

    private static bool TryInteger(JsonNode? node, out long value)
    {
        value = 0;
        return node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            && long.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;
}
