using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Internal;
using Custodian.Identity;
using Custodian.Problems;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Custodian.Access.Certificates;

/// <summary>
/// Custodian's own device certificate authority: a self-signed ECDSA P-256 root
/// (CN "Custodian Device CA") that issues the TLS server certificate and the client certificates of
/// enrolled terminals, and validates the client certificates terminals present.
/// </summary>
/// <remarks>
/// <para>The CA key lives in <c>ca.key</c> (PKCS#8 PEM, unencrypted, file mode 0600) beside
/// <c>ca.crt</c>; protecting that directory is protecting the whole device trust.</para>
/// <para>Certificate profile follows RFC 5280 (§4.2.1.3 key usage, §4.2.1.6 subject alternative name,
/// §4.2.1.9 basic constraints, §4.2.1.12 extended key usage). Device certificates carry the terminal
/// identity as the SAN URI <c>urn:custodian:terminal:&lt;store&gt;:&lt;terminal&gt;</c>; both codes are
/// <see cref="Codes"/> and so contain no <c>:</c>.</para>
/// <para>Thread-safe. Successful chain validations are cached by certificate SHA-256 (at most
/// 10,000 entries), so the per-request cost of <see cref="ValidateClientCertificate"/> for a known
/// certificate is one SHA-256 and a dictionary lookup; the validity period is re-checked on every call.</para>
/// </remarks>
public sealed class CertificateAuthority : IDisposable
{
    /// <summary>Common name of the device CA.</summary>
    public const string CommonName = "Custodian Device CA";

    /// <summary>File name of the CA certificate (PEM) inside the CA directory.</summary>
    public const string CertificateFileName = "ca.crt";

    /// <summary>File name of the CA private key (PKCS#8 PEM, mode 0600) inside the CA directory.</summary>
    public const string KeyFileName = "ca.key";

    /// <summary>Prefix of the SAN URI naming a terminal: <c>urn:custodian:terminal:&lt;store&gt;:&lt;terminal&gt;</c>.</summary>
    public const string TerminalUriPrefix = "urn:custodian:terminal:";

    /// <summary>Longest accepted CSR PEM, in characters (an RSA-4096 request is about 1,700).</summary>
    public const int MaxCsrPemLength = 16_384;

    /// <summary>Smallest accepted RSA modulus in a CSR, in bits (NIST SP 800-131A Rev. 2: 2048 bits for 112-bit security).</summary>
    public const int MinRsaKeySize = 2048;

    /// <summary>
    /// Largest accepted RSA modulus in a CSR, in bits. Every TLS handshake checks a signature of the terminal's key, whose
    /// cost grows with the modulus (and with the public exponent, which must therefore be 65537 … 2^256 − 1, FIPS 186-5
    /// §5.4): a terminal must not be able to make each of its handshakes expensive for the server.
    /// </summary>
    public const int MaxRsaKeySize = 4096;

    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string RsaPublicKeyOid = "1.2.840.113549.1.1.1";
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private const string P384Oid = "1.3.132.0.34";
    private const string SubjectAltNameOid = "2.5.29.17";
    private const int MaxValidationCacheEntries = 10_000;

    private readonly ECDsa _key;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly X509AuthorityKeyIdentifierExtension _authorityKeyId;
    private readonly ConcurrentDictionary<string, ValidatedCertificate> _validated = new(StringComparer.Ordinal);

    /// <summary>Name of the subdirectory holding the previous CA (<c>ca.crt</c>, <c>ca.key</c>) during a rotation.</summary>
    public const string PreviousDirectoryName = "previous";

    private readonly ECDsa? _previousKey;
    private string? _certificatePath; // the file Certificate was loaded from (IsSupersededOnDisk); set once, by LoadPair

    private CertificateAuthority(X509Certificate2 certificate, ECDsa key, TimeProvider time, CertificateAuthorityOptions options, ILogger logger, X509Certificate2? previous = null, ECDsa? previousKey = null)
    {
        Certificate = certificate;
        _key = key;
        PreviousCertificate = previous;
        _previousKey = previousKey;
        var serverIssuer = previous ?? certificate;
        ServerIssuerPem = serverIssuer.ExportCertificatePem();
        ServerIssuerSha256Fingerprint = Convert.ToHexStringLower(SHA256.HashData(serverIssuer.RawData));
        TrustBundlePem = previous is null ? certificate.ExportCertificatePem() : ServerIssuerPem + "\n" + certificate.ExportCertificatePem();
        _time = time;
        Options = options;
        _logger = logger;
        CertificatePem = certificate.ExportCertificatePem();
        Sha256Fingerprint = Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
        _authorityKeyId = X509AuthorityKeyIdentifierExtension.CreateFromCertificate(certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false);
    }

    /// <summary>The CA certificate (public part only; the key never leaves this object). Issues every device certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// During a CA rotation (<see cref="Rotate"/> until <see cref="FinishRotation"/>), the CA that was replaced: client
    /// certificates it issued are still accepted, and it still issues the TLS server certificate so that terminals
    /// that have not renewed yet (and trust only it) can reach the server to renew. Null outside a rotation.
    /// </summary>
    public X509Certificate2? PreviousCertificate { get; }

    /// <summary>PEM of the CA that issues the server certificate: <see cref="PreviousCertificate"/> during a rotation, else <see cref="Certificate"/>. What terminals pin at enrollment (<c>/api/v1/ca</c>).</summary>
    public string ServerIssuerPem { get; }

