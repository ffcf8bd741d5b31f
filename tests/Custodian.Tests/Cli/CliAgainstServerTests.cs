using System.Net;
using System.Net.Http.Json;
using System.Text;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Cli;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Protection.Sample;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Cli;

/// <summary>CLI verbs that work with a running server: terminal enrollment, restores, the outbox (the live simulation: <see cref="LiveSimulationTests"/>).</summary>
[Collection(nameof(CliCollection))]
public sealed class CliAgainstServerTests
{
    [Fact]
    public async Task Terminal_init_enrolls_over_https_with_a_pinned_CA_and_the_certificate_then_opens_the_gateway()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var code = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync("S001", "counter-7", null);
        var fingerprint = host.Get<Access.Certificates.CertificateAuthority>().Sha256Fingerprint;
        var output = Path.Combine(host.Directory.FullName, "terminal-out");

        Assert.Equal(2, await CustodianCli.RunAsync(["terminal", "init", "--server", host.TerminalUrl.ToString(), "--code", code.Code, "--ca-sha256", new string('0', 64), "--out", output]));
        Assert.False(Directory.Exists(output) && File.Exists(Path.Combine(output, "terminal.crt")));
        Assert.Equal(1, await CustodianCli.RunAsync(["terminal", "init", "--server", "http://127.0.0.1:1", "--code", code.Code, "--ca-sha256", fingerprint, "--out", output]));
        Assert.Equal(2, await CustodianCli.RunAsync(["terminal", "init", "--server", "https://127.0.0.1:1", "--code", code.Code, "--ca-sha256", fingerprint, "--out", output]));
        var portal = host.PortalUrl.ToString().TrimEnd('/');
        var (wrongPort, _, said) = await CliCapture.RunAsync(["terminal", "init", "--server", portal, "--code", code.Code, "--ca-sha256", fingerprint, "--out", output]);
        Assert.Equal((2, $"error: {new Uri(portal)} answered 404 for /api/v1/ca: --server must be the terminal API port (default 7443), not the portal.\n"), (wrongPort, said));
        Assert.Equal(0, await CustodianCli.RunAsync(["terminal", "init", "--server", host.TerminalUrl.ToString(), "--code", code.Code, "--ca-sha256", fingerprint, "--out", output]));

