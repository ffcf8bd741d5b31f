using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Terminals;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

public sealed class DeviceTrustTests
{
    [Fact]
    public async Task Request_without_a_client_certificate_is_refused_and_recorded()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        using var client = host.TerminalClient(null);
        var before = (await host.LedgerAsync()).Count;

        using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = "010-1234-5678" });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, ErrorCodes.DeviceCertificateRequired);
        var entries = await host.LedgerAsync();
        var refusal = Assert.Single(entries.Skip(before));
        Assert.Equal(AccessTask.DeviceRefused, refusal.Entry.Task);
        Assert.Equal(AccessOutcome.Denied, refusal.Entry.Outcome);
        Assert.Equal(ErrorCodes.DeviceCertificateRequired, refusal.Entry.ErrorCode);
        Assert.Equal("127.0.0.1", refusal.Entry.SourceIp);
    }

    [Fact]
    public async Task Certificate_from_another_CA_is_refused()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        using var rogue = SelfSigned("CN=S001-counter-1, O=S001");
        using var client = host.TerminalClient(rogue);

        using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = "010-1234-5678" });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, ErrorCodes.DeviceCertificateUntrusted);
        Assert.Equal(ErrorCodes.DeviceCertificateUntrusted, (await host.LastRequestEntryAsync()).Entry.ErrorCode);
    }

    [Fact]
    public async Task Revoked_terminal_is_refused_on_its_next_request()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (client, _, _) = await host.ClerkAsync("C0001");
        using (client)
        {
            using var ok = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[0].Phone });
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

            Assert.True(await host.Get<TerminalRegistry>().RevokeAsync("S001-t-C0001", "stolen"));
            using var refused = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[0].Phone });

            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, ErrorCodes.DeviceCertificateRevoked);
        }
    }

    [Fact]
    public async Task Expired_device_certificate_is_refused()
    {
        // One-day certificates, one day and a second later: the server's periodic timers fire once per period as the fake
        // clock advances (checkpoint signing every 10 s, for one), so advancing 31 days took ~27 s alone (now ~6 s).
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, options: o => o.DeviceCertificateDays = 1);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        host.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        using var client = host.TerminalClient(terminal);

        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "x", password = "y", otp = "123456" });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, ErrorCodes.DeviceCertificateExpired);
    }

    [Fact]
    public async Task Enrollment_code_works_once()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var code = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync("S002", "counter-9", null);
        using var client = host.TerminalClient(null);
        var (_, csr) = TerminalCredentials.CreateKeyAndCsr("counter-9");

        using var first = await client.PostAsJsonAsync("/api/v1/enroll", new { code = code.Code, csr });
        using var second = await client.PostAsJsonAsync("/api/v1/enroll", new { code = code.Code, csr });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await ProblemAssert.IsProblemAsync(second, HttpStatusCode.Forbidden, ErrorCodes.EnrollmentCodeInvalid);
    }

    [Fact]
    public async Task Malformed_csr_is_a_clear_problem()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var code = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync("S002", "counter-8", null);
        using var client = host.TerminalClient(null);

        using var response = await client.PostAsJsonAsync("/api/v1/enroll", new { code = code.Code, csr = "-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----" });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.CsrInvalid);
    }

    [Fact]
    public async Task A_csr_for_an_rsa_key_over_4096_bits_is_refused_and_the_code_stays_usable()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var code = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync("S002", "counter-7", null);
        using var client = host.TerminalClient(null);
        using var large = RSA.Create(4104);
        var csr = new CertificateRequest("CN=counter-7", large, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();

        using var refused = await client.PostAsJsonAsync("/api/v1/enroll", new { code = code.Code, csr });
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, ErrorCodes.CsrInvalid);

        var (_, usual) = TerminalCredentials.CreateKeyAndCsr("counter-7");
        using var enrolled = await client.PostAsJsonAsync("/api/v1/enroll", new { code = code.Code, csr = usual });
        Assert.Equal(HttpStatusCode.OK, enrolled.StatusCode);
    }

    [Fact]
    public async Task Portal_routes_are_not_reachable_on_the_terminal_port_and_vice_versa()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        using var terminalClient = host.TerminalClient(terminal);
        using var portal = host.PortalClient();

        using var a = await terminalClient.GetAsync("/portal/api/v1/history");
        using var b = await portal.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = "010-1234-5678" });

        await ProblemAssert.IsProblemAsync(a, HttpStatusCode.NotFound, ErrorCodes.NotFound);
        await ProblemAssert.IsProblemAsync(b, HttpStatusCode.NotFound, ErrorCodes.NotFound);
    }

    [Fact]
    public async Task The_OpenAPI_document_is_served_and_describes_the_guarded_endpoints()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        using var client = host.TerminalClient(null);

        using var response = await client.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/enroll", "/api/v1/sessions", "/api/v1/subscribers/search", "/api/v1/subscribers/{handle}", "/api/v1/subscribers/{handle}/unmask", "/portal/api/v1/history" })
        {
            Assert.True(paths.TryGetProperty(path, out _), path);
        }
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("urn:custodian:terminal:S001:S001-counter-1"));
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(CustodianTestHost.Start.AddDays(-1), CustodianTestHost.Start.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }
}
