namespace Custodian.Access.Certificates;

/// <summary>
/// Who a presented device certificate says it is, after <see cref="CertificateAuthority.ValidateClientCertificate"/>
/// checked it chains to Custodian's CA, is within its validity and is meant for client authentication.
/// Whether the terminal is still enrolled is a separate, per-request check
/// (<see cref="Terminals.TerminalRegistry.CheckAsync"/>). None of these values is personal data.
/// </summary>
/// <param name="Store">Store code (certificate subject O and the SAN URI).</param>
/// <param name="Terminal">Terminal ID, <c>&lt;store&gt;-&lt;name&gt;</c> (certificate subject CN and the SAN URI).</param>
/// <param name="SerialHex">Certificate serial number, lowercase hex, 32 digits.</param>
/// <param name="Sha256Thumbprint">SHA-256 of the certificate's DER encoding, lowercase hex, 64 digits; what sessions are bound to.</param>
public sealed record DeviceIdentity(string Store, string Terminal, string SerialHex, string Sha256Thumbprint)
{
    /// <summary>
    /// The trust class the certificate was issued for (SAN URI <c>urn:custodian:trust-class:&lt;class&gt;</c>);
    /// certificates issued before trust classes existed carry none and count as <see cref="Terminals.TrustClass.StoreTerminal"/>.
    /// </summary>
    /// <value>The default is <see cref="Terminals.TrustClass.StoreTerminal"/>.</value>
    public Terminals.TrustClass TrustClass { get; init; } = Terminals.TrustClass.StoreTerminal;

    /// <summary>End of the certificate's validity (UTC), when known; set by <see cref="CertificateAuthority.ValidateClientCertificate"/>.</summary>
    public DateTimeOffset? NotAfter { get; init; }
}
