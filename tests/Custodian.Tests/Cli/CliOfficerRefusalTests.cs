using System.Text.RegularExpressions;
using Custodian.Access.Approvals;
using Custodian.Cli;
using Custodian.Identity;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Problems;

namespace Custodian.Tests.Cli;

/// <summary>
/// A refused officer action on the CLI — an incident action, a four-eyes request or decision — appends the same denied
/// entry the terminal API and console append (docs/access.md): the action's own task, the error code, the local operator's
/// account and role with no terminal, and a target only when the case or request exists (never the text typed). An
/// argument refused before any service is asked records nothing.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed partial class CliOfficerRefusalTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-refusals-");

    private string Data => Path.Combine(_dir.FullName, "data");

    [Fact]
    public async Task Refused_incident_actions_append_one_denied_entry_of_their_own_task_with_the_code_and_an_existing_case_only()
    {
        Assert.Equal(0, (await CliCapture.RunAsync(["init", "--data", Data])).Code);
        var declared = await CliCapture.RunAsync(["incident", "declare", "--title", "lost tablet", "--store", "S001", "--data", Data]);
        Assert.Equal(0, declared.Code);
        var id = IncidentId().Match(declared.Stdout).Value;
        var before = await DeniedAsync();

        // Refused before any service is asked: option syntax, an unknown --clerk, a missing --note.
        Assert.Equal(1, (await CliCapture.RunAsync(["incident", "declare", "--title", "t", "--clerk", "NOPE", "--data", Data])).Code);
        Assert.Equal(1, (await CliCapture.RunAsync(["incident", "close", id, "--data", Data])).Code);
        Assert.Equal(1, (await CliCapture.RunAsync(["incident", "scope", id, "--from", "yesterday", "--data", Data])).Code);
        Assert.Equal(before, await DeniedAsync());

        var unknownAlert = await CliCapture.RunAsync(["incident", "declare", "--title", "secret title", "--store", "S001", "--alert", "no-such-alert", "--data", Data]);
        var unknownCase = await CliCapture.RunAsync(["incident", "close", "INC-20260101-ZZZZZZ", "--note", "typed note", "--data", Data]);
        var noWindow = await CliCapture.RunAsync(["incident", "scope", id, "--data", Data]);
        var notScopedNotify = await CliCapture.RunAsync(["incident", "notify", id, "--how", "a", "--measures", "b", "--contact", "c", "--data", Data]);
        var notScopedExport = await CliCapture.RunAsync(["incident", "export", id, "--out", Path.Combine(_dir.FullName, "set.csv"), "--reason", "typed reason", "--approval", "0123456789abcdef", "--data", Data]);
        var blankNote = await CliCapture.RunAsync(["incident", "close", id, "--note", " ", "--data", Data]);

        // Exit codes and messages are those of before: a 400 is a bad argument (1), a refusal in the case's state 2.
        Assert.Equal([1, 2, 1, 2, 2, 1], new[] { unknownAlert.Code, unknownCase.Code, noWindow.Code, notScopedNotify.Code, notScopedExport.Code, blankNote.Code });
        Assert.Equal("error: the incident has not been scoped: run 'custodian incident scope' first.\n", notScopedExport.Stderr);
        var target = "incident:" + id;
        Assert.Equal(
            new (AccessTask, string?, string?)[]
            {
                (AccessTask.IncidentDeclared, IncidentErrors.AlertUnknown, null),
                (AccessTask.IncidentClosed, IncidentErrors.NotFound, null),
                (AccessTask.IncidentScoped, IncidentErrors.ScopeIncomplete, target),
                (AccessTask.IncidentNotified, IncidentErrors.StateConflict, target),
                (AccessTask.IncidentExport, IncidentErrors.StateConflict, target),
                (AccessTask.IncidentClosed, IncidentErrors.ReasonRequired, target),
            },
            (await DeniedAsync()).Skip(before.Count).Select(e => (e.Task, e.ErrorCode, e.Target)));
        AssertLocalOperator((await DeniedAsync()).Skip(before.Count));
    }

    [Fact]
    public async Task Refused_approval_requests_and_decisions_append_one_denied_entry_with_the_code_and_an_existing_request_only()
    {
        Assert.Equal(0, (await CliCapture.RunAsync(["init", "--data", Data])).Code);
        Assert.Equal(1, (await CliCapture.RunAsync(["approvals", "approve", "--data", Data])).Code); // no request ID: syntax, not recorded
        Assert.Empty(await DeniedAsync());

        var unknownAction = await CliCapture.RunAsync(["approvals", "request", "--action", "frobnicate", "--target", "typed-target", "--reason", "r", "--data", Data]);
        var unknownRequest = await CliCapture.RunAsync(["approvals", "approve", "0123456789abcdef", "--reason", "typed reason", "--data", Data]);
        var filed = await CliCapture.RunAsync(["approvals", "request", "--action", "disable-detector", "--target", "machine-timing", "--reason", "noisy", "--data", Data]);
        Assert.Equal((0, ""), (filed.Code, filed.Stderr));
        string request;
        await using (var context = await CliContext.OpenAsync(Data))
        {
            request = Assert.Single(await context.Get<PrivilegedActionRequests>().ListAsync(PrivilegedRequestStatus.Pending)).Id;
        }

        var again = await CliCapture.RunAsync(["approvals", "request", "--action", "disable-detector", "--target", "machine-timing", "--reason", "again", "--data", Data]);
        var selfApprove = await CliCapture.RunAsync(["approvals", "approve", request, "--reason", "me", "--data", Data]);
        var selfReject = await CliCapture.RunAsync(["approvals", "reject", request, "--reason", "me", "--data", Data]);

        Assert.Equal([1, 2, 2, 2, 2], new[] { unknownAction.Code, unknownRequest.Code, again.Code, selfApprove.Code, selfReject.Code });
        var pending = $"request:{request};action:disable-detector;target:machine-timing";
        var denied = await DeniedAsync();
        Assert.Equal(
            new (AccessTask, string?, string?)[]
            {
                (AccessTask.PrivilegedActionRequested, ApprovalErrorCodes.UnknownAction, null),
                (AccessTask.PrivilegedActionApproved, ApprovalErrorCodes.RequestNotPending, null),
                (AccessTask.PrivilegedActionRequested, ApprovalErrorCodes.AlreadyPending, pending),
                (AccessTask.PrivilegedActionApproved, ApprovalErrorCodes.SameOfficer, pending),
                (AccessTask.PrivilegedActionRejected, ApprovalErrorCodes.SameOfficer, pending),
            },
            denied.Select(e => (e.Task, e.ErrorCode, e.Target)));
        AssertLocalOperator(denied);
    }

    [Fact]
    public async Task A_malformed_approval_target_exits_1_like_an_unknown_action_and_a_target_refused_in_its_state_exits_2()
    {
        Assert.Equal(0, (await CliCapture.RunAsync(["init", "--data", Data])).Code);

        var malformed = new[]
        {
            ("raise-quota", "clerk:C9001:x99:8h", "target: must be <clerk|terminal>:<code>:x<2-10>:<1-24>h, e.g. clerk:C0042:x2:8h"),
            ("enroll-vdi-host", "VDI", "target: must be <zone>/<name>, both codes, e.g. VDI/vdi-7"),
            ("restore-clerk", "no such!", "target: must be an account or terminal code"),
            ("export-data-set", "INC-1", "target: must be incident:<case ID>, e.g. incident:INC-20261130-ABC123"),
            ("disable-detector", "distinct-subjects", "target: the hard distinct-subscriber limits cannot be switched off"),
        };
        foreach (var (action, target, message) in malformed)
        {
            var refused = await CliCapture.RunAsync(["approvals", "request", "--action", action, "--target", target, "--reason", "r", "--data", Data]);
            Assert.Equal((1, string.Empty, "error: " + message + "\n"), (refused.Code, refused.Stdout, refused.Stderr));
        }

        // Well formed, refused in the current state: exit 2, as before.
        var notSuspended = await CliCapture.RunAsync(["approvals", "request", "--action", "restore-clerk", "--target", "C0009", "--reason", "r", "--data", Data]);
        var inactive = await CliCapture.RunAsync(["approvals", "request", "--action", "raise-quota", "--target", "clerk:C9001:x2:8h", "--reason", "r", "--data", Data]);
        Assert.Equal(
            [(2, "error: target: is not suspended\n"), (2, "error: target: must name an active clerk or store manager account\n")],
            new[] { (notSuspended.Code, notSuspended.Stderr), (inactive.Code, inactive.Stderr) });
        Assert.Equal(Enumerable.Repeat(ErrorCodes.ValidationFailed, malformed.Length + 2), (await DeniedAsync()).Select(e => e.ErrorCode));
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static void AssertLocalOperator(IEnumerable<AccessEntry> entries)
    {
        foreach (var e in entries)
        {
            Assert.Equal((AccessOutcome.Denied, AdminCommands.Operator, StaffRole.SecurityOfficer, null, null, null, null), (e.Outcome, e.Account, e.Role, e.Terminal, e.Store, e.SourceIp, e.Reason));
        }
    }

    private async Task<List<AccessEntry>> DeniedAsync()
    {
        await using var context = await CliContext.OpenAsync(Data);
        var denied = new List<AccessEntry>();
        await foreach (var committed in context.Get<IAccessLedgerReader>().ReadAsync(0))
        {
            if (committed.Entry.Outcome == AccessOutcome.Denied)
            {
                denied.Add(committed.Entry);
            }
        }

        return denied;
    }

    [GeneratedRegex("INC-[0-9]{8}-[A-Z0-9]{6}")]
    private static partial Regex IncidentId();
}
