using Custodian.Cli;

namespace Custodian.Tests.Cli;

/// <summary>
/// A tryout typo: <c>alerts restore --clerk NOPE</c> answered "clerk NOPE is not suspended", as if the account existed.
/// An unknown account or terminal is now named as unknown (exit 2, nothing filed), as <c>staff unlock</c> and
/// <c>terminals revoke</c> do; a known one that is not suspended keeps its line.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class CliRestoreUnknownTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-restore-unknown-");

    private string Data => Path.Combine(_dir.FullName, "data");

    [Fact]
    public async Task Restoring_an_unknown_clerk_or_terminal_names_it_as_unknown()
    {
        Assert.Equal(0, (await CliCapture.RunAsync(["init", "--data", Data])).Code);
        Assert.Equal(0, (await CliCapture.RunAsync(["staff", "add", "--id", "C0001", "--role", "clerk", "--store", "S001", "--data", Data])).Code);

        var clerk = await CliCapture.RunAsync(["alerts", "restore", "--clerk", "C0404", "--reason", "typo", "--data", Data]);
        var terminal = await CliCapture.RunAsync(["alerts", "restore", "--terminal", "S001-nope", "--reason", "typo", "--data", Data]);
        var known = await CliCapture.RunAsync(["alerts", "restore", "--clerk", "C0001", "--reason", "not suspended", "--data", Data]);

        Assert.Equal((2, "", "error: no account 'C0404'; nothing changed.\n"), clerk);
        Assert.Equal((2, "", "error: no terminal 'S001-nope'; nothing changed.\n"), terminal);
        Assert.Equal((2, "", "error: clerk C0001 is not suspended; nothing changed.\n"), known);
        var pending = await CliCapture.RunAsync(["approvals", "list", "--status", "pending", "--data", Data]);
        Assert.DoesNotContain("restore-", pending.Stdout, StringComparison.Ordinal);

        // Each refusal is recorded as the API records it: one denied request entry, not-found, target the principal named.
        var denied = (await LedgerAsync()).Where(e => e.Task == Ledger.AccessTask.PrivilegedActionRequested).ToList();
        Assert.Equal(
            [
                ("action:restore-clerk;target:C0404", Ledger.AccessOutcome.Denied, "not-found"),
                ("action:restore-terminal;target:S001-nope", Ledger.AccessOutcome.Denied, "not-found"),
                ("action:restore-clerk;target:C0001", Ledger.AccessOutcome.Denied, "not-found"),
            ],
            denied.Select(e => (e.Target, e.Outcome, e.ErrorCode)));
        Assert.All(denied, e => Assert.Equal(((string?)AdminCommands.Operator, (Identity.StaffRole?)Identity.StaffRole.SecurityOfficer, (string?)null, (string?)null), (e.Account, e.Role, e.Terminal, e.Reason)));
    }

    [Fact]
    public async Task A_restore_request_the_workflow_refuses_is_recorded_with_its_code()
    {
        Assert.Equal(0, (await CliCapture.RunAsync(["init", "--data", Data])).Code);
        Assert.Equal(0, (await CliCapture.RunAsync(["staff", "add", "--id", "C0001", "--role", "clerk", "--store", "S001", "--data", Data])).Code);
        await using (var context = await CliContext.OpenAsync(Data))
        {
            Assert.True(await context.Get<Custodian.Monitoring.SuspensionRegistry>().SuspendAsync(Custodian.Monitoring.PrincipalKind.Clerk, "C0001", null, "a test suspension"));
        }

        // Personal data in the reason is an input error (exit 1, as 'approvals request'; docs/access.md §7), never echoed.
        var personal = await CliCapture.RunAsync(["alerts", "restore", "--clerk", "C0001", "--reason", "call 010-9406-2730", "--data", Data]);
        Assert.Equal(1, personal.Code);
        Assert.StartsWith("error: personal-data-in-text: ", personal.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("9406", personal.Stderr, StringComparison.Ordinal);

        Assert.Equal(0, (await CliCapture.RunAsync(["alerts", "restore", "--clerk", "C0001", "--reason", "reviewed: a store opening day", "--data", Data])).Code);
        var again = await CliCapture.RunAsync(["alerts", "restore", "--clerk", "C0001", "--reason", "reviewed again", "--data", Data]);

        Assert.Equal(2, again.Code);
        Assert.StartsWith("error: approval-already-pending: ", again.Stderr, StringComparison.Ordinal);
        var requests = (await LedgerAsync()).Where(e => e.Task == Ledger.AccessTask.PrivilegedActionRequested).ToList();
        Assert.Equal([Ledger.AccessOutcome.Denied, Ledger.AccessOutcome.Allowed, Ledger.AccessOutcome.Denied], requests.Select(e => e.Outcome));
        Assert.Equal(["personal-data-in-text", null, "approval-already-pending"], requests.Select(e => e.ErrorCode));
        Assert.Equal("action:restore-clerk;target:C0001", requests[2].Target);
    }

    private async Task<List<Ledger.AccessEntry>> LedgerAsync()
    {
        await using var context = await CliContext.OpenAsync(Data);
        var entries = new List<Ledger.AccessEntry>();
        await foreach (var committed in context.Get<Ledger.IAccessLedgerReader>().ReadAsync(0))
        {
            entries.Add(committed.Entry);
        }

        return entries;
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
