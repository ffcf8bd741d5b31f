using System.Net;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Certificates;
using Custodian.Access.Tests.Support;
using Custodian.Problems;

namespace Custodian.Access.Tests.Certificates;

public sealed class CaRotationTests : IDisposable
{
    private readonly TestEnvironment _env = TestEnvironment.CreateAsync().GetAwaiter().GetResult();

    public void Dispose() => _env.Dispose();

    private string CaDirectory => Path.Combine(_env.Directory, "ca");

    [Fact]
    public void During_a_rotation_both_CAs_validate_the_new_one_issues_and_the_old_one_signs_the_server_certificate()
    {
        var oldFingerprint = _env.Ca.Sha256Fingerprint;
        var oldIssued = _env.Ca.IssueDeviceCertificate(CertificateAuthorityTests.NewCsr(), "S001", "S001-old", TimeSpan.FromDays(1)).Value;
        _env.Time.Advance(TimeSpan.FromHours(1));

        var (previous, current) = CertificateAuthority.Rotate(CaDirectory, _env.Time);

        Assert.Equal(oldFingerprint, previous);
        Assert.NotEqual(previous, current);
        Assert.Throws<InvalidOperationException>(() => CertificateAuthority.Rotate(CaDirectory, _env.Time));
        using var rotated = CertificateAuthority.LoadOrCreate(CaDirectory, _env.Time);
        Assert.Equal(current, rotated.Sha256Fingerprint);
        Assert.Equal(previous, rotated.ServerIssuerSha256Fingerprint);
        Assert.Equal("CN=Custodian Device CA " + (TestEnvironment.Start + TimeSpan.FromHours(1)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), rotated.Certificate.Subject);
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromHours(1), rotated.CreatedAt);

        using var oldCert = X509Certificate2.CreateFromPem(oldIssued.CertificatePem);
        Assert.True(rotated.ValidateClientCertificate(oldCert).IsSuccess);
        var newIssued = rotated.IssueDeviceCertificate(CertificateAuthorityTests.NewCsr(), "S001", "S001-new", TimeSpan.FromDays(1)).Value;
        using var newCert = X509Certificate2.CreateFromPem(newIssued.CertificatePem);
        Assert.Equal(rotated.Certificate.Subject, newCert.Issuer);
        Assert.True(rotated.ValidateClientCertificate(newCert).IsSuccess);

        using var server = rotated.IssueServerCertificate(["localhost"], [IPAddress.Loopback]);
        Assert.Equal(rotated.PreviousCertificate!.Subject, server.Issuer);
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(rotated.TrustBundlePem);
        Assert.Equal([rotated.PreviousCertificate.RawData, rotated.Certificate.RawData], bundle.Select(c => c.RawData).ToArray());

        Assert.Equal(previous, CertificateAuthority.FinishRotation(CaDirectory));
        Assert.Null(CertificateAuthority.FinishRotation(CaDirectory));
        using var finished = CertificateAuthority.LoadOrCreate(CaDirectory, _env.Time);
        Assert.Null(finished.PreviousCertificate);
        Assert.Equal(ErrorCodes.DeviceCertificateUntrusted, finished.ValidateClientCertificate(oldCert).Error!.Code);
        Assert.True(finished.ValidateClientCertificate(newCert).IsSuccess);
        using var newServer = finished.IssueServerCertificate(["localhost"], [IPAddress.Loopback]);
        Assert.Equal(finished.Certificate.Subject, newServer.Issuer);
        Assert.Equal(finished.CertificatePem, finished.TrustBundlePem);
    }

    [Fact]
    public void Rotating_without_a_CA_is_refused()
    {
        Assert.Throws<InvalidOperationException>(() => CertificateAuthority.Rotate(Path.Combine(_env.Directory, "nothing"), _env.Time));
    }
}
