namespace Custodian.Lookup;

/// <summary>A purpose code a clerk states for a read (PIPA purpose limitation, Art. 3 and 18).</summary>
/// <param name="Code">Stable kebab-case code.</param>
/// <param name="Description">Plain-language description shown to subscribers in their history.</param>
/// <param name="AllowsUnmask">Whether fields may be shown in full for this purpose (always with the subscriber's consent code).</param>
public sealed record Purpose(string Code, string Description, bool AllowsUnmask);

/// <summary>
/// The purposes clerks may state. Viewing any subscriber needs one; unmasking needs one that
/// <see cref="Purpose.AllowsUnmask"/> plus the subscriber's consent code (customer-presence proof).
/// </summary>
public static class PurposeCatalog
{
    /// <summary>Every known purpose, by code.</summary>
    public static IReadOnlyDictionary<string, Purpose> All { get; } = new Dictionary<string, Purpose>(StringComparer.Ordinal)
    {
        ["in-store-service"] = new("in-store-service", "In-store service for the subscriber", AllowsUnmask: false),
        ["plan-change"] = new("plan-change", "Changing the rate plan", AllowsUnmask: false),
        ["device-repair"] = new("device-repair", "Device repair or replacement", AllowsUnmask: false),
        ["billing-inquiry"] = new("billing-inquiry", "Question about a bill", AllowsUnmask: false),
        ["contract-renewal"] = new("contract-renewal", "Renewing or changing the contract (identity check)", AllowsUnmask: true),
        ["identity-verification"] = new("identity-verification", "Verifying the subscriber's identity in person", AllowsUnmask: true),
        ["number-porting"] = new("number-porting", "Moving the number to or from another carrier", AllowsUnmask: true),
    };

    /// <summary>Fields a clerk may ask to see in full.</summary>
    public static IReadOnlySet<string> UnmaskableFields { get; } = new HashSet<string>(StringComparer.Ordinal) { "rrn", "phone", "name", "address" };

    /// <summary>Looks up <paramref name="code"/>.</summary>
    public static bool TryGet(string? code, out Purpose purpose) =>
        All.TryGetValue(code ?? string.Empty, out purpose!);
}
