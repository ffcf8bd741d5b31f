using System.CommandLine;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Messaging;
using Custodian.Monitoring;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>Administrative verbs acting on the data directory: terminals, staff, alerts, ledger, outbox.</summary>
internal static class AdminCommands
{
    /// <summary>The operator recorded for admin verbs: <c>local-&lt;OS user&gt;</c> (the data directory's owner on the server host).</summary>
    internal static string Operator => "local-" + new string(Environment.UserName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').Take(50).ToArray());

    public static Command Terminals()
    {
        var store = new Option<string>("--store") { Description = "Store code, e.g. S001.", Required = true };
        var name = new Option<string>("--name") { Description = "Terminal name within the store, e.g. counter-1.", Required = true };
        var server = new Option<string?>("--server") { Description = "Terminal API URL to show in the printed init command. Default: the URL the server on this data directory last listened on, else https://<Custodian__ListenAddress>:<Custodian__TerminalPort> (127.0.0.1:7443)." };
        var trustClass = new Option<string>("--class") { Description = "store-terminal, or vdi-host (needs a second officer: files a four-eyes request, docs/access.md §7).", DefaultValueFactory = _ => "store-terminal" };
        trustClass.AcceptOnlyFromAmong("store-terminal", "vdi-host");
        var enrollReason = new Option<string?>("--reason") { Description = "Why (required with --class vdi-host; recorded in the ledger)." };
        var enroll = new Command("enroll", "Issue a one-time enrollment code for a new terminal (valid 24 hours). For a terminal whose earlier code is unused, the new code replaces it: the earlier code stops working at once, and the output says so.") { store, name, server, trustClass, enrollReason };
        enroll.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            var storeCode = RequireStoreOrName(parse.GetValue(store), "store");
            var terminalName = RequireStoreOrName(parse.GetValue(name), "name");
            if (parse.GetValue(server) is { } given)
            {
                CliArguments.HttpsUrl(given, "--server");
            }

            if (parse.GetValue(trustClass) == "vdi-host")
            {
                return await ApprovalCommands.RequestVdiEnrollmentAsync(parse, storeCode, terminalName, parse.GetValue(enrollReason));
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            EnrollmentCode code;
            try
            {
                code = await context.Get<TerminalRegistry>().IssueEnrollmentCodeAsync(storeCode, terminalName, null);
            }
            catch (Problems.CustodianException ex) when (ex.Error.Errors is { } fields && fields.TryGetValue("store", out var rules) && rules.Length > 0)
            {
                throw CliException.Usage($"--store {rules[0]}."); // a store spelt unlike the one in use is a bad argument
            }

            var ca = context.Get<Access.Certificates.CertificateAuthority>();
            await Record(context, AccessTask.EnrollmentIssued, code.TerminalId, code.VoidedCodeExpiresAt is null ? "enrollment code issued" : "enrollment code issued; the earlier unused code is void");
            Console.WriteLine($"Terminal {code.TerminalId} of store {storeCode}: one-time code {code.Code} (expires {code.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ})");
            if (code.VoidedCodeExpiresAt is { } voided)
            {
                Console.WriteLine($"The earlier code for {code.TerminalId} (it would have expired {voided:yyyy-MM-ddTHH:mm:ssZ}) is now void: only the code above enrolls the terminal.");
            }

            Console.WriteLine("On the terminal run:");
            Console.WriteLine($"  custodian terminal init --server {parse.GetValue(server) ?? ConfiguredTerminalUrl(parse.GetValue(CustodianCli.DataOption)!)} --code {code.Code} --ca-sha256 {ca.ServerIssuerSha256Fingerprint} --out ./terminal");
            return 0;
        }));

        var list = new Command("list", "List terminals and their state.");
        list.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var table = new Table().AddColumns("terminal", "store", "status", "certificate expires");
            foreach (var t in await context.Get<TerminalRegistry>().ListAsync())
            {
                table.AddRow(Markup.Escape(t.TerminalId), Markup.Escape(t.Store), t.Status.ToString().ToLowerInvariant(), t.CertificateNotAfter?.ToString("yyyy-MM-dd HH:mm") ?? "-");
            }

