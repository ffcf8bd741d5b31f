namespace Custodian.Gateway;

/// <summary>Error codes of the gateway's network and trust-class policy (docs/access.md §3). Stable, kebab-case; problem type <c>urn:custodian:error:&lt;code&gt;</c>.</summary>
public static class GatewayErrorCodes
{
    /// <summary>The request came from outside the network zone of the terminal's store (or of the VDI zone, for a VDI host) (403).</summary>
    public const string NetworkZoneRefused = "network-zone-refused";

    /// <summary>The store is closed and its zone refuses access outside opening hours (403).</summary>
    public const string OutsideOpeningHours = "outside-opening-hours";

    /// <summary>The store is closed and its zone requires a fresh sign-in (password + TOTP) outside opening hours (401).</summary>
    public const string StepUpRequired = "step-up-required";

    /// <summary>The task may be done only from a terminal of another trust class, e.g. unmasking only from a VDI host (403).</summary>
    public const string TrustClassRequired = "trust-class-required";
}
