using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access;
using Custodian.Access.Terminals;
using Custodian.Gateway;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using static Custodian.Tests.AccessGateway.DeviceCertificateTestKit;

namespace Custodian.Tests.AccessGateway;

/// <summary>Short-lived device certificates: renewal over mTLS, revocation of copies, key uniqueness, refusal of bad certificates and headers.</summary>
public sealed class DeviceCertificateLifecycleTests
{
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    private static async Task<HttpStatusCode> ProbeAsync(CustodianTestHost host, X509Certificate2 certificate)
    {
        // A request that passes the gateway and reaches the sign-in handler: 401 means "device accepted".
        using var client = host.TerminalClient(certificate);
        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "nobody", password = "wrong password 123", otp = "000000" });
        return response.StatusCode;
    }

    [Fact]
    public async Task Device_certificates_are_valid_four_days_by_default_and_the_lifetime_is_configurable()
    {
        await using (var host = await CustodianTestHost.StartAsync(subscribers: 1))
        {
            using var terminal = await host.EnrollAsync("S001", "counter-1");
            Assert.Equal(CustodianTestHost.Start + TimeSpan.FromDays(4), new DateTimeOffset(terminal.NotAfter.ToUniversalTime()));
        }

        await using (var host = await CustodianTestHost.StartAsync(subscribers: 1, options: o => o.DeviceCertificateDays = 2))
        {
            using var terminal = await host.EnrollAsync("S001", "counter-1");
            Assert.Equal(CustodianTestHost.Start + TimeSpan.FromDays(2), new DateTimeOffset(terminal.NotAfter.ToUniversalTime()));
        }
    }

    [Fact]
    public async Task Renewal_gives_a_new_key_and_certificate_and_the_old_one_dies_when_the_new_one_is_first_used()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        using var old = await host.EnrollAsync("S001", "counter-1");
        host.Time.Advance(TimeSpan.FromDays(3));

        var (response, renewed, body) = await RenewAsync(host, old);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(body);
        Assert.Equal("S001-counter-1", body.Terminal);
        Assert.Equal("store-terminal", body.TrustClass);
        Assert.Equal(host.Time.GetUtcNow().AddTicks(-(host.Time.GetUtcNow().UtcTicks % TimeSpan.TicksPerSecond)) + TimeSpan.FromDays(4), body.NotAfter);
        using (renewed)
        {
            Assert.NotEqual(KeyHash(old), KeyHash(renewed!));
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(host, old)); // still accepted until the new one is used
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(host, renewed!));
            Assert.Equal(HttpStatusCode.Forbidden, await ProbeAsync(host, old));
            host.Time.Advance(TimeSpan.FromDays(2)); // past the old certificate's end, within the new one's
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(host, renewed!));
        }

        var renewal = (await host.LedgerAsync()).Single(e => e.Entry.Task == AccessTask.CertificateRenewed);
        Assert.Equal(AccessOutcome.Allowed, renewal.Entry.Outcome);
        Assert.Equal("S001-counter-1", renewal.Entry.Target);
        Assert.Equal("S001", renewal.Entry.Store);
        Assert.Equal("127.0.0.1", renewal.Entry.SourceIp);
    }

    [Fact]
    public async Task A_renewal_whose_answer_was_lost_can_be_repeated_with_the_old_certificate()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        using var old = await host.EnrollAsync("S001", "counter-1");
        var (first, lost, _) = await RenewAsync(host, old);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var (second, kept, _) = await RenewAsync(host, old);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        using (lost)
        using (kept)
        {
            Assert.Equal(HttpStatusCode.Forbidden, await ProbeAsync(host, lost!)); // replaced by the repeated renewal
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(host, kept!));
            var (third, _, _) = await RenewAsync(host, old); // the new certificate was used: the old one is finished
            await ProblemAssert.IsProblemAsync(third, HttpStatusCode.Forbidden, ErrorCodes.DeviceCertificateRevoked);
        }
    }

    [Fact]
    public async Task A_copied_certificate_is_useless_after_revocation_and_cannot_be_renewed()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        using var original = await host.EnrollAsync("S001", "counter-1");
        using var copy = Copy(original);
        Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(host, copy)); // the copy works, as copies do

        Assert.True(await host.Get<TerminalRegistry>().RevokeAsync("S001-counter-1", "terminal files copied"));

        foreach (var certificate in new[] { copy, original })
        {
            using var client = host.TerminalClient(certificate);
            using var refused = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "nobody", password = "x", otp = "000000" });
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, ErrorCodes.DeviceCertificateRevoked);
        }

        var before = (await host.LedgerAsync()).Count;
        var (renewal, _, _) = await RenewAsync(host, copy);
        await ProblemAssert.IsProblemAsync(renewal, HttpStatusCode.Forbidden, ErrorCodes.DeviceCertificateRevoked);
        // The renewal is refused and recorded (the monitor may add an alert of its own about the repeated refusals).
        var refusal = Assert.Single((await host.LedgerAsync()).Skip(before), e => e.Entry.Task == AccessTask.DeviceRefused);
        Assert.Equal("S001-counter-1", refusal.Entry.Terminal);
        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, refusal.Entry.ErrorCode);
    }

    [Fact]
    public async Task An_expired_certificate_cannot_be_renewed()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        using var old = await host.EnrollAsync("S001", "counter-1");
        host.Time.Advance(TimeSpan.FromDays(4) + TimeSpan.FromSeconds(1));

        var (response, _, _) = await RenewAsync(host, old);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, ErrorCodes.DeviceCertificateExpired);
        Assert.Equal(ErrorCodes.DeviceCertificateExpired, (await host.LastRequestEntryAsync()).Entry.ErrorCode);
    }

    [Fact]
    public async Task No_two_devices_share_a_key_and_a_key_is_never_certified_twice()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var keys = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            using var terminal = await host.EnrollAsync("S001", "counter-" + i);
            keys.Add(KeyHash(terminal));
        }

        Assert.Equal(5, keys.Distinct(StringComparer.Ordinal).Count());

        // A second device presenting the same key (a cloned disk image) is refused, and its code stays usable.
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr("clone");
        using var anonymous = host.TerminalClient(null);
        var first = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync("S002", "a", null);
        var second = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync("S002", "b", null);
        using (var ok = await anonymous.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(first.Code, csrPem)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var reused = await anonymous.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(second.Code, csrPem)))
        {
            await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.Conflict, AccessErrorCodes.DeviceKeyReused);
        }

        var last = (await host.LastRequestEntryAsync()).Entry;
        Assert.Equal((AccessTask.Enrolled, AccessOutcome.Denied, AccessErrorCodes.DeviceKeyReused), (last.Task, last.Outcome, last.ErrorCode));
        Assert.Equal(TerminalState.Pending, (await host.Get<TerminalRegistry>().GetAsync("S002-b"))!.Status);

        // The grant record is written before the act (fail closed), but the key is checked before it: the clone left
        // its refusal only, never an allowed enrollment.
        var enrollments = (await host.LedgerAsync()).Where(e => e.Entry.Task == AccessTask.Enrolled).Select(e => (e.Entry.Outcome, e.Entry.Terminal)).ToList();
        Assert.Equal(7, enrollments.Count); // counter-0 … counter-4, S002-a, and the clone's refusal
        Assert.Equal((AccessOutcome.Denied, (string?)null), enrollments[^1]);
        Assert.DoesNotContain(enrollments, e => e.Terminal == "S002-b");

        // A renewal must bring a fresh key too.
        using var current = await host.EnrollAsync("S003", "c");
        var (sameKey, _, _) = await RenewAsync(host, current, CsrFor(current));
        await ProblemAssert.IsProblemAsync(sameKey, HttpStatusCode.Conflict, AccessErrorCodes.DeviceKeyReused);
        var renewals = (await host.LedgerAsync()).Where(e => e.Entry.Task == AccessTask.CertificateRenewed && e.Entry.Terminal == "S003-c").Select(e => e.Entry.Outcome).ToList();
        Assert.Equal([AccessOutcome.Denied], renewals);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----")]
    public async Task A_malformed_CSR_in_a_renewal_is_refused_and_recorded(string csr)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        using var terminal = await host.EnrollAsync("S001", "counter-1");

        var (response, _, _) = await RenewAsync(host, terminal, csr, null);

        var code = csr.Length == 0 ? ErrorCodes.ValidationFailed : ErrorCodes.CsrInvalid;
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, code);
        Assert.Contains("csr", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var last = (await host.LastRequestEntryAsync()).Entry;
        Assert.Equal((AccessTask.CertificateRenewed, AccessOutcome.Denied, code, "S001-counter-1"), (last.Task, last.Outcome, last.ErrorCode, last.Terminal));
        Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(host, terminal)); // the terminal keeps its certificate
    }

    public static TheoryData<string, X509KeyUsageFlags, string[], bool> WrongUsages() => new()
    {
        { "server authentication only", X509KeyUsageFlags.DigitalSignature, [ServerAuth], false },
        { "client and server authentication", X509KeyUsageFlags.DigitalSignature, [ClientAuth, ServerAuth], false },
        { "certificate signing", X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, [ClientAuth], false },
        { "no digital signature", X509KeyUsageFlags.KeyEncipherment, [ClientAuth], false },
        { "a CA certificate", X509KeyUsageFlags.DigitalSignature, [ClientAuth], true },
    };

    [Theory]
    [MemberData(nameof(WrongUsages))]
    public async Task A_certificate_of_the_CA_with_the_wrong_usage_is_refused_and_recorded(string what, X509KeyUsageFlags keyUsage, string[] ekus, bool isCa)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        using var enrolled = await host.EnrollAsync("S001", "counter-1");
        var now = host.Time.GetUtcNow();
        using var wrong = SignWithServerCa(host, "S001", "S001-counter-1", keyUsage, ekus, now.AddMinutes(-5), now.AddDays(1), isCa);

        using var client = host.TerminalClient(wrong);
        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "nobody", password = "x", otp = "000000" });

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, AccessErrorCodes.DeviceCertificateUsage);
        var last = (await host.LastRequestEntryAsync()).Entry;
        Assert.True((AccessTask.DeviceRefused, AccessOutcome.Denied, AccessErrorCodes.DeviceCertificateUsage) == (last.Task, last.Outcome, last.ErrorCode), what);
    }

    [Fact]
    public async Task A_certificate_from_the_future_is_refused_as_clock_skew_and_recorded()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var now = host.Time.GetUtcNow();
        using var skewed = SignWithServerCa(host, "S001", "S001-counter-1", X509KeyUsageFlags.DigitalSignature, [ClientAuth], now.AddHours(2), now.AddDays(3));

        using var client = host.TerminalClient(skewed);
        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "nobody", password = "x", otp = "000000" });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, AccessErrorCodes.DeviceCertificateNotYetValid);
        Assert.Contains("clock", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(AccessErrorCodes.DeviceCertificateNotYetValid, (await host.LastRequestEntryAsync()).Entry.ErrorCode);
    }

    [Fact]
    public async Task Oversized_headers_are_refused_with_431_and_recorded_before_device_trust()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        using var client = host.TerminalClient(null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
        request.Headers.Add("X-Padding", new string('a', 20_000));

        using var response = await client.SendAsync(request);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestHeaderFieldsTooLarge, AccessErrorCodes.HeadersTooLarge);
        Assert.DoesNotContain("aaaa", problem.ToString(), StringComparison.Ordinal);
        var last = (await host.LastRequestEntryAsync()).Entry;
        Assert.Equal((AccessTask.DeviceRefused, AccessOutcome.Denied, AccessErrorCodes.HeadersTooLarge, "127.0.0.1"), (last.Task, last.Outcome, last.ErrorCode, last.SourceIp));

        using var normal = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(47, false)]
    [InlineData(49, true)]
    [InlineData(97, true)]
    public void Renewal_is_due_when_less_than_half_the_lifetime_is_left(int hoursIn, bool due)
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(due, Client.TerminalRenewal.IsDue(start, start.AddDays(4), start.AddHours(hoursIn)));
    }

    private static string CsrFor(X509Certificate2 certificate)
    {
        using var key = certificate.GetECDsaPrivateKey()!;
        return new CertificateRequest("CN=same-key", key, System.Security.Cryptography.HashAlgorithmName.SHA256).CreateSigningRequestPem();
    }
}
