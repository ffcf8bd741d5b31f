using System.CommandLine;
using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Protection.Households;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;

namespace Custodian.Cli;

/// <summary><c>staff link-subscription</c>: a clerk's own subscription, for the snooping signal (docs/households.md, "Household and family-plan indexes").</summary>
internal static class HouseholdCommands
{
    public static Command LinkSubscription()
    {
        var account = new Argument<string>("account") { Description = "Staff account ID, e.g. C0001." };
        var phone = new Option<string>("--phone")
        {
            Description = "The clerk's own mobile number (any common form); found through the blind index, never stored or printed.",
            Required = true,
        };
        var command = new Command(
            "link-subscription",
            "Record a staff account's own subscription: its household and family-plan indexes mark reads of the clerk's household (ledger signal 'household').")
        {
            account, phone,
        };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            // Bad arguments (exit 1) are refused before the data directory is opened; the number is never echoed.
            var target = AdminCommands.RequireCode(parse.GetValue(account), "account");
            var normalized = PhoneNumbers.NormalizeKorean(parse.GetValue(phone) ?? string.Empty);
            if (!normalized.IsSuccess)
            {
                throw CliException.Usage("--phone must be a Korean phone number, e.g. 010-1234-5678.");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            if (await context.Get<StaffDirectory>().GetAsync(target) is null)
            {
                throw new CliException($"no account '{target}'.");
            }

            var ids = await context.Get<SubscriberVault>().FindByPhoneAsync(normalized.Value, ct);
            if (ids.Count != 1 || await context.Get<StaffHouseholds>().LinkAsync(target, ids[0], ct) != HouseholdLinkOutcome.Linked)
            {
                throw new CliException("no subscriber has that number; nothing changed.");
            }

            // Who changed what about an account is kept (PIPA: records of access rights); the subscriber is not named.
            await context.Get<IAccessLedger>().AppendAsync(new AccessEntry
            {
                Time = context.Get<TimeProvider>().GetUtcNow(),
                Task = AccessTask.StaffChanged,
                Outcome = AccessOutcome.Allowed,
                Account = AdminCommands.Operator,
                Role = StaffRole.SecurityOfficer,
                Target = target,
                Reason = "own subscription linked",
            }, ct);
            Console.WriteLine($"Linked {target} to its own subscription: reads of its household and family plan are marked in the ledger.");
            return CliExitCodes.Ok;
        }));
        return command;
    }
}
