using Custodian.Cli;

namespace Custodian.Tests.Cli;

/// <summary>
/// Every way a staff account is named from outside (staff add, the HR feed, simulate --staff) follows the same account and
/// store rules (<see cref="Access.Staff.StaffAccountRules"/>), and a bad row is reported by line before anything is applied.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class StaffInputRulesTests : IDisposable
{
    private const string NotPersonalNumber = "must not be a phone number or resident registration number: use the employee number";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-staff-rules-");

    private string Data => Path.Combine(_dir.FullName, "data");

    [Fact]
    public async Task An_all_or_nothing_hr_feed_reports_every_bad_row_in_one_pass_including_rrn_shaped_accounts_and_applies_nothing()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var feed = Path.Combine(_dir.FullName, "hr3.csv");
        await File.WriteAllTextAsync(feed, string.Join('\n',
            "account,role,store,status",      // 1
            "H010,clerk,S001,active",         // 2 good
            "900101-1234567,clerk,S001,active", // 3 RRN-shaped
            "H011,clerk,S001,active",         // 4 good
            "H 012,clerk,S001,active",        // 5 malformed
            "010-1234-5678,clerk,S001,leaver", // 6 phone-shaped, even as a leaver
            "H013,janitor,S001,active",       // 7 role
            "H014,clerk,,active") + "\n");    // 8 store
        var credentials = Path.Combine(_dir.FullName, "joiners3.csv");

        var (code, stdout, stderr) = await CliCapture.RunAsync(["staff", "import", feed, "--credentials-out", credentials, "--data", Data]);

        Assert.Equal(3, code);
        Assert.Equal(
            "line 3: account: " + NotPersonalNumber + "\n"
            + "line 5: account: must be 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit\n"
            + "line 6: account: " + NotPersonalNumber + "\n"
            + "line 7: role: must be clerk, store-manager, security-officer or privacy-officer\n"
            + "line 8: store: is required for clerks and store managers and must be a well-formed store code\n",
            stderr.ReplaceLineEndings("\n"));
        Assert.Equal("Nothing applied (all-or-nothing): 5 bad rows. Fix them, or pass --mode row-wise.\n", stdout.ReplaceLineEndings("\n"));
        foreach (var value in new[] { "900101", "1234567", "010-1234", "janitor", "H 012" })
        {
            Assert.DoesNotContain(value, stdout + stderr, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(credentials));

        // Neither good row was applied: both are still unknown accounts (joiners), which need --credentials-out.
        var good = Path.Combine(_dir.FullName, "good.csv");
        await File.WriteAllTextAsync(good, "account,role,store,status\nH010,clerk,S001,active\nH011,clerk,S001,active\n");
        var (again, _, joiners) = await CliCapture.RunAsync(["staff", "import", good, "--data", Data]);
        Assert.Equal(3, again);
        Assert.Equal(
            "line 2: account: is a joiner: pass --credentials-out to receive the one-time credentials\n"
            + "line 3: account: is a joiner: pass --credentials-out to receive the one-time credentials\n",
            joiners.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Simulate_refuses_an_rrn_or_phone_shaped_account_in_the_staff_file_as_staff_add_does()
    {
        var staff = Path.Combine(_dir.FullName, "staff.csv");
        await File.WriteAllLinesAsync(staff, ["account,role,store", "C0001,clerk,S001", "900101-1234567,clerk,S001", "01012345678,clerk,S001"]);

        var (code, stdout, stderr) = await CliCapture.RunAsync(["simulate", "--staff", staff]);

        Assert.Equal(3, code);
        Assert.Equal(
            "staff.csv: line 3: account: " + NotPersonalNumber + "\n"
            + "staff.csv: line 4: account: " + NotPersonalNumber + "\n"
            + "error: staff.csv: 2 bad rows; nothing was simulated.\n",
            stderr.ReplaceLineEndings("\n"));
        Assert.Empty(stdout);

        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var (add, _, refused) = await CliCapture.RunAsync(["staff", "add", "--id", "900101-1234567", "--role", "clerk", "--store", "S001", "--data", Data]);
        Assert.Equal(1, add);
        Assert.Equal("error: --id " + NotPersonalNumber + ".\n", refused.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task A_store_code_spelt_unlike_a_row_of_the_store_list_is_refused_by_staff_add_and_terminals_enroll()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var stores = Path.Combine(_dir.FullName, "stores.csv");
        await File.WriteAllTextAsync(stores, "store,area\nS001,seoul-gangnam\n");
        Assert.Equal(0, (await CliCapture.RunAsync(["stores", "import", stores, "--data", Data])).Code); // no terminal or account has S001 yet
        const string Refused = "error: --store must be written 'S001' like the store code already in use (store codes are case-sensitive).\n";

        var (add, addOut, addError) = await CliCapture.RunAsync(["staff", "add", "--id", "C9006", "--role", "clerk", "--store", "s001", "--data", Data]);
        Assert.Equal((1, Refused, string.Empty), (add, addError.ReplaceLineEndings("\n"), addOut));
        var (enroll, enrollOut, enrollError) = await CliCapture.RunAsync(["terminals", "enroll", "--store", "s001", "--name", "counter-1", "--data", Data]);
        Assert.Equal((1, Refused, string.Empty), (enroll, enrollError.ReplaceLineEndings("\n"), enrollOut));

        // Nothing was created: the same account and terminal, spelt as listed, are new.
        var (exact, exactOut, _) = await CliCapture.RunAsync(["staff", "add", "--id", "C9006", "--role", "clerk", "--store", "S001", "--data", Data]);
        Assert.Equal(0, exact);
        Assert.StartsWith("Created C9006 (clerk).", exactOut, StringComparison.Ordinal);
        var (enrolled, enrolledOut, _) = await CliCapture.RunAsync(["terminals", "enroll", "--store", "S001", "--name", "counter-1", "--data", Data]);
        Assert.Equal(0, enrolled);
        Assert.StartsWith("Terminal S001-counter-1 of store S001: one-time code ", enrolledOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vdi_host_request_in_a_zone_spelt_unlike_a_row_of_the_store_list_is_refused_and_nothing_is_filed()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var stores = Path.Combine(_dir.FullName, "stores.csv");
        await File.WriteAllTextAsync(stores, "store,area\nVDI,call-centre\n");
        Assert.Equal(0, (await CliCapture.RunAsync(["stores", "import", stores, "--data", Data])).Code); // no terminal or account has VDI

        var (code, stdout, stderr) = await CliCapture.RunAsync(["terminals", "enroll", "--store", "vdi", "--name", "vdi-1", "--class", "vdi-host", "--reason", "new desk", "--data", Data]);

        Assert.Equal((1, string.Empty), (code, stdout));
        Assert.Equal("error: target: zone must be written 'VDI' like the store code already in use (store codes are case-sensitive)\n", stderr.ReplaceLineEndings("\n"));
        await using (var context = await CliContext.OpenAsync(Data))
        {
            Assert.Empty(await context.Get<Access.Approvals.PrivilegedActionRequests>().ListAsync(null));
        }

        var (filed, filedOut, _) = await CliCapture.RunAsync(["terminals", "enroll", "--store", "VDI", "--name", "vdi-1", "--class", "vdi-host", "--reason", "new desk", "--data", Data]);
        Assert.Equal(0, filed);
        Assert.StartsWith("Enrolling a VDI host needs a second officer: request ", filedOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_code_spelt_unlike_the_one_in_use_is_refused_by_staff_add_the_hr_feed_enroll_and_simulate()
    {
        const string CaseRule = "must be written 'S001' like the store code already in use (store codes are case-sensitive)";
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, (await CliCapture.RunAsync(["terminals", "enroll", "--store", "S001", "--name", "counter-1", "--data", Data])).Code);

        var (add, addOut, addError) = await CliCapture.RunAsync(["staff", "add", "--id", "C9005", "--role", "clerk", "--store", "s001", "--data", Data]);
        Assert.Equal(1, add);
        Assert.Equal("error: --store " + CaseRule + ".\n", addError.ReplaceLineEndings("\n"));
        Assert.Empty(addOut);

        var (enroll, _, enrollError) = await CliCapture.RunAsync(["terminals", "enroll", "--store", "s001", "--name", "counter-2", "--data", Data]);
        Assert.Equal(1, enroll);
        Assert.Equal("error: --store " + CaseRule + ".\n", enrollError.ReplaceLineEndings("\n"));

        var feed = Path.Combine(_dir.FullName, "hr.csv");
        await File.WriteAllTextAsync(feed, "account,role,store,status\nH020,clerk,s001,active\nH021,clerk,S002,active\nH022,clerk,s002,active\nH023,clerk,S001,active\n");
        var credentials = Path.Combine(_dir.FullName, "joiners.csv");
        var (import, importOut, importError) = await CliCapture.RunAsync(["staff", "import", feed, "--credentials-out", credentials, "--data", Data]);
        Assert.Equal(3, import);
        Assert.Equal(
            "line 2: store: " + CaseRule + "\n"
            + "line 4: store: must be written 'S002' like the store code already in use (store codes are case-sensitive)\n",
            importError.ReplaceLineEndings("\n"));
        Assert.Equal("Nothing applied (all-or-nothing): 2 bad rows. Fix them, or pass --mode row-wise.\n", importOut.ReplaceLineEndings("\n"));

        var (exact, exactOut, _) = await CliCapture.RunAsync(["staff", "add", "--id", "C9005", "--role", "clerk", "--store", "S001", "--data", Data]);
        Assert.Equal(0, exact);
        Assert.StartsWith("Created C9005 (clerk).", exactOut, StringComparison.Ordinal);

        var staff = Path.Combine(_dir.FullName, "staff.csv");
        await File.WriteAllLinesAsync(staff, ["account,role,store", "C0001,clerk,S001", "C0002,clerk,s001"]);
        var (simulate, _, simulateError) = await CliCapture.RunAsync(["simulate", "--staff", staff]);
        Assert.Equal(3, simulate);
        Assert.Equal(
            "staff.csv: line 3: store: " + CaseRule + "\n" + "error: staff.csv: 1 bad row; nothing was simulated.\n",
            simulateError.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task A_phone_number_or_RRN_is_refused_as_a_store_code_or_terminal_name_by_enroll_staff_add_the_hr_feed_stores_import_and_simulate()
    {
        const string Personal = "must not be a phone number or resident registration number";
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var (enrollName, enrollNameOut, enrollNameError) = await CliCapture.RunAsync(["terminals", "enroll", "--store", "S001", "--name", "010-9406-2730", "--data", Data]);
        Assert.Equal((1, string.Empty), (enrollName, enrollNameOut));
        Assert.Equal("error: --name " + Personal + ".\n", enrollNameError.ReplaceLineEndings("\n"));

        var (enrollStore, _, enrollStoreError) = await CliCapture.RunAsync(["terminals", "enroll", "--store", "900101-1234567", "--name", "x", "--data", Data]);
        Assert.Equal(1, enrollStore);
        Assert.Equal("error: --store " + Personal + ".\n", enrollStoreError.ReplaceLineEndings("\n"));

        var (add, _, addError) = await CliCapture.RunAsync(["staff", "add", "--id", "C9100", "--role", "clerk", "--store", "900101-1234567", "--data", Data]);
        Assert.Equal(1, add);
        Assert.Equal("error: --store " + Personal + ".\n", addError.ReplaceLineEndings("\n"));

        var feed = Path.Combine(_dir.FullName, "hr-stores.csv");
        await File.WriteAllTextAsync(feed, "account,role,store,status\nH030,clerk,S001,active\nH031,clerk,010-9406-2730,active\n");
        var (import, _, importError) = await CliCapture.RunAsync(["staff", "import", feed, "--credentials-out", Path.Combine(_dir.FullName, "j.csv"), "--data", Data]);
        Assert.Equal(3, import);
        Assert.Equal("line 3: store: " + Personal + "\n", importError.ReplaceLineEndings("\n"));

        var stores = Path.Combine(_dir.FullName, "stores.csv");
        await File.WriteAllTextAsync(stores, "store,area\nS001,seoul-a\n010-9406-2730,seoul-a\n");
        var (storesCode, storesOut, storesError) = await CliCapture.RunAsync(["stores", "import", stores, "--data", Data]);
        Assert.Equal((3, string.Empty), (storesCode, storesOut));
        Assert.Equal("line 3: store: " + Personal + "\nerror: nothing applied (all-or-nothing): 1 bad row.\n", storesError.ReplaceLineEndings("\n"));

        var staff = Path.Combine(_dir.FullName, "sim-staff.csv");
        await File.WriteAllLinesAsync(staff, ["account,role,store", "C0001,clerk,S001", "C0002,clerk,01094062730"]);
        var (simulate, _, simulateError) = await CliCapture.RunAsync(["simulate", "--staff", staff]);
        Assert.Equal(3, simulate);
        Assert.Equal("sim-staff.csv: line 3: store: " + Personal + "\nerror: sim-staff.csv: 1 bad row; nothing was simulated.\n", simulateError.ReplaceLineEndings("\n"));

        foreach (var error in new[] { enrollNameError, enrollStoreError, addError, importError, storesError, simulateError })
        {
            Assert.DoesNotContain("9406", error, StringComparison.Ordinal);
            Assert.DoesNotContain("1234567", error, StringComparison.Ordinal);
        }

    }

    public void Dispose() => _dir.Delete(recursive: true);
}
