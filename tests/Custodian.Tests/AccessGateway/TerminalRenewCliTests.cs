using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Terminals;
using Custodian.Cli;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.AccessGateway;

/// <summary><c>custodian terminal renew</c> against a running server.</summary>
[Collection(nameof(Cli.CliCollection))]
public sealed class TerminalRenewCliTests
{
    private static async Task<HttpStatusCode> ProbeAsync(CustodianTestHost host, X509Certificate2 certificate)
    {
        using var client = host.TerminalClient(certificate);
        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "nobody", password = "wrong password 123", otp = "000000" });
        return response.StatusCode;
    }

    [Fact]
    public async Task Terminal_renew_on_the_command_line_renews_when_forced_says_when_not_due_and_reports_refusals()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var code = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync("S001", "counter-1", null);
        var fingerprint = host.Get<Access.Certificates.CertificateAuthority>().Sha256Fingerprint;
        var dir = Path.Combine(host.Directory.FullName, "terminal");
        var server = host.TerminalUrl.ToString();
        Assert.Equal(0, await CustodianCli.RunAsync(["terminal", "init", "--server", server, "--code", code.Code, "--ca-sha256", fingerprint, "--out", dir]));
        var firstKey = File.ReadAllText(Path.Combine(dir, "terminal.key"));

        Assert.Equal(0, await CustodianCli.RunAsync(["terminal", "renew", "--server", server, "--dir", dir]));
        Assert.Equal(firstKey, File.ReadAllText(Path.Combine(dir, "terminal.key"))); // not due: nothing changed
        Assert.Equal(0, await CustodianCli.RunAsync(["terminal", "renew", "--server", server, "--dir", dir, "--force"]));
        Assert.NotEqual(firstKey, File.ReadAllText(Path.Combine(dir, "terminal.key")));
        using (var renewed = TerminalCredentials.Load(dir))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(host, renewed));
        }

        Assert.Equal(1, await CustodianCli.RunAsync(["terminal", "renew", "--server", server, "--dir", Path.Combine(dir, "missing")]));
        Assert.True(await host.Get<TerminalRegistry>().RevokeAsync("S001-counter-1", "lost"));
        Assert.Equal(2, await CustodianCli.RunAsync(["terminal", "renew", "--server", server, "--dir", dir, "--force"]));
    }

    [Fact]
    public async Task A_renewal_says_that_it_ends_the_terminals_sessions_and_the_refused_session_says_why()
    {
        // A session is bound to the certificate it was opened with, so a renewal ends it (docs/access.md §2.1); found by a
        // README-only evaluation: the renewal said nothing and the clerk's next request failed with a detail about
        // "another terminal's certificate".
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3);
        var code = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync("S001", "counter-3", null);
        var fingerprint = host.Get<Access.Certificates.CertificateAuthority>().Sha256Fingerprint;
        var dir = Path.Combine(host.Directory.FullName, "terminal");
        var server = host.TerminalUrl.ToString();
        Assert.Equal(0, await CustodianCli.RunAsync(["terminal", "init", "--server", server, "--code", code.Code, "--ca-sha256", fingerprint, "--out", dir]));
        using var first = TerminalCredentials.Load(dir);
        var staff = await host.CreateStaffAsync("C0003", Identity.StaffRole.Clerk, "S001", first);
        using var signedIn = await host.SignInAsync(staff, first);

        var renewal = await Cli.CliCapture.RunAsync(["terminal", "renew", "--server", server, "--dir", dir, "--force"]);

        Assert.Equal(0, renewal.Code);
        var lines = renewal.Stdout.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Renewed the device certificate of S001-counter-3; valid until ", lines[0], StringComparison.Ordinal);
        Assert.Equal("Staff sessions on this terminal were bound to the old certificate and have ended: clerks signed in here must sign in again.", lines[1]);
        using var renewed = TerminalCredentials.Load(dir);
        using var client = host.TerminalClient(renewed);
        client.DefaultRequestHeaders.Authorization = signedIn.DefaultRequestHeaders.Authorization;
        using var refused = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[0].Phone });
        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Unauthorized, Problems.ErrorCodes.SessionTerminalMismatch);
        Assert.Equal(
            "The session was opened with this terminal's previous device certificate; the certificate was renewed since, which ends the sessions opened with it. Sign in again.",
            problem.GetProperty("detail").GetString());
    }
}
