using System.CommandLine;
using Custodian.Access.Approvals;
using Custodian.Approvals;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// <c>approvals list | request | approve | reject | withdraw</c>: the four-eyes workflow on the data directory (docs/access.md §7).
/// The officer is the local operator (<c>local-&lt;OS user&gt;</c>): two officers use two OS accounts on the server host,
/// or the terminal API (<c>/api/v1/approvals</c>) with their own device certificate, password and TOTP.
/// A request or decision the workflow refuses is recorded as the API and console record it (<see cref="ApprovalRefusals"/>:
/// one denied entry of the step's own task with the error code, no terminal).
/// </summary>
internal static class ApprovalCommands
{
    public static Command Approvals()
    {
        var status = new Option<string?>("--status") { Description = "Only requests in this state: pending, approved, rejected, failed, withdrawn." };
        status.AcceptOnlyFromAmong("pending", "approved", "rejected", "failed", "withdrawn");
        var list = new Command("list", "List privileged-action requests, newest first.") { status };
        list.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            PrivilegedRequestStatus? filter = parse.GetValue(status) switch
            {
                "pending" => PrivilegedRequestStatus.Pending,
                "approved" => PrivilegedRequestStatus.Approved,
                "rejected" => PrivilegedRequestStatus.Rejected,
                "failed" => PrivilegedRequestStatus.Failed,
                "withdrawn" => PrivilegedRequestStatus.Withdrawn,
                _ => null,
            };
            var table = new Table().AddColumns("request", "action", "target", "requested by", "requested (UTC)", "status", "decided by");
            foreach (var r in await context.Get<PrivilegedActionRequests>().ListAsync(filter, ct))
            {
                table.AddRow(r.Id, Markup.Escape(r.Action), Markup.Escape(r.Target), Markup.Escape(r.RequestedBy), r.RequestedAt.ToString("yyyy-MM-dd HH:mm:ss"), r.Status.ToString().ToLowerInvariant(), Markup.Escape(r.DecidedBy ?? "-"));
            }

            AnsiConsole.Write(table);
            return 0;
        }));

        var action = new Option<string>("--action") { Description = "enroll-vdi-host, restore-clerk, restore-terminal, disable-detector, enable-detector, raise-quota or export-data-set.", Required = true };
        var target = new Option<string>("--target") { Description = "What it applies to: <zone>/<name> (enroll-vdi-host), an account or terminal (restore-*), a detector name (*-detector), clerk|terminal:<code>:x<2-10>:<1-24>h (raise-quota), incident:<case> (export-data-set).", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the ledger).", Required = true };
        var request = new Command("request", "Request a privileged action; a different officer must approve it.") { action, target, reason };
        request.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var requests = context.Get<PrivilegedActionRequests>();
            var result = await requests.RequestAsync(parse.GetValue(action)!, parse.GetValue(target)!, parse.GetValue(reason)!, AdminCommands.Operator, cancellationToken: ct);
            if (!result.IsSuccess)
            {
                await ApprovalRefusals.RequestRefusedAsync(context.Services, IncidentCommands.Officer(), requests, parse.GetValue(action), parse.GetValue(target), result.Error!, ct);
                // A bad argument (an unknown --action, a malformed --target, a bad --reason) exits 1; a target refused in the
                // current state (say, not suspended) or a request already pending exits 2 (README, exit codes).
                throw PrivilegedActionRefusals.IsInputRefusal(result.Error!) ? CliException.Usage(result.Error!.Message) : new CliException(result.Error!.Message);
            }

            Console.WriteLine($"Requested {result.Value.Action} on {result.Value.Target}: request {result.Value.Id}, pending until {result.Value.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}. Another officer approves it with 'custodian approvals approve {result.Value.Id} --reason ...'.");
            return 0;
        }));

        var approve = Decide("approve", "Approve (as a different officer) and carry out a privileged action; prints its result once.", approveIt: true);
        var reject = Decide("reject", "Reject (as a different officer) a privileged action.", approveIt: false);
        var withdraw = Withdraw();
        var inForce = new Command("in-force", "What approved actions currently change: detectors switched off and raised quotas.");
        inForce.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var off = context.Get<Approvals.DetectorSwitches>().Disabled;
            Console.WriteLine(off.Count == 0 ? "Every detector is on." : "Detectors switched off: " + string.Join(", ", off));
            var raises = context.Get<Approvals.QuotaRaises>().Active;
            Console.WriteLine(raises.Count == 0 ? "No quota raises." : "Quota raises: " + string.Join(", ", raises.Select(r => $"{r.Principal} x{r.Factor} until {r.Until:yyyy-MM-ddTHH:mm:ssZ}")));
            return 0;
        }));
        return new Command("approvals", "Four eyes for privileged actions: list, request, approve, reject, withdraw, in-force.") { list, request, approve, reject, withdraw, inForce };
    }

    /// <summary><c>terminals enroll --class vdi-host</c>: files an <c>enroll-vdi-host</c> request instead of issuing a code.</summary>
    internal static async Task<int> RequestVdiEnrollmentAsync(ParseResult parse, string zone, string name, string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw CliException.Usage("--reason is required with --class vdi-host (a second officer reads it).");
        }

        await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
        var requests = context.Get<PrivilegedActionRequests>();
        var result = await requests.RequestAsync("enroll-vdi-host", zone + "/" + name, reason, AdminCommands.Operator);
        if (!result.IsSuccess)
        {
            await ApprovalRefusals.RequestRefusedAsync(context.Services, IncidentCommands.Officer(), requests, "enroll-vdi-host", zone + "/" + name, result.Error!, CancellationToken.None);
            throw PrivilegedActionRefusals.IsInputRefusal(result.Error!) ? CliException.Usage(result.Error!.Message) : new CliException(result.Error!.Message);
        }

        Console.WriteLine($"Enrolling a VDI host needs a second officer: request {result.Value.Id} filed. Another officer runs 'custodian approvals approve {result.Value.Id} --reason ...' and receives the one-time code.");
        return 0;
    }

    // The requester takes back their own pending request (the same local operator that filed it).
    private static Command Withdraw()
    {
        var id = new Argument<string>("request") { Description = "Request ID (16 hex digits) from 'approvals list'; one you requested." };
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the ledger).", Required = true };
        var command = new Command("withdraw", "Withdraw a privileged-action request you filed, before another officer decides it.") { id, reason };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var requests = context.Get<PrivilegedActionRequests>();
            var result = await requests.WithdrawAsync(parse.GetValue(id)!, AdminCommands.Operator, parse.GetValue(reason)!, cancellationToken: ct);
            if (!result.IsSuccess)
            {
                await ApprovalRefusals.WithdrawalRefusedAsync(context.Services, IncidentCommands.Officer(), requests, parse.GetValue(id)!, result.Error!, ct);
                throw new CliException($"{result.Error!.Code}: {result.Error.Message}");
            }

            Console.WriteLine(result.Value);
            return 0;
        }));
        return command;
    }

    private static Command Decide(string name, string description, bool approveIt)
    {
        var id = new Argument<string>("request") { Description = "Request ID (16 hex digits) from 'approvals list'." };
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the ledger).", Required = true };
        var command = new Command(name, description) { id, reason };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var requests = context.Get<PrivilegedActionRequests>();
            var result = approveIt
                ? await requests.ApproveAsync(parse.GetValue(id)!, AdminCommands.Operator, parse.GetValue(reason)!, cancellationToken: ct)
                : await requests.RejectAsync(parse.GetValue(id)!, AdminCommands.Operator, parse.GetValue(reason)!, cancellationToken: ct);
            if (!result.IsSuccess)
            {
                await ApprovalRefusals.DecisionRefusedAsync(context.Services, IncidentCommands.Officer(), requests, parse.GetValue(id)!, approveIt, result.Error!, ct);
                throw new CliException($"{result.Error!.Code}: {result.Error.Message}");
            }

            Console.WriteLine(result.Value);
            return 0;
        }));
        return command;
    }
}
