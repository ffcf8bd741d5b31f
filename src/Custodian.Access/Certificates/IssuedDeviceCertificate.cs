namespace Custodian.Access.Certificates;

/// <summary>A device certificate just issued by <see cref="CertificateAuthority.IssueDeviceCertificate"/>.</summary>
/// <param name="CertificatePem">The certificate, PEM (<c>-----BEGIN CERTIFICATE-----</c>).</param>
/// <param name="SerialHex">Serial number, lowercase hex (16 random bytes, 32 digits).</param>
/// <param name="Sha256Thumbprint">SHA-256 of the DER encoding, lowercase hex, 64 digits.</param>
/// <param name="NotAfter">End of validity (UTC, whole seconds).</param>
public sealed record IssuedDeviceCertificate(string CertificatePem, string SerialHex, string Sha256Thumbprint, DateTimeOffset NotAfter);
