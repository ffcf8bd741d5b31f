using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Custodian.Access.Approvals;
using Custodian.Access.Terminals;
using Custodian.Approvals;
using Custodian.Cli;
using Custodian.Gateway;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.AccessGateway;

/// <summary>Privileged actions need two officers: the workflow over the terminal API and the CLI.</summary>
[Collection(nameof(Cli.CliCollection))]
public sealed partial class FourEyesTests
{
    private static async Task<(HttpClient First, HttpClient Second)> OfficersAsync(CustodianTestHost host)
    {
        var console = await host.EnrollAsync("HQ", "console-1");
        var first = await host.CreateStaffAsync("O0001", StaffRole.SecurityOfficer, null, console);
        var second = await host.CreateStaffAsync("O0002", StaffRole.PrivacyOfficer, null, console);
        return (await host.SignInAsync(first, console), await host.SignInAsync(second, console));
    }

    [Fact]
    public async Task A_VDI_host_request_in_a_zone_spelt_unlike_a_listed_store_is_refused_with_a_problem_and_a_denied_entry()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        Assert.True((await host.Get<Custodian.Lookup.StoreAreas>().ImportAsync(new StringReader("store,area\nVDI,call-centre\n"))).Applied);
        var (first, second) = await OfficersAsync(host);
        using (first)
        using (second)
        {
            using var refused = await first.PostAsJsonAsync("/api/v1/approvals", new ApprovalRequestBody("enroll-vdi-host", "vdi/vdi-2", "new call-centre desk"));

            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            const string Rule = "zone must be written 'VDI' like the store code already in use (store codes are case-sensitive)";
            Assert.Equal("target: " + Rule, problem.GetProperty("detail").GetString());
            Assert.Equal(Rule, Assert.Single(problem.GetProperty("errors").GetProperty("target").EnumerateArray()).GetString());
            Assert.Empty(await host.Get<PrivilegedActionRequests>().ListAsync(null));
            var denied = (await host.LedgerAsync()).Select(e => e.Entry).Single(e => e.Task == AccessTask.PrivilegedActionRequested);
            Assert.Equal((AccessOutcome.Denied, "O0001", ErrorCodes.ValidationFailed), (denied.Outcome, denied.Account, denied.ErrorCode));

            using var filed = await first.PostAsJsonAsync("/api/v1/approvals", new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-2", "new call-centre desk"));
            Assert.Equal(HttpStatusCode.Created, filed.StatusCode);
        }
    }

