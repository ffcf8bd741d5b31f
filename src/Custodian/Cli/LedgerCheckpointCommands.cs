using System.CommandLine;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// Checkpoint verbs: <c>ledger checkpoint</c>, <c>ledger receipt</c>, <c>ledger witnesses add|list|remove</c>,
/// <c>ledger verify --against</c> and the offline <c>verify-receipt</c> (docs/ledger-format.md, "Checkpoints", "Receipts").
/// </summary>
internal static class LedgerCheckpointCommands
{
    /// <summary>Options <c>ledger verify</c> gains: <c>--against</c>, <c>--log-key</c>, <c>--witness-key</c>.</summary>
    internal sealed class AgainstOptions
    {
        public Option<FileInfo?> Against { get; } = new("--against") { Description = "A signed checkpoint file (from 'ledger checkpoint' or a witness) the ledger must reproduce." };

        public Option<string?> LogKey { get; } = new("--log-key") { Description = "With --against: the log's verifier key." };

        public Option<string[]> WitnessKeys { get; } = new("--witness-key") { Description = "With --against: a witness verifier key whose cosignature the checkpoint must carry (repeatable).", AllowMultipleArgumentsPerToken = false };

        public bool IsRequested(ParseResult parse)
        {
            if (parse.GetValue(Against) is not null)
            {
                return true;
            }

            return parse.GetValue(LogKey) is null && (parse.GetValue(WitnessKeys) ?? []).Length == 0
                ? false
                : throw CliException.Usage("--log-key and --witness-key go with --against.");
        }
    }

    /// <summary>Adds the <c>--against</c> options to <paramref name="verify"/>.</summary>
    public static AgainstOptions AddAgainstOptions(Command verify)
    {
        var options = new AgainstOptions();
        verify.Options.Add(options.Against);
        verify.Options.Add(options.LogKey);
        verify.Options.Add(options.WitnessKeys);
        return options;
    }

    /// <summary>
    /// <c>ledger verify --against F --log-key K [--witness-key W ...]</c>: the checkpoint's signatures, then
    /// the ordinary verification, then the ledger's payloads against the checkpoint's root (and the
    /// server's stored, log-signed checkpoints, to narrow the first bad position). Exit 3 on any failure.
    /// </summary>
    public static async Task<int> VerifyAgainstAsync(ParseResult parse, AgainstOptions options, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(parse.GetValue(options.LogKey)))
        {
            throw CliException.Usage("--against needs --log-key, the log's verifier key (printed by 'custodian serve' as 'Ledger key').");
        }

        var logKey = ParseKey(parse.GetValue(options.LogKey), "--log-key", NoteAlgorithms.Ed25519);
        var witnesses = (parse.GetValue(options.WitnessKeys) ?? []).Select(w => ParseKey(w, "--witness-key", NoteAlgorithms.CosignatureV1)).ToList();
        var file = CliFiles.InputFile(parse.GetValue(options.Against)!, "--against");
        var text = ReadFile(file);
        var opened = CheckpointVerifier.Open(text, logKey, witnesses, witnesses.Count);
        if (!opened.IsSuccess)
        {
            if (opened.Error!.Code == CheckpointErrors.NoteMalformed)
            {
                // Not a signed note at all (say, a receipt): a bad input file (exit 1), not a checkpoint that failed verification (exit 3).
                throw CliException.Usage($"--against is not a signed checkpoint file: {opened.Error.Message}");
            }

            Console.Error.WriteLine($"CHECKPOINT INVALID: {opened.Error.Message} ({opened.Error.Code})");
            return 3;
        }

        await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
        var result = await new LedgerVerifier(context.Get<Storage.CustodianDatabase>()).VerifyAsync(null, cancellationToken);
        if (!result.IsValid)
        {
            Console.Error.WriteLine($"LEDGER INVALID: first bad entry at sequence {result.FirstBadSequence} ({result.Reason})");
            return 3;
        }

        var checkpoint = opened.Value.Checkpoint;
        var audit = await context.Get<CheckpointAudit>().CheckAsync(checkpoint, logKey, witnesses, cancellationToken);
        if (!audit.IsValid)
        {
            Console.Error.WriteLine(
                $"LEDGER INVALID against checkpoint {checkpoint.Origin} size {checkpoint.Size}: first bad entry at sequence {audit.FirstBadSequence} ({audit.Reason}: "
                + (audit.Reason == VerificationFailures.RootMismatch ? $"the first changed entry lies in [{audit.FirstBadSequence}, {audit.DivergedAt}): " : string.Empty)
                + $"the payloads reproduce no signed root from size {audit.DivergedAt}; {CliText.Count(audit.CheckpointsUsed, "signed checkpoint")} compared)");
            return 3;
        }

