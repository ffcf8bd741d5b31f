namespace Custodian.Access.Terminals;

/// <summary>
/// What kind of device a terminal is, fixed at enrollment and written into its device certificate
/// (SAN URI <c>urn:custodian:trust-class:&lt;name&gt;</c>) and the registry (column <c>terminals.trust_class</c>).
/// Policy can require a class for a task (docs/access.md §3): a VDI host sits in the carrier's data centre
/// behind its own controls, a store terminal sits on a shop counter.
/// </summary>
public enum TrustClass
{
    /// <summary>A physical terminal in a store (stored as <c>store-terminal</c>).</summary>
    StoreTerminal = 0,

    /// <summary>A virtual-desktop host in the carrier's VDI zone (stored as <c>vdi-host</c>); enrolling one needs two officers.</summary>
    VdiHost = 1,
}

/// <summary>Stable names of <see cref="TrustClass"/> values.</summary>
public static class TrustClasses
{
    /// <summary>Prefix of the SAN URI naming the trust class in a device certificate.</summary>
    public const string UriPrefix = "urn:custodian:trust-class:";

    /// <summary>The stored name: <c>store-terminal</c> or <c>vdi-host</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For an undefined value.</exception>
    public static string ToName(this TrustClass value) => value switch
    {
        TrustClass.StoreTerminal => "store-terminal",
        TrustClass.VdiHost => "vdi-host",
        _ => throw new ArgumentOutOfRangeException(nameof(value)),
    };

    /// <summary>Parses a stored name (exact, lowercase).</summary>
    public static bool TryParse(string? name, out TrustClass value)
    {
        switch (name)
        {
            case "store-terminal": value = TrustClass.StoreTerminal; return true;
            case "vdi-host": value = TrustClass.VdiHost; return true;
            default: value = default; return false;
        }
    }
}
