using Custodian.Cli;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Transparency;
using Custodian.Witness;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.Cli;

/// <summary>
/// The witness as a separate real process (<c>dotnet custodian.dll witness …</c>) against a real server:
/// it cosigns a growing log round after round; then a database administrator deletes an entry and
/// recomputes every leaf hash and tree head (so plain <c>ledger verify</c> passes); the witness refuses
/// and keeps the evidence, and <c>ledger verify --against</c> names the first bad position.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class WitnessTests
{
    [Fact]
    public async Task Witness_cosigns_a_growing_log_then_catches_a_rewritten_history_as_does_verify_against()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, services: s => s.AddSingleton(new CheckpointOptions { MaxFutureSkewSeconds = 86_400 }));
        var data = host.Directory.FullName;
        var state = Path.Combine(data, "..", Path.GetFileName(data) + "-witness");
        var checkpoints = host.Get<LedgerCheckpoints>();
        var logKey = checkpoints.LogKey.ToString();
        var pin = host.Get<Access.Certificates.CertificateAuthority>().Sha256Fingerprint;
        try
        {
            var init = await RunProcessAsync("witness", "init", "--state", state, "--name", "witness.test/w1");
            Assert.True(init.Exit == 0, init.Error);
            var witnessKey = init.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
            Assert.Equal(NoteAlgorithms.CosignatureV1, NoteVerifierKey.Parse(witnessKey).Value.Algorithm);
            Assert.Equal(2, (await RunProcessAsync("witness", "init", "--state", state, "--name", "witness.test/w1")).Exit); // a second key in one state directory is refused (2), not a usage error
            Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "witnesses", "add", witnessKey, "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["ledger", "witnesses", "add", logKey, "--data", data]));

            string[] Run() => ["witness", "run", "--once", "--state", state, "--server", host.PortalUrl.ToString(), "--log-key", logKey, "--ca-sha256", pin];

            // Several rounds over a growing log; one round with no growth.
            var sizes = new List<long>();
            foreach (var grow in new[] { 4, 5, 6 })
            {
                await LedgerApiTests.AppendAsync(host, grow);
                sizes.Add((await checkpoints.SignLatestAsync())!.Size);
                var round = await RunProcessAsync(Run());
                Assert.True(round.Exit == 0, round.Error);
                Assert.Equal(sizes[^1], (await checkpoints.Store.GetLatestAsync(1))!.Size);
            }

            var idle = await RunProcessAsync(Run());
            Assert.True(idle.Exit == 0, idle.Error);
            Assert.Contains("up to date", idle.Output, StringComparison.Ordinal);
            Assert.Equal(2, (await RunProcessAsync([.. Run()[..^1], new string('0', 64)])).Exit);

            // Another key of the same name (a wrong --log-key, or a server that is not this log): the
            // round fails (2) and cosigns nothing, but it is no evidence against the log, so none is kept.
            var impostor = NoteSigningKey.Generate(checkpoints.LogKey.KeyName, NoteAlgorithms.Ed25519).Verifier.ToString();
            var otherState = Path.Combine(state, "..", "other-witness-state");
            Assert.Equal(0, (await RunProcessAsync("witness", "init", "--state", otherState, "--name", "witness.test/w2")).Exit);
            var wrongKey = await RunProcessAsync(["witness", "run", "--once", "--state", otherState, "--server", host.PortalUrl.ToString(), "--log-key", impostor, "--ca-sha256", pin]);
            Assert.True(wrongKey.Exit == 2, wrongKey.Output + wrongKey.Error);
            Assert.Contains("does not verify with --log-key", wrongKey.Error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(otherState, "evidence")));
            Directory.Delete(otherState, recursive: true);

            var checkpointFile = Path.Combine(state, "..", "cosigned.checkpoint");
            Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "checkpoint", "--out", checkpointFile, "--data", data]));
            Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--against", checkpointFile, "--log-key", logKey, "--witness-key", witnessKey, "--data", data]));
            Assert.Equal(1, await CustodianCli.RunAsync(["ledger", "verify", "--against", checkpointFile, "--log-key", witnessKey, "--data", data]));
            var (noKeyExit, noKeyError) = await RunCapturingErrorAsync(["ledger", "verify", "--against", checkpointFile, "--data", data]);
            Assert.Equal(1, noKeyExit);
            Assert.Contains("--against needs --log-key", noKeyError, StringComparison.Ordinal);

            // The rewrite: delete one entry between the second and third cosigned sizes, renumber, and
            // recompute every leaf hash and tree head consistently.
            var deleted = sizes[1] + 2;
            await RewriteWithoutAsync(host.Get<CustodianDatabase>(), deleted);
            Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--data", data]));

            await LedgerApiTests.AppendAsync(host, 3);
            var rewritten = (await checkpoints.SignLatestAsync())!;
            Assert.True(rewritten.Size > sizes[^1]);

            var refused = await RunProcessAsync(Run());
            Assert.True(refused.Exit == 3, refused.Output + refused.Error);
            Assert.Single(refused.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("not consistent", refused.Error, StringComparison.Ordinal);
            var evidence = Assert.Single(Directory.GetFiles(Path.Combine(state, "evidence")));
            var evidenceText = await File.ReadAllTextAsync(evidence);
            Assert.Contains($"\n{sizes[^1]}\n", evidenceText, StringComparison.Ordinal);
            Assert.Contains($"\n{rewritten.Size}\n", evidenceText, StringComparison.Ordinal);
            Assert.Equal(3, (await RunProcessAsync(Run())).Exit); // keeps refusing
            Assert.Equal(sizes[^1], LedgerWitnessState(state));

            var (exit, error) = await RunCapturingErrorAsync(["ledger", "verify", "--against", checkpointFile, "--log-key", logKey, "--witness-key", witnessKey, "--data", data]);
            Assert.Equal(3, exit);
            Assert.Contains($"first bad entry at sequence {sizes[1]} (root-mismatch", error, StringComparison.Ordinal);
            Assert.Contains($"the first changed entry lies in [{sizes[1]}, {sizes[2]})", error, StringComparison.Ordinal); // the deleted entry, sizes[1] + 2, is in it
        }
        finally
        {
            if (Directory.Exists(state))
            {
                Directory.Delete(state, recursive: true);
            }

            File.Delete(Path.Combine(state, "..", "cosigned.checkpoint"));
        }
    }

    [Fact]
    public async Task Officer_receipt_verifies_offline_and_a_flipped_byte_or_wrong_key_fails()
    {
        // The test signs its checkpoints itself: the server's publisher, whose first signing at start-up could land after
        // the entries below (it did on PostgreSQL under load), is left out, so "no checkpoint covers entry 2 yet" holds.
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, services: s =>
        {
            s.AddSingleton(new CheckpointOptions { MaxFutureSkewSeconds = 86_400 });
            s.Remove(s.Single(d => d.ImplementationType == typeof(Custodian.Transparency.CheckpointPublisher)));
        });
        var data = host.Directory.FullName;
        var checkpoints = host.Get<LedgerCheckpoints>();
        var witness = NoteSigningKey.Generate("witness.test/w2", NoteAlgorithms.CosignatureV1);
        await checkpoints.Store.AddWitnessAsync(witness.Verifier, host.Clock.GetUtcNow());
        await LedgerApiTests.AppendAsync(host, 5);
        var receiptFile = Path.Combine(data, "receipt.json");
        Assert.Equal(2, await CustodianCli.RunAsync(["ledger", "receipt", "--sequence", "2", "--out", receiptFile, "--data", data]));
        Assert.False(File.Exists(receiptFile));

        var stored = (await checkpoints.SignLatestAsync())!;
        var body = stored.Note[..(stored.Note.IndexOf("\n\n", StringComparison.Ordinal) + 1)];
        Assert.True((await checkpoints.AcceptCosignatureAsync(body, CosignatureV1.Sign(witness, body, host.Clock.GetUtcNow().ToUnixTimeSeconds()).Line)).IsSuccess);
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "receipt", "--sequence", "2", "--out", receiptFile, "--data", data]));
        Assert.Equal(2, await CustodianCli.RunAsync(["ledger", "receipt", "--sequence", "99999", "--out", receiptFile + "x", "--data", data]));

        var log = checkpoints.LogKey.ToString();
        string[] Verify(string file, params string[] extra) => ["verify-receipt", file, "--log-key", log, "--witness-key", witness.Verifier.ToString(), .. extra];
        Assert.Equal(0, await CustodianCli.RunAsync(Verify(receiptFile)));
        var receipt = LedgerReceipt.Parse(await File.ReadAllTextAsync(receiptFile)).Value;
        Assert.Equal(2, receipt.Sequence);
        Assert.NotNull(receipt.Entry);

        var other = NoteSigningKey.Generate("witness.test/w3", NoteAlgorithms.CosignatureV1).Verifier.ToString();
        Assert.Equal(3, await CustodianCli.RunAsync(["verify-receipt", receiptFile, "--log-key", log, "--witness-key", other]));
        Assert.Equal(0, await CustodianCli.RunAsync(["verify-receipt", receiptFile, "--log-key", log, "--witness-key", other, "--min-witnesses", "0"]));
        Assert.Equal(1, await CustodianCli.RunAsync(["verify-receipt", receiptFile, "--log-key", "nonsense"]));
        Assert.Equal(1, await CustodianCli.RunAsync(["verify-receipt", receiptFile, "--log-key", log, "--min-witnesses", "1"]));
        Assert.Equal(1, await CustodianCli.RunAsync(["verify-receipt", receiptFile + ".missing", "--log-key", log]));

        var bytes = await File.ReadAllBytesAsync(receiptFile);
        var flippedFile = Path.Combine(data, "flipped.json");
        for (var i = 0; i < bytes.Length; i += 7)
        {
            var copy = (byte[])bytes.Clone();
            copy[i] ^= 0x01;
            await File.WriteAllBytesAsync(flippedFile, copy);
            // 3: a well-formed receipt that fails verification; 1: the flip broke the file's shape, so it is no longer a receipt.
            Assert.True(await CustodianCli.RunAsync(Verify(flippedFile)) is 3 or 1, $"byte {i} flipped still verifies");
        }
    }

    [Fact]
    public async Task Verify_against_refuses_a_log_signed_checkpoint_of_size_0_whose_root_is_not_the_empty_tree()
    {
        var dir = Directory.CreateTempSubdirectory("custodian-size-zero-");
        try
        {
            var data = Path.Combine(dir.FullName, "data");
            Assert.Equal(0, (await CliCapture.RunAsync(["init", "--data", data])).Code);
            var key = LogKeyFile.LoadOrCreate(LogKeyFile.PathFor(data), "custodian/size-zero"); // the log key, as the server signs with it
            string Signed(byte[] root, string name)
            {
                var file = Path.Combine(dir.FullName, name);
                File.WriteAllText(file, SignedNote.Sign($"{key.KeyName}\n0\n{Convert.ToBase64String(root)}\n", key).Format());
                return file;
            }

            string[] Against(string file) => ["ledger", "verify", "--against", file, "--log-key", key.Verifier.ToString(), "--data", data];

            // The empty tree's root (RFC 9162 §2.1.1) is a prefix of every ledger.
            var empty = await CliCapture.RunAsync(Against(Signed(System.Security.Cryptography.SHA256.HashData(ReadOnlySpan<byte>.Empty), "empty.checkpoint")));
            Assert.Equal(0, empty.Code);
            Assert.StartsWith($"Ledger matches checkpoint {key.KeyName} size 0 (", empty.Stdout, StringComparison.Ordinal);

            // Any other root at size 0, however well signed, is no checkpoint of any ledger.
            var wrong = await CliCapture.RunAsync(Against(Signed(System.Security.Cryptography.SHA256.HashData("forged"u8), "wrong.checkpoint")));
            Assert.Equal(
                (3, string.Empty, "CHECKPOINT INVALID: The checkpoint is malformed: a checkpoint of size 0 must have the root of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1). (checkpoint-malformed)\n"),
                (wrong.Code, wrong.Stdout, wrong.Stderr));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Two_required_witnesses_are_not_met_by_one_witness_key_given_twice_or_by_two_keys_of_one_witness()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, services: s =>
        {
            s.AddSingleton(new CheckpointOptions { MaxFutureSkewSeconds = 86_400 });
            s.Remove(s.Single(d => d.ImplementationType == typeof(Custodian.Transparency.CheckpointPublisher)));
        });
        var data = host.Directory.FullName;
        var checkpoints = host.Get<LedgerCheckpoints>();

        // One witness, "witness.test/w4", with two keys (it rotated its key; both are configured); it cosigns with both.
        var first = NoteSigningKey.Generate("witness.test/w4", NoteAlgorithms.CosignatureV1);
        var second = NoteSigningKey.Generate("witness.test/w4", NoteAlgorithms.CosignatureV1);
        var independent = NoteSigningKey.Generate("witness.test/w5", NoteAlgorithms.CosignatureV1);
        foreach (var key in new[] { first, second, independent })
        {
            await checkpoints.Store.AddWitnessAsync(key.Verifier, host.Clock.GetUtcNow());
        }

        await LedgerApiTests.AppendAsync(host, 5);
        var stored = (await checkpoints.SignLatestAsync())!;
        var body = stored.Note[..(stored.Note.IndexOf("\n\n", StringComparison.Ordinal) + 1)];
        foreach (var key in new[] { first, second })
        {
            Assert.True((await checkpoints.AcceptCosignatureAsync(body, CosignatureV1.Sign(key, body, host.Clock.GetUtcNow().ToUnixTimeSeconds()).Line)).IsSuccess);
        }

        var receiptFile = Path.Combine(data, "receipt-two-witnesses.json");
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "receipt", "--sequence", "2", "--out", receiptFile, "--data", data]));
        var checkpointFile = Path.Combine(data, "two-witnesses.checkpoint");
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "checkpoint", "--out", checkpointFile, "--data", data]));
        var log = checkpoints.LogKey.ToString();
        string[] Receipt(params string[] keys) => ["verify-receipt", receiptFile, "--log-key", log, .. keys.SelectMany(k => new[] { "--witness-key", k })];
        string[] Against(params string[] keys) => ["ledger", "verify", "--against", checkpointFile, "--log-key", log, "--data", data, .. keys.SelectMany(k => new[] { "--witness-key", k })];

        // One witness satisfies a requirement of one.
        Assert.Equal(0, await CustodianCli.RunAsync(Receipt(first.Verifier.ToString())));
        Assert.Equal(0, await CustodianCli.RunAsync(Against(first.Verifier.ToString())));

        // Two witnesses required (the default: every key given): the same key twice is one witness ...
        Assert.Equal(3, await CustodianCli.RunAsync(Receipt(first.Verifier.ToString(), first.Verifier.ToString())));
        Assert.Equal(3, await CustodianCli.RunAsync(Against(first.Verifier.ToString(), first.Verifier.ToString())));

        // ... and so are two keys of one witness.
        Assert.Equal(3, await CustodianCli.RunAsync(Receipt(first.Verifier.ToString(), second.Verifier.ToString())));
        Assert.Equal(3, await CustodianCli.RunAsync([.. Receipt(first.Verifier.ToString(), second.Verifier.ToString(), independent.Verifier.ToString()), "--min-witnesses", "2"]));

        // A second, independent witness's cosignature meets it.
        Assert.True((await checkpoints.AcceptCosignatureAsync(body, CosignatureV1.Sign(independent, body, host.Clock.GetUtcNow().ToUnixTimeSeconds()).Line)).IsSuccess);
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "receipt", "--sequence", "2", "--out", receiptFile, "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync([.. Receipt(first.Verifier.ToString(), second.Verifier.ToString(), independent.Verifier.ToString()), "--min-witnesses", "2"]));
    }

    [Fact]
    public async Task Witness_init_writes_its_key_through_no_planted_temporary_file_or_link()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix modes and links
        }

        var dir = Directory.CreateTempSubdirectory("custodian-witness-tmp-");
        try
        {
            // A state directory others can write to (a shared, group-writable folder): someone plants the temporary name
            // the key was written through as a link to a file of theirs, and a world-readable leftover for the state.
            var state = Path.Combine(dir.FullName, "state");
            Directory.CreateDirectory(state);
            var theirs = Path.Combine(dir.FullName, "collected");
            await File.WriteAllTextAsync(theirs, string.Empty);
            File.SetUnixFileMode(theirs, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
            File.CreateSymbolicLink(Path.Combine(state, LedgerWitness.KeyFileName + ".tmp"), theirs);

            Assert.Equal(0, await CustodianCli.RunAsync(["witness", "init", "--state", state, "--name", "w.test/tmp"]));

            Assert.Equal(string.Empty, await File.ReadAllTextAsync(theirs)); // the private key did not go through the link
            var key = new FileInfo(Path.Combine(state, LedgerWitness.KeyFileName));
            Assert.Null(key.LinkTarget);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key.FullName));
            Assert.True(NoteSigningKey.Parse(await File.ReadAllTextAsync(key.FullName)).IsSuccess);

            // The log key file is written the same way: a leftover world-readable temporary file does not pass its mode on.
            var logKey = Path.Combine(dir.FullName, "data", "checkpoints", "log.key");
            Directory.CreateDirectory(Path.GetDirectoryName(logKey)!);
            await File.WriteAllTextAsync(logKey + ".tmp", string.Empty);
            File.SetUnixFileMode(logKey + ".tmp", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            LogKeyFile.LoadOrCreate(logKey, "custodian/tmp-test");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(logKey));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Witness_and_verify_arguments_are_checked_with_one_line_errors()
    {
        var dir = Directory.CreateTempSubdirectory("custodian-witness-args-");
        try
        {
            var state = dir.FullName;
            var log = NoteSigningKey.Generate("custodian/args", NoteAlgorithms.Ed25519).Verifier.ToString();
            Assert.Equal(1, await CustodianCli.RunAsync(["witness", "init", "--state", state, "--name", "bad name"]));
            Assert.Equal(1, await CustodianCli.RunAsync(["witness", "init", "--state", state, "--name", "a+b"]));
            Assert.Equal(0, await CustodianCli.RunAsync(["witness", "init", "--state", state, "--name", "w.test/args"]));
            var witnessKey = NoteSigningKey.Parse(await File.ReadAllTextAsync(Path.Combine(state, "witness.key"))).Value.Verifier.ToString();
            string[] Run(string server, string logKey, string interval) => ["witness", "run", "--once", "--state", state, "--server", server, "--log-key", logKey, "--interval", interval];
            Assert.Equal(1, await CustodianCli.RunAsync(Run("http://127.0.0.1:1", log, "10s")));
            Assert.Equal(1, await CustodianCli.RunAsync(Run("https://127.0.0.1:1", witnessKey, "10s")));
            Assert.Equal(1, await CustodianCli.RunAsync(Run("https://127.0.0.1:1", "not-a-key", "10s")));
            foreach (var interval in new[] { "0s", "999ms", "25h", "10", "s", "-1s", "1.5s" })
            {
                Assert.Equal(1, await CustodianCli.RunAsync(Run("https://127.0.0.1:1", log, interval)));
            }

            Assert.Equal(2, await CustodianCli.RunAsync(Run("https://127.0.0.1:1", log, "1s")));
            Assert.Equal(TimeSpan.FromMilliseconds(1500), WitnessCommands.ParseInterval("1500ms"));
            Assert.Equal(TimeSpan.FromMinutes(2), WitnessCommands.ParseInterval("2m"));
            Assert.Equal(1, await CustodianCli.RunAsync(["ledger", "verify", "--log-key", log, "--data", Path.Combine(state, "data")]));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static long LedgerWitnessState(string state) => Custodian.Witness.LedgerWitness.ReadState(state)!.Size;

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

    /// <summary>What an attacker with database access does: remove one entry and make everything else agree.</summary>
    private static async Task RewriteWithoutAsync(CustodianDatabase db, long sequence)
    {
        SqliteConnection.ClearAllPools();
        await using var connection = await db.OpenAsync(); // either backend: the statements below are portable
        await using var tx = await connection.BeginTransactionAsync();
        async Task ExecAsync(string sql)
        {
            await using var command = connection.Command(sql, ("@seq", sequence));
            command.Transaction = tx;
            await command.ExecuteNonQueryAsync();
        }

        await ExecAsync("DELETE FROM ledger_entries WHERE seq = @seq");
        await ExecAsync("DELETE FROM ledger_subjects WHERE seq = @seq");
        await ExecAsync("UPDATE ledger_entries SET seq = -seq WHERE seq > @seq");
        await ExecAsync("UPDATE ledger_entries SET seq = -seq - 1 WHERE seq < 0");
        await ExecAsync("UPDATE ledger_subjects SET seq = -seq WHERE seq > @seq");
        await ExecAsync("UPDATE ledger_subjects SET seq = -seq - 1 WHERE seq < 0");
        await ExecAsync("DELETE FROM ledger_tree_heads");
        await ExecAsync("DELETE FROM ledger_subtrees"); // rebuilt below, as a thorough forger would (ledger-002)
        await ExecAsync("UPDATE ledger_subject_watermark SET next_seq = next_seq - 1 WHERE next_seq > @seq"); // and the subject watermark (ledger-004)

        var range = new CompactRange();
        var rows = new List<(long Seq, byte[] Payload)>();
        await using (var read = connection.Command("SELECT seq, payload FROM ledger_entries ORDER BY seq"))
        {
            read.Transaction = tx;
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetInt64(0), (byte[])reader.GetValue(1)));
            }
        }

        foreach (var (seq, payload) in rows)
        {
            var leaf = MerkleTree.HashLeaf(payload);
            var subtrees = new List<(int Level, long Index, byte[] Hash)>();
            range.Append(leaf, (height, index, hash) =>
            {
                if (height % TiledRangeRoots.LedgerStride == 0)
                {
                    subtrees.Add((height, index, hash.ToArray()));
                }
            });
            foreach (var (level, index, hash) in subtrees)
            {
                await using var insert = connection.Command("INSERT INTO ledger_subtrees (level, idx, hash) VALUES (@l, @i, @h)", ("@l", (long)level), ("@i", index), ("@h", hash));
                insert.Transaction = tx;
                await insert.ExecuteNonQueryAsync();
            }

            await using (var update = connection.Command("UPDATE ledger_entries SET leaf_hash = @leaf WHERE seq = @s", ("@leaf", leaf), ("@s", seq)))
            {
                update.Transaction = tx;
                await update.ExecuteNonQueryAsync();
            }

            var newest = seq == rows[^1].Seq;
            await using var head = connection.Command(
                "INSERT INTO ledger_tree_heads (tree_size, root, time_ms, frontier) VALUES (@size, @root, 0, @frontier)",
                ("@size", range.Size),
                ("@root", range.GetRoot()),
                ("@frontier", newest ? range.ToBytes() : null));
            head.Transaction = tx;
            await head.ExecuteNonQueryAsync();
        }

        await tx.CommitAsync();
        SqliteConnection.ClearAllPools();
    }

    private static Task<(int Exit, string Output, string Error)> RunProcessAsync(params string[] args) =>
        CliProcess.RunAsync(new Dictionary<string, string>(), args);
}
