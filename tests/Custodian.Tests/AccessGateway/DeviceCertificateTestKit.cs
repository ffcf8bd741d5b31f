using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Terminals;
using Custodian.Gateway;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.AccessGateway;

/// <summary>Helpers for device-certificate tests: renewals over HTTP, copies, and certificates signed with the server's own CA key.</summary>
internal static class DeviceCertificateTestKit
{
    /// <summary>Renews over mutual TLS with <paramref name="current"/>; returns the response (its body unread on failure) and, on success, the new certificate with its key.</summary>
    public static async Task<(HttpResponseMessage Response, X509Certificate2? Renewed, RenewResponse? Body)> RenewAsync(CustodianTestHost host, X509Certificate2 current, string? csrPem = null, string? keyPem = null)
    {
        if (csrPem is null)
        {
            (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr("renewal");
        }

        using var client = host.TerminalClient(current);
        var response = await client.PostAsJsonAsync("/api/v1/terminal/renewals", new RenewRequest(csrPem));
        if (!response.IsSuccessStatusCode || keyPem is null)
        {
            return (response, null, null);
        }

        var body = (await response.Content.ReadFromJsonAsync<RenewResponse>())!;
        return (response, WithKey(body.Certificate, keyPem), body);
    }

    /// <summary>A certificate with its private key, re-imported through PKCS#12 so it can be a TLS client certificate.</summary>
    public static X509Certificate2 WithKey(string certificatePem, string keyPem)
    {
        using var pem = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>An exact copy of a certificate and its key, as an attacker who copied the terminal's files would hold.</summary>
    public static X509Certificate2 Copy(X509Certificate2 original) =>
        X509CertificateLoader.LoadPkcs12(original.Export(X509ContentType.Pkcs12), null);

    /// <summary>The SHA-256 of a certificate's SubjectPublicKeyInfo.</summary>
    public static string KeyHash(X509Certificate2 certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));

    /// <summary>
    /// A certificate for terminal <paramref name="terminal"/> of <paramref name="store"/> signed with the server's real CA
    /// key (read from the data directory, as someone who stole it would), with the given usage and validity.
    /// </summary>
    public static X509Certificate2 SignWithServerCa(
        CustodianTestHost host, string store, string terminal, X509KeyUsageFlags keyUsage, string[] ekus, DateTimeOffset notBefore, DateTimeOffset notAfter, bool isCa = false)
    {
        var caDirectory = Path.Combine(host.Directory.FullName, "ca");
        using var caKey = ECDsa.Create();
        caKey.ImportFromPem(File.ReadAllText(Path.Combine(caDirectory, "ca.key")));
        using var caCert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(caDirectory, "ca.crt")));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={terminal}, O={store}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(isCa ? X509BasicConstraintsExtension.CreateForCertificateAuthority(null) : X509BasicConstraintsExtension.CreateForEndEntity(critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(keyUsage, critical: true));
        var usages = new OidCollection();
        foreach (var eku in ekus)
        {
            usages.Add(new Oid(eku));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, critical: false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri($"urn:custodian:terminal:{store}:{terminal}"));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caCert, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = 0x41;
        using var issued = request.Create(caCert.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), notBefore, notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
