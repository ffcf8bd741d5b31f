using System.Net;
using System.Net.Http.Json;
using Custodian.Access.Approvals;
using Custodian.Cli;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Cli;

/// <summary>
/// Running the same four-eyes request twice (a repeated <c>alerts restore</c>, a resubmitted API call) files it once:
/// a second officer is never asked to decide the same change twice (docs/access.md §7).
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class RepeatedApprovalRequestTests
{
    [Fact]
    public async Task A_restore_requested_twice_by_the_same_officer_is_filed_once_and_the_second_run_names_the_pending_request()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var console = await host.EnrollAsync("HQ", "console-1");
        var officer = await host.CreateStaffAsync("O0001", StaffRole.SecurityOfficer, null, console);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        using var api = await host.SignInAsync(officer, console);
        using (clerk)
        {
            var limit = host.Get<MonitorOptions>().Windows.Min(w => w.ClerkLimit);
            for (var i = 0; i <= limit + 1; i++)
            {
                using var response = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[i].Phone });
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    break;
                }
            }
        }

        Assert.True(await host.Get<SuspensionRegistry>().IsSuspendedAsync(PrincipalKind.Clerk, "C0001"));
        var data = host.Directory.FullName;
        string[] restore = ["alerts", "restore", "--clerk", "C0001", "--reason", "reviewed with the store manager", "--data", data];
        var (first, filed, _) = await CliCapture.RunAsync(restore);
        Assert.Equal(0, first);
        var requests = host.Get<PrivilegedActionRequests>();
        var cliRequest = Assert.Single(await requests.ListAsync(PrivilegedRequestStatus.Pending));
        Assert.Contains(cliRequest.Id, filed, StringComparison.Ordinal);

        var (again, againOut, againError) = await CliCapture.RunAsync(restore);
        Assert.Equal((2, ""), (again, againOut));
        Assert.Equal(
            $"error: {ApprovalErrorCodes.AlreadyPending}: You already requested restore-clerk on C0001: request {cliRequest.Id} is pending until {cliRequest.ExpiresAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} for another officer's decision; nothing new was filed.\n",
            againError);
        var (generic, _, genericError) = await CliCapture.RunAsync(["approvals", "request", "--action", "restore-clerk", "--target", "C0001", "--reason", "once more", "--data", data]);
        Assert.Equal(2, generic);
        Assert.Contains(cliRequest.Id, genericError, StringComparison.Ordinal);

        // Over the API: the first request of this officer is filed, the same one again is refused with a stable code.
        using (var accepted = await api.PostAsJsonAsync("/api/v1/alerts/restorations", new RestoreRequest("clerk", "C0001", "reviewed")))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        using (var repeated = await api.PostAsJsonAsync("/api/v1/alerts/restorations", new RestoreRequest("clerk", "C0001", "reviewed")))
        {
            await ProblemAssert.IsProblemAsync(repeated, HttpStatusCode.Conflict, ApprovalErrorCodes.AlreadyPending);
        }

        var pending = await requests.ListAsync(PrivilegedRequestStatus.Pending);
        Assert.Equal(new[] { AdminCommands.Operator, "O0001" }.Order(StringComparer.Ordinal), pending.Select(r => r.RequestedBy).Order(StringComparer.Ordinal));
        var ledger = await host.LedgerAsync();
        Assert.Equal(2, ledger.Count(e => e.Entry.Task == AccessTask.PrivilegedActionRequested && e.Entry.Outcome == AccessOutcome.Allowed));
        var refused = ledger.Where(e => e.Entry.Task == AccessTask.PrivilegedActionRequested && e.Entry.Outcome == AccessOutcome.Denied).ToList(); // the CLI's 'alerts restore' repeat (recorded as the API records it), its 'approvals request' repeat, then the API's
        Assert.Equal(
            [
                (AdminCommands.Operator, ApprovalErrorCodes.AlreadyPending, "action:restore-clerk;target:C0001"),
                (AdminCommands.Operator, ApprovalErrorCodes.AlreadyPending, $"request:{cliRequest.Id};action:restore-clerk;target:C0001"),
                ("O0001", ApprovalErrorCodes.AlreadyPending, "action:restore-clerk;target:C0001"),
            ],
            refused.Select(e => (e.Entry.Account, e.Entry.ErrorCode, e.Entry.Target)));

        // Once decided, the same officer may ask again.
        Assert.True((await requests.RejectAsync(cliRequest.Id, "O0001", "not yet")).IsSuccess);
        Assert.Equal(0, (await CliCapture.RunAsync(restore)).Code);
    }
}
