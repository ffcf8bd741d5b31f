using System.Globalization;
using System.Text.Json.Nodes;
using Custodian.Siem.Ocsf;

namespace Custodian.Siem.Cef;

/// <summary>
/// Renders an <see cref="OcsfEvent"/> as a CEF record, so that the syslog wire format carries the same facts as
/// the OCSF event (one mapping from the ledger, two encodings). Header: vendor and product <c>Custodian</c>,
/// version <see cref="DeviceVersion"/>, signature ID = OCSF <c>type_uid</c>, name = OCSF <c>type_name</c>,
/// severity from <c>severity_id</c> (<see cref="ToCefSeverity"/>). Extensions (CEF dictionary keys; the table is
/// in docs/siem.md): <c>rt</c> event time (Unix ms), <c>externalId</c> ledger sequence, <c>cat</c> OCSF class
/// name, <c>act</c> ledger task, <c>outcome</c>, <c>suser</c>, <c>spriv</c> role, <c>src</c> IP, <c>shost</c>
/// terminal, <c>cs1</c> purpose, <c>cs2</c> subscriber tokens (comma-separated), <c>cs3</c> fields, <c>cs4</c>
/// unmasked fields, <c>cs5</c> store, <c>cs6</c> error code or finding ID, for 6003 API Activity <c>flexString1</c> the
/// entry's target, <c>flexString2</c> the guard's signals when set (<c>number_block=…</c>, <c>contract_ending</c>,
/// <c>other_area</c>, <c>same_household</c>, space-separated), <c>reason</c>, <c>msg</c>; each <c>csN</c> / <c>flexString1</c> with its label. Stateless and thread-safe.
/// </summary>
public static class OcsfCefMapper
{
    /// <summary>The CEF Device Version header field.</summary>
    public const string DeviceVersion = "1";

    /// <summary>
    /// CEF severity (0–10) of an OCSF <c>severity_id</c>: Informational 1 → 1, Low 2 → 3, Medium 3 → 5,
    /// High 4 → 8, Critical 5 and Fatal 6 → 10, Unknown/Other → 0.
    /// </summary>
    public static int ToCefSeverity(int ocsfSeverityId) => ocsfSeverityId switch
    {
        1 => 1,
        2 => 3,
        3 => 5,
        4 => 8,
        5 or 6 => 10,
        _ => 0,
    };

    /// <summary>The CEF record of <paramref name="ocsf"/>.</summary>
    public static CefRecord ToCef(OcsfEvent ocsf)
    {
        ArgumentNullException.ThrowIfNull(ocsf);
        var j = ocsf.Json;
        var ext = new List<KeyValuePair<string, string>>(24);
        void Add(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                ext.Add(new(key, value));
            }
        }

        void Custom(int n, string label, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                ext.Add(new($"cs{n}", value));
                ext.Add(new($"cs{n}Label", label));
            }
        }

        var unmapped = j["unmapped"] as JsonObject;
        Add("rt", j["time"]!.GetValue<long>().ToString(CultureInfo.InvariantCulture));
        Add("externalId", ocsf.Sequence.ToString(CultureInfo.InvariantCulture));
        Add("cat", Str(j["class_name"]));
        Add("act", Str(unmapped?["task"]));
        Add("outcome", Str(j["status"]) is { } status && ocsf.ClassUid != OcsfMapper.DetectionFinding ? status : Str(j["action"]));
        Add("suser", Str(j["actor"]?["user"]?["name"]) ?? Str(j["user"]?["name"]));
        Add("spriv", Str(unmapped?["role"]));
        Add("src", Str(j["src_endpoint"]?["ip"]));
        Add("shost", Str(j["device"]?["uid"]));
        Custom(1, "purpose", Str(unmapped?["purpose"]));
        var tokens = unmapped?["subject_tokens"] as JsonArray ?? (Str(j["user"]?["type"]) == "Subscriber" ? new JsonArray(Str(j["user"]?["uid"])) : null);
        Custom(2, "subscriberTokens", Join(tokens));
        Custom(3, "fields", Join(unmapped?["fields"] as JsonArray));
        Custom(4, "unmaskedFields", Join(unmapped?["unmasked_fields"] as JsonArray));
        Custom(5, "store", Str(unmapped?["store"]));
        if (ocsf.ClassUid == OcsfMapper.DetectionFinding)
        {
            Custom(6, "findingId", Str(j["finding_info"]?["uid"]));
        }
        else
        {
            Custom(6, "errorCode", Str(j["status_code"]));
        }

        if (ocsf.ClassUid == OcsfMapper.ApiActivity)
        {
            // What an officer or administrator acted on (account, terminal, alert, incident, claim, …), as recorded.
            Add("flexString1", Str(unmapped?["target"]));
            Add("flexString1Label", unmapped?["target"] is null ? null : "target");
        }

        // The guard's signals (docs/ledger-format.md §1.1) as "number_block=<hex> contract_ending other_area same_household", the ones set.
        if (unmapped?["signals"] is JsonObject signals)
        {
            Add("flexString2", string.Join(' ', signals.Select(s => s.Value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String ? $"{s.Key}={v.GetValue<string>()}" : s.Key)));
            Add("flexString2Label", "signals");
        }

        Add("reason", Str(unmapped?["reason"]));
        Add("msg", Str(j["message"]));
        return new CefRecord(
            OcsfMapper.ProductName,
            OcsfMapper.ProductName,
            DeviceVersion,
            ocsf.TypeUid.ToString(CultureInfo.InvariantCulture),
            Str(j["type_name"]) ?? "event",
            ToCefSeverity(ocsf.SeverityId),
            ext);
    }

    private static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string? Join(JsonArray? array) =>
        array is null || array.Count == 0 ? null : string.Join(',', array.Select(n => Str(n) ?? string.Empty));
}
