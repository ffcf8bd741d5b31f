using System.Globalization;
using Custodian.Access.Sessions;
using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Ledger;
using CsvHelper;

namespace Custodian.StaffLifecycle;

/// <summary>How <see cref="HrFeedImport"/> treats a feed with bad rows.</summary>
public enum HrImportMode
{
    /// <summary>Any bad row: nothing is applied (the default).</summary>
    AllOrNothing = 0,

    /// <summary>Good rows are applied, bad rows reported.</summary>
    RowWise = 1,
}

/// <summary>A bad row of an HR feed: line number (1-based, the header is line 1), field and rule; never the value.</summary>
/// <param name="Line">Line number.</param>
/// <param name="Field">The column, or <c>row</c>/<c>header</c>.</param>
/// <param name="Rule">What the field must be.</param>
public sealed record HrRowError(long Line, string Field, string Rule);

/// <summary>What one HR import did.</summary>
/// <param name="Joiners">Accounts created.</param>
/// <param name="Movers">Accounts whose role or store changed (or that were re-enabled).</param>
/// <param name="Leavers">Accounts disabled.</param>
/// <param name="Unchanged">Rows that matched the account already.</param>
/// <param name="Errors">Bad rows, in line order.</param>
/// <param name="Applied">False when nothing was applied (all-or-nothing with errors).</param>
public sealed record HrImportReport(
    IReadOnlyList<string> Joiners, IReadOnlyList<string> Movers, IReadOnlyList<string> Leavers, int Unchanged, IReadOnlyList<HrRowError> Errors, bool Applied);

/// <summary>
/// Syncs staff accounts from an HR feed (CSV, header <c>account,role,store,status</c>; docs/access.md §6): joiners are
/// created, movers get their new role or store, leavers are disabled; a mover's or leaver's sessions end at once (here,
/// and in a running server through <see cref="StaffDirectory.GetStandingAsync"/>). Every grant, change and revocation is
/// recorded in the ledger (<see cref="AccessTask.StaffCreated"/>, <see cref="AccessTask.StaffChanged"/>,
/// <see cref="AccessTask.StaffDisabled"/>), kept at least 3 years by retention. Accounts not named in the feed are left alone.
/// A row that would leave no active security officer (the last one a leaver, or moved to another role) is a bad row
/// (<see cref="StaffAccountRules.LastOfficerRule"/>), reported with its line like any other: all-or-nothing applies nothing,
/// row-wise applies the other rows.
/// </summary>
public sealed class HrFeedImport(StaffDirectory staff, SessionStore sessions, IAccessLedger ledger, TimeProvider time)
{
    /// <summary>The header the feed must start with.</summary>
    public const string Header = "account,role,store,status";

    /// <summary>Largest feed, in rows (a carrier's staff, with margin).</summary>
    public const int MaxRows = 200_000;

    /// <summary>Reads and checks the feed without changing anything: the rows and the bad rows.</summary>
    /// <param name="csv">The feed.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>Valid rows and errors.</returns>
    public async Task<(IReadOnlyList<HrRow> Rows, IReadOnlyList<HrRowError> Errors)> ParseAsync(TextReader csv, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var rows = new List<HrRow>();
        var errors = new List<HrRowError>();
        var malformed = new HashSet<long>();
        var options = Files.StrictCsv.Options(4096, lineBreaksInQuotes: true, record => malformed.Add(record.RecordNumber));
        await using var reader = CsvReader.Create(csv, options, leaveOpen: true);
        if (!await reader.ReadAsync(cancellationToken)
            || reader.FieldCount != 4
            || !string.Equals(string.Join(",", Enumerable.Range(0, 4).Select(i => reader.GetString(i).Trim().TrimStart('\uFEFF').ToLowerInvariant())), Header, StringComparison.Ordinal))
        {
            errors.Add(new HrRowError(1, "header", $"must be exactly '{Header}'"));
            return (rows, errors);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var line = reader.LineNumber;
            if (rows.Count + errors.Count >= MaxRows)
            {
                errors.Add(new HrRowError(line, "row", $"the feed may hold at most {MaxRows} rows; the rest was not read"));
                break;
            }

            if (malformed.Remove(reader.RowNumber) || reader.FieldCount != 4)
            {
                errors.Add(new HrRowError(line, "row", "must be well-formed CSV with 4 fields like the header"));
                continue;
            }

            var account = reader.GetString(0).Trim();
            var roleText = reader.GetString(1).Trim();
            var storeText = reader.GetString(2).Trim();
            var statusText = reader.GetString(3).Trim();
            if (StaffAccountRules.CheckId(account) is { } badId)
            {
                errors.Add(new HrRowError(line, "account", badId.Rule));
                continue;
            }

            if (!seen.Add(account))
            {
                errors.Add(new HrRowError(line, "account", "must appear only once in the feed"));
                continue;
            }

            if (statusText is not ("active" or "leaver"))
            {
                errors.Add(new HrRowError(line, "status", "must be active or leaver"));
                continue;
            }

            if (statusText == "leaver")
            {
                rows.Add(new HrRow(line, account, null, null, Leaver: true));
                continue;
            }

            if (!StaffRoles.TryParse(roleText, out var role))
            {
                errors.Add(new HrRowError(line, "role", StaffAccountRules.RoleRule));
                continue;
            }

            string? store = storeText.Length == 0 ? null : storeText;
            if (StaffAccountRules.CheckRoleAndStore(role, store) is { } badRoleOrStore)
            {
                errors.Add(new HrRowError(line, badRoleOrStore.Field, badRoleOrStore.Rule));
                continue;
            }

            rows.Add(new HrRow(line, account, role, store, Leaver: false));
        }

        return (rows, errors);
    }

