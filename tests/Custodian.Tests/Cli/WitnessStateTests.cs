using Custodian.Cli;
using Custodian.Ledger.Checkpoints;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Transparency;
using Custodian.Witness;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.Cli;

/// <summary>
/// A witness's state is written with its key, so a lost <c>state.json</c> is caught: <c>witness run</c> refuses to start
/// (it would otherwise trust whatever checkpoint it saw first, hiding a rollback or fork) until the operator restores the
/// state or re-bootstraps with <c>--accept-first-checkpoint</c>; and <c>ledger witnesses remove</c> takes only a full
/// verifier key, removing exactly that key (docs/ledger-format.md §9).
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class WitnessStateTests
{
    [Fact]
    public async Task Witness_init_writes_the_initial_state_with_the_key_and_refuses_a_directory_holding_a_state()
    {
        var dir = Directory.CreateTempSubdirectory("custodian-witness-init-");
        try
        {
            var state = Path.Combine(dir.FullName, "w");
            Assert.Equal(0, await CustodianCli.RunAsync(["witness", "init", "--state", state, "--name", "w.test/init"]));
            var stateFile = Path.Combine(state, LedgerWitness.StateFileName);
            Assert.True(File.Exists(stateFile));
            Assert.Equal("{\n  \"logKey\": null,\n  \"size\": 0,\n  \"root\": null,\n  \"checkpoint\": null,\n  \"cosignature\": null\n}\n", await File.ReadAllTextAsync(stateFile));
            Assert.Null(LedgerWitness.ReadState(state)); // nothing cosigned yet
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(stateFile));
            }

            // A directory that still holds a state (its key lost) is not re-initialised over it: that would reset the state.
            File.Delete(Path.Combine(state, LedgerWitness.KeyFileName));
            var (exit, error) = await RunCapturingErrorAsync(["witness", "init", "--state", state, "--name", "w.test/init"]);
            Assert.Equal(CliExitCodes.Failed, exit);
            Assert.Equal($"error: {state} already holds a witness state.json; choose another --state.", error.TrimEnd('\n'));
            Assert.False(File.Exists(Path.Combine(state, LedgerWitness.KeyFileName)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Witness_run_refuses_to_start_with_a_lost_state_until_the_operator_accepts_the_first_checkpoint()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, services: s => s.AddSingleton(new CheckpointOptions { MaxFutureSkewSeconds = 86_400 }));
        var data = host.Directory.FullName;
        var state = Path.Combine(data, "..", Path.GetFileName(data) + "-witness-lost");
        var checkpoints = host.Get<LedgerCheckpoints>();
        var logKey = checkpoints.LogKey.ToString();
        var pin = host.Get<Access.Certificates.CertificateAuthority>().Sha256Fingerprint;
        try
        {
            var init = await RunProcessAsync("witness", "init", "--state", state, "--name", "witness.test/lost");
            Assert.True(init.Exit == 0, init.Error);
            var witnessKey = init.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
            Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "witnesses", "add", witnessKey, "--data", data]));
            string[] Run(params string[] extra) => ["witness", "run", "--once", "--state", state, "--server", host.PortalUrl.ToString(), "--log-key", logKey, "--ca-sha256", pin, .. extra];

            // A fresh witness (the state init wrote) trusts the first checkpoint it sees.
            await LedgerApiTests.AppendAsync(host, 4);
            var first = (await checkpoints.SignLatestAsync())!.Size;
            var round = await RunProcessAsync(Run());
            Assert.True(round.Exit == 0, round.Error);
            Assert.Equal(first, LedgerWitness.ReadState(state)!.Size);

            // The state is lost: run refuses to start, in one line, exit 2, and cosigns nothing.
            var stateFile = Path.Combine(state, LedgerWitness.StateFileName);
            File.Delete(stateFile);
            await LedgerApiTests.AppendAsync(host, 3);
            var second = (await checkpoints.SignLatestAsync())!.Size;
            var refused = await RunProcessAsync(Run());
            Assert.True(refused.Exit == CliExitCodes.Failed, refused.Output + refused.Error);
            Assert.Equal(
                $"error: {Path.GetFullPath(stateFile)} is missing but the witness key is there: the state was lost, and trusting the next checkpoint could hide a rollback or fork; restore state.json from a backup, or re-bootstrap knowingly with --accept-first-checkpoint.",
                refused.Error.TrimEnd('\n'));
            Assert.Equal(string.Empty, refused.Output);
            Assert.False(File.Exists(stateFile));
            Assert.Equal(first, (await checkpoints.Store.GetLatestAsync(1))!.Size); // the newest cosigned checkpoint is still the first

            // The operator re-bootstraps knowingly: the first checkpoint is accepted and a new state written.
            var accepted = await RunProcessAsync(Run("--accept-first-checkpoint"));
            Assert.True(accepted.Exit == 0, accepted.Error);
            Assert.Equal(second, LedgerWitness.ReadState(state)!.Size);
            Assert.Equal(second, (await checkpoints.Store.GetLatestAsync(1))!.Size);

            // The option is only for a lost state: with a state present it is refused (exit 2), so it cannot stay on by mistake.
            var again = await RunProcessAsync(Run("--accept-first-checkpoint"));
            Assert.True(again.Exit == CliExitCodes.Failed, again.Output + again.Error);
            Assert.Equal($"error: --accept-first-checkpoint is only for a lost state, but {Path.GetFullPath(stateFile)} is there; leave the option out.", again.Error.TrimEnd('\n'));
            var plain = await RunProcessAsync(Run());
            Assert.True(plain.Exit == 0, plain.Error);
            Assert.Contains("up to date", plain.Output, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(state))
            {
                Directory.Delete(state, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_witness_whose_state_vanishes_between_rounds_stops_instead_of_trusting_the_next_checkpoint()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, services: s => s.AddSingleton(new CheckpointOptions { MaxFutureSkewSeconds = 86_400 }));
        var checkpoints = host.Get<LedgerCheckpoints>();
        var dir = Directory.CreateTempSubdirectory("custodian-witness-vanish-");
        try
        {
            var key = NoteSigningKey.Generate("witness.test/vanish", NoteAlgorithms.CosignatureV1);
            await checkpoints.Store.AddWitnessAsync(key.Verifier, host.Clock.GetUtcNow());
            LedgerWitness.WriteInitialState(dir.FullName);
            using var http = await LedgerWitness.CreateClientAsync(host.PortalUrl, host.Get<Access.Certificates.CertificateAuthority>().Sha256Fingerprint, default);
            var witness = new LedgerWitness(key, checkpoints.LogKey, dir.FullName, http, host.Clock);
            await LedgerApiTests.AppendAsync(host, 3);
            await checkpoints.SignLatestAsync();
            Assert.Equal(WitnessOutcomeKind.Cosigned, (await witness.RunOnceAsync(default)).Kind);

            File.Delete(Path.Combine(dir.FullName, LedgerWitness.StateFileName));
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => witness.RunOnceAsync(default));
            Assert.Equal(LedgerWitness.LostStateMessage(dir.FullName), ex.Message);

            // Accepting the first checkpoint is good for one state only: once written, a later loss stops the witness again.
            var rebootstrapped = new LedgerWitness(key, checkpoints.LogKey, dir.FullName, http, host.Clock, acceptFirstCheckpoint: true);
            Assert.Equal(WitnessOutcomeKind.Cosigned, (await rebootstrapped.RunOnceAsync(default)).Kind);
            Assert.NotNull(LedgerWitness.ReadState(dir.FullName));
            File.Delete(Path.Combine(dir.FullName, LedgerWitness.StateFileName));
            await Assert.ThrowsAsync<InvalidOperationException>(() => rebootstrapped.RunOnceAsync(default));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")] // each row names its backend whatever CUSTODIAN_TEST_BACKEND says, and the first pass runs both: the PostgreSQL pass skips it (scripts/test.sh)
    public async Task Witnesses_remove_takes_the_full_verifier_key_and_removes_only_that_key(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, backend: backend);
        var data = host.Directory.FullName;
        var store = host.Get<CheckpointStore>();

        // One witness name with two keys (it rotated its key), and another witness.
        var old = NoteSigningKey.Generate("witness.test/rm", NoteAlgorithms.CosignatureV1).Verifier.ToString();
        var rotated = NoteSigningKey.Generate("witness.test/rm", NoteAlgorithms.CosignatureV1).Verifier.ToString();
        var other = NoteSigningKey.Generate("witness.test/rm2", NoteAlgorithms.CosignatureV1).Verifier.ToString();
        foreach (var key in new[] { old, rotated, other })
        {
            Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "witnesses", "add", key, "--data", data]));
        }

        async Task<string[]> ListAsync() => [.. (await store.ListWitnessesAsync()).Select(k => k.ToString()).Order(StringComparer.Ordinal)];
        string[] all = [.. new[] { old, rotated, other }.Order(StringComparer.Ordinal)];

        // A name, a prefix of a key, a key with its last characters cut off, the log's key: refused (exit 1), nothing removed.
        const string Rule = "error: verifier-key must be the witness's full verifier key <name>+<key ID>+<base64>, as 'custodian ledger witnesses list' prints it; a name or part of a key is not accepted.";
        foreach (var partial in new[] { "witness.test/rm", old[..(old.IndexOf('+', old.IndexOf('+', StringComparison.Ordinal) + 1) + 1)], old[..^4], old[..old.IndexOf('+', StringComparison.Ordinal)] })
        {
            var (exit, error) = await RunCapturingErrorAsync(["ledger", "witnesses", "remove", partial, "--data", data]);
            Assert.Equal(CliExitCodes.Usage, exit);
            Assert.Equal(Rule, error.TrimEnd('\n'));
        }

        var (logExit, logError) = await RunCapturingErrorAsync(["ledger", "witnesses", "remove", host.Get<LedgerCheckpoints>().LogKey.ToString(), "--data", data]);
        Assert.Equal(CliExitCodes.Usage, logExit);
        Assert.Equal("error: verifier-key must be a witness cosignature/v1 (0x04) verifier key.", logError.TrimEnd('\n'));
        Assert.Equal(all, await ListAsync());

        // A full key that is not configured: refused in this state (exit 2).
        var unknown = NoteSigningKey.Generate("witness.test/rm", NoteAlgorithms.CosignatureV1).Verifier.ToString();
        var (unknownExit, unknownError) = await RunCapturingErrorAsync(["ledger", "witnesses", "remove", unknown, "--data", data]);
        Assert.Equal(CliExitCodes.Failed, unknownExit);
        Assert.Equal("error: no configured witness has that verifier key (witness.test/rm); see 'custodian ledger witnesses list'.", unknownError.TrimEnd('\n'));
        Assert.Equal(all, await ListAsync());

        // The old key of the rotated witness: only it goes; the rotated key of the same name stays.
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "witnesses", "remove", old, "--data", data]));
        string[] kept = [.. new[] { rotated, other }.Order(StringComparer.Ordinal)];
        Assert.Equal(kept, await ListAsync());
        Assert.Equal(2, await CustodianCli.RunAsync(["ledger", "witnesses", "remove", old, "--data", data]));
    }

    private static async Task<(int Exit, string Error)> RunCapturingErrorAsync(string[] args)
    {
        var original = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            return (await CustodianCli.RunAsync(args), captured.ToString());
        }
        finally
        {
            Console.SetError(original);
        }
    }

    private static Task<(int Exit, string Output, string Error)> RunProcessAsync(params string[] args) =>
        CliProcess.RunAsync(new Dictionary<string, string>(), args);
}
