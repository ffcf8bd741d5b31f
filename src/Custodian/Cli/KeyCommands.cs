using System.CommandLine;
using System.Globalization;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Protection.Keys;
using Custodian.Protection.Rotation;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// <c>keys status</c>, <c>keys rotate</c>, <c>keys reencrypt</c>: key rotation without downtime. Run on
/// the server host while the server runs: it notices keyring changes within a second. <c>keys rotate</c> and
/// <c>keys reencrypt</c> (which retires keys) change the keyring under its cross-process lock and take
/// <c>--lock-timeout SECONDS</c> (<see cref="CustodianCli.LockTimeoutOption"/>) for the wait.
/// </summary>
internal static class KeyCommands
{
    public static Command Keys()
    {
        var status = new Command("status", "Show the keyring (ids, purposes, state) and how many subscriber rows each data key encrypts.");
        status.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var keys = context.Get<ProtectionKeyring>();
            var rotation = context.Get<KeyRotation>();
            var rows = await rotation.CountRowsByKeyAsync(ct);
            var (indexed, total) = await rotation.CountBlindIndexProgressAsync(ct);
            var table = new Table().AddColumns("key id", "purpose", "algorithm", "state", "created (UTC)", "rows");
            foreach (var entry in keys.Entries)
            {
                var state = entry.RetiredAt is not null ? "retired"
                    : entry.Id == keys.CurrentDataKeyId || entry.Id == keys.BlindIndexKeyId || entry.Id == keys.TokenKeyId ? "current"
                    : entry.Id == keys.PendingBlindIndexKeyId ? "pending (index rebuild)"
                    : "decrypt only";
                var count = entry.Purpose == "data" ? rows.GetValueOrDefault(entry.Id).ToString("N0", CultureInfo.InvariantCulture)
                    : entry.Id == keys.PendingBlindIndexKeyId ? $"{indexed:N0} of {total:N0} indexed"
                    : entry.Purpose == "blind-index" && entry.RetiredAt is null ? total.ToString("N0", CultureInfo.InvariantCulture)
                    : "-";
                table.AddRow(
                    entry.Id.ToString(CultureInfo.InvariantCulture),
                    entry.Purpose,
                    entry.Algorithm,
                    state,
                    entry.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    count);
            }

            AnsiConsole.Write(table);
            var stale = rows.Where(r => r.Key != keys.CurrentDataKeyId).Sum(r => r.Value);
            if (stale > 0 || keys.PendingBlindIndexKeyId is not null)
            {
                AnsiConsole.MarkupLine($"{CliText.Count(stale, "row")} {(stale == 1 ? "is" : "are")} not under the current data key{(keys.PendingBlindIndexKeyId is null ? string.Empty : "; a blind-index rebuild is pending")}: run 'custodian keys reencrypt'.");
            }

            return 0;
        }));

        var blindIndex = new Option<bool>("--blind-index") { Description = "Rotate the blind-index key instead of the data key (the index is rebuilt by 'keys reencrypt')." };
        var rotateLockTimeout = CustodianCli.LockTimeoutOption();
        var rotate = new Command("rotate", "Create a new data key for new writes (or, with --blind-index, a new blind-index key). Then run 'custodian keys reencrypt'.") { blindIndex, rotateLockTimeout };
        rotate.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var keys = context.Get<ProtectionKeyring>();
            string reason;
            if (parse.GetValue(blindIndex))
            {
                var pending = keys.BeginBlindIndexRotation(parse.LockTimeout(rotateLockTimeout));
                reason = $"blind-index key rotation started: key {pending} pending";
                AnsiConsole.MarkupLine($"Blind-index key {pending} is pending; searches use both keys until 'custodian keys reencrypt' has rebuilt the index.");
            }
            else
            {
                var created = keys.RotateDataKey(parse.LockTimeout(rotateLockTimeout));
                reason = $"data key rotated: new writes use key {created}";
                AnsiConsole.MarkupLine($"Data key {created} is current for new writes. Run 'custodian keys reencrypt' to move existing rows and retire older keys.");
            }

            await RecordAsync(context, reason, ct);
            return 0;
        }));

        var reencryptLockTimeout = CustodianCli.LockTimeoutOption();
        var reencrypt = new Command("reencrypt", "Re-encrypt every row under the current data key (resumable; safe while the server runs), retire unused data keys, and rebuild a pending blind index.") { reencryptLockTimeout };
        reencrypt.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var rotation = context.Get<KeyRotation>();
            rotation.KeyringLockTimeout = parse.LockTimeout(reencryptLockTimeout); // for retiring keys and completing an index rotation
            ReencryptionReport? report = null;
            long? indexed = null;
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async progress =>
                {
                    var rows = progress.AddTask("Re-encrypting rows", maxValue: 1);
                    report = await rotation.ReencryptAsync(new InlineProgress(rows), ct);
                    rows.Value = rows.MaxValue;
                    if (context.Get<ProtectionKeyring>().PendingBlindIndexKeyId is not null)
                    {
                        var index = progress.AddTask("Rebuilding blind index", maxValue: 1);
                        indexed = await rotation.RebuildBlindIndexAsync(new InlineProgress(index), ct);
                        index.Value = index.MaxValue;
                    }
                });

            var retired = report!.RetiredKeyIds.Count == 0 ? "none" : string.Join(", ", report.RetiredKeyIds);
            var summary = $"re-encryption to data key {report.TargetKeyId}: {report.RowsRewritten} rows rewritten{(report.Resumed ? " (resumed)" : string.Empty)}, keys retired: {retired}"
                + (indexed is { } n ? $"; blind index rebuilt ({n} rows), key {context.Get<ProtectionKeyring>().BlindIndexKeyId} current" : string.Empty);
            await RecordAsync(context, summary, ct);
            AnsiConsole.MarkupLine(Markup.Escape(char.ToUpperInvariant(summary[0]) + summary[1..]) + ".");
            return 0;
        }));

        return new Command("keys", "Key status and rotation without downtime.") { status, rotate, reencrypt };
    }

    private static Task RecordAsync(CliContext context, string reason, CancellationToken ct) =>
        context.Get<IAccessLedger>().AppendAsync(
            new AccessEntry
            {
                Time = context.Get<TimeProvider>().GetUtcNow(),
                Task = AccessTask.Change,
                Outcome = AccessOutcome.Allowed,
                Account = AdminCommands.Operator,
                Role = StaffRole.SecurityOfficer,
                Target = "keyring",
                Reason = reason,
            },
            ct).AsTask();

    /// <summary>Moves a Spectre progress task on the caller's thread.</summary>
    private sealed class InlineProgress(ProgressTask task) : IProgress<RotationProgress>
    {
        public void Report(RotationProgress value)
        {
            task.MaxValue = Math.Max(1, value.RowsTotal);
            task.Value = value.RowsDone;
        }
    }
}