    /// <summary>SHA-256 of <see cref="ServerIssuerPem"/>'s DER, lowercase hex: the fingerprint to give <c>terminal init --ca-sha256</c>.</summary>
    public string ServerIssuerSha256Fingerprint { get; }

    /// <summary>
    /// The CA certificates a terminal must trust for the server, as one PEM: the server's issuer first, then the current CA
    /// when it differs (during a rotation). Handed out at enrollment and renewal and saved as the terminal's <c>ca.crt</c>,
    /// so that after <see cref="FinishRotation"/> terminals trust the server certificate of the new CA.
    /// </summary>
    public string TrustBundlePem { get; }

    /// <summary>The CA certificate as PEM, as handed to terminals at enrollment to pin the server.</summary>
    public string CertificatePem { get; }

    /// <summary>SHA-256 of the CA certificate's DER encoding, lowercase hex (64 digits), for out-of-band comparison.</summary>
    public string Sha256Fingerprint { get; }

    /// <summary>The lifetimes in use.</summary>
    public CertificateAuthorityOptions Options { get; }

    /// <summary>
    /// Loads the CA from <paramref name="caDirectory"/>, or creates it there on first use: a self-signed
    /// ECDSA P-256 root, CN "Custodian Device CA", valid <see cref="CertificateAuthorityOptions.CaValidity"/>
    /// (10 years by default), basicConstraints CA (path length 0), key usage keyCertSign|cRLSign, a
    /// random 16-byte serial; written as <c>ca.crt</c> (PEM) and <c>ca.key</c> (PKCS#8 PEM, mode 0600).
    /// Safe against a second process creating the CA at the same moment (the first key written wins).
    /// </summary>
    /// <param name="caDirectory">Directory of <c>ca.crt</c> and <c>ca.key</c>; created (mode 0700) if missing.</param>
    /// <param name="time">Clock for validity periods and checks.</param>
    /// <param name="options">Lifetimes; null for the defaults.</param>
    /// <param name="logger">Logger; null for none.</param>
    /// <exception cref="OptionsValidationException">When <paramref name="options"/> are out of range.</exception>
    /// <exception cref="InvalidOperationException">When only one of the two files exists, the key does not match the certificate, or the certificate is not a CA.</exception>
    /// <exception cref="CryptographicException">When a file is not valid PEM.</exception>
    public static CertificateAuthority LoadOrCreate(string caDirectory, TimeProvider time, CertificateAuthorityOptions? options = null, ILogger<CertificateAuthority>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(caDirectory);
        ArgumentNullException.ThrowIfNull(time);
        options ??= new CertificateAuthorityOptions();
        var validation = new CertificateAuthorityOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(CertificateAuthorityOptions), typeof(CertificateAuthorityOptions), validation.Failures);
        }

        ILogger log = logger ?? (ILogger)NullLogger.Instance;
        var certPath = Path.Combine(caDirectory, CertificateFileName);
        var keyPath = Path.Combine(caDirectory, KeyFileName);
        if (!File.Exists(certPath) && !File.Exists(keyPath))
        {
            if (TryCreate(certPath, keyPath, time, options))
            {
                var created = Load(certPath, keyPath, time, options, log);
                Log.CaCreated(log, created.Sha256Fingerprint);
                return created;
            }

            // Another process created the CA at the same moment; its certificate follows its key.
            for (var i = 0; i < 50 && !File.Exists(certPath); i++)
            {
                Thread.Sleep(20);
            }
        }

        var loaded = Load(certPath, keyPath, time, options, log);
        Log.CaLoaded(log, loaded.Sha256Fingerprint);
        return loaded;
    }

    /// <summary>
    /// Issues the TLS server certificate for Kestrel: a fresh ECDSA P-256 key, subject CN = the first DNS
    /// name (else "Custodian server"), SAN with the given DNS names and IP addresses, EKU serverAuth,
    /// key usage digitalSignature, validity <see cref="CertificateAuthorityOptions.ServerCertificateValidity"/>
    /// (1 year by default, never past the issuing CA's own end). Signed by <see cref="PreviousCertificate"/> during a
    /// rotation, else by <see cref="Certificate"/>.
    /// </summary>
    /// <param name="dnsNames">Host names clients connect to (e.g. <c>localhost</c>).</param>
    /// <param name="ips">IP addresses clients connect to (e.g. 127.0.0.1).</param>
    /// <returns>The certificate with its private key, loaded from PKCS#12 with an exportable key, so that
    /// <c>SslStream</c> (and so Kestrel) can use it on Linux and Windows alike. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">When no DNS name and no IP address is given, or a DNS name is empty.</exception>
    public X509Certificate2 IssueServerCertificate(IEnumerable<string> dnsNames, IEnumerable<IPAddress> ips)
    {
        ArgumentNullException.ThrowIfNull(dnsNames);
        ArgumentNullException.ThrowIfNull(ips);
        var names = dnsNames.ToList();
        var addresses = ips.ToList();
        if (names.Count == 0 && addresses.Count == 0)
        {
            throw new ArgumentException("A server certificate needs at least one DNS name or IP address.", nameof(dnsNames));
        }

        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name, nameof(dnsNames));
            san.AddDnsName(name);
        }

        foreach (var address in addresses)
        {
            san.AddIpAddress(address);
        }

        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(names.Count > 0 ? names[0] : "Custodian server");

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(X509BasicConstraintsExtension.CreateForEndEntity(critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], critical: false));
        request.CertificateExtensions.Add(san.Build(critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var issuer = PreviousCertificate ?? Certificate;
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));

        var (notBefore, notAfter) = Validity(Options.ServerCertificateValidity, issuer);
        var serial = NewSerial();
        var serialHex = Convert.ToHexStringLower(serial);
        using var issued = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(_previousKey ?? _key), notBefore, notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        var pfx = withKey.Export(X509ContentType.Pkcs12);
        try
        {
            var result = X509CertificateLoader.LoadPkcs12(pfx, password: null, X509KeyStorageFlags.Exportable);
            Log.ServerCertificateIssued(_logger, serialHex, notAfter);
            return result;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pfx);
        }
    }

    /// <summary>
    /// Validates a terminal's PKCS#10 request (RFC 2986) and issues its device certificate. Only the
    /// request's public key is used: its subject, attributes and requested extensions are ignored.
    /// The certificate has subject CN=<paramref name="terminal"/>, O=<paramref name="store"/>; SAN URI
    /// <c>urn:custodian:terminal:&lt;store&gt;:&lt;terminal&gt;</c>; EKU clientAuth only; key usage
    /// digitalSignature; basicConstraints CA=false; a random 16-byte serial; notBefore = now − 5 minutes
    /// (<see cref="CertificateAuthorityOptions.BackdateBy"/>) and notAfter = now + <paramref name="validity"/>
    /// (never past the CA's own end).
    /// </summary>
    /// <param name="csrPem">PEM <c>CERTIFICATE REQUEST</c>, at most <see cref="MaxCsrPemLength"/> characters.</param>
    /// <param name="store">Store code (<see cref="Codes"/>).</param>
    /// <param name="terminal">Terminal ID (<see cref="Codes"/>).</param>
    /// <param name="validity">Validity from now; normally <see cref="CertificateAuthorityOptions.DeviceCertificateValidity"/> (30 days).</param>
    /// <returns>The certificate, or <see cref="ErrorCodes.CsrInvalid"/> (400) when the request is not PEM
    /// PKCS#10, its self-signature does not verify, or its key is not ECDSA P-256/P-384 or RSA of 2048–4096 bits with a public
    /// exponent from 65537 to 2^256 − 1.</returns>
    /// <exception cref="ArgumentException">When <paramref name="store"/> or <paramref name="terminal"/> is not a well-formed code.</exception>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="validity"/> is not positive.</exception>
    public Result<IssuedDeviceCertificate> IssueDeviceCertificate(string csrPem, string store, string terminal, TimeSpan validity) =>
        IssueDeviceCertificate(csrPem, store, terminal, validity, Terminals.TrustClass.StoreTerminal);

    /// <summary>
    /// As <see cref="IssueDeviceCertificate(string, string, string, TimeSpan)"/>, for a terminal of the given
    /// trust class: the certificate also carries subject OU = the class name and the SAN URI
    /// <c>urn:custodian:trust-class:&lt;class&gt;</c> (docs/access.md §1).
    /// </summary>
    /// <param name="csrPem">PEM <c>CERTIFICATE REQUEST</c>, at most <see cref="MaxCsrPemLength"/> characters.</param>
    /// <param name="store">Store code (<see cref="Codes"/>).</param>
    /// <param name="terminal">Terminal ID (<see cref="Codes"/>).</param>
    /// <param name="validity">Validity from now.</param>
    /// <param name="trustClass">The terminal's trust class.</param>
    /// <returns>The certificate, or <see cref="ErrorCodes.CsrInvalid"/> (400).</returns>
    /// <exception cref="ArgumentException">When <paramref name="store"/> or <paramref name="terminal"/> is not a well-formed code.</exception>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="validity"/> is not positive or <paramref name="trustClass"/> is undefined.</exception>
    public Result<IssuedDeviceCertificate> IssueDeviceCertificate(string csrPem, string store, string terminal, TimeSpan validity, Terminals.TrustClass trustClass)
    {
        var className = Terminals.TrustClasses.ToName(trustClass);
        Codes.Require(store, "store");
        Codes.Require(terminal, "terminal");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(validity, TimeSpan.Zero);
        if (IsSupersededOnDisk())
        {
            return new CustodianError(ErrorCodes.CaRestartRequired, 503,
                "The device CA was rotated ('custodian ca rotate') and this server has not been restarted since; it issues no certificate until the restart.");
        }

        var parsed = ParseCsr(csrPem);
        if (!parsed.IsSuccess)
        {
            Log.CsrRefused(_logger, parsed.Error!.Message);
            return parsed.Error!;
        }

        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(terminal);
        subject.AddOrganizationalUnitName(className);
        subject.AddOrganizationName(store);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(TerminalUriPrefix + store + ":" + terminal, UriKind.Absolute));
        san.AddUri(new Uri(Terminals.TrustClasses.UriPrefix + className, UriKind.Absolute));

        var request = new CertificateRequest(subject.Build(), parsed.Value, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(X509BasicConstraintsExtension.CreateForEndEntity(critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ClientAuthOid)], critical: false));
        request.CertificateExtensions.Add(san.Build(critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(_authorityKeyId);

        var (notBefore, notAfter) = Validity(validity);
        var serial = NewSerial();
        using var issued = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), notBefore, notAfter, serial);
        var result = new IssuedDeviceCertificate(
            issued.ExportCertificatePem(),
            Convert.ToHexStringLower(serial),
            Convert.ToHexStringLower(SHA256.HashData(issued.RawData)),
            notAfter)
        {
            PublicKeySha256 = Convert.ToHexStringLower(SHA256.HashData(parsed.Value.ExportSubjectPublicKeyInfo())),
        };
        Log.DeviceCertificateIssued(_logger, result.SerialHex, terminal, store, notAfter);
        return result;
    }

    /// <summary>
    /// Pure certificate checks on a presented client certificate (no database): present; chains to THIS
    /// CA only (custom root trust, no system roots, no downloads, no online revocation — revocation is
    /// <see cref="Terminals.TerminalRegistry.CheckAsync"/>); within its validity and the CA's by the
    /// injected clock; EKU exactly clientAuth, key usage digitalSignature without certificate or CRL signing,
    /// not a CA; exactly one well-formed terminal SAN URI and at most one trust-class URI.
    /// </summary>
    /// <param name="cert">The certificate the TLS client presented, or null.</param>
    /// <returns>The device identity, or an error: <see cref="ErrorCodes.DeviceCertificateRequired"/> (no
    /// certificate), <see cref="ErrorCodes.DeviceCertificateUntrusted"/> (other issuer, bad signature,
    /// no terminal URI), <see cref="AccessErrorCodes.DeviceCertificateUsage"/> (wrong key usage, extended key
    /// usage or a CA flag), <see cref="AccessErrorCodes.DeviceCertificateNotYetValid"/> (notBefore ahead of the
    /// server's clock) or <see cref="ErrorCodes.DeviceCertificateExpired"/> (past its end, or the CA's); all 403.</returns>
    public Result<DeviceIdentity> ValidateClientCertificate(X509Certificate2? cert)
    {
        if (cert is null)
        {
            Log.ClientCertificateRefused(_logger, ErrorCodes.DeviceCertificateRequired);
            return AccessErrors.DeviceCertificateRequired;
        }

        var thumbprint = Convert.ToHexStringLower(SHA256.HashData(cert.RawDataMemory.Span));
        if (!_validated.TryGetValue(thumbprint, out var validated))
        {
            var checkedResult = CheckChainAndContent(cert, thumbprint);
            if (!checkedResult.IsSuccess)
            {
                Log.ClientCertificateRefused(_logger, checkedResult.Error!.Code);
                return checkedResult.Error!;
            }

            validated = checkedResult.Value;
            if (_validated.Count >= MaxValidationCacheEntries)
            {
                _validated.Clear();
            }

            _validated[thumbprint] = validated;
        }

        var now = _time.GetUtcNow();
        if (now < validated.NotBefore)
        {
            // Issued "in the future": a skewed clock on the issuing side, or a certificate made to outlive its profile.
            Log.ClientCertificateRefused(_logger, AccessErrorCodes.DeviceCertificateNotYetValid);
            return AccessErrors.DeviceCertificateNotYetValid;
        }

        if (now > validated.NotAfter)
        {
            Log.ClientCertificateRefused(_logger, ErrorCodes.DeviceCertificateExpired);
            return AccessErrors.DeviceCertificateExpired;
        }

        return validated.Identity;
    }

    /// <summary>
    /// Starts a CA rotation in <paramref name="caDirectory"/>: the current CA moves to <c>previous/</c> (still trusted,
    /// still issuing the server certificate) and a new CA, CN "Custodian Device CA &lt;UTC time&gt;", takes its place for
    /// every device certificate issued from now on. Takes effect when the server next starts. Terminals get the new CA
    /// in their trust bundle and a certificate of it at their next renewal; once every terminal has renewed (at the
    /// latest one device-certificate lifetime later) <see cref="FinishRotation"/> retires the previous CA.
    /// </summary>
    /// <param name="caDirectory">The CA directory.</param>
    /// <param name="time">Clock for the new CA's validity.</param>
    /// <param name="options">Lifetimes; null for the defaults.</param>
    /// <returns>SHA-256 fingerprints (lowercase hex) of the previous and the new CA.</returns>
    /// <exception cref="InvalidOperationException">When there is no CA yet, or a rotation is already in progress.</exception>
    public static (string Previous, string Current) Rotate(string caDirectory, TimeProvider time, CertificateAuthorityOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(caDirectory);
        ArgumentNullException.ThrowIfNull(time);
        options ??= new CertificateAuthorityOptions();
        var certPath = Path.Combine(caDirectory, CertificateFileName);
        var keyPath = Path.Combine(caDirectory, KeyFileName);
        var previousDirectory = Path.Combine(caDirectory, PreviousDirectoryName);
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            throw new InvalidOperationException("There is no device CA to rotate; start the server or run 'custodian init' first.");
        }

        if (File.Exists(Path.Combine(previousDirectory, CertificateFileName)) || File.Exists(Path.Combine(previousDirectory, KeyFileName)))
        {
            throw new InvalidOperationException("A CA rotation is already in progress; finish it ('custodian ca finish-rotation') before starting another.");
        }

        using var old = Load(certPath, keyPath, time, options, NullLogger.Instance);
        SecureFiles.CreatePrivateDirectory(previousDirectory);
        SecureFiles.WriteAtomic(Path.Combine(previousDirectory, KeyFileName), File.ReadAllText(keyPath), secret: true, overwrite: true);
        SecureFiles.WriteAtomic(Path.Combine(previousDirectory, CertificateFileName), File.ReadAllText(certPath), secret: false, overwrite: true);
        var commonName = $"{CommonName} {TruncateToSeconds(time.GetUtcNow()):yyyy-MM-dd'T'HH:mm:ss'Z'}";
        var (newKeyPem, newCertPem) = CreateRoot(commonName, time, options);
        SecureFiles.WriteAtomic(keyPath, newKeyPem, secret: true, overwrite: true);
        SecureFiles.WriteAtomic(certPath, newCertPem, secret: false, overwrite: true);
        using var created = X509Certificate2.CreateFromPem(newCertPem);
        return (old.Sha256Fingerprint, Convert.ToHexStringLower(SHA256.HashData(created.RawData)));
    }

    /// <summary>
    /// <see cref="Rotate"/> and its record, all or nothing: after the files are changed, <paramref name="record"/> is
    /// called with the previous and the new CA's fingerprints (e.g. to append the <c>ca-rotated</c> ledger entry). When it
    /// throws (the ledger is unavailable or refuses the entry), or the rotation itself fails part way, the CA directory is
    /// put back byte for byte as it was (<c>ca.crt</c>, <c>ca.key</c> and their modes; no <c>previous/</c>) and the
    /// exception propagates. The caller holds the lock that excludes backups (the keyring lock, docs/access.md §2.4), so
    /// no backup sees the rotated files before they are either recorded or put back.
    /// </summary>
    /// <param name="caDirectory">The CA directory.</param>
    /// <param name="time">Clock for the new CA's validity.</param>
    /// <param name="options">Lifetimes; null for the defaults.</param>
    /// <param name="record">Records the rotation: (previous fingerprint, new fingerprint), lowercase hex SHA-256.</param>
    /// <returns>SHA-256 fingerprints (lowercase hex) of the previous and the new CA.</returns>
    /// <exception cref="InvalidOperationException">When there is no CA yet, or a rotation is already in progress (nothing changed).</exception>
    public static async Task<(string Previous, string Current)> RotateAsync(string caDirectory, TimeProvider time, CertificateAuthorityOptions? options, Func<string, string, Task> record)
    {
        ArgumentException.ThrowIfNullOrEmpty(caDirectory);
        ArgumentNullException.ThrowIfNull(record);
        var before = CaDirectoryState.Capture(caDirectory);
        try
        {
            var rotated = Rotate(caDirectory, time, options);
            await record(rotated.Previous, rotated.Current);
            return rotated;
        }
        catch
        {
            before.Restore();
            throw;
        }
    }

    /// <summary>
    /// <see cref="FinishRotation"/> and its record, all or nothing: after <c>previous/</c> is deleted,
    /// <paramref name="record"/> is called with the retired CA's fingerprint. When it throws, <c>previous/</c> is put
    /// back byte for byte (the rotation stays in progress) and the exception propagates. Nothing is recorded when no
    /// rotation was in progress. The caller holds the keyring lock, as for <see cref="RotateAsync"/>.
    /// </summary>
    /// <param name="caDirectory">The CA directory.</param>
    /// <param name="record">Records the retirement: the retired CA's fingerprint, lowercase hex SHA-256.</param>
    /// <returns>The SHA-256 fingerprint of the retired CA, or null when no rotation was in progress.</returns>
    public static async Task<string?> FinishRotationAsync(string caDirectory, Func<string, Task> record)
    {
        ArgumentException.ThrowIfNullOrEmpty(caDirectory);
        ArgumentNullException.ThrowIfNull(record);
        var before = CaDirectoryState.Capture(caDirectory);
        try
        {
            var retired = FinishRotation(caDirectory);
            if (retired is not null)
            {
                await record(retired);
            }

            return retired;
        }
        catch
        {
            before.Restore();
            throw;
        }
    }

    /// <summary>The bytes and modes of the CA files (current and <c>previous/</c>) at one moment, to put back after a failed change.</summary>
    private sealed class CaDirectoryState
    {
        private readonly string _previousDirectory;
        private readonly bool _previousExisted;
        private readonly List<(string Path, byte[]? Bytes, UnixFileMode Mode, bool Secret)> _files = [];

        private CaDirectoryState(string caDirectory)
        {
            _previousDirectory = Path.Combine(caDirectory, PreviousDirectoryName);
            _previousExisted = Directory.Exists(_previousDirectory);
            foreach (var directory in new[] { caDirectory, _previousDirectory })
            {
                foreach (var (name, secret) in new[] { (CertificateFileName, false), (KeyFileName, true) })
                {
                    var path = Path.Combine(directory, name);
                    var exists = File.Exists(path);
                    _files.Add((path, exists ? File.ReadAllBytes(path) : null, exists && !OperatingSystem.IsWindows() ? File.GetUnixFileMode(path) : default, secret));
                }
            }
        }

        public static CaDirectoryState Capture(string caDirectory) => new(caDirectory);

        /// <summary>Writes back every file that differs from the capture (atomically), deletes the ones that did not exist, and <c>previous/</c> when it did not exist.</summary>
        public void Restore()
        {
            foreach (var (path, bytes, mode, secret) in _files)
            {
                if (bytes is null)
                {
                    if (File.Exists(path))
                    {
                        File.Delete(path);
                    }

                    continue;
                }

                if (!File.Exists(path) || !File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
                {
                    SecureFiles.WriteAtomic(path, bytes, secret, overwrite: true);
                }

                if (!OperatingSystem.IsWindows() && File.GetUnixFileMode(path) != mode)
                {
                    File.SetUnixFileMode(path, mode);
                }
            }

            if (!_previousExisted && Directory.Exists(_previousDirectory) && !Directory.EnumerateFileSystemEntries(_previousDirectory).Any())
            {
                Directory.Delete(_previousDirectory);
            }
        }
    }

    /// <summary>
    /// Finishes a CA rotation: deletes <c>previous/</c>, so that after the next server start only the new CA is trusted and
    /// it issues the server certificate. Certificates of the previous CA are refused from then on (terminals that did not
    /// renew during the overlap must re-enroll).
    /// </summary>
    /// <param name="caDirectory">The CA directory.</param>
    /// <returns>The SHA-256 fingerprint of the retired CA, or null when no rotation was in progress.</returns>
    public static string? FinishRotation(string caDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(caDirectory);
        var previousDirectory = Path.Combine(caDirectory, PreviousDirectoryName);
        var certPath = Path.Combine(previousDirectory, CertificateFileName);
        if (!File.Exists(certPath))
        {
            return null;
        }

        using var previous = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(previous.RawData));
        File.Delete(Path.Combine(previousDirectory, KeyFileName));
        File.Delete(certPath);
        Directory.Delete(previousDirectory);
        return fingerprint;
    }

    /// <summary>When the current CA was created (its notBefore plus <see cref="CertificateAuthorityOptions.BackdateBy"/>): the start of a rotation in progress.</summary>
    public DateTimeOffset CreatedAt => new DateTimeOffset(Certificate.NotBefore.ToUniversalTime()) + Options.BackdateBy;

    /// <inheritdoc />
    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
        _previousKey?.Dispose();
        PreviousCertificate?.Dispose();
    }

    private static bool TryCreate(string certPath, string keyPath, TimeProvider time, CertificateAuthorityOptions options)
    {
        var (keyPem, certPem) = CreateRoot(CommonName, time, options);

        // The key goes first: whoever writes ca.key owns the CA; a loser discards its pair.
        if (!SecureFiles.WriteAtomic(keyPath, keyPem, secret: true, overwrite: false))
        {
            return false;
        }

        SecureFiles.WriteAtomic(certPath, certPem, secret: false, overwrite: true);
        return true;
    }

    /// <summary>A new self-signed ECDSA P-256 root with the CA profile: (key PKCS#8 PEM, certificate PEM).</summary>
    private static (string KeyPem, string CertificatePem) CreateRoot(string commonName, TimeProvider time, CertificateAuthorityOptions options)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(commonName);
        var name = subject.Build();
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(X509BasicConstraintsExtension.CreateForCertificateAuthority(pathLengthConstraint: 0));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        var ski = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(ski);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));

        var now = TruncateToSeconds(time.GetUtcNow());
        using var certificate = request.Create(name, X509SignatureGenerator.CreateForECDsa(key), now - options.BackdateBy, now + options.CaValidity, NewSerial());
        return (key.ExportPkcs8PrivateKeyPem(), certificate.ExportCertificatePem());
    }

    private static CertificateAuthority Load(string certPath, string keyPath, TimeProvider time, CertificateAuthorityOptions options, ILogger logger)
    {
        var previousDirectory = Path.Combine(Path.GetDirectoryName(certPath)!, PreviousDirectoryName);
        var previousCert = Path.Combine(previousDirectory, CertificateFileName);
        var previousKey = Path.Combine(previousDirectory, KeyFileName);
        if (!File.Exists(previousCert) && !File.Exists(previousKey))
        {
            return LoadPair(certPath, keyPath, time, options, logger, null);
        }

        using var previous = LoadPair(previousCert, previousKey, time, options, logger, null);
        return LoadPair(certPath, keyPath, time, options, logger, previous);
    }

    /// <summary>
    /// Whether the CA certificate file this authority was loaded from now holds another certificate (a <c>ca rotate</c>
    /// since the load) or is gone. Read from disk at every call (a few hundred bytes; enrollment and renewal only).
    /// False for an authority not loaded from a file.
    /// </summary>
    /// <returns>True when the file differs from <see cref="Certificate"/>; an unreadable file counts as different.</returns>
    public bool IsSupersededOnDisk()
    {
        if (_certificatePath is null)
        {
            return false;
        }

        try
        {
            using var onDisk = X509Certificate2.CreateFromPem(File.ReadAllText(_certificatePath));
            return !onDisk.RawData.AsSpan().SequenceEqual(Certificate.RawData);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            return true;
        }
    }

    private static CertificateAuthority LoadPair(string certPath, string keyPath, TimeProvider time, CertificateAuthorityOptions options, ILogger logger, CertificateAuthority? previous)
    {
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            throw new InvalidOperationException(
                $"The CA directory must hold both {CertificateFileName} and {KeyFileName}; one is missing. Restore it from backup rather than creating a new CA (every terminal would need re-enrollment).");
        }

        if (Files.KeyFilePermissions.IsGroupOrOtherAccessible(keyPath))
        {
            Log.CaKeyFilePermissive(logger, keyPath);
        }

        var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(keyPath));
            using var certificateKey = certificate.GetECDsaPublicKey()
                ?? throw new InvalidOperationException($"{CertificateFileName} does not hold an ECDSA certificate.");
            if (!certificateKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
            {
                throw new InvalidOperationException($"{KeyFileName} does not match {CertificateFileName}.");
            }

            var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
            if (constraints is null || !constraints.CertificateAuthority)
            {
                throw new InvalidOperationException($"{CertificateFileName} is not a CA certificate (basicConstraints CA=true required).");
            }

            if (previous is null)
            {
                return new CertificateAuthority(certificate, key, time, options, logger) { _certificatePath = certPath };
            }

            var previousKey = ECDsa.Create();
            previousKey.ImportParameters(previous._key.ExportParameters(includePrivateParameters: true));
            return new CertificateAuthority(certificate, key, time, options, logger, X509CertificateLoader.LoadCertificate(previous.Certificate.RawData), previousKey) { _certificatePath = certPath };
        }
        catch
        {
            key.Dispose();
            certificate.Dispose();
            throw;
        }
    }

    private static Result<PublicKey> ParseCsr(string? csrPem)
    {
        if (string.IsNullOrWhiteSpace(csrPem) || csrPem.Length > MaxCsrPemLength)
        {
            return AccessErrors.CsrInvalid($"csr must be a PEM 'CERTIFICATE REQUEST' of at most {MaxCsrPemLength} characters.");
        }

        CertificateRequest request;
        try
        {
            request = CertificateRequest.LoadSigningRequestPem(
                csrPem,
                HashAlgorithmName.SHA256,
                CertificateRequestLoadOptions.Default,
                RSASignaturePadding.Pkcs1);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or AsnContentException)
        {
            return AccessErrors.CsrInvalid("csr must be a well-formed PEM PKCS#10 request (RFC 2986) whose self-signature verifies.");
        }

        var key = request.PublicKey;
        switch (key.Oid.Value)
        {
            case EcPublicKeyOid:
                string? curve;
                try
                {
                    var reader = new AsnReader(key.EncodedParameters?.RawData ?? [], AsnEncodingRules.DER);
                    curve = reader.PeekTag() == Asn1Tag.ObjectIdentifier ? reader.ReadObjectIdentifier() : null;
                }
                catch (AsnContentException)
                {
                    curve = null;
                }

                if (curve is not (P256Oid or P384Oid))
                {
                    return AccessErrors.CsrInvalid("csr key must be ECDSA on a named curve P-256 or P-384, or RSA of 2048 to 4096 bits.");
                }

                break;

            case RsaPublicKeyOid:
                int size;
                byte[]? exponent;
                try
                {
                    using var rsa = key.GetRSAPublicKey();
                    size = rsa?.KeySize ?? 0;
                    exponent = rsa?.ExportParameters(includePrivateParameters: false).Exponent;
                }
                catch (CryptographicException)
                {
                    size = 0;
                    exponent = null;
                }

                if (size < MinRsaKeySize)
                {
                    return AccessErrors.CsrInvalid($"csr RSA key must be at least {MinRsaKeySize} bits (NIST SP 800-131A).");
                }

                if (size > MaxRsaKeySize)
                {
                    return AccessErrors.CsrInvalid($"csr RSA key must be at most {MaxRsaKeySize} bits.");
                }

                if (!IsAllowedRsaExponent(exponent))
                {
                    return AccessErrors.CsrInvalid("csr RSA public exponent must be odd, from 65537 to 2^256-1 (FIPS 186-5).");
                }

                break;

            default:
                return AccessErrors.CsrInvalid("csr key must be ECDSA on a named curve P-256 or P-384, or RSA of 2048 to 4096 bits.");
        }

        return key;
    }

    /// <summary>An RSA public exponent (big-endian, unsigned) that is odd and within 65537 … 2^256 − 1 (FIPS 186-5 §5.4).</summary>
    private static bool IsAllowedRsaExponent(byte[]? exponent)
    {
        var e = (exponent ?? []).AsSpan();
        while (e.Length > 0 && e[0] == 0)
        {
            e = e[1..];
        }

        return e.Length is >= 3 and <= 32 && (e[^1] & 1) == 1 && (e.Length > 3 || ((e[0] << 16) | (e[1] << 8) | e[2]) >= 65537);
    }

    private Result<ValidatedCertificate> CheckChainAndContent(X509Certificate2 cert, string thumbprint)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.Add(Certificate);
        if (PreviousCertificate is not null)
        {
            policy.CustomTrustStore.Add(PreviousCertificate);
        }

        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        policy.VerificationTimeIgnored = false;

        // Time is checked separately against the injected clock so that an expired certificate from
        // this CA is reported as expired, and one from elsewhere as untrusted.
        policy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid | X509VerificationFlags.IgnoreCtlNotTimeValid;

        // Usage (EKU, key usage, basic constraints) is checked after the chain, so that a certificate of this
        // CA with the wrong usage gets its own error code rather than "untrusted".

        bool built;
        X509Certificate2 root;
        DateTimeOffset rootNotBefore, rootNotAfter;
        try
        {
            built = chain.Build(cert);
        }
        catch (CryptographicException)
        {
            built = false;
        }

        try
        {
            if (!built
                || chain.ChainElements.Count != 2
                || !(chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(Certificate.RawDataMemory.Span)
                    || (PreviousCertificate is not null && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(PreviousCertificate.RawDataMemory.Span))))
            {
                return AccessErrors.DeviceCertificateUntrusted("The client certificate was not issued by Custodian's device CA.");
            }

            root = chain.ChainElements[1].Certificate;
            rootNotBefore = new DateTimeOffset(root.NotBefore.ToUniversalTime());
            rootNotAfter = new DateTimeOffset(root.NotAfter.ToUniversalTime());
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, cert) && !ReferenceEquals(element.Certificate, Certificate) && !ReferenceEquals(element.Certificate, PreviousCertificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }

        var eku = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        var ekus = eku?.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToList() ?? [];
        if (ekus.Count != 1 || ekus[0] != ClientAuthOid)
        {
            return AccessErrors.DeviceCertificateUsage("The client certificate's extended key usage must be exactly clientAuth (RFC 5280 §4.2.1.12).");
        }

        var keyUsage = cert.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (keyUsage is null
            || (keyUsage.KeyUsages & X509KeyUsageFlags.DigitalSignature) == 0
            || (keyUsage.KeyUsages & (X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)) != 0)
        {
            return AccessErrors.DeviceCertificateUsage("The client certificate's key usage must include digitalSignature and exclude keyCertSign and cRLSign (RFC 5280 §4.2.1.3).");
        }

        var basic = cert.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (basic is { CertificateAuthority: true })
        {
            return AccessErrors.DeviceCertificateUsage("The client certificate must not be a CA certificate (basicConstraints CA=false, RFC 5280 §4.2.1.9).");
        }

        var terminalUris = new List<string>();
        var classUris = new List<string>();
        try
        {
            foreach (var extension in cert.Extensions)
            {
                if (extension.Oid?.Value == SubjectAltNameOid)
                {
                    var uris = ReadUris(extension.RawData);
                    terminalUris.AddRange(uris.Where(u => u.StartsWith(TerminalUriPrefix, StringComparison.Ordinal)));
                    classUris.AddRange(uris.Where(u => u.StartsWith(Terminals.TrustClasses.UriPrefix, StringComparison.Ordinal)));
                }
            }
        }
        catch (AsnContentException)
        {
            return AccessErrors.DeviceCertificateUntrusted("The client certificate's subject alternative name is malformed.");
        }

        if (terminalUris.Count != 1)
        {
            return AccessErrors.DeviceCertificateUntrusted("The client certificate must name exactly one terminal (SAN URI urn:custodian:terminal:<store>:<terminal>).");
        }

        var parts = terminalUris[0][TerminalUriPrefix.Length..].Split(':');
        if (parts.Length != 2 || !Codes.IsValid(parts[0]) || !Codes.IsValid(parts[1]))
        {
            return AccessErrors.DeviceCertificateUntrusted("The client certificate's terminal URI is malformed.");
        }

        var trustClass = Terminals.TrustClass.StoreTerminal;
        if (classUris.Count > 1 || (classUris.Count == 1 && !Terminals.TrustClasses.TryParse(classUris[0][Terminals.TrustClasses.UriPrefix.Length..], out trustClass)))
        {
            return AccessErrors.DeviceCertificateUntrusted("The client certificate's trust class URI is malformed.");
        }

        var identity = new DeviceIdentity(parts[0], parts[1], cert.SerialNumber.ToLowerInvariant(), thumbprint) { TrustClass = trustClass, NotAfter = new DateTimeOffset(cert.NotAfter.ToUniversalTime()) };
        return new ValidatedCertificate(
            identity,
            new DateTimeOffset(cert.NotBefore.ToUniversalTime()) < rootNotBefore ? rootNotBefore : new DateTimeOffset(cert.NotBefore.ToUniversalTime()),
            new DateTimeOffset(cert.NotAfter.ToUniversalTime()) > rootNotAfter ? rootNotAfter : new DateTimeOffset(cert.NotAfter.ToUniversalTime()));
    }

    /// <summary>Reads the uniformResourceIdentifier ([6] IA5String) entries of a GeneralNames (RFC 5280 §4.2.1.6).</summary>
    private static List<string> ReadUris(byte[] subjectAltName)
    {
        var uris = new List<string>();
        var reader = new AsnReader(subjectAltName, AsnEncodingRules.DER);
        var names = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
        while (names.HasData)
        {
            if (names.PeekTag() == uriTag)
            {
                uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
            }
            else
            {
                names.ReadEncodedValue();
            }
        }

        return uris;
    }

    private (DateTimeOffset NotBefore, DateTimeOffset NotAfter) Validity(TimeSpan validity, X509Certificate2? issuer = null)
    {
        var now = TruncateToSeconds(_time.GetUtcNow());
        var caEnd = new DateTimeOffset((issuer ?? Certificate).NotAfter.ToUniversalTime());
        var notAfter = now + validity;
        if (notAfter > caEnd)
        {
            notAfter = caEnd;
        }

        return (now - Options.BackdateBy, notAfter);
    }

    /// <summary>16 random bytes, first bit cleared (a positive INTEGER, RFC 5280 §4.1.2.2) and second set (always 16 bytes in DER).</summary>
    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private sealed record ValidatedCertificate(DeviceIdentity Identity, DateTimeOffset NotBefore, DateTimeOffset NotAfter);
}
