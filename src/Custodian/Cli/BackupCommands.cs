using System.CommandLine;
using Custodian.Access.Certificates;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Protection.Backup;
using Custodian.Protection.Keys;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// <c>backup OUT</c> and <c>restore IN</c> (see <see cref="SnapshotBackup"/>). Backup runs while the
/// server runs; restore fills a new or empty data directory (never one that holds anything: refused, exit 2) and needs the master secret the backup's
/// keyring was wrapped with (<c>CUSTODIAN_MASTER_KEY</c> or <c>--master-key FILE</c>), which a backup never holds.
/// Both are all or nothing: they write into a hidden staging directory and move it into place when complete
/// (<see cref="SnapshotBackup"/>; docs/storage.md, "Backup and restore").
/// </summary>
internal static class BackupCommands
{
    public static Command Backup()
    {
        var output = new Argument<DirectoryInfo>("out") { Description = "Backup directory to create (must not exist or be empty)." };
        var lockTimeout = CustodianCli.LockTimeoutOption();
        var command = new Command("backup", "Write a consistent snapshot (database, wrapped keyring, sealed CA and TOTP-seed keys) while the server runs. The master key is not included: keep it separately.") { output, lockTimeout };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var data = parse.GetValue(CustodianCli.DataOption)!;
            var target = CliFiles.OutputDirectory(parse.GetValue(output)!.ToString(), "<out>"); // checked first: a missing parent or an existing file is a bad argument (exit 1)
            await using var context = await CliContext.OpenAsync(data);
            if (!context.Get<Storage.CustodianDatabase>().IsSqlite)
            {
                throw Storage.StorageFeatureUnavailableException.BackupOnPostgres("backup"); // docs/storage.md
            }

            var paths = DataPaths.For(data);
            var files = new Dictionary<string, (string, bool)>
            {
                ["ca/" + CertificateAuthority.CertificateFileName] = (Path.Combine(paths.CertificateAuthority, CertificateAuthority.CertificateFileName), false),
                ["ca/" + CertificateAuthority.KeyFileName] = (Path.Combine(paths.CertificateAuthority, CertificateAuthority.KeyFileName), true),
                [Path.GetRelativePath(paths.Root, paths.AccessSecretsKey).Replace('\\', '/')] = (paths.AccessSecretsKey, true),
            };
            // During a CA rotation the previous CA (ca/previous/) is still trusted and still issues the server certificate:
            // terminals not yet renewed hold its certificates and pin it. A restore without it would refuse every one of them.
            var previous = Path.Combine(paths.CertificateAuthority, CertificateAuthority.PreviousDirectoryName);
            foreach (var (name, secret) in new[] { (CertificateAuthority.CertificateFileName, false), (CertificateAuthority.KeyFileName, true) })
            {
                if (File.Exists(Path.Combine(previous, name)))
                {
                    files[$"ca/{CertificateAuthority.PreviousDirectoryName}/{name}"] = (Path.Combine(previous, name), secret);
                }
            }

            if (File.Exists(Ledger.Checkpoints.LogKeyFile.PathFor(paths.Root)))
            {
                files["checkpoints/log.key"] = (Ledger.Checkpoints.LogKeyFile.PathFor(paths.Root), true); // the checkpoint signing key (docs/ledger-format.md §7)
            }

            var manifest = await context.Get<SnapshotBackup>().BackupAsync(target, files, parse.LockTimeout(lockTimeout), ct);
            await RecordAsync(context, $"backup written: {manifest.Files!.Count} files", ct);
            AnsiConsole.MarkupLine($"Backup written to [bold]{Markup.Escape(target)}[/] ({CliText.Count(manifest.Files!.Count, "file")}). Keep the master key ({ProtectionKeyring.MasterKeyFileName} or {ProtectionKeyring.MasterKeyEnvironmentVariable}) separately: the backup cannot be restored without it.");
            return 0;
        }));
        return command;
    }

    public static Command Restore()
    {
        var input = new Argument<DirectoryInfo>("in") { Description = "Backup directory written by 'custodian backup'." };
        var masterKey = new Option<FileInfo?>("--master-key") { Description = "File holding the master key (base64 of 32 bytes, like keys/master.key) the backup was taken with; copied into the new data directory. Default: $CUSTODIAN_MASTER_KEY." };
        var command = new Command("restore", "Restore a backup into a new or empty data directory (--data; one that holds anything is refused). Checks every file's SHA-256 and the master key before writing anything; all or nothing.") { input, masterKey };
        command.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var data = parse.GetValue(CustodianCli.DataOption)!;
            _ = CliFiles.OutputDirectory(data, "--data"); // the directory to restore into: its parent must exist, it must not be a file (exit 1)
            var configured = new CustodianOptions { DataDirectory = data };
            StorageCli.BindFromEnvironment(configured);
            InProcessServers.ApplyTo(configured);
            if (Storage.StorageComposition.Resolve(configured) is { IsSuccess: true, Value.IsSqlite: false })
            {
                throw Storage.StorageFeatureUnavailableException.BackupOnPostgres("restore"); // before anything is written (docs/storage.md)
            }

            var paths = DataPaths.For(data);
            var file = parse.GetValue(masterKey) is { } requested ? CliFiles.InputFile(requested, "--master-key") : null;
            var environment = Environment.GetEnvironmentVariable(ProtectionKeyring.MasterKeyEnvironmentVariable);
            string text = file is not null
                ? await File.ReadAllTextAsync(file.FullName, ct)
                : !string.IsNullOrWhiteSpace(environment) ? environment
                : throw CliException.Usage($"restore needs the master key the backup was taken with: --master-key FILE or {ProtectionKeyring.MasterKeyEnvironmentVariable}.");
            var master = DecodeMasterKey(text);
            try
            {
                var from = CliFiles.InputDirectory(parse.GetValue(input)!.ToString(), "<in>");
                // A --data that exists and is not empty is refused (exit 2, SnapshotBackup.NotEmptyMessage), never merged or overwritten.
                // Everything, the master key copy included, is written into a staging directory and moved into place only
                // when complete: a failure or Ctrl-C leaves --data as it was (missing, or the empty directory it was).
                var manifest = await SnapshotBackup.RestoreAsync(
                    from,
                    paths.Root,
                    Path.GetFileName(paths.Database),
                    Path.GetFileName(paths.Keys),
                    master,
                    file is null ? null : (staging, token) => CliFiles.WritePrivateTextAsync(Path.Combine(staging, Path.GetFileName(paths.Keys), ProtectionKeyring.MasterKeyFileName), text.Trim() + "\n", token),
                    ct);
                await using var context = await CliContext.OpenAsync(data);
                await RecordAsync(context, $"restored from a backup taken at {DateTimeOffset.FromUnixTimeMilliseconds(manifest.CreatedAtUnixMs):yyyy-MM-ddTHH:mm:ssZ}", ct);
                AnsiConsole.MarkupLine($"Restored {CliText.Count(manifest.Files!.Count, "file")} into [bold]{Markup.Escape(paths.Root)}[/].");
                return 0;
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(master);
            }
        }));
        return command;
    }

    private static byte[] DecodeMasterKey(string text)
    {
        var buffer = new byte[35];
        return Convert.TryFromBase64String(text.Trim(), buffer, out var written) && written == ProtectionKeyring.KeySizeBytes
            ? buffer[..ProtectionKeyring.KeySizeBytes]
            : throw CliException.Usage($"the master key must be base64 of exactly {ProtectionKeyring.KeySizeBytes} bytes."); // a malformed value (exit 1); a well-formed wrong key fails the restore (exit 2)
    }

    private static Task RecordAsync(CliContext context, string reason, CancellationToken ct) =>
        context.Get<IAccessLedger>().AppendAsync(
            new AccessEntry
            {
                Time = context.Get<TimeProvider>().GetUtcNow(),
                Task = AccessTask.Download,
                Outcome = AccessOutcome.Allowed,
                Account = AdminCommands.Operator,
                Role = StaffRole.SecurityOfficer,
                Target = "database",
                Reason = reason,
            },
            ct).AsTask();
}
