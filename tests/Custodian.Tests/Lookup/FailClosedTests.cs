using System.Net;
using System.Net.Http.Json;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

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
