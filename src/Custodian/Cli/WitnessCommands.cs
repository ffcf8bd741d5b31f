using System.CommandLine;
using System.Globalization;
using Custodian.Ledger.Checkpoints;
using Custodian.Witness;

namespace Custodian.Cli;

/// <summary><c>custodian witness init|run</c>: an independent witness with its own key and state (docs/ledger-format.md, "Witness protocol").</summary>
internal static class WitnessCommands
{
    public static Command Witness()
    {
        var state = new Option<DirectoryInfo>("--state") { Description = "The witness's state directory (its key, state.json, evidence/).", Required = true };
        var name = new Option<string>("--name") { Description = "The witness's key name, e.g. witness.example.org/w1 (no spaces or '+').", Required = true };
        var init = new Command("init", "Create the witness's own Ed25519 cosigner key and its initial state.json; prints its verifier key.") { state, name };
        init.SetAction(CustodianCli.Guarded((parse, _) =>
        {
            var directory = parse.GetValue(state)!.FullName;
            var keyName = parse.GetValue(name)!;
            if (!NoteKeyIds.IsValidName(keyName))
            {
                throw CliException.Usage("--name must be non-empty without spaces or '+'.");
            }

            var keyFile = Path.Combine(directory, LedgerWitness.KeyFileName);
            if (File.Exists(keyFile))
            {
                throw new CliException($"{directory} already holds a witness key; choose another --state."); // refused, not a usage error: exit 2
            }

            if (LedgerWitness.StateExists(directory))
            {
                throw new CliException($"{directory} already holds a witness {LedgerWitness.StateFileName}; choose another --state."); // a state is never reset by init
            }

            var key = NoteSigningKey.Generate(keyName, NoteAlgorithms.CosignatureV1);
            LogKeyFile.WriteSecret(keyFile, key.ToPrivateKeyString() + "\n");

            // The state is written with the key, so that a state lost later is told apart from one never written (witness run).
            LedgerWitness.WriteInitialState(directory);
            Console.WriteLine($"Witness key created in {keyFile} (0600; back it up: it is the witness's identity) with its state {Path.Combine(directory, LedgerWitness.StateFileName)} (back it up too).");
            Console.WriteLine("Verifier key (give it to the log operator: custodian ledger witnesses add <key>):");
            Console.WriteLine(key.Verifier.ToString());
            return Task.FromResult(0);
        }));

        var server = new Option<string>("--server") { Description = "The Custodian portal URL, e.g. https://127.0.0.1:7444.", Required = true };
        var logKey = new Option<string>("--log-key") { Description = "The log's verifier key (printed by 'custodian serve', served at /ledger/v1/key; obtain it out of band).", Required = true };
        var pin = new Option<string?>("--ca-sha256") { Description = "SHA-256 fingerprint of Custodian's CA: 64 hex digits, or 32 colon-separated pairs (AB:CD:…), one case throughout; without it the system's trusted roots are used." };
        var interval = new Option<string>("--interval") { Description = "Time between rounds, e.g. 10s, 500ms, 2m (1s-1d).", DefaultValueFactory = _ => "10s" };
        var once = new Option<bool>("--once") { Description = "Run one round and exit: 0 cosigned or up to date, 2 failed, 3 refused (history rewritten)." };
        var acceptFirst = new Option<bool>("--accept-first-checkpoint") { Description = "The state.json is lost: knowingly trust the first checkpoint seen and start a new state from it (a rollback or fork before it goes unnoticed)." };
        var run = new Command("run", "Fetch checkpoints, verify the log's signature and consistency with what was cosigned before, cosign and submit.") { state, server, logKey, pin, interval, once, acceptFirst };
        run.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var directory = parse.GetValue(state)!.FullName;
            var url = CliArguments.HttpsUrl(parse.GetValue(server), "--server", "https://127.0.0.1:7444 (the portal port)");
            var log = NoteVerifierKey.Parse(parse.GetValue(logKey));
            if (!log.IsSuccess || log.Value.Algorithm != NoteAlgorithms.Ed25519)
            {
                throw CliException.Usage("--log-key must be the log's verifier key <name>+<key ID>+<base64> (algorithm 0x01).");
            }

            var period = ParseInterval(parse.GetValue(interval));
            var fingerprint = parse.GetValue(pin) is { } givenPin ? CliArguments.Sha256Fingerprint(givenPin, "--ca-sha256") : null;
            var keyFile = Path.Combine(directory, LedgerWitness.KeyFileName);
            if (!File.Exists(keyFile))
            {
                throw CliException.Usage($"no witness key in {directory}; run 'custodian witness init --state {directory} --name <name>' first.");
            }

            var acceptFirstCheckpoint = parse.GetValue(acceptFirst);
            if (acceptFirstCheckpoint && LedgerWitness.StateExists(directory))
            {
                throw new CliException($"--accept-first-checkpoint is only for a lost state, but {Path.Combine(directory, LedgerWitness.StateFileName)} is there; leave the option out."); // refused in this state: exit 2
            }

            if (!acceptFirstCheckpoint && !LedgerWitness.StateExists(directory))
            {
                throw new CliException(LedgerWitness.LostStateMessage(directory)); // refused in this state: exit 2
            }

            if (Files.KeyFilePermissions.Refusal(keyFile, "the witness key") is { } loose)
            {
                throw new CliException(loose); // as serve does for the log's keys (ServeStartChecks.CheckKeyFiles)
            }

            var key = NoteSigningKey.Parse(await File.ReadAllTextAsync(keyFile, ct));
            if (!key.IsSuccess || key.Value.Verifier.Algorithm != NoteAlgorithms.CosignatureV1)
            {
                throw new CliException($"{keyFile} does not hold a cosignature/v1 signer key.");
            }

            FileStream held;
            try
            {
                held = new FileStream(Path.Combine(directory, "witness.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                throw new CliException($"another witness process is using {directory}.");
            }

            await using var lockHeld = held;
            HttpClient client;
            try
            {
                client = await LedgerWitness.CreateClientAsync(url, fingerprint, ct);
            }
            catch (HttpRequestException ex)
            {
                throw new CliException(ex.StatusCode == System.Net.HttpStatusCode.NotFound
                    ? $"cannot reach {url}: 404 for /ledger/v1/ca; --server must be the portal port (default 7444), not the terminal API."
                    : CliText.Unreachable(url, ex));
            }

            using var http = client;
            var witness = new LedgerWitness(key.Value, log.Value, directory, http, TimeProvider.System, acceptFirstCheckpoint);
            while (true)
            {
                WitnessOutcome outcome;
                try
                {
                    outcome = await witness.RunOnceAsync(ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return 0; // stopped (Ctrl+C); the state on disk is complete
                }

                if (outcome.Kind is WitnessOutcomeKind.Cosigned or WitnessOutcomeKind.UpToDate)
                {
                    Console.WriteLine(outcome.Message);
                }
                else
                {
                    Console.Error.WriteLine("error: " + outcome.Message);
                }

                if (parse.GetValue(once))
                {
                    return outcome.Kind switch
                    {
                        WitnessOutcomeKind.Refused => 3,
                        WitnessOutcomeKind.Failed => 2,
                        _ => 0,
                    };
                }

                try
                {
                    await Task.Delay(period, TimeProvider.System, ct);
                }
                catch (OperationCanceledException)
                {
                    return 0;
                }
            }
        }));
        return new Command("witness", "An independent witness of a Custodian ledger: its own key and state; cosigns consistent checkpoints.") { init, run };
    }

    /// <summary>Parses <c>&lt;n&gt;ms|s|m|h</c> into a span of 1 second to 1 day.</summary>
    internal static TimeSpan ParseInterval(string? text)
    {
        var usage = CliException.Usage("--interval must be a number with a unit ms, s, m or h (e.g. 10s), from 1s to 24h.");
        if (string.IsNullOrEmpty(text))
        {
            throw usage;
        }

        var unitStart = text.TakeWhile(char.IsAsciiDigit).Count();
        if (unitStart == 0 || unitStart > 9 || !long.TryParse(text[..unitStart], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            throw usage;
        }

        var span = text[unitStart..] switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            _ => throw usage,
        };
        return span < TimeSpan.FromSeconds(1) || span > TimeSpan.FromDays(1) ? throw usage : span;
    }
}
