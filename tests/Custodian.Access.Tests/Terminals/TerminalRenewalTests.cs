using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Certificates;
using Custodian.Access.Terminals;
using Custodian.Access.Tests.Certificates;
using Custodian.Access.Tests.Support;
using Custodian.Problems;

namespace Custodian.Access.Tests.Terminals;

public sealed class TerminalRenewalTests : IDisposable
{
    private readonly TestEnvironment _env = TestEnvironment.CreateAsync().GetAwaiter().GetResult();

    public void Dispose() => _env.Dispose();

    private TerminalRegistry NewRegistry() => new(_env.Db, _env.Ca, _env.Time);

    private DeviceIdentity Validate(string certificatePem)
    {
        using var cert = X509Certificate2.CreateFromPem(certificatePem);
        return _env.Ca.ValidateClientCertificate(cert).Value;
    }

    private async Task<DeviceIdentity> EnrollAsync(TerminalRegistry registry, string name, TrustClass trustClass = TrustClass.StoreTerminal)
    {
        var code = await registry.IssueEnrollmentCodeAsync("S001", name, null, trustClass);
        return Validate((await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr())).Value.CertificatePem);
    }

    [Fact]
    public async Task Renewal_replaces_the_certificate_keeps_the_old_until_first_use_of_the_new_and_is_listed()
    {
        var registry = NewRegistry();
        var old = await EnrollAsync(registry, "counter-1");
        _env.Time.Advance(TimeSpan.FromDays(3));

        var renewed = await registry.RenewAsync(old, CertificateAuthorityTests.NewCsr());

        Assert.True(renewed.IsSuccess);
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromDays(7), renewed.Value.NotAfter);
        var fresh = Validate(renewed.Value.CertificatePem);
        Assert.NotEqual(old.Sha256Thumbprint, fresh.Sha256Thumbprint);
        Assert.True((await registry.CheckAsync(old)).IsSuccess);
        Assert.True((await registry.CheckAsync(fresh)).IsSuccess);
        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await registry.CheckAsync(old)).Error!.Code);

        // Another process (a second API node) sees the same: the previous certificate is gone from the database.
        var otherNode = NewRegistry();
        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await otherNode.CheckAsync(old)).Error!.Code);
        var info = (await registry.GetAsync("S001-counter-1"))!;
        Assert.Equal(fresh.Sha256Thumbprint, info.CertificateThumbprint);
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromDays(3), info.RenewedAt);
    }

    [Fact]
    public async Task Revocation_refuses_renewal_and_both_certificates()
    {
        var registry = NewRegistry();
        var old = await EnrollAsync(registry, "counter-1");
        var fresh = Validate((await registry.RenewAsync(old, CertificateAuthorityTests.NewCsr())).Value.CertificatePem);

        Assert.True(await registry.RevokeAsync("S001-counter-1", "stolen"));

        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await registry.CheckAsync(old)).Error!.Code);
        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await registry.CheckAsync(fresh)).Error!.Code);
        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await registry.RenewAsync(fresh, CertificateAuthorityTests.NewCsr())).Error!.Code);
    }

    [Fact]
    public async Task Renewal_for_an_unknown_terminal_is_untrusted_and_an_invalid_CSR_changes_nothing()
    {
        var registry = NewRegistry();
        var ghost = Validate(_env.Ca.IssueDeviceCertificate(CertificateAuthorityTests.NewCsr(), "S001", "S001-ghost", TimeSpan.FromDays(1)).Value.CertificatePem);
        Assert.Equal(ErrorCodes.DeviceCertificateUntrusted, (await registry.RenewAsync(ghost, CertificateAuthorityTests.NewCsr())).Error!.Code);

        var current = await EnrollAsync(registry, "counter-1");
        Assert.Equal(ErrorCodes.CsrInvalid, (await registry.RenewAsync(current, "not a CSR")).Error!.Code);
        Assert.True((await registry.CheckAsync(current)).IsSuccess);
        Assert.Null((await registry.GetAsync("S001-counter-1"))!.RenewedAt);
    }

    [Fact]
    public async Task A_VDI_host_gets_its_class_in_the_certificate_and_keeps_it_through_renewal()
    {
        var registry = NewRegistry();
        var vdi = await EnrollAsync(registry, "vdi-1", TrustClass.VdiHost);

        Assert.Equal(TrustClass.VdiHost, vdi.TrustClass);
        Assert.Equal(TrustClass.VdiHost, (await registry.CheckAsync(vdi)).Value.TrustClass);
        Assert.Equal(TrustClass.VdiHost, (await registry.GetAsync("S001-vdi-1"))!.TrustClass);
        var renewed = await registry.RenewAsync(vdi, CertificateAuthorityTests.NewCsr());
        Assert.Equal(TrustClass.VdiHost, Validate(renewed.Value.CertificatePem).TrustClass);

        // A certificate of the CA naming the terminal but without the class does not pass for the VDI host.
        var classless = Validate(_env.Ca.IssueDeviceCertificate(CertificateAuthorityTests.NewCsr(), "S001", "S001-vdi-1", TimeSpan.FromDays(1)).Value.CertificatePem);
        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await registry.CheckAsync(classless)).Error!.Code);
    }
}
