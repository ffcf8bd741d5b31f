using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Certificates;
using Custodian.Access.Tests.Support;
using Custodian.Problems;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Access.Tests.Certificates;

public sealed class CertificateAuthorityTests : IDisposable
{
    private readonly TestEnvironment _env = TestEnvironment.CreateAsync().GetAwaiter().GetResult();

    public void Dispose() => _env.Dispose();

    [Fact]
    public void First_use_creates_a_P256_root_with_the_required_profile_and_files()
    {
        var ca = _env.Ca;
        var cert = ca.Certificate;

        Assert.Equal("CN=Custodian Device CA", cert.Subject);
        Assert.Equal(cert.Subject, cert.Issuer);
        Assert.False(cert.HasPrivateKey);
        using (var key = cert.GetECDsaPublicKey())
        {
            Assert.NotNull(key);
            Assert.Equal(256, key.KeySize);
        }

        var constraints = cert.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);
        var usage = cert.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.Equal(TestEnvironment.Start - TimeSpan.FromMinutes(5), new DateTimeOffset(cert.NotBefore.ToUniversalTime()));
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromDays(3650), new DateTimeOffset(cert.NotAfter.ToUniversalTime()));
        Assert.Equal(16, cert.GetSerialNumber().Length);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(cert.RawData)), ca.Sha256Fingerprint);
        Assert.Equal(64, ca.Sha256Fingerprint.Length);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", ca.CertificatePem, StringComparison.Ordinal);

        var dir = Path.Combine(_env.Directory, "ca");
        Assert.Equal(ca.CertificatePem.Trim(), File.ReadAllText(Path.Combine(dir, "ca.crt")).Trim());
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(Path.Combine(dir, "ca.key")), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "ca.key")));
        }
    }

    [Fact]
    public void Reload_yields_the_same_CA_which_still_validates_what_it_issued_before()
    {
        var issued = _env.Ca.IssueDeviceCertificate(NewCsr(), "S001", "S001-c1", TimeSpan.FromDays(30)).Value;

        using var reloaded = CertificateAuthority.LoadOrCreate(Path.Combine(_env.Directory, "ca"), _env.Time);

        Assert.Equal(_env.Ca.Sha256Fingerprint, reloaded.Sha256Fingerprint);
        using var cert = X509Certificate2.CreateFromPem(issued.CertificatePem);
        Assert.True(reloaded.ValidateClientCertificate(cert).IsSuccess);
    }

    [Fact]
    public void Load_refuses_a_directory_with_only_one_of_the_two_files()
    {
        var dir = Path.Combine(_env.Directory, "ca");
        _ = _env.Ca;
        File.Delete(Path.Combine(dir, "ca.crt"));

        var e = Assert.Throws<InvalidOperationException>(() => CertificateAuthority.LoadOrCreate(dir, _env.Time));
        Assert.Contains("ca.crt", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "ca.crt")));
    }

    [Fact]
    public void Load_refuses_a_key_that_does_not_match_the_certificate()
    {
        var dir = Path.Combine(_env.Directory, "ca");
        _ = _env.Ca;
        var otherDir = Path.Combine(_env.Directory, "other-ca");
        CertificateAuthority.LoadOrCreate(otherDir, _env.Time).Dispose();
        File.Copy(Path.Combine(otherDir, "ca.key"), Path.Combine(dir, "ca.key"), overwrite: true);

        var e = Assert.Throws<InvalidOperationException>(() => CertificateAuthority.LoadOrCreate(dir, _env.Time));
        Assert.Equal("ca.key does not match ca.crt.", e.Message);
    }

    [Fact]
    public void Out_of_range_options_stop_loading()
    {
        var options = new CertificateAuthorityOptions { DeviceCertificateValidity = TimeSpan.FromMinutes(1) };
        Assert.Throws<OptionsValidationException>(() => CertificateAuthority.LoadOrCreate(Path.Combine(_env.Directory, "x"), _env.Time, options));
    }

    [Fact]
    public void Device_certificate_has_the_terminal_profile_and_validates_to_its_identity()
    {
        var result = _env.Ca.IssueDeviceCertificate(NewCsr(), "S001", "S001-counter-1", TimeSpan.FromDays(30));

        Assert.True(result.IsSuccess);
        var issued = result.Value;
        using var cert = X509Certificate2.CreateFromPem(issued.CertificatePem);
        Assert.Equal("CN=S001-counter-1, OU=store-terminal, O=S001", cert.Subject);
        Assert.Equal("CN=Custodian Device CA", cert.Issuer);
        Assert.Equal(["urn:custodian:terminal:S001:S001-counter-1", "urn:custodian:trust-class:store-terminal"], SanUris(cert));
        var eku = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal(["1.3.6.1.5.5.7.3.2"], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value!).ToArray());
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, cert.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.False(cert.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(TestEnvironment.Start - TimeSpan.FromMinutes(5), new DateTimeOffset(cert.NotBefore.ToUniversalTime()));
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromDays(30), new DateTimeOffset(cert.NotAfter.ToUniversalTime()));
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromDays(30), issued.NotAfter);
        Assert.Equal(16, cert.GetSerialNumber().Length);
        Assert.Equal(cert.SerialNumber.ToLowerInvariant(), issued.SerialHex);
        Assert.Equal(32, issued.SerialHex.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(cert.RawData)), issued.Sha256Thumbprint);

        var identity = _env.Ca.ValidateClientCertificate(cert);

        Assert.True(identity.IsSuccess);
        Assert.Equal(new DeviceIdentity("S001", "S001-counter-1", issued.SerialHex, issued.Sha256Thumbprint) { NotAfter = issued.NotAfter }, identity.Value);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo())), issued.PublicKeySha256);
    }

    [Fact]
    public void Serial_numbers_are_random()
    {
        var a = _env.Ca.IssueDeviceCertificate(NewCsr(), "S001", "S001-a", TimeSpan.FromDays(1)).Value;
        var b = _env.Ca.IssueDeviceCertificate(NewCsr(), "S001", "S001-a", TimeSpan.FromDays(1)).Value;
        Assert.NotEqual(a.SerialHex, b.SerialHex);
    }

    [Fact]
    public void Requested_subject_and_extensions_are_ignored()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Custodian Device CA, O=Evil", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(X509BasicConstraintsExtension.CreateForCertificateAuthority());
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("urn:custodian:terminal:S999:S999-x"));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));

        var issued = _env.Ca.IssueDeviceCertificate(request.CreateSigningRequestPem(), "S001", "S001-c1", TimeSpan.FromDays(30)).Value;

        using var cert = X509Certificate2.CreateFromPem(issued.CertificatePem);
        Assert.Equal("CN=S001-c1, OU=store-terminal, O=S001", cert.Subject);
        Assert.Equal(["urn:custodian:terminal:S001:S001-c1", "urn:custodian:trust-class:store-terminal"], SanUris(cert));
        Assert.False(cert.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(["1.3.6.1.5.5.7.3.2"], cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value!).ToArray());
        using var certKey = cert.GetECDsaPublicKey()!;
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), certKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Validity_never_extends_past_the_CA()
    {
        var issued = _env.Ca.IssueDeviceCertificate(NewCsr(), "S001", "S001-c1", TimeSpan.FromDays(5000)).Value;
        Assert.Equal(new DateTimeOffset(_env.Ca.Certificate.NotAfter.ToUniversalTime()), issued.NotAfter);
    }

    [Fact]
    public void Missing_certificate_is_required()
    {
        var result = _env.Ca.ValidateClientCertificate(null);
        Assert.Equal(ErrorCodes.DeviceCertificateRequired, result.Error!.Code);
        Assert.Equal(403, result.Error.Status);
    }

    [Fact]
    public void Certificate_from_another_CA_is_untrusted()
    {
        using var other = CertificateAuthority.LoadOrCreate(Path.Combine(_env.Directory, "other-ca"), _env.Time);
        var issued = other.IssueDeviceCertificate(NewCsr(), "S001", "S001-c1", TimeSpan.FromDays(30)).Value;
        using var cert = X509Certificate2.CreateFromPem(issued.CertificatePem);

        var result = _env.Ca.ValidateClientCertificate(cert);

        Assert.Equal(ErrorCodes.DeviceCertificateUntrusted, result.Error!.Code);
        Assert.Equal(403, result.Error.Status);
    }

    [Fact]
    public void Self_signed_impostor_with_the_terminal_profile_is_untrusted()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=S001-c1, O=S001", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("urn:custodian:terminal:S001:S001-c1"));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var cert = request.CreateSelfSigned(TestEnvironment.Start.AddDays(-1), TestEnvironment.Start.AddDays(30));

        Assert.Equal(ErrorCodes.DeviceCertificateUntrusted, _env.Ca.ValidateClientCertificate(cert).Error!.Code);
    }

    [Fact]
    public void Expired_certificate_is_expired_from_the_moment_after_notAfter()
    {
        var issued = _env.Ca.IssueDeviceCertificate(NewCsr(), "S001", "S001-c1", TimeSpan.FromDays(1)).Value;
        using var cert = X509Certificate2.CreateFromPem(issued.CertificatePem);
        Assert.True(_env.Ca.ValidateClientCertificate(cert).IsSuccess);

        _env.Time.Advance(TimeSpan.FromDays(1));
        Assert.True(_env.Ca.ValidateClientCertificate(cert).IsSuccess);

        _env.Time.Advance(TimeSpan.FromSeconds(1));
        var result = _env.Ca.ValidateClientCertificate(cert);
        Assert.Equal(ErrorCodes.DeviceCertificateExpired, result.Error!.Code);
        Assert.Equal(403, result.Error.Status);
    }

    [Fact]
    public void Expired_certificate_from_another_CA_is_untrusted_not_expired()
    {
        using var other = CertificateAuthority.LoadOrCreate(Path.Combine(_env.Directory, "other-ca"), _env.Time);
        var issued = other.IssueDeviceCertificate(NewCsr(), "S001", "S001-c1", TimeSpan.FromDays(1)).Value;
        using var cert = X509Certificate2.CreateFromPem(issued.CertificatePem);
        _env.Time.Advance(TimeSpan.FromDays(2));

        Assert.Equal(ErrorCodes.DeviceCertificateUntrusted, _env.Ca.ValidateClientCertificate(cert).Error!.Code);
    }

    [Fact]
    public void Server_certificate_is_refused_as_a_client_certificate()
    {
        using var server = _env.Ca.IssueServerCertificate(["localhost"], [IPAddress.Loopback]);
        Assert.Equal(AccessErrorCodes.DeviceCertificateUsage, _env.Ca.ValidateClientCertificate(server).Error!.Code);
    }

    [Fact]
    public void Server_certificate_has_key_names_and_serverAuth_and_chains_to_the_CA()
    {
        using var server = _env.Ca.IssueServerCertificate(["localhost", "custodian.example"], [IPAddress.Loopback, IPAddress.IPv6Loopback]);

        Assert.True(server.HasPrivateKey);
        Assert.Equal("CN=localhost", server.Subject);
        var san = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost", "custodian.example"], san.EnumerateDnsNames().ToArray());
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], san.EnumerateIPAddresses().ToArray());
        Assert.Equal(["1.3.6.1.5.5.7.3.1"], server.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value!).ToArray());
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromDays(365), new DateTimeOffset(server.NotAfter.ToUniversalTime()));

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_env.Ca.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = TestEnvironment.Start.UtcDateTime;
        Assert.True(chain.Build(server));
    }

    [Fact]
    public void Server_certificate_needs_a_name()
    {
        Assert.Throws<ArgumentException>(() => _env.Ca.IssueServerCertificate([], []));
    }

    public static TheoryData<string> WeakOrOddKeys => new() { "rsa-1024", "ec-p521", "rsa-4104" };

    [Theory]
    [MemberData(nameof(WeakOrOddKeys))]
    public void CSR_with_a_weak_or_unsupported_key_is_invalid(string kind)
    {
        string csr;
        if (kind.StartsWith("rsa-", StringComparison.Ordinal))
        {
            // Over 4096 bits: each signature check (the CSR's, every TLS handshake's CertificateVerify) costs the server
            // more the larger the key, and nothing the carrier deploys needs more than 4096.
            using var rsa = RSA.Create(int.Parse(kind[4..], System.Globalization.CultureInfo.InvariantCulture));
            csr = new CertificateRequest("CN=t", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
        }
        else
        {
            using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP521);
            csr = new CertificateRequest("CN=t", ec, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        }

        var result = _env.Ca.IssueDeviceCertificate(csr, "S001", "S001-c1", TimeSpan.FromDays(30));

        Assert.Equal(ErrorCodes.CsrInvalid, result.Error!.Code);
        Assert.Equal(400, result.Error.Status);
        Assert.Contains(kind switch { "rsa-1024" => "at least 2048 bits", "rsa-4104" => "at most 4096 bits", _ => "P-256 or P-384" }, result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CSR_with_RSA_2048_or_P384_is_accepted()
    {
        using var rsa = RSA.Create(2048);
        var rsaCsr = new CertificateRequest("CN=t", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
        using var rsa4096 = RSA.Create(4096);
        var rsa4096Csr = new CertificateRequest("CN=t", rsa4096, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
        Assert.True(_env.Ca.IssueDeviceCertificate(rsa4096Csr, "S001", "S001-c3", TimeSpan.FromDays(30)).IsSuccess);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var ecCsr = new CertificateRequest("CN=t", ec, HashAlgorithmName.SHA384).CreateSigningRequestPem();

        Assert.True(_env.Ca.IssueDeviceCertificate(rsaCsr, "S001", "S001-c1", TimeSpan.FromDays(30)).IsSuccess);
        Assert.True(_env.Ca.IssueDeviceCertificate(ecCsr, "S001", "S001-c2", TimeSpan.FromDays(30)).IsSuccess);
    }

    [Fact]
    public void CSR_with_a_bad_self_signature_is_invalid()
    {
        var csr = NewCsr();
        var der = PemEncoding.Find(csr) is var fields ? Convert.FromBase64String(csr[fields.Base64Data]) : throw new InvalidOperationException();
        der[^3] ^= 0x01; // inside the ECDSA signature value

        var tampered = PemEncoding.WriteString("CERTIFICATE REQUEST", der);
        var result = _env.Ca.IssueDeviceCertificate(tampered, "S001", "S001-c1", TimeSpan.FromDays(30));

        Assert.Equal(ErrorCodes.CsrInvalid, result.Error!.Code);
        Assert.Equal("csr must be a well-formed PEM PKCS#10 request (RFC 2986) whose self-signature verifies.", result.Error.Message);
    }

    [Fact]
    public void CSR_whose_key_was_swapped_after_signing_is_invalid()
    {
        using var signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=t", other, HashAlgorithmName.SHA256);
        var forged = request.CreateSigningRequestPem(X509SignatureGenerator.CreateForECDsa(signer));

        Assert.Equal(ErrorCodes.CsrInvalid, _env.Ca.IssueDeviceCertificate(forged, "S001", "S001-c1", TimeSpan.FromDays(30)).Error!.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----")]
    public void Garbage_CSR_is_invalid(string csr)
    {
        var result = _env.Ca.IssueDeviceCertificate(csr, "S001", "S001-c1", TimeSpan.FromDays(30));
        Assert.Equal(ErrorCodes.CsrInvalid, result.Error!.Code);
    }

    [Fact]
    public void A_certificate_in_place_of_a_CSR_is_invalid()
    {
        Assert.Equal(ErrorCodes.CsrInvalid, _env.Ca.IssueDeviceCertificate(_env.Ca.CertificatePem, "S001", "S001-c1", TimeSpan.FromDays(30)).Error!.Code);
    }

    [Fact]
    public void Oversized_CSR_is_invalid()
    {
        var csr = NewCsr() + new string('A', CertificateAuthority.MaxCsrPemLength);
        Assert.Equal(ErrorCodes.CsrInvalid, _env.Ca.IssueDeviceCertificate(csr, "S001", "S001-c1", TimeSpan.FromDays(30)).Error!.Code);
    }

    [Fact]
    public void Malformed_store_or_terminal_code_is_a_programming_error()
    {
        Assert.Throws<ArgumentException>(() => _env.Ca.IssueDeviceCertificate(NewCsr(), "S:1", "S001-c1", TimeSpan.FromDays(30)));
        Assert.Throws<ArgumentException>(() => _env.Ca.IssueDeviceCertificate(NewCsr(), "S001", "", TimeSpan.FromDays(30)));
    }

    [Fact]
    public void Terminal_codes_with_dots_and_underscores_survive_the_SAN_URI()
    {
        var issued = _env.Ca.IssueDeviceCertificate(NewCsr(), "s.01_A", "s.01_A-..x_Y", TimeSpan.FromDays(30)).Value;
        using var cert = X509Certificate2.CreateFromPem(issued.CertificatePem);

        var identity = _env.Ca.ValidateClientCertificate(cert).Value;

        Assert.Equal("s.01_A", identity.Store);
        Assert.Equal("s.01_A-..x_Y", identity.Terminal);
    }

    [Fact]
    public void Validation_is_cached_but_time_is_checked_on_every_call()
    {
        var time = new FakeTimeProvider(TestEnvironment.Start);
        using var ca = CertificateAuthority.LoadOrCreate(Path.Combine(_env.Directory, "ca2"), time);
        var issued = ca.IssueDeviceCertificate(NewCsr(), "S001", "S001-c1", TimeSpan.FromDays(1)).Value;
        using var cert = X509Certificate2.CreateFromPem(issued.CertificatePem);

        for (var i = 0; i < 3; i++)
        {
            Assert.True(ca.ValidateClientCertificate(cert).IsSuccess);
        }

        time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(ErrorCodes.DeviceCertificateExpired, ca.ValidateClientCertificate(cert).Error!.Code);
    }

    internal static string NewCsr()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest("CN=hint", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
    }

    private static string[] SanUris(X509Certificate2 cert)
    {
        var ext = cert.Extensions.Single(e => e.Oid!.Value == "2.5.29.17");
        var reader = new AsnReader(ext.RawData, AsnEncodingRules.DER).ReadSequence();
        var uris = new List<string>();
        var tag = new Asn1Tag(TagClass.ContextSpecific, 6);
        while (reader.HasData)
        {
            if (reader.PeekTag() == tag)
            {
                uris.Add(reader.ReadCharacterString(UniversalTagNumber.IA5String, tag));
            }
            else
            {
                reader.ReadEncodedValue();
            }
        }

        return [.. uris];
    }
}
