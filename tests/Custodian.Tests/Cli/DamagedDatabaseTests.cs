using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Cli;

/// <summary>
/// A SQLite database file that is damaged or not a database at all: every verb says so in one line naming the file and
/// the remedy (exit 2), and <c>ledger verify</c> reports a verification failure (exit 3), never a stack trace.
/// Each verb runs in its own process, as an operator runs it, so no pooled connection of this process sees the old file.
/// </summary>
public sealed class DamagedDatabaseTests : IDisposable
{
    private const string Remedy = "restore the data directory from a backup (docs/storage.md, \"Backup and restore (SQLite)\")";
    private static readonly Dictionary<string, string> NoSettings = [];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-damaged-");

    private string Data => Path.Combine(_dir.FullName, "data");

    public static TheoryData<string, string> Damages => new()
    {
        // The first 1,000 bytes of a real database: the header is intact, the pages it names are missing.
        { "truncated", "is damaged (SQLite error 11, database disk image is malformed)" },
        // 8 KiB that never were a database.
        { "foreign", "is not a SQLite database (SQLite error 26, file is not a database)" },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task Every_verb_names_the_damaged_file_and_the_remedy_in_one_line_and_ledger_verify_fails_verification(string damage, string what)
    {
        var init = await CliProcess.RunAsync(NoSettings, "init", "--data", Data);
        Assert.True(init.Exit == 0, init.Error);
        var database = Path.Combine(Path.GetFullPath(Data), "custodian.db");
        var bytes = damage == "truncated" ? (await File.ReadAllBytesAsync(database))[..1000] : Enumerable.Repeat((byte)'x', 8192).ToArray();
        foreach (var beside in new[] { "-wal", "-shm" })
        {
            File.Delete(database + beside);
        }

        await File.WriteAllBytesAsync(database, bytes);

        var refusal = $"error: storage {database} is unavailable: the database file {what}: {Remedy}.";
        foreach (var verb in new[] { new[] { "staff", "list" }, ["backup", Path.Combine(_dir.FullName, "backup")], ["serve", "--terminal-port", "0", "--portal-port", "0"] })
        {
            var run = await CliProcess.RunAsync(NoSettings, [.. verb, "--data", Data]);
            Assert.Equal((2, string.Empty, refusal), (run.Exit, run.Output, run.Error.TrimEnd('\n')));
        }

        var verify = await CliProcess.RunAsync(NoSettings, "ledger", "verify", "--data", Data);
        Assert.Equal((3, string.Empty, $"LEDGER UNVERIFIABLE: the database file {what}: {Remedy}."), (verify.Exit, verify.Output, verify.Error.TrimEnd('\n')));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(database)); // nothing wrote over the evidence
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
