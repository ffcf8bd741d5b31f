using System.Net;
using System.Net.Http.Json;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Gateway;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.AccessGateway;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OtpNet;

namespace Custodian.Tests.Lookup;

public sealed class FailClosedTests
{
    [Fact]
    public async Task A_failing_ledger_append_fails_the_read_and_returns_no_data()
    {
        var failing = new SwitchableLedger();
        await using var host = await CustodianTestHost.StartAsync(services: s =>
        {
            s.AddSingleton(failing);
            s.AddSingleton<IAccessLedger>(sp =>
            {
                failing.Inner = (IAccessLedger)sp.GetRequiredService<IAccessLedgerReader>(); // the backend's writer (SQLite or PostgreSQL), which also reads
                return failing;
            });
        });
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[2];
        var handle = await GuardedLookupTests.SearchAsync(client, subscriber.Phone);

        failing.Fail = true;
        using var search = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = subscriber.Phone });
        using var view = await client.GetAsync($"/api/v1/subscribers/{handle}?purpose=in-store-service");
        failing.Fail = false;

        var body = await ProblemAssert.IsProblemAsync(search, HttpStatusCode.ServiceUnavailable, ErrorCodes.LedgerUnavailable);
        Assert.True(body.GetProperty("transient").GetBoolean());
        await ProblemAssert.IsProblemAsync(view, HttpStatusCode.ServiceUnavailable, ErrorCodes.LedgerUnavailable);
        var raw = await view.Content.ReadAsStringAsync();
        Assert.DoesNotContain(subscriber.Rrn[..6], raw, StringComparison.Ordinal);
        Assert.Equal(2, failing.Refused);
    }

    [Fact]
    public async Task An_officer_export_the_ledger_cannot_record_is_a_transient_ledger_unavailable_problem_not_a_500()
    {
        var failing = new SwitchableLedger();
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, services: s =>
        {
            s.AddSingleton(failing);
            s.AddSingleton<IAccessLedger>(sp =>
            {
                failing.Inner = (IAccessLedger)sp.GetRequiredService<IAccessLedgerReader>();
                return failing;
            });
        });
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        await GuardedLookupTests.SearchAsync(clerk, host.Population[2].Phone);
        var terminal = await host.EnrollAsync("S001", "back-office");
        var officer = await host.SignInAsync(await host.CreateStaffAsync("sec1", Custodian.Identity.StaffRole.SecurityOfficer, null, terminal), terminal);

        failing.Fail = true;
        using var export = await officer.PostAsJsonAsync("/api/v1/review/exports", new { clerk = "C0001", reason = "monthly review follow-up" });
        failing.Fail = false;

        var body = await ProblemAssert.IsProblemAsync(export, HttpStatusCode.ServiceUnavailable, ErrorCodes.LedgerUnavailable);
        Assert.True(body.GetProperty("transient").GetBoolean());
        Assert.DoesNotContain("C0001", await export.Content.ReadAsStringAsync(), StringComparison.Ordinal); // no row of the export
        Assert.Equal(1, failing.Refused);
    }

    [Fact]
    public async Task An_enrollment_the_ledger_cannot_record_does_not_take_effect_and_its_code_stays_usable()
    {
        var failing = new SwitchableLedger();
        await using var host = await StartWithAsync(failing);
        var registry = host.Get<TerminalRegistry>();
        var code = await registry.IssueEnrollmentCodeAsync("S001", "counter-9", null);
        var (_, csrPem) = TerminalCredentials.CreateKeyAndCsr("counter-9");
        using var client = host.TerminalClient(null);

        failing.Fail = true;
        using var refused = await client.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(code.Code, csrPem));
        failing.Fail = false;

        var body = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable, ErrorCodes.LedgerUnavailable);
        Assert.True(body.GetProperty("transient").GetBoolean());
        Assert.DoesNotContain("CERTIFICATE", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, failing.Refused);
        var pending = await registry.GetAsync("S001-counter-9");
        Assert.Equal(TerminalState.Pending, pending!.Status);
        Assert.Null(pending.CertificateThumbprint);
        Assert.DoesNotContain(await host.LedgerAsync(), e => e.Entry.Task == AccessTask.Enrolled && e.Entry.Target == "S001-counter-9");

        // Nothing was consumed: the same code and key enroll once the ledger is back, and that enrollment is recorded.
        using var retried = await client.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(code.Code, csrPem));
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(TerminalState.Active, (await registry.GetAsync("S001-counter-9"))!.Status);
        var recorded = (await host.LedgerAsync()).Single(e => e.Entry.Task == AccessTask.Enrolled && e.Entry.Target == "S001-counter-9");
        Assert.Equal(AccessOutcome.Allowed, recorded.Entry.Outcome);
        Assert.Equal("S001", recorded.Entry.Store);
    }

    [Fact]
    public async Task A_renewal_the_ledger_cannot_record_does_not_take_effect()
    {
        var failing = new SwitchableLedger();
        await using var host = await StartWithAsync(failing);
        var registry = host.Get<TerminalRegistry>();
        using var old = await host.EnrollAsync("S001", "counter-1");
        var before = (await registry.GetAsync("S001-counter-1"))!.CertificateThumbprint;

        failing.Fail = true;
        var (refused, notIssued, _) = await DeviceCertificateTestKit.RenewAsync(host, old);
        failing.Fail = false;

        using (refused)
        {
            var body = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable, ErrorCodes.LedgerUnavailable);
            Assert.True(body.GetProperty("transient").GetBoolean());
        }

        Assert.Null(notIssued);
        Assert.Equal(1, failing.Refused);
        Assert.Equal(before, (await registry.GetAsync("S001-counter-1"))!.CertificateThumbprint);
        Assert.DoesNotContain(await host.LedgerAsync(), e => e.Entry.Task == AccessTask.CertificateRenewed);

        var (renewedResponse, renewed, _) = await DeviceCertificateTestKit.RenewAsync(host, old);
        using (renewedResponse)
        using (renewed)
        {
            Assert.Equal(HttpStatusCode.OK, renewedResponse.StatusCode);
            Assert.Equal(Convert.ToHexStringLower(renewed!.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256)), (await registry.GetAsync("S001-counter-1"))!.CertificateThumbprint);
        }

        Assert.Equal(AccessOutcome.Allowed, (await host.LedgerAsync()).Single(e => e.Entry.Task == AccessTask.CertificateRenewed).Entry.Outcome);
    }

    [Fact]
    public async Task A_password_change_the_ledger_cannot_record_leaves_the_password_unchanged()
    {
        var failing = new SwitchableLedger();
        await using var host = await StartWithAsync(failing);
        using var terminal = await host.EnrollAsync("S001", "counter-1");
        var created = (await host.Get<StaffDirectory>().CreateAsync("C0009", StaffRole.Clerk, "S001")).Value;
        var totp = new Totp(Base32Encoding.ToBytes(created.TotpSecretBase32));
        const string NewPassword = "correct horse battery staple 7";
        using var client = host.TerminalClient(terminal);

        failing.Fail = true;
        using var refused = await client.PostAsJsonAsync("/api/v1/account/password", new PasswordChangeRequest("C0009", created.OneTimePassword, NewPassword, totp.ComputeTotp(host.Time.GetUtcNow().UtcDateTime)));
        failing.Fail = false;

        var body = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable, ErrorCodes.LedgerUnavailable);
        Assert.True(body.GetProperty("transient").GetBoolean());
        Assert.Equal(1, failing.Refused);
        Assert.DoesNotContain(await host.LedgerAsync(), e => e.Entry.Task == AccessTask.PasswordChange && e.Entry.Outcome == AccessOutcome.Allowed);

        // The one-time password still stands (sign-in says to change it) and the new one was never stored.
        host.Time.Advance(TimeSpan.FromSeconds(30));
        using var withNew = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest("C0009", NewPassword, totp.ComputeTotp(host.Time.GetUtcNow().UtcDateTime)));
        await ProblemAssert.IsProblemAsync(withNew, HttpStatusCode.Unauthorized, ErrorCodes.InvalidCredentials);
        host.Time.Advance(TimeSpan.FromSeconds(30));
        using var withOneTime = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest("C0009", created.OneTimePassword, totp.ComputeTotp(host.Time.GetUtcNow().UtcDateTime)));
        await ProblemAssert.IsProblemAsync(withOneTime, HttpStatusCode.Forbidden, ErrorCodes.PasswordChangeRequired);
    }

    private static Task<CustodianTestHost> StartWithAsync(SwitchableLedger failing) =>
        CustodianTestHost.StartAsync(subscribers: 1, services: s =>
        {
            s.AddSingleton(failing);
            s.AddSingleton<IAccessLedger>(sp =>
            {
                failing.Inner = (IAccessLedger)sp.GetRequiredService<IAccessLedgerReader>();
                return failing;
            });
        });

    public sealed class SwitchableLedger : IAccessLedger
    {
        public IAccessLedger? Inner { get; set; }

        public volatile bool Fail;

        public int Refused;

        public ValueTask<CommittedEntry> AppendAsync(AccessEntry entry, CancellationToken cancellationToken = default)
        {
            if (Fail && entry.Outcome == AccessOutcome.Allowed)
            {
                Interlocked.Increment(ref Refused);
                throw new LedgerUnavailableException("disk full (test)");
            }

            return Inner!.AppendAsync(entry, cancellationToken);
        }
    }
}
