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
}
