using Custodian.Cli;
using Custodian.Hosting;
using Custodian.Ledger.Checkpoints;
using Custodian.Witness;
using Microsoft.Data.Sqlite;

namespace Custodian.Tests.Cli;

/// <summary>
/// A key file that group or others can read or write (mode &amp; 0o077 != 0) stops <c>serve</c> and <c>witness run</c> with one
/// line naming the file, its mode and <c>chmod 600</c>, exit 2, as OpenSSH refuses such a private key (README.md, "Keys,
/// audits and backups"). Real files, modes set with <see cref="File.SetUnixFileMode(string, UnixFileMode)"/>.
/// </summary>
[Collection(nameof(CliCollection))]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix file modes; Custodian runs on Linux hosts
public sealed class KeyFilePermissionTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-key-modes-");

    private string Data => Path.Combine(_dir.FullName, "data");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Theory]
    [InlineData("keys/master.key", "the master key", UnixFileMode.GroupRead, "0640")]
    [InlineData("access/secrets.key", "the TOTP-seed key", UnixFileMode.OtherRead, "0604")]
    [InlineData("checkpoints/log.key", "the checkpoint signing key", UnixFileMode.GroupRead | UnixFileMode.OtherRead, "0644")]
    [InlineData("ca/ca.key", "the device CA key", UnixFileMode.GroupWrite, "0620")]
    [InlineData("ca/previous/ca.key", "the previous device CA key", UnixFileMode.OtherExecute, "0601")]
    public async Task Serve_refuses_to_start_while_a_key_file_is_accessible_by_group_or_others_and_names_the_chmod(string relative, string what, UnixFileMode loose, string octal)
    {
        Assert.Equal(0, (await CliCapture.RunAsync(["init", "--data", Data])).Code);
        Assert.Equal(0, (await CliCapture.RunAsync(["ca", "rotate", "--data", Data])).Code); // so that ca/previous/ca.key exists
        _ = LogKeyFile.LoadOrCreate(LogKeyFile.PathFor(Data), "custodian/key-modes"); // written at the server's first checkpoint
        var file = Path.Combine(Path.GetFullPath(Data), relative);
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(file)); // as Custodian writes every one of them

        // Owner-only: serve gets past the key check, up to the lock the test holds (another server, as far as it can tell).
        var paths = DataPaths.For(Data);
        using (var held = paths.TryHoldServerLock())
        {
            Assert.NotNull(held);
            var passed = await CliCapture.RunAsync(["serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0"]);
            Assert.Equal((2, $"error: another Custodian process holds the data directory {paths.Root} (a running server, or init or masking adopt at work).\n"), (passed.Code, passed.Stderr));

            File.SetUnixFileMode(file, OwnerOnly | loose);
            var refused = await CliCapture.RunAsync(["serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0"]);
            Assert.Equal(
                (2, string.Empty, $"error: {what} {file} is accessible by group or others (mode {octal}); a key file must be owner-only: run 'chmod 600 {file}' (and check who could have read it).\n"),
                (refused.Code, refused.Stdout, refused.Stderr));
        }
    }

    [Fact]
    public async Task Witness_run_refuses_a_witness_key_accessible_by_group_or_others_before_contacting_the_server()
    {
        var state = Path.Combine(_dir.FullName, "witness");
        Assert.Equal(0, (await CliCapture.RunAsync(["witness", "init", "--state", state, "--name", "witness.test/modes"])).Code);
        var key = Path.Combine(state, LedgerWitness.KeyFileName);
        var log = NoteSigningKey.Generate("custodian/key-modes", NoteAlgorithms.Ed25519).Verifier.ToString();
        string[] run = ["witness", "run", "--once", "--state", state, "--server", "https://127.0.0.1:1", "--log-key", log];

        // Owner-only: the witness goes on to fetch the checkpoint (the server is unreachable: a failed round, exit 2).
        var passed = await CliCapture.RunAsync(run);
        Assert.Equal(2, passed.Code);
        Assert.StartsWith("error: cannot fetch the checkpoint: ", passed.Stderr, StringComparison.Ordinal);

        File.SetUnixFileMode(key, OwnerOnly | UnixFileMode.GroupRead);
        var refused = await CliCapture.RunAsync(run);
        Assert.Equal(
            (2, $"error: the witness key {key} is accessible by group or others (mode 0640); a key file must be owner-only: run 'chmod 600 {key}' (and check who could have read it).\n"),
            (refused.Code, refused.Stderr));
    }
}
