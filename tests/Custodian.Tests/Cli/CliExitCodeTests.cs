using Custodian.Cli;
using Custodian.Ledger.Checkpoints;

namespace Custodian.Tests.Cli;

/// <summary>
/// Every verb reading an input file follows one convention (README.md, "CLI exit codes"): a missing or unreadable
/// input is a bad argument (1); a file that was read but had rows refused gives 3, whether nothing was applied or
/// only the good rows were.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class CliExitCodeTests : IDisposable
{
    private static readonly string LogKey = NoteSigningKey.Generate("custodian/exit-codes", NoteAlgorithms.Ed25519).Verifier.ToString();

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-exit-");

    private string Data => Path.Combine(_dir.FullName, "data");

    private string Missing => Path.Combine(_dir.FullName, "missing.csv");

    [Fact]
    public async Task A_missing_input_file_or_directory_is_a_bad_argument_in_every_verb()
    {
        Assert.Equal(1, await CustodianCli.RunAsync(["import", Missing, "--data", Data]));
        Assert.Equal(1, await CustodianCli.RunAsync(["import", _dir.FullName, "--data", Data])); // a directory, not a file
        Assert.Equal(1, await CustodianCli.RunAsync(["staff", "import", Missing, "--data", Data]));
        Assert.Equal(1, await CustodianCli.RunAsync(["monitor", "replay", Missing]));
        Assert.Equal(1, await CustodianCli.RunAsync(["verify-receipt", Missing, "--log-key", LogKey]));
        Assert.Equal(1, await CustodianCli.RunAsync(["ledger", "verify", "--against", Missing, "--log-key", LogKey, "--data", Data]));
        Assert.Equal(1, await CustodianCli.RunAsync(["simulate", "--staff", Missing]));
        Assert.Equal(1, await CustodianCli.RunAsync(["restore", _dir.FullName, "--master-key", Missing, "--data", Data]));
        Assert.Equal(1, await CustodianCli.RunAsync(["restore", Path.Combine(_dir.FullName, "no-backup"), "--master-key", await MasterKeyFileAsync(), "--data", Data]));
        Assert.Equal(1, await CustodianCli.RunAsync(["audit-storage", Missing, "--data", Data]));
        Assert.Equal(1, await CustodianCli.RunAsync(["siem", "export", "--to", "127.0.0.1:6514", "--tls", "--ca", Missing, "--data", Data]));
        Assert.False(Directory.Exists(Data));
    }

    [Fact]
    public async Task A_value_a_service_refuses_as_malformed_is_a_bad_argument_and_a_refusal_in_state_exits_2()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var empty = await CliCapture.RunAsync(["portal", "disclosures", "answer", "--id", "D-1", "--decision", "disclosed", "--answer", "", "--data", Data]);
        Assert.Equal(1, empty.Code);
        Assert.Equal("error: The field 'answer' is invalid: must be 1-1000 characters without control characters other than line feeds", empty.Stderr.TrimEnd('\n'));

        var unknown = await CliCapture.RunAsync(["portal", "disclosures", "answer", "--id", "D-1", "--decision", "disclosed", "--answer", "Your data was used for a plan change.", "--data", Data]);
        Assert.Equal(2, unknown.Code);
        Assert.Equal("error: No disclosure request has this id.", unknown.Stderr.TrimEnd('\n'));

        var day = await CliCapture.RunAsync(["portal", "defer", "--help"]);
        Assert.Equal(0, day.Code);
    }

    [Fact]
    public async Task Refused_rows_give_3_in_every_verb_whether_or_not_the_good_rows_were_used()
    {
        var log = Path.Combine(_dir.FullName, "log.csv");
        await File.WriteAllLinesAsync(log, [
            "time,clerk,terminal,store,subscriber,task,purpose,fields,outcome",
            "2026-11-02T11:00:00+09:00,C7,T-7,S002,tok1,search,,name,allowed",
            "not-a-time,C7,T-7,S002,tok2,search,,name,allowed",
        ]);
        Assert.Equal(3, await CustodianCli.RunAsync(["monitor", "replay", log]));
        Assert.Equal(3, await CustodianCli.RunAsync(["monitor", "replay", log, "--skip-bad-rows"]));

        var staff = Path.Combine(_dir.FullName, "staff.csv");
        await File.WriteAllLinesAsync(staff, ["account,role,store", "C0001,cashier,S001"]);
        Assert.Equal(3, await CustodianCli.RunAsync(["simulate", "--staff", staff]));

        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var feed = Path.Combine(_dir.FullName, "feed.csv");
        await File.WriteAllLinesAsync(feed, ["account,role,store,status", "C0001,cashier,S001,active"]);
        Assert.Equal(3, await CustodianCli.RunAsync(["staff", "import", feed, "--data", Data]));
        Assert.Equal(3, await CustodianCli.RunAsync(["staff", "import", feed, "--data", Data, "--mode", "row-wise"]));
    }

    [Fact]
    public async Task Simulate_reports_every_bad_line_of_the_staff_file_by_line_field_and_rule_never_by_value()
    {
        var staff = Path.Combine(_dir.FullName, "staff.csv");
        await File.WriteAllLinesAsync(staff, [
            "account,role,store",           // 1
            "C0001,clerk,S001",             // 2 good
            "C0002,cashier,S001",           // 3 role
            "",                             // 4 empty: skipped
            "C 0003,clerk,S#02",            // 5 account and store
            "C0004,clerk",                  // 6 two fields
            "C0001,store-manager,S002",     // 7 the account again
            "C0005,store-manager,S002",     // 8 good
        ]);

        var (code, stdout, stderr) = await CliCapture.RunAsync(["simulate", "--staff", staff]);

        Assert.Equal(3, code);
        Assert.Equal(
            "staff.csv: line 3: role: must be clerk or store-manager\n"
            + "staff.csv: line 5: account: must be 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit\n"
            + "staff.csv: line 5: store: must be a store code: 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit\n"
            + "staff.csv: line 6: row: must have 3 fields like the header (account,role,store)\n"
            + "staff.csv: line 7: account: must appear only once in the file\n"
            + "error: staff.csv: 4 bad rows; nothing was simulated.\n",
            stderr.ReplaceLineEndings("\n"));
        Assert.Empty(stdout);
        foreach (var value in new[] { "cashier", "C 0003", "S#02" })
        {
            Assert.DoesNotContain(value, stderr, StringComparison.Ordinal);
        }
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private async Task<string> MasterKeyFileAsync()
    {
        var path = Path.Combine(_dir.FullName, "master.key");
        await File.WriteAllTextAsync(path, Convert.ToBase64String(new byte[32]));
        return path;
    }
}
