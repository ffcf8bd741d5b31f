using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Gateway;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Pages.Console.Alerts;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Web;

namespace Custodian.Tests.Alerts;

/// <summary>
/// The console's live alert stream (<c>/console/alerts/stream</c>, server-sent events) re-checks what a console page
/// request is checked for — before every event and every <see cref="StreamModel.RecheckInterval"/> — and ends when the
/// officer may no longer see the console, over the real TLS and HTTP pipeline.
/// </summary>
public sealed class AlertStreamTests
{
    private static readonly TimeSpan RealTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_stream_of_an_officer_whose_account_is_disabled_ends_within_the_recheck_interval_and_the_end_is_recorded()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var terminal = await host.EnrollAsync("HQ", "security-desk");
        var officer = await host.CreateStaffAsync("O9002", StaffRole.SecurityOfficer, null, terminal);
        using var client = await StreamClientAsync(host, officer, terminal);
        using var response = await client.GetAsync("/console/alerts/stream", HttpCompletionOption.ResponseHeadersRead);
        using var reader = await OpenAsync(response);

        // Disabled as another process (the CLI) does it: nothing in this server ends the session for it.
        Assert.True(await host.Get<StaffDirectory>().DisableAsync("O9002"));
        using var timeout = new CancellationTokenSource(RealTimeout);
        var rest = reader.ReadToEndAsync(timeout.Token);
        for (var i = 0; i < 20 && !rest.IsCompleted; i++)
        {
            host.Time.Advance(TimeSpan.FromSeconds(1)); // the re-check runs on the server's TimeProvider
            await Task.WhenAny(rest, Task.Delay(TimeSpan.FromMilliseconds(200), CancellationToken.None));
        }

        Assert.Equal(string.Empty, await rest); // the stream ended, with nothing more sent
        var ended = Assert.Single(await host.LedgerAsync(), e => e.Entry.Reason == "alert stream");
        Assert.Equal(
            (AccessTask.Refused, AccessOutcome.Denied, "O9002", StaffRole.SecurityOfficer, "HQ-security-desk", ErrorCodes.SessionRequired),
            (ended.Entry.Task, ended.Entry.Outcome, ended.Entry.Account, ended.Entry.Role, ended.Entry.Terminal, ended.Entry.ErrorCode));
    }

    [Fact]
    public async Task The_stream_on_a_revoked_terminal_ends_at_the_next_alert_without_sending_it()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var terminal = await host.EnrollAsync("HQ", "security-desk");
        var officer = await host.CreateStaffAsync("O9002", StaffRole.SecurityOfficer, null, terminal);
        using var client = await StreamClientAsync(host, officer, terminal);
        using var response = await client.GetAsync("/console/alerts/stream", HttpCompletionOption.ResponseHeadersRead);
        using var reader = await OpenAsync(response);

        // While the terminal is active, a raised alert arrives live.
        var first = await RaiseAsync(host, "C0001");
        using var timeout = new CancellationTokenSource(RealTimeout);
        Assert.Equal("event: alert", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal("id: " + first, await reader.ReadLineAsync(timeout.Token));

        // Revoked (no time passes, so only the check before the event can stop it).
        Assert.True(await host.Get<TerminalRegistry>().RevokeAsync("HQ-security-desk", "stolen"));
        var second = await RaiseAsync(host, "C0002");
        var rest = await reader.ReadToEndAsync(timeout.Token);

        Assert.DoesNotContain(second, rest, StringComparison.Ordinal);
        Assert.DoesNotContain("event: alert", rest, StringComparison.Ordinal);
        var ended = Assert.Single(await host.LedgerAsync(), e => e.Entry.Reason == "alert stream");
        Assert.Equal(
            (AccessTask.Refused, AccessOutcome.Denied, "O9002", "HQ-security-desk", ErrorCodes.DeviceCertificateRevoked),
            (ended.Entry.Task, ended.Entry.Outcome, ended.Entry.Account, ended.Entry.Terminal, ended.Entry.ErrorCode));
    }

    /// <summary>A client on <paramref name="terminal"/> carrying the officer's staff-session cookie (its value is the session token).</summary>
    private static async Task<HttpClient> StreamClientAsync(CustodianTestHost host, StaffCredentials officer, X509Certificate2 terminal)
    {
        var client = host.TerminalClient(terminal);
        using var signIn = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest(officer.Account, officer.Password, officer.Code(host.Clock)));
        Assert.Equal(HttpStatusCode.Created, signIn.StatusCode);
        var token = (await signIn.Content.ReadFromJsonAsync<SignInResponse>())!.Token;
        client.DefaultRequestHeaders.Add("Cookie", $"{StaffPageModel.CookieName}={token}");
        return client;
    }

    /// <summary>Checks the stream opened and reads its preamble and the (empty) snapshot.</summary>
    private static async Task<StreamReader> OpenAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(RealTimeout);
        Assert.Equal(": alerts", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal("retry: 2000", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal(string.Empty, await reader.ReadLineAsync(timeout.Token));
        return reader;
    }

    /// <summary>Stores an alert and commits its <c>alert-raised</c> entry, as the monitor does; returns its ID.</summary>
    private static async Task<string> RaiseAsync(CustodianTestHost host, string clerk)
    {
        var alert = await host.Get<AlertStore>().CreateAsync(new NewAlert("distinct-subjects", Principal.Create(PrincipalKind.Clerk, clerk), "S001", TimeSpan.FromHours(1), 30, 20, new AlertEvidence(1, 3, [1, 2, 3], 3), AlertSeverity.High));
        await host.Get<IAccessLedger>().AppendAsync(new AccessEntry
        {
            Time = host.Time.GetUtcNow(),
            Task = AccessTask.AlertRaised,
            Outcome = AccessOutcome.Allowed,
            Store = "S001",
            Target = alert.Id,
            Reason = "distinct-subjects (test)",
        });
        return alert.Id;
    }
}
