using Custodian.Cli;
using Custodian.Hosting;
using Custodian.Protection.Subscribers;
using Custodian.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Custodian.Tests.Cli;

/// <summary>Runs the real command line in process against a temporary data directory. Asserts exit codes and state, not console text.</summary>
[Collection(nameof(CliCollection))]
public sealed class CliTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-");

    private string Data => Path.Combine(_dir.FullName, "data");

    [Fact]
    public async Task Unknown_verb_or_bad_option_exits_non_zero()
    {
        Assert.Equal(1, await CustodianCli.RunAsync(["frobnicate"]));
        Assert.Equal(1, await CustodianCli.RunAsync(["sample", "--subscribers", "0", "--out", Path.Combine(_dir.FullName, "x.csv")]));
        Assert.Equal(2, await CustodianCli.RunAsync(["terminals", "list", "--data", Path.Combine(_dir.FullName, "missing")]));
        Assert.Equal(1, await CustodianCli.RunAsync(["sample", "--subscribers", "abc", "--out", Path.Combine(_dir.FullName, "x.csv")]));
        Assert.Equal(1, await CustodianCli.RunAsync(["sample", "--subscribers", "99999999999", "--out", Path.Combine(_dir.FullName, "x.csv")]));
        Assert.Equal(1, await CustodianCli.RunAsync(["simulate", "--minutes", "abc"]));
        Assert.Equal(1, await CustodianCli.RunAsync(["simulate", "--expect-containment"]));
        Assert.Equal(1, await CustodianCli.RunAsync(["simulate", "--attack", "scraper", "--minutes", "20", "--scraper-start", "30"]));
        Assert.Equal(1, await CustodianCli.RunAsync(["staff", "add", "--id", "bad id", "--data", Path.Combine(_dir.FullName, "missing")]));
        Assert.False(File.Exists(Path.Combine(_dir.FullName, "x.csv")));
    }

    [Fact]
    public async Task Simulate_refuses_a_subscribers_file_without_a_server_instead_of_ignoring_it()
    {
        var file = Path.Combine(_dir.FullName, "subscribers.csv");
        await File.WriteAllTextAsync(file, "x\n");

        var (code, stdout, stderr) = await CliCapture.RunAsync(["simulate", "--subscribers-file", file, "--minutes", "1"]);

        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("error: --subscribers-file is used only with --server (the in-process simulation makes its own subscribers).\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Data_directory_that_is_a_file_or_held_by_another_server_is_refused()
    {
        var file = Path.Combine(_dir.FullName, "a-file");
        await File.WriteAllTextAsync(file, "x");
        Assert.Equal(2, await CustodianCli.RunAsync(["init", "--data", file]));
        Assert.Equal(2, await CustodianCli.RunAsync(["serve", "--data", file]));

        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        await using (new FileStream(Path.Combine(Data, "server.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            Assert.Equal(2, await CustodianCli.RunAsync(["serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0"]));
        }

        Assert.False(OperatingSystem.IsWindows(), "Custodian runs on Linux hosts.");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Data, "custodian.db")));
        }
    }

    [Fact]
    public async Task A_changed_masking_policy_stops_serve_until_it_is_adopted()
    {
        Assert.Equal(2, await CustodianCli.RunAsync(["masking", "show", "--data", Data])); // no data directory yet
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["masking", "show", "--data", Data])); // nothing adopted yet
        Assert.Equal(0, await CustodianCli.RunAsync(["masking", "adopt", "--data", Data]));
        try
        {
            Environment.SetEnvironmentVariable("Custodian__Masking__Phone", "Middle");
            Assert.Equal(2, await CustodianCli.RunAsync(["masking", "show", "--data", Data]));
            Assert.Equal(2, await CustodianCli.RunAsync(["serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0"]));
            await using (new FileStream(Path.Combine(Data, "server.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
            {
                // A running server holds its lock: adopting under it would leave it masking with the old policy.
                // Which process holds the lock cannot be known: the refusal names each, as init's and serve's do.
                var held = await CliCapture.RunAsync(["masking", "adopt", "--data", Data]);
                Assert.Equal(
                    (2, $"error: another Custodian process holds the data directory {Path.GetFullPath(Data)} (a running server, or init or masking adopt at work); nothing was adopted: stop the server or let the other command finish, then run 'masking adopt' with the same Custodian__Masking__* settings.\n"),
                    (held.Code, held.Stderr));
                Assert.Equal(2, await CustodianCli.RunAsync(["masking", "show", "--data", Data])); // still the old one
            }

            Assert.Equal(0, await CustodianCli.RunAsync(["masking", "adopt", "--data", Data]));
            Assert.Equal(0, await CustodianCli.RunAsync(["masking", "show", "--data", Data]));

            Environment.SetEnvironmentVariable("Custodian__Masking__Phone", "Sideways");
            Assert.Equal(2, await CustodianCli.RunAsync(["masking", "show", "--data", Data]));
        }
        finally
        {
            Environment.SetEnvironmentVariable("Custodian__Masking__Phone", null);
        }

        using var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "custodian.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT descriptor FROM masking_policy";
        Assert.Equal("name=first-and-last;rrn=7;phone=middle;address=2", command.ExecuteScalar());
    }

    [Fact]
    public async Task Sample_then_import_then_verify()
    {
        var csv = Path.Combine(_dir.FullName, "subscribers.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", "500", "--stores", "3", "--clerks", "9", "--out", csv, "--seed", "5"]));
        Assert.Equal(501, File.ReadLines(csv).Count());
        Assert.Equal(10, File.ReadLines(Path.Combine(_dir.FullName, "staff.csv")).Count());
        // --staff-out puts the staff list elsewhere and leaves staff.csv as it was; it means nothing without --clerks.
        var plan = Path.Combine(_dir.FullName, "plan-b.csv");
        string[] planArgs = ["sample", "--subscribers", "5", "--stores", "1", "--clerks", "2", "--out", Path.Combine(_dir.FullName, "five.csv"), "--staff-out", plan];
        var (written, said, _) = await CliProcess.RunAsync(new Dictionary<string, string>(), planArgs);
        Assert.Equal(0, written);
        Assert.Equal(["account,role,store", "C0001,clerk,S001", "C0002,clerk,S001"], File.ReadAllLines(plan));
        Assert.Equal(10, File.ReadLines(Path.Combine(_dir.FullName, "staff.csv")).Count());
        Assert.Contains($"Wrote 2 staff accounts to {plan} (used by 'custodian simulate')\n", said, StringComparison.Ordinal);
        (written, said, _) = await CliProcess.RunAsync(new Dictionary<string, string>(), planArgs);
        Assert.Equal(0, written);
        Assert.Contains($"Wrote 2 staff accounts to {plan} (used by 'custodian simulate'); it replaced the file that was there\n", said, StringComparison.Ordinal);
        Assert.Equal(1, await CustodianCli.RunAsync(["sample", "--subscribers", "5", "--out", Path.Combine(_dir.FullName, "five.csv"), "--staff-out", plan]));
        Assert.Equal(1, await CustodianCli.RunAsync(["sample", "--subscribers", "5", "--clerks", "2", "--out", plan, "--staff-out", plan]));
        Assert.Equal(3, File.ReadLines(plan).Count());

        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["import", csv, "--data", Data]));
        Assert.Equal(500, await CountSubscribersAsync());
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--data", Data]));
    }

    [Fact]
    public async Task Bad_rows_reject_the_whole_file_by_default_and_only_themselves_with_skip_bad_rows()
    {
        var good = Path.Combine(_dir.FullName, "good.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", "20", "--out", good]));
        var lines = File.ReadAllLines(good).ToList();
        lines[3] = lines[3].Replace(lines[3].Split(',')[1], "991332-1234567", StringComparison.Ordinal); // month 13
        lines[7] = lines[7].Replace(lines[7].Split(',')[2], "02-12", StringComparison.Ordinal);
        var bad = Path.Combine(_dir.FullName, "bad.csv");
        File.WriteAllLines(bad, lines);
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        Assert.Equal(3, await CustodianCli.RunAsync(["import", bad, "--data", Data]));
        Assert.Equal(0, await CountSubscribersAsync());

        // Not a subscriber CSV at all: a one-line error, nothing imported.
        var binary = Path.Combine(_dir.FullName, "binary.csv");
        await File.WriteAllBytesAsync(binary, [0x00, 0xFF, 0xFE]);
        var originalError = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            Assert.Equal(3, await CustodianCli.RunAsync(["import", binary, "--data", Data]));
        }
        finally
        {
            Console.SetError(originalError);
        }

        Assert.Contains("error: nothing was imported", captured.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, await CountSubscribersAsync());

        Assert.Equal(3, await CustodianCli.RunAsync(["import", bad, "--data", Data, "--mode", "skip-bad-rows"]));
        Assert.Equal(18, await CountSubscribersAsync());
    }

    [Theory]
    [InlineData("all-or-nothing", 0)]
    [InlineData("skip-bad-rows", 19)]
    public async Task An_unterminated_quote_is_one_bad_row_at_its_line_and_the_rows_after_it_are_still_read(string mode, int imported)
    {
        var good = Path.Combine(_dir.FullName, "good.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", "20", "--out", good, "--seed", "7"]));
        var lines = File.ReadAllLines(good).ToList();
        var fields = lines[3].Split(',');
        Assert.Equal(9, fields.Length); // the eight required columns and family_plan
        var address = fields[3];
        fields[3] = "\"" + address; // line 4: a quote opened in the address and never closed
        lines[3] = string.Join(',', fields);
        var bad = Path.Combine(_dir.FullName, "bad.csv");
        File.WriteAllLines(bad, lines);
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var (code, stdout, stderr) = await CliCapture.RunAsync(["import", bad, "--data", Data, "--mode", mode]);

        Assert.Equal(3, code);
        var problems = stderr.Split('\n').Where(l => l.StartsWith("line ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["line 4: row: " + Custodian.Protection.Import.SubscriberImporter.UnterminatedQuoteRule], problems);
        Assert.DoesNotContain(address, stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(fields[2], stdout + stderr, StringComparison.Ordinal);
        Assert.Equal(imported, await CountSubscribersAsync());
    }

    [Fact]
    public async Task Tampered_ledger_fails_verify()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "add", "--id", "C0001", "--store", "S001", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["terminals", "enroll", "--store", "S001", "--name", "counter-1", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--data", Data]));

        SqliteConnection.ClearAllPools();
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "custodian.db")}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE ledger_entries SET payload = CAST(REPLACE(CAST(payload AS TEXT), 'C0001', 'C0002') AS BLOB) WHERE seq = 1";
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal(3, await CustodianCli.RunAsync(["ledger", "verify", "--data", Data]));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<long> CountSubscribersAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "custodian.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM subscribers";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>CLI tests write to the console; run them one at a time.</summary>
[CollectionDefinition(nameof(CliCollection), DisableParallelization = true)]
public sealed class CliCollection;
