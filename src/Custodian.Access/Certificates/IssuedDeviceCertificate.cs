namespace Custodian.Access.Certificates;

/// <summary>A device certificate just issued by <see cref="CertificateAuthority.IssueDeviceCertificate(string, string, string, TimeSpan)"/>.</summary>
/// <param name="CertificatePem">The certificate, PEM (<c>-----BEGIN CERTIFICATE-----</c>).</param>
/// <param name="SerialHex">Serial number, lowercase hex (16 random bytes, 32 digits).</param>
/// <param name="Sha256Thumbprint">SHA-256 of the DER encoding, lowercase hex, 64 digits.</param>
/// <param name="NotAfter">End of validity (UTC, whole seconds).</param>
public sealed record IssuedDeviceCertificate(string CertificatePem, string SerialHex, string Sha256Thumbprint, DateTimeOffset NotAfter)
{
    /// <summary>
    /// SHA-256 of the certified public key's DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), lowercase hex,
    /// 64 digits: what <see cref="Terminals.TerminalRegistry"/> keeps so that no key is ever certified for two
    /// devices, or twice for one.
    /// </summary>
    public required string PublicKeySha256 { get; init; }
}
