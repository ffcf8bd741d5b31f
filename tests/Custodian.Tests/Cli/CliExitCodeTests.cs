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

    public void Dispose() => _dir.Delete(recursive: true);

    private async Task<string> MasterKeyFileAsync()
    {
        var path = Path.Combine(_dir.FullName, "master.key");
        await File.WriteAllTextAsync(path, Convert.ToBase64String(new byte[32]));
        return path;
    }
}