    /// <summary>
    /// Applies the feed. Joiners' one-time credentials go to <paramref name="credentials"/> as each is created (CSV
    /// <c>account,one_time_password,totp_secret,otpauth_uri</c>); the caller keeps that output secret.
    /// </summary>
    /// <param name="csv">The feed.</param>
    /// <param name="mode">All-or-nothing (default) or row-wise.</param>
    /// <param name="credentials">Where joiners' credentials are written; null refuses a feed with joiners (an error on each joiner row).</param>
    /// <param name="operatorAccount">Who runs the import, recorded as the ledger entries' account.</param>
    /// <param name="cancellationToken">Cancels before the next row.</param>
    /// <returns>The report.</returns>
    /// <exception cref="LedgerUnavailableException">When the ledger cannot record a change (the change is made; re-run to finish).</exception>
    public async Task<HrImportReport> ApplyAsync(TextReader csv, HrImportMode mode, TextWriter? credentials, string operatorAccount, CancellationToken cancellationToken)
    {
        var (rows, parseErrors) = await ParseAsync(csv, cancellationToken);
        var errors = parseErrors.ToList();
        var plan = new List<(HrRow Row, StaffAccountInfo? Existing)>();
        var stores = new StoreSpellings(); // as first spelt in the feed's good rows
        foreach (var row in rows)
        {
            var existing = await staff.GetAsync(row.Account);
            if (!row.Leaver && row.Store is not null)
            {
                // As StaffDirectory will check it, then within the feed: one store spelt two ways is refused at the second.
                var badStore = await staff.CheckStoreInUseAsync(row.Store, row.Account) ?? stores.Check(row.Store);
                if (badStore is not null)
                {
                    errors.Add(new HrRowError(row.Line, badStore.Field, badStore.Rule));
                    continue;
                }
            }

            if (existing is null && !row.Leaver && credentials is null)
            {
                errors.Add(new HrRowError(row.Line, "account", "is a joiner: pass --credentials-out to receive the one-time credentials"));
                continue;
            }

            plan.Add((row, existing));
        }

        plan = await KeepAnOfficerAsync(plan, errors);
        errors.Sort((a, b) => a.Line.CompareTo(b.Line));
        if (errors.Count > 0 && mode == HrImportMode.AllOrNothing)
        {
            return new HrImportReport([], [], [], 0, errors, Applied: false);
        }

        var joiners = new List<string>();
        var movers = new List<string>();
        var leavers = new List<string>();
        var unchanged = 0;
        foreach (var (row, existing) in plan)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (row.Leaver)
            {
                var disabled = existing is { Status: StaffAccountStatus.Active } ? await staff.DisableKeepingAnOfficerAsync(row.Account) : false;
                if (!disabled.IsSuccess)
                {
                    errors.Add(Refused(row.Line, disabled.Error!));
                    continue;
                }

                if (disabled.Value)
                {
                    sessions.RevokeAccount(row.Account);
                    await RecordAsync(AccessTask.StaffDisabled, row.Account, "hr import: leaver; sessions ended", operatorAccount, cancellationToken);
                    leavers.Add(row.Account);
                }
                else
                {
                    unchanged++;
                }

                continue;
            }

            if (existing is null)
            {
                var created = await staff.CreateAsync(row.Account, row.Role!.Value, row.Store);
                if (!created.IsSuccess)
                {
                    errors.Add(Refused(row.Line, created.Error!));
                    continue;
                }

                await credentials!.WriteLineAsync(string.Join(',', created.Value.Id, created.Value.OneTimePassword, created.Value.TotpSecretBase32, created.Value.OtpAuthUri));
                await credentials.FlushAsync(cancellationToken);
                await RecordAsync(AccessTask.StaffCreated, row.Account, $"hr import: joiner, role {row.Role.Value.ToName()}" + (row.Store is null ? string.Empty : $", store {row.Store}"), operatorAccount, cancellationToken);
                joiners.Add(row.Account);
                continue;
            }

            var changes = new List<string>();
            if (existing.Role != row.Role || !string.Equals(existing.Store, row.Store, StringComparison.Ordinal))
            {
                var changed = await staff.ChangeRoleAndStoreAsync(row.Account, row.Role!.Value, row.Store, keepAnOfficer: true);
                if (!changed.IsSuccess)
                {
                    errors.Add(Refused(row.Line, changed.Error!));
                    continue;
                }

                changes.Add($"role {existing.Role.ToName()} -> {row.Role.Value.ToName()}, store {existing.Store ?? "-"} -> {row.Store ?? "-"}");
            }

            if (existing.Status == StaffAccountStatus.Disabled && await staff.EnableAsync(row.Account))
            {
                changes.Add("re-enabled");
            }

            if (changes.Count == 0)
            {
                unchanged++;
                continue;
            }

            sessions.RevokeAccount(row.Account);
            await RecordAsync(AccessTask.StaffChanged, row.Account, "hr import: mover, " + string.Join("; ", changes) + "; sessions ended", operatorAccount, cancellationToken);
            movers.Add(row.Account);
        }