    [Fact]
    public async Task Enrolling_a_VDI_host_needs_a_second_officer_and_both_are_recorded()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var (first, second) = await OfficersAsync(host);
        using (first)
        using (second)
        {
            using var requested = await first.PostAsJsonAsync("/api/v1/approvals", new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-1", "new call-centre desk"));
            Assert.Equal(HttpStatusCode.Created, requested.StatusCode);
            Assert.Equal("pending", System.Text.Json.JsonDocument.Parse(await requested.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString()); // the filter's word, not a number
            var request = (await requested.Content.ReadFromJsonAsync<PrivilegedRequest>())!;
            Assert.Equal((PrivilegedRequestStatus.Pending, "O0001"), (request.Status, request.RequestedBy));

            using (var self = await first.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/approve", new ApprovalDecisionBody("looks fine")))
            {
                await ProblemAssert.IsProblemAsync(self, HttpStatusCode.Forbidden, ApprovalErrorCodes.SameOfficer);
            }

            Assert.Null(await host.Get<TerminalRegistry>().GetAsync("VDI-vdi-1"));
            using var approved = await second.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/approve", new ApprovalDecisionBody("desk checked"));
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            var message = (await approved.Content.ReadFromJsonAsync<ApprovalDecision>())!.Message;
            var code = CodePattern().Match(message).Value;
            Assert.NotEmpty(code);
            var pending = (await host.Get<TerminalRegistry>().GetAsync("VDI-vdi-1"))!;
            Assert.Equal((TerminalState.Pending, TrustClass.VdiHost), (pending.Status, pending.TrustClass));

            using (var again = await second.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/approve", new ApprovalDecisionBody("twice")))
            {
                await ProblemAssert.IsProblemAsync(again, HttpStatusCode.NotFound, ApprovalErrorCodes.RequestNotPending);
            }

            var records = (await host.LedgerAsync()).Select(e => e.Entry).Where(e => e.Task is AccessTask.PrivilegedActionRequested or AccessTask.PrivilegedActionApproved).ToList();
            Assert.Equal(
                [
                    (AccessTask.PrivilegedActionRequested, AccessOutcome.Allowed, "O0001", StaffRole.SecurityOfficer, $"request:{request.Id};action:enroll-vdi-host;target:VDI/vdi-1", (string?)"new call-centre desk"),
                    (AccessTask.PrivilegedActionApproved, AccessOutcome.Denied, "O0001", StaffRole.SecurityOfficer, $"request:{request.Id};action:enroll-vdi-host;target:VDI/vdi-1", null), // the refused self-approval
                    (AccessTask.PrivilegedActionApproved, AccessOutcome.Allowed, "O0002", StaffRole.PrivacyOfficer, $"request:{request.Id};action:enroll-vdi-host;target:VDI/vdi-1", "desk checked"),
                    (AccessTask.PrivilegedActionApproved, AccessOutcome.Denied, "O0002", StaffRole.PrivacyOfficer, $"request:{request.Id};action:enroll-vdi-host;target:VDI/vdi-1", null), // the refused second approval
                ],
                records.Select(e => (e.Task, e.Outcome, e.Account!, e.Role!.Value, e.Target!, e.Reason)).ToArray());
            Assert.DoesNotContain(await host.LedgerAsync(), e => (e.Entry.Reason ?? string.Empty).Contains(code, StringComparison.Ordinal) || (e.Entry.Target ?? string.Empty).Contains(code, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Approving_a_second_VDI_enrollment_says_the_hosts_earlier_code_is_void_and_it_is()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var (first, second) = await OfficersAsync(host);
        using (first)
        using (second)
        {
            var messages = new List<string>();
            for (var i = 0; i < 2; i++)
            {
                using var requested = await first.PostAsJsonAsync("/api/v1/approvals", new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-1", "new call-centre desk"));
                var request = (await requested.Content.ReadFromJsonAsync<PrivilegedRequest>())!;
                using var approved = await second.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/approve", new ApprovalDecisionBody("desk checked"));
                Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
                messages.Add((await approved.Content.ReadFromJsonAsync<ApprovalDecision>())!.Message);
            }

            var expires = (host.Time.GetUtcNow() + TerminalRegistry.DefaultCodeLifetime).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
            var (earlier, later) = (CodePattern().Match(messages[0]).Value, CodePattern().Match(messages[1]).Value);
            Assert.Equal($"VDI host VDI-vdi-1: one-time enrollment code {earlier} (expires {expires}); run 'custodian terminal init' on the host with it.", messages[0]);
            Assert.Equal($"VDI host VDI-vdi-1: one-time enrollment code {later} (expires {expires}); run 'custodian terminal init' on the host with it. The earlier code for VDI-vdi-1 (it would have expired {expires}) is now void: only this code enrolls the host.", messages[1]);
            var terminals = host.Get<TerminalRegistry>();
            Assert.Equal(ErrorCodes.EnrollmentCodeInvalid, (await terminals.EnrollAsync(earlier, "not a CSR")).Error!.Code); // void: refused before the CSR is read
            Assert.Equal(ErrorCodes.CsrInvalid, (await terminals.EnrollAsync(later, "not a CSR")).Error!.Code); // live: only the CSR is wrong
        }
    }

    [Fact]
    public async Task Refused_requests_approvals_and_rejections_are_each_recorded_as_one_denied_entry_with_the_error_code_and_never_the_reason()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 2);
        var (first, second) = await OfficersAsync(host);
        var rrn = host.Population[0].Rrn;
        var phone = host.Population[1].Phone;
        using (first)
        using (second)
        {
            async Task<AccessEntry> RefusedAsync(HttpClient officer, string path, object body, HttpStatusCode status, string code, AccessTask task, string? target)
            {
                var before = (await host.LedgerAsync()).Count;
                using var refused = await officer.PostAsJsonAsync(path, body);
                await ProblemAssert.IsProblemAsync(refused, status, code);
                var entry = Assert.Single((await host.LedgerAsync()).Skip(before)).Entry;
                var account = ReferenceEquals(officer, first) ? "O0001" : "O0002";
                Assert.Equal(
                    (task, AccessOutcome.Denied, code, account, target, (string?)null, "HQ-console-1"),
                    (entry.Task, entry.Outcome, entry.ErrorCode, entry.Account, entry.Target, entry.Reason, entry.Terminal));
                return entry;
            }

            const string Requests = "/api/v1/approvals";
            await RefusedAsync(first, Requests, new ApprovalRequestBody("delete-everything", "x", "test"), HttpStatusCode.BadRequest, ApprovalErrorCodes.UnknownAction, AccessTask.PrivilegedActionRequested, null);
            await RefusedAsync(first, Requests, new ApprovalRequestBody("enroll-vdi-host", "no-slash", "test"), HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed, AccessTask.PrivilegedActionRequested, "action:enroll-vdi-host");
            await RefusedAsync(first, Requests, new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-1", string.Empty), HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed, AccessTask.PrivilegedActionRequested, "action:enroll-vdi-host");
            await RefusedAsync(first, Requests, new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-1", $"for subscriber {rrn}"), HttpStatusCode.BadRequest, ErrorCodes.PersonalDataInText, AccessTask.PrivilegedActionRequested, "action:enroll-vdi-host");
            await RefusedAsync(first, Requests, new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-1", "\u202Efdp.exe"), HttpStatusCode.BadRequest, ErrorCodes.BidiControlInText, AccessTask.PrivilegedActionRequested, "action:enroll-vdi-host");
            await RefusedAsync(first, Requests, new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-1", "x \u001b[31mRED\u0007"), HttpStatusCode.BadRequest, ErrorCodes.ControlCharacterInText, AccessTask.PrivilegedActionRequested, "action:enroll-vdi-host"); // a terminal escape sequence
            await RefusedAsync(first, Requests, new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-1", "new\u0000desk"), HttpStatusCode.BadRequest, ErrorCodes.ControlCharacterInText, AccessTask.PrivilegedActionRequested, "action:enroll-vdi-host");

            using var filed = await first.PostAsJsonAsync(Requests, new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-1", "new desk"));
            Assert.Equal(HttpStatusCode.Created, filed.StatusCode);
            var request = (await filed.Content.ReadFromJsonAsync<PrivilegedRequest>())!;
            var named = $"request:{request.Id};action:enroll-vdi-host;target:VDI/vdi-1";
            await RefusedAsync(first, Requests, new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-1", "new desk again"), HttpStatusCode.Conflict, ApprovalErrorCodes.AlreadyPending, AccessTask.PrivilegedActionRequested, named);

            var approve = $"{Requests}/{request.Id}/approve";
            var reject = $"{Requests}/{request.Id}/reject";
            await RefusedAsync(first, approve, new ApprovalDecisionBody("looks fine"), HttpStatusCode.Forbidden, ApprovalErrorCodes.SameOfficer, AccessTask.PrivilegedActionApproved, named);
            await RefusedAsync(first, reject, new ApprovalDecisionBody("changed my mind"), HttpStatusCode.Forbidden, ApprovalErrorCodes.SameOfficer, AccessTask.PrivilegedActionRejected, named);
            await RefusedAsync(second, approve, new ApprovalDecisionBody(null), HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed, AccessTask.PrivilegedActionApproved, named);
            await RefusedAsync(second, reject, new ApprovalDecisionBody($"called {phone}"), HttpStatusCode.BadRequest, ErrorCodes.PersonalDataInText, AccessTask.PrivilegedActionRejected, named);
            await RefusedAsync(second, $"{Requests}/0000000000000000/approve", new ApprovalDecisionBody("checked"), HttpStatusCode.NotFound, ApprovalErrorCodes.RequestNotPending, AccessTask.PrivilegedActionApproved, null); // an unknown ID is outside input: not recorded

            using (var rejected = await second.PostAsJsonAsync(reject, new ApprovalDecisionBody("not planned")))
            {
                Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
            }

            await RefusedAsync(second, approve, new ApprovalDecisionBody("after all"), HttpStatusCode.NotFound, ApprovalErrorCodes.RequestNotPending, AccessTask.PrivilegedActionApproved, named);

            var ledger = await host.LedgerAsync();
            Assert.Equal(PrivilegedRequestStatus.Rejected, (await host.Get<PrivilegedActionRequests>().GetAsync(request.Id))!.Status);
            Assert.Equal(
                [(AccessTask.PrivilegedActionRequested, "new desk"), (AccessTask.PrivilegedActionRejected, "not planned")],
                ledger.Where(e => e.Entry.Outcome == AccessOutcome.Allowed && e.Entry.Task is AccessTask.PrivilegedActionRequested or AccessTask.PrivilegedActionApproved or AccessTask.PrivilegedActionRejected).Select(e => (e.Entry.Task, e.Entry.Reason!)).ToArray());
            Assert.DoesNotContain(ledger, e => (e.Entry.Reason ?? string.Empty).Contains(rrn, StringComparison.Ordinal) || (e.Entry.Reason ?? string.Empty).Contains(phone, StringComparison.Ordinal));
            Assert.DoesNotContain(ledger, e => Infrastructure.LedgerText.HoldsPersonalData(e.Entry));
            Assert.DoesNotContain(ledger, e => (e.Entry.Target ?? string.Empty).Contains("no-slash", StringComparison.Ordinal) || (e.Entry.Target ?? string.Empty).Contains('\u202E'));
        }
    }

    [Fact]
    public async Task Rejected_lapsed_and_unknown_requests_cannot_be_approved_and_clerks_cannot_use_the_workflow()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var (first, second) = await OfficersAsync(host);
        using (first)
        using (second)
        {
            var requests = host.Get<PrivilegedActionRequests>();
            var rejected = (await requests.RequestAsync("enroll-vdi-host", "VDI/vdi-2", "test", "O0001")).Value;
            using (var reject = await second.PostAsJsonAsync($"/api/v1/approvals/{rejected.Id}/reject", new ApprovalDecisionBody("not planned")))
            {
                Assert.Equal(HttpStatusCode.OK, reject.StatusCode);
            }

            Assert.Equal(ApprovalErrorCodes.RequestNotPending, (await requests.ApproveAsync(rejected.Id, "O0002", "changed my mind")).Error!.Code);
            var lapsed = (await requests.RequestAsync("enroll-vdi-host", "VDI/vdi-3", "test", "O0001")).Value;
            host.Time.Advance(PrivilegedActionRequests.Lifetime);
            Assert.Equal(ApprovalErrorCodes.RequestNotPending, (await requests.ApproveAsync(lapsed.Id, "O0002", "late")).Error!.Code);
            Assert.Empty(await requests.ListAsync(PrivilegedRequestStatus.Pending));
            Assert.Equal(ApprovalErrorCodes.UnknownAction, (await requests.RequestAsync("delete-everything", "x", "test", "O0001")).Error!.Code);
            Assert.Equal(ErrorCodes.ValidationFailed, (await requests.RequestAsync("enroll-vdi-host", "no-slash", "test", "O0001")).Error!.Code);
        }

        var (clerk, terminal, _) = await host.ClerkAsync("C0001");
        using (clerk)
        using (terminal)
        {
            using var refused = await clerk.GetAsync("/api/v1/approvals");
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, ErrorCodes.RoleNotPermitted);
        }
    }

    [Fact]
    public async Task Restoring_a_suspended_clerk_is_requested_on_the_command_line_and_approved_by_another_officer()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var (_, second) = await OfficersAsync(host);
        using (second)
        {
            var data = host.Directory.FullName;
            Assert.Equal(2, await CustodianCli.RunAsync(["approvals", "request", "--action", "restore-clerk", "--target", "C0009", "--reason", "reviewed", "--data", data])); // not suspended
            Assert.True(await host.Get<SuspensionRegistry>().SuspendAsync(PrincipalKind.Clerk, "C0009", null, "test suspension"));
            Assert.Equal(0, await CustodianCli.RunAsync(["approvals", "request", "--action", "restore-clerk", "--target", "C0009", "--reason", "reviewed with the store manager", "--data", data]));
            var request = Assert.Single(await host.Get<PrivilegedActionRequests>().ListAsync(PrivilegedRequestStatus.Pending));
            Assert.Equal(0, await CustodianCli.RunAsync(["approvals", "list", "--data", data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["approvals", "approve", request.Id, "--reason", "me again", "--data", data])); // the same operator

            using var approved = await second.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/approve", new ApprovalDecisionBody("agreed"));
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            Assert.Equal("Restored clerk C0009.", (await approved.Content.ReadFromJsonAsync<ApprovalDecision>())!.Message);
            Assert.False(await host.Get<SuspensionRegistry>().IsSuspendedAsync(PrincipalKind.Clerk, "C0009"));
            var restored = (await host.LedgerAsync()).Last(e => e.Entry.Task == AccessTask.Restored).Entry;
            Assert.Equal(("O0002", "clerk:C0009"), (restored.Account, restored.Target));
            Assert.StartsWith($"four eyes: requested by {AdminCommands.Operator}, approved by O0002", restored.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Only_the_requester_withdraws_a_pending_request_and_a_withdrawn_request_cannot_be_approved()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var (first, second) = await OfficersAsync(host);
        using (first)
        using (second)
        {
            using var requested = await first.PostAsJsonAsync("/api/v1/approvals", new ApprovalRequestBody("enroll-vdi-host", "VDI/vdi-4", "filed for the wrong zone"));
            var request = (await requested.Content.ReadFromJsonAsync<PrivilegedRequest>())!;

            using (var other = await second.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/withdraw", new ApprovalDecisionBody("not mine")))
            {
                await ProblemAssert.IsProblemAsync(other, HttpStatusCode.Forbidden, ApprovalErrorCodes.NotRequester);
            }

            using (var blank = await first.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/withdraw", new ApprovalDecisionBody(" ")))
            {
                await ProblemAssert.IsProblemAsync(blank, HttpStatusCode.BadRequest, "validation-failed");
            }

            using (var withdrawn = await first.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/withdraw", new ApprovalDecisionBody("wrong zone")))
            {
                Assert.Equal(HttpStatusCode.OK, withdrawn.StatusCode);
                Assert.Equal("Withdrawn.", (await withdrawn.Content.ReadFromJsonAsync<ApprovalDecision>())!.Message);
            }

            using (var approve = await second.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/approve", new ApprovalDecisionBody("too late")))
            {
                await ProblemAssert.IsProblemAsync(approve, HttpStatusCode.NotFound, ApprovalErrorCodes.RequestNotPending);
            }

            using (var twice = await first.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/withdraw", new ApprovalDecisionBody("again")))
            {
                await ProblemAssert.IsProblemAsync(twice, HttpStatusCode.NotFound, ApprovalErrorCodes.RequestNotPending);
            }

            Assert.Null(await host.Get<TerminalRegistry>().GetAsync("VDI-vdi-4"));
            var stored = (await host.Get<PrivilegedActionRequests>().GetAsync(request.Id))!;
            Assert.Equal((PrivilegedRequestStatus.Withdrawn, "O0001", "wrong zone"), (stored.Status, stored.DecidedBy, stored.DecisionReason));
            using (var list = await second.GetAsync("/api/v1/approvals?status=withdrawn"))
            {
                var listed = Assert.Single((await list.Content.ReadFromJsonAsync<PrivilegedRequest[]>())!);
                Assert.Equal((request.Id, PrivilegedRequestStatus.Withdrawn), (listed.Id, listed.Status));
                Assert.Equal("withdrawn", System.Text.Json.JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement[0].GetProperty("status").GetString());
            }

            Assert.Empty(await host.Get<PrivilegedActionRequests>().ListAsync(PrivilegedRequestStatus.Pending));
            var target = $"request:{request.Id};action:enroll-vdi-host;target:VDI/vdi-4";
            var records = (await host.LedgerAsync()).Select(e => e.Entry)
                .Where(e => e.Task is AccessTask.PrivilegedActionRequested or AccessTask.PrivilegedActionApproved or AccessTask.PrivilegedActionWithdrawn).ToList();
            Assert.Equal(
                [
                    (AccessTask.PrivilegedActionRequested, AccessOutcome.Allowed, "O0001", target, (string?)"filed for the wrong zone", (string?)null),
                    (AccessTask.PrivilegedActionWithdrawn, AccessOutcome.Denied, "O0002", target, null, ApprovalErrorCodes.NotRequester),
                    (AccessTask.PrivilegedActionWithdrawn, AccessOutcome.Denied, "O0001", target, null, "validation-failed"),
                    (AccessTask.PrivilegedActionWithdrawn, AccessOutcome.Allowed, "O0001", target, "wrong zone", null),
                    (AccessTask.PrivilegedActionApproved, AccessOutcome.Denied, "O0002", target, null, ApprovalErrorCodes.RequestNotPending),
                    (AccessTask.PrivilegedActionWithdrawn, AccessOutcome.Denied, "O0001", target, null, ApprovalErrorCodes.RequestNotPending),
                ],
                records.Select(e => (e.Task, e.Outcome, e.Account!, e.Target!, e.Reason, e.ErrorCode)).ToArray());
            Assert.True(AccessTask.PrivilegedActionWithdrawn.RecordsAccessRights()); // kept 3 years with the other access-rights records
        }
    }

    [Fact]
    public async Task The_requesting_operator_withdraws_on_the_command_line_and_another_cannot()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var (first, _) = await OfficersAsync(host);
        using (first)
        {
            var data = host.Directory.FullName;
            using var requested = await first.PostAsJsonAsync("/api/v1/approvals", new ApprovalRequestBody("disable-detector", "machine-timing", "noisy today"));
            var theirs = (await requested.Content.ReadFromJsonAsync<PrivilegedRequest>())!;
            Assert.Equal(2, await CustodianCli.RunAsync(["approvals", "withdraw", theirs.Id, "--reason", "not mine", "--data", data])); // O0001's request, not the operator's
            Assert.Equal(PrivilegedRequestStatus.Pending, (await host.Get<PrivilegedActionRequests>().GetAsync(theirs.Id))!.Status);

            Assert.Equal(0, await CustodianCli.RunAsync(["approvals", "request", "--action", "enroll-vdi-host", "--target", "VDI/vdi-5", "--reason", "by mistake", "--data", data]));
            var mine = Assert.Single(await host.Get<PrivilegedActionRequests>().ListAsync(PrivilegedRequestStatus.Pending), r => r.RequestedBy == AdminCommands.Operator);
            Assert.Equal(1, await CustodianCli.RunAsync(["approvals", "withdraw", mine.Id, "--data", data])); // --reason is required
            Assert.Equal(0, await CustodianCli.RunAsync(["approvals", "withdraw", mine.Id, "--reason", "filed by mistake", "--data", data]));
            Assert.Equal(PrivilegedRequestStatus.Withdrawn, (await host.Get<PrivilegedActionRequests>().GetAsync(mine.Id))!.Status);
            Assert.Equal(0, await CustodianCli.RunAsync(["approvals", "list", "--status", "withdrawn", "--data", data]));
        }
    }

    [Fact]
    public async Task Terminals_enroll_with_the_VDI_class_files_a_request_instead_of_issuing_a_code()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var data = host.Directory.FullName;

        Assert.Equal(1, await CustodianCli.RunAsync(["terminals", "enroll", "--store", "VDI", "--name", "vdi-9", "--class", "vdi-host", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["terminals", "enroll", "--store", "VDI", "--name", "vdi-9", "--class", "vdi-host", "--reason", "new desk", "--data", data]));

        Assert.Null(await host.Get<TerminalRegistry>().GetAsync("VDI-vdi-9"));
        var request = Assert.Single(await host.Get<PrivilegedActionRequests>().ListAsync(PrivilegedRequestStatus.Pending));
        Assert.Equal(("enroll-vdi-host", "VDI/vdi-9", AdminCommands.Operator), (request.Action, request.Target, request.RequestedBy));
    }

    [GeneratedRegex("[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")]
    private static partial Regex CodePattern();
}