        var cosigners = opened.Value.Cosignatures.Count == 0 ? "no witness keys given" : "cosigned by " + string.Join(", ", opened.Value.Cosignatures.Select(c => c.Witness));
        Console.WriteLine($"Ledger matches checkpoint {checkpoint.Origin} size {checkpoint.Size} ({CliText.Count(result.TreeSize, "entry", "entries")} now; log signature OK; {cosigners}; {CliText.Count(audit.CheckpointsUsed, "signed checkpoint")} compared).");
        return 0;
    }

    public static Command Checkpoint()
    {
        var output = new Option<FileInfo?>("--out") { Description = "Write the checkpoint to this file instead of standard output." };
        var minimum = new Option<int>("--min-witnesses") { Description = "Newest checkpoint with at least this many cosignatures (0: the newest log-signed one).", DefaultValueFactory = _ => 1 };
        minimum.InRange(0, SignedNote.MaxSignatures - 1);
        var command = new Command("checkpoint", "Print or save the latest cosigned checkpoint (C2SP signed note).") { output, minimum };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var target = OutputOf(parse.GetValue(output));
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var min = parse.GetValue(minimum);
            var note = await context.Get<LedgerCheckpoints>().GetLatestNoteAsync(min, ct)
                ?? throw new CliException($"no checkpoint with at least {CliText.Count(min, "cosignature")} yet (the server signs one every interval while the ledger grows; --min-witnesses 0 for the newest log-signed one).");
            await WriteAsync(target, note, ct);
            return 0;
        }));
        return command;
    }

    public static Command Receipt()
    {
        var sequence = new Option<long>("--sequence") { Description = "The entry's sequence number.", Required = true }.InRange(0, long.MaxValue);
        var output = new Option<FileInfo?>("--out") { Description = "Write the receipt to this file instead of standard output." };
        var command = new Command("receipt", "Write a receipt for one entry: payload, leaf index, inclusion proof and the cosigned checkpoint covering it.") { sequence, output };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var seq = parse.GetValue(sequence);
            var target = OutputOf(parse.GetValue(output));
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var receipt = await context.Get<LedgerCheckpoints>().BuildReceiptAsync(seq, null, withholdEntry: false, ct);
            if (!receipt.IsSuccess)
            {
                if (receipt.Error!.Code != Problems.ErrorCodes.NotFound)
                {
                    throw new CliException(receipt.Error.Message);
                }

                // Without a subject filter, an entry below the ledger size that has no receipt is one whose payload retention erased.
                var size = await context.Get<IAccessLedgerReader>().GetSizeAsync(ct);
                throw new CliException(seq < size
                    ? $"ledger entry {seq} was erased by retention: only its leaf hash is kept, so it has no receipt (docs/ledger-format.md §13)."
                    : $"no ledger entry {seq}: the ledger has {CliText.Count(size, "entry", "entries")}.");
            }

            await WriteAsync(target, receipt.Value.ToJson(), ct);
            return 0;
        }));
        return command;
    }

    public static Command Witnesses()
    {
        var key = new Argument<string>("verifier-key") { Description = "The witness's verifier key, as 'custodian witness init' printed it." };
        var add = new Command("add", "Accept cosignatures from this witness.") { key };
        add.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var witness = ParseKey(parse.GetValue(key), "verifier-key", NoteAlgorithms.CosignatureV1);
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var added = await context.Get<CheckpointStore>().AddWitnessAsync(witness, context.Get<TimeProvider>().GetUtcNow(), ct);
            Console.WriteLine(added ? $"Witness {witness.KeyName} added." : $"Witness {witness.KeyName} was already configured.");
            return 0;
        }));

        var list = new Command("list", "List the witnesses whose cosignatures the server accepts.");
        list.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            foreach (var w in await context.Get<CheckpointStore>().ListWitnessesAsync(ct))
            {
                Console.WriteLine(w.ToString());
            }

            return 0;
        }));

        var removed = new Argument<string>("verifier-key") { Description = "The witness's full verifier key, as 'ledger witnesses list' prints it (not its name: another key may share it)." };
        var remove = new Command("remove", "Stop accepting cosignatures from this witness key (cosignatures already held stay).") { removed };
        remove.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var text = parse.GetValue(removed);
            if (NoteVerifierKey.Parse(text) is { IsSuccess: false })
            {
                // A name or a cut-off key could match another witness's key (a rotated key keeps its name): only the whole key is taken.
                throw CliException.Usage("verifier-key must be the witness's full verifier key <name>+<key ID>+<base64>, as 'custodian ledger witnesses list' prints it; a name or part of a key is not accepted.");
            }

            var witness = ParseKey(text, "verifier-key", NoteAlgorithms.CosignatureV1);
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            if (!await context.Get<CheckpointStore>().RemoveWitnessAsync(witness, ct))
            {
                throw new CliException($"no configured witness has that verifier key ({witness.KeyName}); see 'custodian ledger witnesses list'.");
            }

            Console.WriteLine($"Witness key {witness.KeyName}+{witness.KeyId:x8} removed.");
            return 0;
        }));
        return new Command("witnesses", "Witnesses whose cosignatures the server accepts.") { add, list, remove };
    }

    public static Command VerifyReceipt()
    {
        var file = new Argument<FileInfo>("receipt") { Description = "The receipt file (JSON)." };
        var logKey = new Option<string>("--log-key") { Description = "The log's verifier key.", Required = true };
        var witnessKeys = new Option<string[]>("--witness-key") { Description = "A witness verifier key (repeatable)." };
        var minimum = new Option<int?>("--min-witnesses") { Description = "How many of the given witnesses must have cosigned (default: all given)." };
        var command = new Command("verify-receipt", "Verify a receipt offline with only public keys: leaf hash, inclusion proof, log signature, cosignatures.") { file, logKey, witnessKeys, minimum };
        command.SetAction(CustodianCli.Guarded((parse, _) =>
        {
            var log = ParseKey(parse.GetValue(logKey), "--log-key", NoteAlgorithms.Ed25519);
            var witnesses = (parse.GetValue(witnessKeys) ?? []).Select(w => ParseKey(w, "--witness-key", NoteAlgorithms.CosignatureV1)).ToList();
            var min = parse.GetValue(minimum) ?? witnesses.Count;
            if (min < 0 || min > witnesses.Count)
            {
                throw CliException.Usage("--min-witnesses must be between 0 and the number of --witness-key options.");
            }

            var text = ReadFile(CliFiles.InputFile(parse.GetValue(file)!, "<receipt>"));
            var receipt = LedgerReceipt.Parse(text);
            if (!receipt.IsSuccess && !LedgerReceipt.IsReceiptDocument(text))
            {
                // Not JSON, not an object, or no format custodian-receipt/v1: not a receipt at all, a bad input file (exit 1).
                throw CliException.Usage($"{parse.GetValue(file)} is not a receipt file: {receipt.Error!.Message}");
            }

            // A receipt whose member breaks its rule (receipt-malformed) fails verification like one whose proof does not
            // reach the root: exit 3 with the code (docs/ledger-format.md §11; README, "CLI exit codes").
            var verified = receipt.IsSuccess ? receipt.Value.Verify(log, witnesses, min) : receipt.Error!;
            if (!verified.IsSuccess)
            {
                Console.Error.WriteLine($"RECEIPT INVALID: {verified.Error!.Message} ({verified.Error.Code})");
                return Task.FromResult(3);
            }

            var r = receipt.Value;
            var cosigners = verified.Value.Cosignatures.Count == 0 ? "no cosignatures checked" : "cosigned by " + string.Join(", ", verified.Value.Cosignatures.Select(c => c.Witness));
            Console.WriteLine($"Receipt OK: entry {r.Sequence} is in {verified.Value.Checkpoint.Origin} at tree size {r.TreeSize} ({(r.Entry is null ? "entry withheld, leaf hash proven" : "entry payload proven")}; log signature OK; {cosigners}).");
            return Task.FromResult(0);
        }));
        return command;
    }

    private static NoteVerifierKey ParseKey(string? text, string option, byte algorithm)
    {
        var key = NoteVerifierKey.Parse(text);
        if (!key.IsSuccess)
        {
            throw CliException.Usage($"{option}: {key.Error!.Message}");
        }

        return key.Value.Algorithm == algorithm
            ? key.Value
            : throw CliException.Usage($"{option} must be a {(algorithm == NoteAlgorithms.Ed25519 ? "log (0x01)" : "witness cosignature/v1 (0x04)")} verifier key.");
    }

    private static string ReadFile(FileInfo file)
    {
        try
        {
            return File.ReadAllText(file.FullName, new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true));
        }
        catch (System.Text.DecoderFallbackException)
        {
            return "\uFFFD"; // not UTF-8: every parser here refuses U+FFFD
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read {file.FullName}: {ex.Message}");
        }
    }

    private static string? OutputOf(FileInfo? output) => output is null ? null : CliFiles.OutputFile(output.ToString(), "--out");

    private static async Task WriteAsync(string? output, string text, CancellationToken ct)
    {
        if (output is null)
        {
            Console.Write(text);
            return;
        }

        await CliFiles.WritePrivateTextAsync(output, text, ct); // a receipt carries the entry's payload (staff account, subscriber token): owner-only
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(output)}.");
    }
}
