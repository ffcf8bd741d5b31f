using System.Net;
using System.Net.Http.Json;
using Custodian.Approvals;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.AccessGateway;

/// <summary>Officers sign in with an officer's device certificate plus password and TOTP, when the officer stores are set.</summary>
public sealed class OfficerDeviceTests
{
    [Fact]
    public async Task With_officer_stores_set_an_officer_is_refused_at_a_shop_counter_and_signs_in_at_an_office_desk()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1, services: s => s.Configure<OfficerDeviceOptions>(o => o.Stores.Add("HQ")));
        var counter = await host.EnrollAsync("S001", "counter-1");
        var desk = await host.EnrollAsync("HQ", "desk-1");
        var officer = await host.CreateStaffAsync("O0001", StaffRole.SecurityOfficer, null, desk);

        using (var client = host.TerminalClient(counter))
        using (var refused = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "O0001", password = officer.Password, otp = officer.Code(host.Clock) }))
        {
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, OfficerDevices.TerminalRequired);
        }

        var denied = (await host.LedgerAsync()).Last().Entry;
        Assert.Equal((AccessTask.SignIn, AccessOutcome.Denied, "O0001", "S001-counter-1"), (denied.Task, denied.Outcome, denied.Account, denied.Terminal));

        host.Time.Advance(TimeSpan.FromSeconds(30)); // a fresh TOTP step: the refused attempt used the last one
        using (var signedIn = await host.SignInAsync(officer, desk))
        using (var approvals = await signedIn.GetAsync("/api/v1/approvals"))
        {
            Assert.Equal(HttpStatusCode.OK, approvals.StatusCode);
        }

        var (clerk, _, _) = await host.ClerkAsync("C0001"); // store staff keep their own-store rule only
        clerk.Dispose();
        Assert.Equal("Custodian:OfficerDevices:Stores: every entry must be a store code of 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit.", new OfficerDeviceOptionsValidator().Validate(null, Bad()).FailureMessage);
    }

    private static OfficerDeviceOptions Bad()
    {
        var options = new OfficerDeviceOptions();
        options.Stores.Add("no such store!");
        return options;
    }
}
