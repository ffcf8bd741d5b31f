using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Custodian.Tests.Events;

/// <summary>
/// PEM files for a NATS server with mutual TLS, written to a temporary directory: a certificate authority, a server
/// certificate for 127.0.0.1 (subjectAltName IP) with serverAuth, a client certificate with clientAuth, and a second,
/// unrelated authority with its own client certificate (for refusals). ECDSA P-256 throughout, valid from an hour ago for
/// a day on the wall clock (nats-server and the TLS stack judge them by it). Disposing deletes the directory.
/// </summary>
internal sealed class NatsTlsFiles : IDisposable
{
    private readonly DirectoryInfo _directory;

    private NatsTlsFiles(DirectoryInfo directory) => _directory = directory;

    /// <summary>The authority's certificate (PEM).</summary>
    public string CaCertificate => File("ca.pem");

    /// <summary>The server's certificate (PEM).</summary>
    public string ServerCertificate => File("server.pem");

    /// <summary>The server's private key (PEM, PKCS #8).</summary>
    public string ServerKey => File("server-key.pem");

    /// <summary>A client certificate issued by <see cref="CaCertificate"/> (PEM).</summary>
    public string ClientCertificate => File("client.pem");

    /// <summary>The key of <see cref="ClientCertificate"/> (PEM, PKCS #8).</summary>
    public string ClientKey => File("client-key.pem");

    /// <summary>Another authority's certificate (PEM): it issued neither the server's nor the client's certificate.</summary>
    public string OtherCaCertificate => File("other-ca.pem");

    /// <summary>A client certificate issued by <see cref="OtherCaCertificate"/> (PEM).</summary>
    public string OtherClientCertificate => File("other-client.pem");

    /// <summary>The key of <see cref="OtherClientCertificate"/> (PEM, PKCS #8).</summary>
    public string OtherClientKey => File("other-client-key.pem");

    /// <summary>Writes every file.</summary>
    public static NatsTlsFiles Create()
    {
        var files = new NatsTlsFiles(Directory.CreateTempSubdirectory("custodian-nats-tls-"));
        var now = TimeProvider.System.GetUtcNow(); // the wall clock: nats-server judges the certificates by it
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = Authority("CN=Custodian test NATS CA", caKey, now);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = Authority("CN=Unrelated CA", otherKey, now);
        files.Write("ca.pem", ca.ExportCertificatePem());
        files.Write("other-ca.pem", other.ExportCertificatePem());
        files.Issue("server", ca, caKey, now, "CN=127.0.0.1", "1.3.6.1.5.5.7.3.1", IPAddress.Loopback);
        files.Issue("client", ca, caKey, now, "CN=custodian", "1.3.6.1.5.5.7.3.2", null);
        files.Issue("other-client", other, otherKey, now, "CN=custodian", "1.3.6.1.5.5.7.3.2", null);
        return files;
    }

    public void Dispose()
    {
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static X509Certificate2 Authority(string name, ECDsa key, DateTimeOffset now)
    {
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
    }

    private void Issue(string name, X509Certificate2 issuer, ECDsa issuerKey, DateTimeOffset now, string subject, string usage, IPAddress? ip)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        if (ip is not null)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(ip);
            request.CertificateExtensions.Add(names.Build());
        }

        using var issued = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), now.AddHours(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
        Write(name + ".pem", issued.ExportCertificatePem());
        Write(name + "-key.pem", key.ExportPkcs8PrivateKeyPem());
    }

    private void Write(string name, string pem) => System.IO.File.WriteAllText(File(name), pem);

    private string File(string name) => Path.Combine(_directory.FullName, name);
}
