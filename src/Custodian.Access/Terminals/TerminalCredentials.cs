using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Internal;

namespace Custodian.Access.Terminals;

/// <summary>
/// The terminal side of enrollment: create the key and CSR, keep the key, device certificate and CA
/// certificate in a directory, and load them back as a client certificate for mutual TLS.
/// </summary>
/// <remarks>
/// Files in the directory: <c>terminal.key</c> (PKCS#8 PEM, unencrypted, mode 0600 — the device's
/// identity: protect it like a password), <c>terminal.crt</c> (device certificate, PEM) and
/// <c>ca.crt</c> (Custodian's device CA, PEM; trust it, and only it, for the server certificate).
/// </remarks>
public static class TerminalCredentials
{
    /// <summary>File name of the terminal's private key.</summary>
    public const string KeyFileName = "terminal.key";

    /// <summary>File name of the terminal's device certificate.</summary>
    public const string CertificateFileName = "terminal.crt";

    /// <summary>File name of the device CA certificate.</summary>
    public const string CaFileName = "ca.crt";

    /// <summary>
    /// Creates a fresh ECDSA P-256 key and a PKCS#10 request for it (RFC 2986), signed with SHA-256.
    /// The request's subject is only a hint for the operator: the CA replaces it.
    /// </summary>
    /// <param name="terminalHint">Text for the request's CN, e.g. the intended terminal name; empty becomes "terminal".</param>
    /// <returns>The private key (PKCS#8 PEM; keep it secret) and the request (PEM <c>CERTIFICATE REQUEST</c>).</returns>
    public static (string KeyPem, string CsrPem) CreateKeyAndCsr(string terminalHint)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(string.IsNullOrWhiteSpace(terminalHint) ? "terminal" : terminalHint);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        return (key.ExportPkcs8PrivateKeyPem(), request.CreateSigningRequestPem());
    }

    /// <summary>
    /// Saves the terminal's credentials in <paramref name="directory"/> (created with mode 0700 if missing),
    /// replacing earlier ones. Each file is written atomically; <c>terminal.key</c> gets mode 0600.
    /// </summary>
    /// <param name="directory">Target directory.</param>
    /// <param name="keyPem">The private key from <see cref="CreateKeyAndCsr"/>.</param>
    /// <param name="certPem">The device certificate returned by enrollment.</param>
    /// <param name="caPem">The CA certificate returned by enrollment.</param>
    /// <exception cref="ArgumentException">When an argument is empty.</exception>
    public static void Save(string directory, string keyPem, string certPem, string caPem)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyPem);
        ArgumentException.ThrowIfNullOrWhiteSpace(certPem);
        ArgumentException.ThrowIfNullOrWhiteSpace(caPem);
        SecureFiles.CreatePrivateDirectory(directory);
        SecureFiles.WriteAtomic(Path.Combine(directory, KeyFileName), keyPem, secret: true, overwrite: true);
        SecureFiles.WriteAtomic(Path.Combine(directory, CertificateFileName), certPem, secret: false, overwrite: true);
        SecureFiles.WriteAtomic(Path.Combine(directory, CaFileName), caPem, secret: false, overwrite: true);
    }

    /// <summary>
    /// Loads the device certificate with its private key, re-imported through PKCS#12 so that it works as an
    /// <c>HttpClientHandler</c>/<c>SslStream</c> client certificate on Linux and Windows alike.
    /// </summary>
    /// <param name="directory">Directory written by <see cref="Save"/>.</param>
    /// <returns>The certificate with its key; the caller disposes it.</returns>
    /// <exception cref="FileNotFoundException">When a file is missing.</exception>
    /// <exception cref="CryptographicException">When a file is not valid PEM or the key does not match the certificate.</exception>
    public static X509Certificate2 Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        X509Certificate2 loaded;
        try
        {
            loaded = X509Certificate2.CreateFromPemFile(Path.Combine(directory, CertificateFileName), Path.Combine(directory, KeyFileName));
        }
        catch (ArgumentException e)
        {
            throw new CryptographicException($"{KeyFileName} does not match {CertificateFileName}.", e);
        }

        using var pemCertificate = loaded;
        var pfx = pemCertificate.Export(X509ContentType.Pkcs12);
        try
        {
            return X509CertificateLoader.LoadPkcs12(pfx, password: null, X509KeyStorageFlags.Exportable);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pfx);
        }
    }

    /// <summary>
    /// Loads every CA certificate saved in <c>ca.crt</c> (one, or two during a CA rotation: see
    /// <see cref="Certificates.CertificateAuthority.TrustBundlePem"/>), to validate the server's certificate against any of them.
    /// </summary>
    /// <param name="directory">Directory written by <see cref="Save"/>.</param>
    /// <returns>The CA certificates (no keys), at least one; the caller disposes them.</returns>
    /// <exception cref="FileNotFoundException">When <c>ca.crt</c> is missing.</exception>
    /// <exception cref="CryptographicException">When it holds no certificate.</exception>
    public static X509Certificate2Collection LoadCaBundle(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(File.ReadAllText(Path.Combine(directory, CaFileName)));
        return bundle.Count > 0 ? bundle : throw new CryptographicException($"{CaFileName} holds no certificate.");
    }

    /// <summary>Loads the device CA certificate saved beside the credentials (the first one of the file), to validate the server's certificate against.</summary>
    /// <param name="directory">Directory written by <see cref="Save"/>.</param>
    /// <returns>The CA certificate (no key); the caller disposes it.</returns>
    /// <exception cref="FileNotFoundException">When <c>ca.crt</c> is missing.</exception>
    public static X509Certificate2 LoadCaCertificate(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(directory, CaFileName)));
    }
}
