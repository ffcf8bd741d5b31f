using System.Text.Json.Serialization;

namespace Custodian.Protection.Keys;

/// <summary>The JSON shape of <c>keyring.json</c> (format 1). Holds wrapped keys only; retired keys keep their entry (id, dates) without the wrapped bytes.</summary>
internal sealed class KeyringDocument
{
    [JsonPropertyName("format")]
    public int Format { get; set; }

    [JsonPropertyName("kdf")]
    public string Kdf { get; set; } = "";

    [JsonPropertyName("wrap")]
    public string Wrap { get; set; } = "";

    [JsonPropertyName("currentDataKeyId")]
    public uint CurrentDataKeyId { get; set; }

    [JsonPropertyName("blindIndexKeyId")]
    public uint BlindIndexKeyId { get; set; }

    /// <summary>A blind-index key being rolled in (index rebuild in progress), or null.</summary>
    [JsonPropertyName("pendingBlindIndexKeyId")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public uint? PendingBlindIndexKeyId { get; set; }

    /// <summary>The FF1 token key; 0 in keyrings written before tokens existed (one is added on load).</summary>
    [JsonPropertyName("tokenKeyId")]
    public uint TokenKeyId { get; set; }

    [JsonPropertyName("keys")]
    public List<KeyEntry>? Keys { get; set; }
}

/// <summary>One wrapped key: id (unique in the keyring, embedded in ciphertexts), purpose, version (generation within the purpose), algorithm, creation time and wrapped bytes (base64 of nonce ‖ ciphertext ‖ tag).</summary>
internal sealed class KeyEntry
{
    [JsonPropertyName("id")]
    public uint Id { get; set; }

    [JsonPropertyName("purpose")]
    public string Purpose { get; set; } = "";

    [JsonPropertyName("version")]
    public int Version { get; set; }

    [JsonPropertyName("algorithm")]
    public string Algorithm { get; set; } = "";

    [JsonPropertyName("createdAt")]
    public string CreatedAt { get; set; } = "";

    [JsonPropertyName("createdAtUnixMs")]
    public long CreatedAtUnixMs { get; set; }

    [JsonPropertyName("wrapped")]
    public string? Wrapped { get; set; }

    /// <summary>When the key was retired (its wrapped bytes destroyed), Unix ms UTC; null while usable.</summary>
    [JsonPropertyName("retiredAtUnixMs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? RetiredAtUnixMs { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(KeyringDocument))]
internal sealed partial class KeyringJsonContext : JsonSerializerContext;