        Assert.False(OperatingSystem.IsWindows(), "Custodian runs on Linux hosts.");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(output, "terminal.key")));
        }

        var second = await host.Get<TerminalRegistry>().IssueEnrollmentCodeAsync("S001", "counter-8", null);
        Assert.Equal(1, await CustodianCli.RunAsync(["terminal", "init", "--server", host.TerminalUrl.ToString(), "--code", second.Code, "--ca-sha256", fingerprint, "--out", output]));
        using var certificate = TerminalCredentials.Load(output);
        Assert.Contains("counter-7", certificate.Subject, StringComparison.Ordinal);
        using var client = host.TerminalClient(certificate);
        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "C0001", password = "wrong password 123", otp = "000000" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, ErrorCodes.InvalidCredentials);
    }

    [Fact]
    public async Task Alerts_restore_from_the_cli_files_requests_whose_approval_lifts_the_suspension_in_the_running_server_within_a_second()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var limit = host.Get<MonitorOptions>().Windows.Min(w => w.ClerkLimit);
        var (client, _, _) = await host.ClerkAsync("C0001");
        HttpStatusCode last = HttpStatusCode.OK;
        for (var i = 0; i <= limit + 1 && last == HttpStatusCode.OK; i++)
        {
            using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[i].Phone });
            last = response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Forbidden, last);
        var data = host.Directory.FullName;
        // A separate process, as an officer runs it: on the PostgreSQL pass it is told the deployment's storage, as the server was.
        var storage = host.Get<Storage.StorageSettings>().ConnectionString is { } connection
            ? new Dictionary<string, string> { ["Custodian__Storage"] = connection }
            : [];
        var (listed, table, listError) = await CliProcess.RunAsync(storage, "alerts", "list", "--data", data);
        Assert.Equal((0, ""), (listed, listError));
        var alerts = await host.Get<AlertStore>().ListAsync(null);
        Assert.NotEmpty(alerts);
        foreach (var alert in alerts)
        {
            // One row per alert (redirected output is not wrapped): which detector raised it and how urgent it is.
            var row = Assert.Single(table.Split('\n'), line => line.Contains(alert.Id, StringComparison.Ordinal));
            var cells = row.Split(['│', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(
                [alert.Id, alert.RaisedAt.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), "open-lookups", alert.Severity.ToName(), alert.Principal.ToString(), "S001", $"{alert.Window.TotalMinutes:0} min", $"{alert.Observed}/{alert.Limit}", "open"],
                cells);
        }

        Assert.Contains("clerk:C0001", Assert.Single(table.Split('\n'), line => line.StartsWith("Suspended: ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal(1, await CustodianCli.RunAsync(["alerts", "restore", "--data", data, "--reason", "x"]));
        var originalError = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            // An empty reason is a malformed argument (exit 1); an unknown principal is refused in the current state (exit 2).
            Assert.Equal(1, await CustodianCli.RunAsync(["alerts", "restore", "--clerk", "C0001", "--reason", "", "--data", data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["alerts", "restore", "--clerk", "C0404", "--reason", "not suspended", "--data", data]));
        }
        finally
        {
            Console.SetError(originalError);
        }

        Assert.Equal(
            ["error: --reason must be 1-500 characters saying why the activity was legitimate.", "error: no account 'C0404'; nothing changed."],
            captured.ToString().TrimEnd('\n').Split('\n'));
        Assert.Equal(0, await CustodianCli.RunAsync(["alerts", "restore", "--clerk", "C0001", "--reason", "reviewed with the store manager", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["alerts", "restore", "--terminal", "S001-t-C0001", "--reason", "reviewed with the store manager", "--data", data]));
        var requests = host.Get<Access.Approvals.PrivilegedActionRequests>();
        var pending = await requests.ListAsync(Access.Approvals.PrivilegedRequestStatus.Pending);
        Assert.Equal([("restore-clerk", "C0001"), ("restore-terminal", "S001-t-C0001")], pending.Select(r => (r.Action, r.Target)).Order());
        Assert.Equal(2, await CustodianCli.RunAsync(["approvals", "approve", pending[0].Id, "--reason", "me again", "--data", data])); // the same operator
        Assert.True(await host.Get<SuspensionRegistry>().IsSuspendedAsync(PrincipalKind.Clerk, "C0001"));
        foreach (var request in pending.OrderBy(r => r.Action, StringComparer.Ordinal))
        {
            Assert.True((await requests.ApproveAsync(request.Id, "O0002", "agreed")).IsSuccess); // a second officer (API or another OS account)
        }

        host.Time.Advance(TimeSpan.FromSeconds(2));
        using var after = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[0].Phone });
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        var restored = (await host.LedgerAsync()).Where(e => e.Entry.Task == Ledger.AccessTask.Restored).Select(e => e.Entry.Target).ToList();
        Assert.Equal(["clerk:C0001", "terminal:S001-t-C0001"], restored);
    }

    [Fact]
    public async Task Outbox_list_names_subscribers_by_token_never_by_internal_id()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var recipient = Custodian.Identity.SubscriberId.From(4242);
        await host.Get<Custodian.Messaging.ISmsSender>().SendAsync(recipient, Custodian.Messaging.SmsKind.ConsentCode, "Custodian consent code 123456");
        var token = host.Get<Custodian.Protection.Keys.Tokenizer>().TokenizeSubscriber(recipient);

        var originalOut = Console.Out;
        var captured = new StringWriter();
        Console.SetOut(captured);
        try
        {
            Assert.Equal(0, await CustodianCli.RunAsync(["outbox", "list", "--last", "1", "--data", host.Directory.FullName]));
        }
        finally
        {
            Console.SetOut(originalOut);
        }

        var line = captured.ToString().Trim();
        Assert.EndsWith($"  subscriber {token}  ConsentCode: Custodian consent code 123456", line, StringComparison.Ordinal);
        Assert.DoesNotContain("4242", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_server_configuration_stops_start_up_with_a_clear_message()
    {
        var data = Path.Combine(Path.GetTempPath(), "custodian-cfg-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(1, await CustodianCli.RunAsync(["serve", "--data", data, "--listen", "not-an-ip"])); // a bad option value: usage error
        Assert.Equal(1, await CustodianCli.RunAsync(["serve", "--data", data, "--terminal-port", "70000"]));
        Assert.Equal(2, await CustodianCli.RunAsync(["serve", "--data", data, "--terminal-port", "7600", "--portal-port", "7600"]));
        Assert.False(Directory.Exists(data), "a refused start must not create the data directory");
    }

    [Fact]
    public async Task A_live_simulation_that_fails_leaves_no_pending_terminal_and_names_the_cause()
    {
        var dir = Directory.CreateTempSubdirectory("custodian-sim-fail-");
        try
        {
            var data = Path.Combine(dir.FullName, "data");
            var csv = Path.Combine(dir.FullName, "subscribers.csv");
            await using (var writer = new StreamWriter(csv, false, new UTF8Encoding(false)))
            {
                SampleGenerator.WriteCsv(writer, new SampleGenerator().Generate(5, 1, 2, new DateOnly(2026, 11, 1)));
            }

            Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", data]));
            using var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            closed.Start();
            var port = ((IPEndPoint)closed.LocalEndpoint).Port;
            closed.Stop();

            // No server at the port: the first enrollment fails after its code was issued.
            var unreachable = await CliCapture.RunAsync(["simulate", "--server", $"https://127.0.0.1:{port}", "--data", data, "--subscribers-file", csv, "--minutes", "1", "--clerks", "2", "--stores", "1"]);
            Assert.Equal(2, unreachable.Code);
            Assert.Equal($"error: cannot reach https://127.0.0.1:{port}/: Connection refused (ConnectionRefused).", unreachable.Stderr.TrimEnd('\n'));

            // A server of another deployment: its certificate is not signed by this data directory's CA.
            await using var other = await CustodianTestHost.StartAsync(subscribers: 5, systemClock: true);
            var untrusted = await CliCapture.RunAsync(["simulate", "--server", other.TerminalUrl.ToString(), "--data", data, "--subscribers-file", csv, "--minutes", "1", "--clerks", "2", "--stores", "1"]);
            Assert.Equal(2, untrusted.Code);
            Assert.Equal(
                $"error: cannot reach {other.TerminalUrl}: the TLS handshake failed (the server's certificate is not trusted; is --data the data directory of the server at --server? The run trusts only its CA).",
                untrusted.Stderr.TrimEnd('\n'));

            // Each run issued one enrollment code before failing; both terminals are revoked, none left pending.
            await using (var context = await CliContext.OpenAsync(data))
            {
                var terminals = await context.Get<TerminalRegistry>().ListAsync();
                Assert.Equal([(TerminalState.Revoked, "simulation ended"), (TerminalState.Revoked, "simulation ended")], terminals.Select(t => (t.Status, t.RevokeReason)));
                var revoked = new List<Ledger.CommittedEntry>();
                await foreach (var entry in context.Get<Ledger.IAccessLedgerReader>().ReadAsync(0))
                {
                    revoked.Add(entry);
                }

                Assert.Equal(2, revoked.Count(e => e.Entry.Task == Ledger.AccessTask.Revoked && e.Entry.Reason == "simulation ended"));
                Assert.DoesNotContain(revoked, e => e.Entry.Task == Ledger.AccessTask.StaffCreated && e.Entry.Target?.StartsWith("sim", StringComparison.Ordinal) == true); // no run account was made
            }

            Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--data", data]));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }
}
