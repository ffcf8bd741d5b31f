using System.Net;
using System.Net.Http.Json;
using Custodian.Access.Approvals;
using Custodian.Approvals;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.AccessGateway;

/// <summary>Every way of lifting a monitor suspension goes through four eyes: request by one officer, decision by another.</summary>
public sealed class RestoreFourEyesTests
{
    private static async Task<(HttpClient First, HttpClient Second)> OfficersAsync(CustodianTestHost host)
    {
        var console = await host.EnrollAsync("HQ", "console-1");
        var first = await host.CreateStaffAsync("O0001", StaffRole.SecurityOfficer, null, console);
        var second = await host.CreateStaffAsync("O0002", StaffRole.PrivacyOfficer, null, console);
        return (await host.SignInAsync(first, console), await host.SignInAsync(second, console));
    }

    /// <summary>Runs the clerk over the monitor's hard limit until refused; returns the status of the last search.</summary>
    private static async Task<HttpStatusCode> ScrapeUntilSuspendedAsync(CustodianTestHost host, HttpClient clerk)
    {
        var limit = host.Get<MonitorOptions>().Windows.Min(w => w.ClerkLimit);
        var last = HttpStatusCode.OK;
        for (var i = 0; i <= limit + 1 && last == HttpStatusCode.OK; i++)
        {
            using var response = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[i].Phone });
            last = response.StatusCode;
        }

        return last;
    }

    private static async Task<HttpStatusCode> SearchAsync(CustodianTestHost host, HttpClient clerk)
    {
        using var response = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[0].Phone });
        return response.StatusCode;
    }

    [Fact]
    public async Task A_restore_requested_over_the_alerts_api_takes_effect_only_when_a_second_officer_approves_and_the_next_request_is_served()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (first, second) = await OfficersAsync(host);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        using (first)
        using (second)
        using (clerk)
        {
            Assert.Equal(HttpStatusCode.Forbidden, await ScrapeUntilSuspendedAsync(host, clerk));
            var ids = new List<string>();
            foreach (var (kind, id) in new[] { ("clerk", "C0001"), ("terminal", "S001-t-C0001") })
            {
                using var requested = await first.PostAsJsonAsync("/api/v1/alerts/restorations", new RestoreRequest(kind, id, "reviewed with the store manager"));
                Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
                var request = (await requested.Content.ReadFromJsonAsync<PrivilegedRequest>())!;
                Assert.Equal(($"restore-{kind}", id, "O0001", PrivilegedRequestStatus.Pending), (request.Action, request.Target, request.RequestedBy, request.Status));
                Assert.Equal($"/api/v1/approvals/{request.Id}", requested.Headers.Location!.OriginalString);
                ids.Add(request.Id);
            }

            Assert.Equal(HttpStatusCode.Forbidden, await SearchAsync(host, clerk)); // a request alone restores nothing
            using (var self = await first.PostAsJsonAsync($"/api/v1/approvals/{ids[0]}/approve", new ApprovalDecisionBody("my own")))
            {
                await ProblemAssert.IsProblemAsync(self, HttpStatusCode.Forbidden, ApprovalErrorCodes.SameOfficer);
            }

            Assert.True(await host.Get<SuspensionRegistry>().IsSuspendedAsync(PrincipalKind.Clerk, "C0001"));
            foreach (var id in ids)
            {
                using var approved = await second.PostAsJsonAsync($"/api/v1/approvals/{id}/approve", new ApprovalDecisionBody("script removed"));
                Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            }

            Assert.Equal(HttpStatusCode.OK, await SearchAsync(host, clerk)); // the very next request, no clock advance

            var steps = (await host.LedgerAsync()).Select(e => e.Entry)
                .Where(e => e.Task is AccessTask.PrivilegedActionRequested or AccessTask.PrivilegedActionApproved or AccessTask.Restored)
                .Select(e => (e.Task, e.Account, e.Target))
                .ToList();
            Assert.Equal(
                [
                    (AccessTask.PrivilegedActionRequested, "O0001", $"request:{ids[0]};action:restore-clerk;target:C0001"),
                    (AccessTask.PrivilegedActionRequested, "O0001", $"request:{ids[1]};action:restore-terminal;target:S001-t-C0001"),
                    (AccessTask.PrivilegedActionApproved, "O0001", $"request:{ids[0]};action:restore-clerk;target:C0001"), // the refused self-approval, denied
                    (AccessTask.PrivilegedActionApproved, "O0002", $"request:{ids[0]};action:restore-clerk;target:C0001"),
                    (AccessTask.Restored, "O0002", "clerk:C0001"),
                    (AccessTask.PrivilegedActionApproved, "O0002", $"request:{ids[1]};action:restore-terminal;target:S001-t-C0001"),
                    (AccessTask.Restored, "O0002", "terminal:S001-t-C0001"),
                ],
                steps);
        }
    }

    [Fact]
    public async Task A_rejected_restore_keeps_the_suspension_and_requests_for_principals_not_suspended_are_refused()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (first, second) = await OfficersAsync(host);
        var (clerk, _, _) = await host.ClerkAsync("C0002");
        using (first)
        using (second)
        using (clerk)
        {
            using (var notSuspended = await first.PostAsJsonAsync("/api/v1/alerts/restorations", new RestoreRequest("clerk", "C0002", "just in case")))
            {
                await ProblemAssert.IsProblemAsync(notSuspended, HttpStatusCode.NotFound, ErrorCodes.NotFound);
            }

            Assert.Equal(HttpStatusCode.Forbidden, await ScrapeUntilSuspendedAsync(host, clerk));
            using var requested = await first.PostAsJsonAsync("/api/v1/alerts/restorations", new RestoreRequest("clerk", "C0002", "clerk says it was a test"));
            var request = (await requested.Content.ReadFromJsonAsync<PrivilegedRequest>())!;
            using (var rejected = await second.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/reject", new ApprovalDecisionBody("script still on the PC")))
            {
                Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
            }

            using (var late = await second.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/approve", new ApprovalDecisionBody("changed my mind")))
            {
                await ProblemAssert.IsProblemAsync(late, HttpStatusCode.NotFound, ApprovalErrorCodes.RequestNotPending);
            }

            host.Time.Advance(TimeSpan.FromSeconds(2));
            Assert.True(await host.Get<SuspensionRegistry>().IsSuspendedAsync(PrincipalKind.Clerk, "C0002"));
            Assert.Equal(HttpStatusCode.Forbidden, await SearchAsync(host, clerk));
            var ledger = (await host.LedgerAsync()).Select(e => e.Entry).ToList();
            Assert.DoesNotContain(ledger, e => e.Task == AccessTask.Restored);
            var decision = Assert.Single(ledger, e => e.Task == AccessTask.PrivilegedActionRejected);
            Assert.Equal(("O0002", $"request:{request.Id};action:restore-clerk;target:C0002", "script still on the PC"), (decision.Account, decision.Target, decision.Reason));
            Assert.Equal(PrivilegedRequestStatus.Rejected, (await host.Get<PrivilegedActionRequests>().GetAsync(request.Id))!.Status);
        }
    }
}
