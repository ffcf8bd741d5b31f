using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Certificates;
using Custodian.Access.Terminals;
using Custodian.Access.Tests.Support;
using Custodian.Problems;

namespace Custodian.Access.Tests.Terminals;

public sealed class TerminalCredentialsTests : IDisposable
{
    private readonly TestEnvironment _env = TestEnvironment.CreateAsync().GetAwaiter().GetResult();

    public void Dispose() => _env.Dispose();

    [Fact]
    public void Key_is_P256_and_the_CSR_is_signed_by_it()
    {
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr("counter-1");

        using var key = ECDsa.Create();
        key.ImportFromPem(keyPem);
        Assert.Equal(256, key.KeySize);
        var csr = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256);
        Assert.Equal("CN=counter-1", csr.SubjectName.Name);
        using var csrKey = csr.PublicKey.GetECDsaPublicKey()!;
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), csrKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public async Task Save_and_load_round_trip_with_an_owner_only_key_file()
    {
        var dir = Path.Combine(_env.Directory, "terminal");
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr("c1");
        var enrolled = await EnrollAsync(csrPem);

        TerminalCredentials.Save(dir, keyPem, enrolled.CertificatePem, enrolled.CaCertificatePem);
        using var cert = TerminalCredentials.Load(dir);
        using var ca = TerminalCredentials.LoadCaCertificate(dir);

        Assert.True(cert.HasPrivateKey);
        Assert.Equal("CN=S001-c1, OU=store-terminal, O=S001", cert.Subject);
        Assert.Equal(_env.Ca.Certificate.RawData, ca.RawData);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "terminal.key")));
        }

        Assert.Equal(["ca.crt", "terminal.crt", "terminal.key"], Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Save_replaces_earlier_credentials()
    {
        var dir = Path.Combine(_env.Directory, "terminal");
        var (key1, csr1) = TerminalCredentials.CreateKeyAndCsr("c1");
        var first = await EnrollAsync(csr1);
        TerminalCredentials.Save(dir, key1, first.CertificatePem, first.CaCertificatePem);

        var registry = new TerminalRegistry(_env.Db, _env.Ca, _env.Time);
        await registry.RevokeAsync("S001-c1", "re-enroll");
        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);
        var (key2, csr2) = TerminalCredentials.CreateKeyAndCsr("c1");
        var second = (await registry.EnrollAsync(code.Code, csr2)).Value;
        TerminalCredentials.Save(dir, key2, second.CertificatePem, second.CaCertificatePem);

        using var loaded = TerminalCredentials.Load(dir);
        using var expected = X509Certificate2.CreateFromPem(second.CertificatePem);
        Assert.Equal(expected.RawData, loaded.RawData);
    }

    [Fact]
    public void Load_refuses_a_key_that_does_not_match_the_certificate()
    {
        var dir = Path.Combine(_env.Directory, "terminal");
        var (_, csrPem) = TerminalCredentials.CreateKeyAndCsr("c1");
        var issued = _env.Ca.IssueDeviceCertificate(csrPem, "S001", "S001-c1", TimeSpan.FromDays(1)).Value;
        var (otherKey, _) = TerminalCredentials.CreateKeyAndCsr("c1");
        TerminalCredentials.Save(dir, otherKey, issued.CertificatePem, _env.Ca.CertificatePem);

        Assert.ThrowsAny<CryptographicException>(() => TerminalCredentials.Load(dir));
    }

    [Fact]
    public async Task Mutual_TLS_with_the_server_certificate_and_loaded_terminal_credentials()
    {
        var dir = Path.Combine(_env.Directory, "terminal");
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr("c1");
        var enrolled = await EnrollAsync(csrPem);
        TerminalCredentials.Save(dir, keyPem, enrolled.CertificatePem, enrolled.CaCertificatePem);
        using var clientCertificate = TerminalCredentials.Load(dir);
        using var pinnedCa = TerminalCredentials.LoadCaCertificate(dir);
        using var serverCertificate = _env.Ca.IssueServerCertificate(["localhost"], [IPAddress.Loopback]);

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Result<DeviceIdentity>? seenByServer = null;

        var serverTask = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(socket.GetStream());
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = serverCertificate,
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    seenByServer = _env.Ca.ValidateClientCertificate(certificate as X509Certificate2);
                    return seenByServer.Value.IsSuccess;
                },
            });
            var buffer = new byte[4];
            await tls.ReadExactlyAsync(buffer);
            await tls.WriteAsync(buffer);
        });

        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            await using var tls = new SslStream(client.GetStream());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ClientCertificates = [clientCertificate],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(pinnedCa);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    chain.ChainPolicy.VerificationTime = TestEnvironment.Start.UtcDateTime;
                    return chain.Build((X509Certificate2)certificate!);
                },
            });
            await tls.WriteAsync("ping"u8.ToArray());
            var echo = new byte[4];
            await tls.ReadExactlyAsync(echo);
            Assert.Equal("ping"u8.ToArray(), echo);
        }

        await serverTask;
        Assert.NotNull(seenByServer);
        Assert.Equal("S001-c1", seenByServer.Value.Value.Terminal);
        Assert.True((await new TerminalRegistry(_env.Db, _env.Ca, _env.Time).CheckAsync(seenByServer.Value.Value)).IsSuccess);
    }

    private async Task<EnrolledTerminal> EnrollAsync(string csrPem)
    {
        var registry = new TerminalRegistry(_env.Db, _env.Ca, _env.Time);
        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);
        return (await registry.EnrollAsync(code.Code, csrPem)).Value;
    }
}