        errors.Sort((a, b) => a.Line.CompareTo(b.Line));
        return new HrImportReport(joiners, movers, leavers, unchanged, errors, Applied: true);
    }

    /// <summary>
    /// The rows of <paramref name="plan"/> (in line order, the order they are applied) that leave an active security officer
    /// after each: a leaver row for the last active officer, or a row moving it to another role, is left out and reported
    /// (<see cref="StaffAccountRules.LastOfficerRule"/>, field <c>status</c> or <c>role</c>). A row that creates, enables or
    /// promotes an officer counts from its line on, so a feed that names the new officer before the leaver is applied.
    /// </summary>
    private async Task<List<(HrRow Row, StaffAccountInfo? Existing)>> KeepAnOfficerAsync(List<(HrRow Row, StaffAccountInfo? Existing)> plan, List<HrRowError> errors)
    {
        static bool IsActiveOfficer(StaffAccountInfo? account) => account is { Role: StaffRole.SecurityOfficer, Status: StaffAccountStatus.Active };

        var officers = (await staff.ListAsync()).Count(IsActiveOfficer);
        var kept = new List<(HrRow Row, StaffAccountInfo? Existing)>(plan.Count);
        foreach (var (row, existing) in plan)
        {
            var before = IsActiveOfficer(existing) ? 1 : 0;
            var after = !row.Leaver && row.Role == StaffRole.SecurityOfficer ? 1 : 0; // an active row enables the account
            if (before == 1 && after == 0 && officers == 1)
            {
                errors.Add(new HrRowError(row.Line, row.Leaver ? "status" : "role", StaffAccountRules.LastOfficerRule));
                continue;
            }

            officers += after - before;
            kept.Add((row, existing));
        }

        return kept;
    }

    /// <summary>A change the directory refused while applying (an account created meanwhile, say): field and rule, as the pre-validation reports them.</summary>
    private static HrRowError Refused(long line, Problems.CustodianError error) =>
        error.Errors is { Count: > 0 } fields && fields.First() is var (field, rules) && rules.Length > 0
            ? new HrRowError(line, field == "id" ? "account" : field, rules[0])
            : new HrRowError(line, "account", error.Message);

    private async Task RecordAsync(AccessTask task, string account, string reason, string operatorAccount, CancellationToken cancellationToken) =>
        await ledger.AppendAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = task,
                Outcome = AccessOutcome.Allowed,
                Account = operatorAccount,
                Role = StaffRole.SecurityOfficer,
                Target = account,
                Reason = reason.Length <= 500 ? reason : reason[..500],
            },
            cancellationToken);
}

/// <summary>A valid row of an HR feed.</summary>
/// <param name="Line">Line number.</param>
/// <param name="Account">Account ID.</param>
/// <param name="Role">Role (null for a leaver).</param>
/// <param name="Store">Store code, if any.</param>
/// <param name="Leaver">True for a leaver.</param>
public sealed record HrRow(long Line, string Account, StaffRole? Role, string? Store, bool Leaver);