            AnsiConsole.Write(table);
            return 0;
        }));

        var id = new Argument<string>("terminal") { Description = "Terminal ID, e.g. S001-counter-1." };
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the ledger).", DefaultValueFactory = _ => "revoked by officer" };
        var revoke = new Command("revoke", "Revoke a terminal's device certificate; effective on its next request.") { id, reason };
        revoke.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            var terminal = RequireCode(parse.GetValue(id), "terminal");
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var registry = context.Get<TerminalRegistry>();
            if (!await registry.RevokeAsync(terminal, parse.GetValue(reason)!))
            {
                // Idempotent like 'staff disable': revoking a revoked terminal changes nothing, records nothing and succeeds (exit 0).
                if (await registry.GetAsync(terminal) is { Status: TerminalState.Revoked })
                {
                    Console.WriteLine($"{terminal} is already revoked; nothing changed.");
                    return 0;
                }

                throw new CliException($"no active terminal '{terminal}'.");
            }

            await Record(context, AccessTask.Revoked, terminal, parse.GetValue(reason));
            AnsiConsole.MarkupLine($"Revoked [bold]{Markup.Escape(terminal)}[/].");
            return 0;
        }));
        return new Command("terminals", "Enroll, list and revoke store terminals.") { enroll, list, revoke };
    }

    public static Command Staff()
    {
        var id = new Option<string>("--id") { Description = "Account ID (one account per person), e.g. C0001.", Required = true };
        var role = new Option<string>("--role") { Description = "clerk, store-manager, security-officer or privacy-officer.", DefaultValueFactory = _ => "clerk" };
        role.AcceptOnlyFromAmong("clerk", "store-manager", "security-officer", "privacy-officer");
        var store = new Option<string?>("--store") { Description = "Store code (required for clerks and store managers)." };
        var add = new Command("add", "Create a staff account; prints its one-time password and TOTP secret once.") { id, role, store };
        add.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            if (!StaffRoles.TryParse(parse.GetValue(role), out var staffRole))
            {
                throw CliException.Usage("--role must be clerk, store-manager, security-officer or privacy-officer.");
            }

            var storeCode = parse.GetValue(store);
            if (storeCode is not null)
            {
                RequireStoreOrName(storeCode, "store");
            }
            else if (staffRole.IsStoreStaff())
            {
                throw CliException.Usage("--store is required for clerks and store managers.");
            }

            var accountId = RequireCode(parse.GetValue(id), "--id");
            if (StaffAccountRules.CheckNewAccount(accountId, staffRole, storeCode) is { } invalid)
            {
                throw CliException.Usage($"--{invalid.Field} {invalid.Rule}.");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var created = await context.Get<StaffDirectory>().CreateAsync(accountId, staffRole, storeCode);
            if (!created.IsSuccess)
            {
                // A store spelt unlike the one in use is a bad argument (1); an existing account is the state (2).
                throw created.Error!.Errors is { Count: > 0 } fields && fields.First() is var (field, rules) && rules.Length > 0
                    ? CliException.Usage($"--{field} {rules[0]}.")
                    : new CliException(created.Error.Message);
            }

            await Record(context, AccessTask.StaffCreated, created.Value.Id, $"role {staffRole.ToName()}" + (storeCode is null ? string.Empty : $", store {storeCode}"));
            Console.WriteLine($"Created {created.Value.Id} ({staffRole.ToName()}). Shown once:");
            Console.WriteLine($"  one-time password: {created.Value.OneTimePassword} (must be changed at first sign-in)");
            Console.WriteLine($"  TOTP secret:       {created.Value.TotpSecretBase32}");
            Console.WriteLine($"  TOTP URI:          {created.Value.OtpAuthUri}");
            return 0;
        }));

        var list = new Command("list", "List staff accounts.");
        list.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var table = new Table().AddColumns("account", "role", "store", "status", "locked until");
            foreach (var a in await context.Get<StaffDirectory>().ListAsync())
            {
                table.AddRow(Markup.Escape(a.Id), a.Role.ToName(), Markup.Escape(a.Store ?? "-"), a.Status.ToString().ToLowerInvariant(), a.LockedUntil?.ToString("yyyy-MM-dd HH:mm") ?? "-");
            }

            AnsiConsole.Write(table);
            return 0;
        }));

        var account = new Argument<string>("account") { Description = "Account ID." };
        var unlock = new Command("unlock", "Unlock an account locked after failed sign-ins (an account that is not locked, or disabled, is left as it is).") { account };
        unlock.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var target = RequireCode(parse.GetValue(account), "account");
            var directory = context.Get<StaffDirectory>();
            var existing = await directory.GetAsync(target) ?? throw new CliException($"no account '{target}'.");
            if (existing.Status == StaffAccountStatus.Disabled)
            {
                // Refused in the current state (exit 2): unlocking cannot make a disabled account usable, and its lockout
                // (if any) is left as it is, unrecorded; it runs out by itself or is unlocked once the account is enabled.
                throw new CliException($"{target} is disabled and stays disabled: unlock does not enable an account; nothing changed.");
            }

            if (existing.LockedUntil is not { } lockedUntil || lockedUntil <= context.Get<TimeProvider>().GetUtcNow())
            {
                // Idempotent like 'staff disable': an account that is not locked changes nothing, records nothing and succeeds (exit 0).
                Console.WriteLine($"{target} is not locked; nothing changed.");
                return 0;
            }

            if (!await directory.UnlockAsync(target))
            {
                throw new CliException($"no account '{target}'.");
            }

            await Record(context, AccessTask.StaffChanged, target, "unlocked");
            Console.WriteLine($"Unlocked {target}.");
            return 0;
        }));

        var disable = new Command("disable", "Disable an account (a leaver); its sessions end, also if it is enabled again. The last active security officer is not disabled.") { account };
        disable.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var target = RequireCode(parse.GetValue(account), "account");
            var directory = context.Get<StaffDirectory>();
            var disabled = await directory.DisableKeepingAnOfficerAsync(target);
            if (!disabled.IsSuccess)
            {
                // Refused in the current state (exit 2): no one could use the console or approve four-eyes actions.
                throw new CliException($"{target} is the only active security officer: disabling it would leave no one to use the console or approve four-eyes actions; add or enable another security officer first. Nothing changed.");
            }

            if (!disabled.Value)
            {
                // Idempotent: disabling a disabled account changes nothing, records nothing and succeeds (exit 0).
                if (await directory.GetAsync(target) is { Status: StaffAccountStatus.Disabled })
                {
                    Console.WriteLine($"{target} is already disabled; nothing changed.");
                    return 0;
                }

                throw new CliException($"no account '{target}'.");
            }

            await Record(context, AccessTask.StaffDisabled, target, "disabled");
            AnsiConsole.MarkupLine($"Disabled {Markup.Escape(target)}.");
            return 0;
        }));
        return new Command("staff", "Manage staff accounts.") { add, list, unlock, disable, StaffLifecycleCommands.Import(), StaffLifecycleCommands.DisableDormant(), HouseholdCommands.LinkSubscription() };
    }

    public static Command Alerts()
    {
        var state = new Option<string?>("--state") { Description = "Only alerts in this state (open, acknowledged, false-positive, confirmed, restored)." };
        var list = new Command("list", "List monitor alerts and active suspensions.") { state };
        list.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            AlertState? filter = null;
            if (parse.GetValue(state) is { } s)
            {
                filter = AlertStates.TryParse(s, out var parsed) ? parsed : throw CliException.Usage("--state must be one of open, acknowledged, false-positive, confirmed, restored.");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var table = new Table().AddColumns("alert", "raised (UTC)", "detector", "severity", "principal", "store", "window", "observed/limit", "state");
            foreach (var a in await context.Get<AlertStore>().ListAsync(filter, 200, ct))
            {
                table.AddRow(
                    Markup.Escape(a.Id),
                    a.RaisedAt.ToString("yyyy-MM-dd HH:mm:ss"),
                    Markup.Escape(a.Detector),
                    a.Severity.ToName(),
                    Markup.Escape(a.Principal.ToString()),
                    Markup.Escape(a.Store ?? "-"),
                    $"{a.Window.TotalMinutes:0} min",
                    a.Limit == 0 ? $"{a.Observed} (none allowed)" : $"{a.Observed}/{a.Limit}", // a rule whose limit is 0 flags every one: not a ratio "1/0"
                    a.State.ToName());
            }

            AnsiConsole.Write(table);
            var active = await context.Get<SuspensionRegistry>().ListActiveAsync(ct);
            AnsiConsole.MarkupLine(active.Count == 0 ? "No active suspensions." : "Suspended: " + Markup.Escape(string.Join(", ", active.Select(x => x.Principal.ToString()))));
            return 0;
        }));

        var clerk = new Option<string?>("--clerk") { Description = "Restore this clerk account." };
        var terminal = new Option<string?>("--terminal") { Description = "Restore this terminal." };
        var reason = new Option<string>("--reason") { Description = "Why the activity was legitimate (recorded in the ledger).", Required = true };
        var restore = new Command("restore", "Request that a suspension be lifted after review; a different officer approves it ('approvals approve').") { clerk, terminal, reason };
        restore.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var c = parse.GetValue(clerk);
            var t = parse.GetValue(terminal);
            if ((c is null) == (t is null))
            {
                throw CliException.Usage("give exactly one of --clerk or --terminal.");
            }

            var (kind, id) = c is not null ? (PrincipalKind.Clerk, RequireCode(c, "--clerk")) : (PrincipalKind.Terminal, RequireCode(t, "--terminal"));
            var why = parse.GetValue(reason);
            if (string.IsNullOrWhiteSpace(why) || why.Length > 500)
            {
                // A malformed argument (exit 1), checked before the data directory is opened.
                throw CliException.Usage("--reason must be 1-500 characters saying why the activity was legitimate.");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            // The API's and the console's checked path (RestoreAction.RequestCheckedAsync): one copy of the checks, their
            // order and their texts. Only the argument syntax above is the CLI's own (exit 1, before the data directory is opened).
            var result = await Approvals.RestoreAction.RequestCheckedAsync(
                context.Get<Access.Approvals.PrivilegedActionRequests>(), context.Get<SuspensionRegistry>(), kind.ToName(), id, why, LocalOfficer, ct);
            if (!result.IsSuccess)
            {
                // Recorded as the API records it, with the CLI's actor; then said in the CLI's words (exit 2, nothing filed).
                await Monitoring.AlertActionRefusals.RestoreRefusedAsync(
                    context.Services, IncidentCommands.Officer(), Approvals.RestoreAction.Named(kind.ToName(), id), result.Error!, ct);
                if (result.Error!.Code == Problems.ErrorCodes.NotFound)
                {
                    // A mistyped ID is named as unknown, as 'staff unlock' and 'terminals revoke' do, not as "not suspended",
                    // which reads as if the account or terminal existed.
                    var known = kind == PrincipalKind.Clerk
                        ? await context.Get<StaffDirectory>().GetAsync(id) is not null
                        : await context.Get<TerminalRegistry>().GetAsync(id) is not null;
                    throw new CliException(!known
                        ? $"no {(kind == PrincipalKind.Clerk ? "account" : "terminal")} '{id}'; nothing changed."
                        : $"{kind.ToName()} {id} is not suspended; nothing changed.");
                }

                // A bad --reason (personal data or bidi controls in it) is an input error, exit 1, as for 'approvals request'
                // (docs/access.md §7); a state refusal (a request already pending) exits 2.
                var line = $"{result.Error.Code}: {result.Error.Message}";
                throw Access.Approvals.PrivilegedActionRefusals.IsInputRefusal(result.Error) ? CliException.Usage(line) : new CliException(line);
            }

            Console.WriteLine($"Restoring {kind.ToName()} {id} needs a second officer: request {result.Value.Id} filed, pending until {result.Value.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}. Another officer runs 'custodian approvals approve {result.Value.Id} --reason ...'.");
            return 0;
        }));
        return new Command("alerts", "Monitor alerts and suspensions.") { list, restore };
    }

    public static Command LedgerCommand()
    {
        var verify = new Command("verify", "Recompute every leaf hash and tree root of the access ledger; name the first bad entry. With the JetStream event log, also compare the tables with the stream entry by entry.");
        var tablesOnly = new Option<bool>("--tables-only") { Description = "With the JetStream event log: check the tables only, without comparing them with the stream (docs/events.md)." };
        verify.Options.Add(tablesOnly);
        var against = LedgerCheckpointCommands.AddAgainstOptions(verify);
        verify.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            if (against.IsRequested(parse))
            {
                return await LedgerCheckpointCommands.VerifyAgainstAsync(parse, against, ct);
            }

            // The JetStream event log is not started: no projector writes the tables while they are verified and compared.
            await using var context = await OpenOrUnverifiable(CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!, startEventLog: false));
            if (context is null)
            {
                return CliExitCodes.VerificationFailed;
            }

            var verifier = new LedgerVerifier(context.Get<Storage.CustodianDatabase>());
            VerificationResult? result = null;
            try
            {
                var size = await context.Get<IAccessLedgerReader>().GetSizeAsync(ct);
                await AnsiConsole.Progress().StartAsync(async progress =>
                {
                    var task = progress.AddTask("Verifying ledger", maxValue: Math.Max(1, size));
                    result = await verifier.VerifyAsync(new Progress<long>(n => task.Value = n), ct);
                    task.Value = task.MaxValue;
                });
            }
            catch (Exception ex) when (Storage.StorageUnavailableException.IsDamagedSqlite(ex))
            {
                return Unverifiable(ex);
            }

            if (!result!.IsValid)
            {
                Console.Error.WriteLine($"LEDGER INVALID: first bad entry at sequence {result.FirstBadSequence} ({result.Reason})");
                return 3;
            }

            AnsiConsole.MarkupLine($"Ledger OK: {CliText.Count(result.TreeSize, "entry", "entries")}, root {Convert.ToHexString(result.Root.Span).ToLowerInvariant()}");
            if (parse.GetValue(tablesOnly) || context.Get<Events.EventsSettings>() is not { IsJetStream: true } events)
            {
                return 0;
            }

            return CompareWithStream(await context.Get<Events.JetStreamAccessLedger>().CompareWithTablesAsync(result.TreeSize, cancellationToken: ct), events.JetStream.Stream);
        }));
        return new Command("ledger", "The access ledger.") { verify, LedgerCheckpointCommands.Checkpoint(), LedgerCheckpointCommands.Receipt(), LedgerCheckpointCommands.Witnesses(), ReviewCommands.Retention() };
    }

    // A database file that SQLite finds damaged cannot show the ledger intact: a verification failure (exit 3), one line.
    private static int Unverifiable(Exception damaged)
    {
        Console.Error.WriteLine($"LEDGER UNVERIFIABLE: {Storage.StorageUnavailableException.DamagedSqliteReason(damaged)}.");
        return CliExitCodes.VerificationFailed;
    }

    // The verb's context, or null (after the Unverifiable line) when the database file is damaged.
    private static async Task<CliContext?> OpenOrUnverifiable(Task<CliContext> opening)
    {
        try
        {
            return await opening;
        }
        catch (Exception ex) when (Storage.StorageUnavailableException.IsDamagedSqlite(ex))
        {
            Unverifiable(ex);
            return null;
        }
    }

    // ledger verify's lines for the comparison with the JetStream stream (docs/events.md, "Comparing the tables with the
    // stream"): sequence numbers and counts only. Exit 3 at the first difference; the stream ahead of the tables is not one.
    private static int CompareWithStream(Ledger.Projection.LogComparison comparison, string stream)
    {
        static string N(long n) => n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        if (!comparison.IsMatch)
        {
            Console.Error.WriteLine($"LEDGER DIFFERS FROM STREAM {stream}: first difference at sequence {N(comparison.FirstDifference!.Value)} ({comparison.Reason}); {CliText.Count(comparison.Compared, "entry", "entries")} before it matched.");
            return CliExitCodes.VerificationFailed;
        }

        var range = comparison.Compared > 0 ? $" (sequences {N(comparison.LogStart)}–{N(comparison.LogStart + comparison.Compared - 1)})" : string.Empty;
        Console.WriteLine($"Stream {stream} matches the tables: {CliText.Count(comparison.Compared, "entry", "entries")} compared{range}.");
        if (comparison.NotCompared > 0)
        {
            Console.WriteLine($"Sequences 0–{N(comparison.NotCompared - 1)} are no longer in the stream and were not compared with it (checked against the tables' own hashes and tree only).");
        }

        if (comparison.Lag > 0)
        {
            Console.WriteLine($"The tables lag the stream by {CliText.Count(comparison.Lag, "entry", "entries")} (sequences {N(comparison.TableSize)}–{N(comparison.LogSize - 1)} not yet projected; normal while the projector catches up).");
        }

        return CliExitCodes.Ok;
    }

    public static Command Outbox()
    {
        var phone = new Option<string?>("--phone") { Description = "Only messages to this subscriber's number (looked up through the blind index)." };
        var last = new Option<int>("--last") { Description = "How many messages (1–1000).", DefaultValueFactory = _ => 10 };
        last.InRange(1, 1000);
        var list = new Command("list", "Show the newest messages of the embedded SMS outbox (consent and sign-in codes).") { phone, last };
        list.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            // A malformed number is a bad argument (exit 1), checked before the data directory is opened.
            string? number = null;
            if (parse.GetValue(phone) is { } p)
            {
                var normalized = PhoneNumbers.NormalizeKorean(p);
                number = normalized.IsSuccess ? normalized.Value : throw CliException.Usage("--phone must be a Korean phone number, e.g. 010-1234-5678.");
            }

            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            SubscriberId? recipient = null;
            if (number is not null)
            {
                var ids = await context.Get<SubscriberVault>().FindByPhoneAsync(number, ct);
                recipient = ids.Count == 1 ? ids[0] : throw new CliException("no subscriber has that number.");
            }

            var sender = (OutboxSmsSender)context.Get<ISmsSender>();
            var tokens = context.Get<Protection.Keys.Tokenizer>();
            IReadOnlyList<OutboxMessage> messages;
            try
            {
                messages = await sender.ReadAsync(recipient, null, parse.GetValue(last), ct);
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                // Bodies are encrypted and bound to their row (docs/storage.md, "The SMS outbox").
                throw new CliException("an outbox message body failed to decrypt: it was altered, moved from another row, or is under a data key this keyring does not hold.");
            }

            foreach (var m in messages)
            {
                // The subscriber as its FF1 token (as in review queries and SIEM events), never the internal ID.
                Console.WriteLine($"{m.CreatedAt:yyyy-MM-ddTHH:mm:ssZ}  subscriber {tokens.TokenizeSubscriber(m.Recipient)}  {m.Kind}: {m.Body}");
            }

            return 0;
        }));
        return new Command("outbox", "The embedded SMS outbox.") { list };
    }

    /// <summary>
    /// The terminal API URL for the printed <c>terminal init</c> command when <c>--server</c> is not given: what the last
    /// <c>serve</c> on <paramref name="dataDirectory"/> listened on (<see cref="Hosting.DataPaths.TerminalUrl"/>), else the
    /// configured <c>Custodian__ListenAddress</c> and <c>Custodian__TerminalPort</c> (defaults 127.0.0.1 and 7443; a
    /// wildcard address such as 0.0.0.0 is shown as 127.0.0.1).
    /// </summary>
    internal static string ConfiguredTerminalUrl(string dataDirectory)
    {
        var file = Hosting.DataPaths.For(dataDirectory).TerminalUrl;
        if (File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } recorded
            && Uri.TryCreate(recorded, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps)
        {
            return recorded;
        }

        var options = new Hosting.CustodianOptions();
        ConfigurationBinding.Bind(new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(Hosting.CustodianOptions.Section), options);
        var address = System.Net.IPAddress.TryParse(options.ListenAddress, out var ip) && !ip.Equals(System.Net.IPAddress.Any) && !ip.Equals(System.Net.IPAddress.IPv6Any)
            ? ip
            : System.Net.IPAddress.Loopback;
        var host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return $"https://{host}:{options.TerminalPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// The CLI's local operator as the requesting officer of <see cref="Approvals.RestoreAction.RequestCheckedAsync"/>:
    /// account <see cref="Operator"/>, role security officer (the role the workflow records for the CLI), no store.
    /// </summary>
    private static Access.Staff.StaffPrincipal LocalOfficer => new(Operator, StaffRole.SecurityOfficer, null, MustChangePassword: false);

    /// <summary>
    /// A store code or terminal name given on the command line (option <c>--</c><paramref name="field"/>), checked by
    /// <see cref="StaffAccountRules.CheckCode"/>: a well-formed code that is not a phone number or resident registration
    /// number. The value is never echoed.
    /// </summary>
    /// <exception cref="CliException">A usage error (exit 1) naming the option and the rule.</exception>
    internal static string RequireStoreOrName(string? value, string field)
    {
        RequireCode(value, "--" + field);
        return StaffAccountRules.CheckCode(value, field) is { } invalid ? throw CliException.Usage($"--{field} {invalid.Rule}.") : value!;
    }

    internal static string RequireCode(string? value, string what) =>
        Codes.IsValid(value) ? value! : throw CliException.Usage($"{what} must be {Codes.Rule}; Korean and other non-ASCII characters are not accepted.");

    private static Task Record(CliContext context, AccessTask task, string target, string? reason) =>
        context.Get<IAccessLedger>().AppendAsync(new AccessEntry
        {
            Time = context.Get<TimeProvider>().GetUtcNow(),
            Task = task,
            Outcome = AccessOutcome.Allowed,
            Account = Operator,
            Role = StaffRole.SecurityOfficer,
            Target = target,
            Reason = reason,
        }).AsTask();
}
