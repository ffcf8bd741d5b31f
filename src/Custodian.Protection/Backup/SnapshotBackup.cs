using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Custodian.Protection.Keys;
using Custodian.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Protection.Backup;

/// <summary>
/// Consistent backups of the embedded (SQLite) deployment, taken while the server runs, and their restore.
/// <para>
/// A backup is a directory:
/// <code>
/// manifest.json     format, creation time, SHA-256 and size of every other file
/// manifest.sealed   the SHA-256 of manifest.json, sealed under the master secret: restore trusts the manifest only with it
/// custodian.db      the database as of one instant (SQLite <c>VACUUM INTO</c>: one self-contained file, no WAL)
/// keys/keyring.json the keyring: data, blind-index and token keys, each wrapped by the KEK
/// sealed/*.sealed   other secret files (e.g. the device CA key, the TOTP-seed key), sealed with AES-256-GCM under a key derived from the master secret
/// plain/*           public files given as such (e.g. the CA certificate)
/// </code>
/// The master secret is NEVER part of a backup: keep it (<c>master.key</c> or <c>CUSTODIAN_MASTER_KEY</c>)
/// separately; without it a backup yields only ciphertexts, blind indexes and sealed blobs. The
/// database snapshot, the keyring copy and the other files (CA, <c>ca/previous</c>, access-secret and checkpoint keys) are
/// read under the keyring's cross-process lock, so no key rotation or retirement, nor a CA rotation (<c>custodian ca rotate</c> and
/// <c>ca finish-rotation</c> change the CA files under it), can fall between them (a rotation waits
/// until the backup is done). Backup and restore are all or nothing (<see cref="StagedDirectory"/>): a failure or
/// cancellation leaves no half-written backup or half-restored data directory.
/// </para>
/// <para>PostgreSQL deployments use their own tooling (pg_basebackup) for the database part.</para>
/// </summary>
public sealed partial class SnapshotBackup
{
    /// <summary>Name of the manifest file in a backup directory.</summary>
    public const string ManifestFileName = "manifest.json";

    /// <summary>Name of the database file in a backup directory.</summary>
    public const string DatabaseFileName = "custodian.db";

    /// <summary>
    /// Name of the manifest's seal in a backup directory: the SHA-256 of <see cref="ManifestFileName"/>'s bytes, sealed
    /// (AES-256-GCM) under a key derived from the master secret. Without it anyone able to write where backups are kept
    /// could rewrite the manifest's hashes and so the database, or list a file of their own (a device CA, a signing key)
    /// to be restored as a plain file.
    /// </summary>
    public const string ManifestSealFileName = "manifest.sealed";

    private const string ManifestSealLabel = "backup manifest sha-256"; // not a relative path: no sealed file can carry this label

    private const string KeyringEntry = "keys/" + ProtectionKeyring.KeyringFileName;

    private readonly CustodianDatabase _database;
    private readonly ProtectionKeyring _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the backup service.</summary>
    /// <param name="database">The live database.</param>
    /// <param name="keys">The keyring (its file is copied; it seals the secret files).</param>
    /// <param name="time">Clock for the manifest's creation time.</param>
    /// <param name="logger">Optional logger (events 3501–3509); paths and counts only.</param>
    public SnapshotBackup(CustodianDatabase database, ProtectionKeyring keys, TimeProvider time, ILogger<SnapshotBackup>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(time);
        _database = database;
        _keys = keys;
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Writes a backup into <paramref name="outputDirectory"/>, which must not exist or be empty, all or nothing: the files
    /// go to a hidden staging directory beside it (<c>.&lt;name&gt;.partial-&lt;random&gt;</c>; inside it when it exists
    /// and is empty, which is then kept with its owner and mode), are fsync'd, and are moved into place only when the
    /// manifest and its seal are written. On any failure or cancellation the staging directory is deleted and
    /// <paramref name="outputDirectory"/> is left as it was (missing or empty).
    /// </summary>
    /// <param name="outputDirectory">Where to write (created with mode 0700 when missing).</param>
    /// <param name="files">Other files of the data directory: relative path in the data directory → (full source path, whether it is secret and must be sealed). Read under the keyring lock, with the database snapshot and the keyring.</param>
    /// <param name="cancellationToken">Cancels the backup (nothing is left behind).</param>
    /// <returns>The manifest written.</returns>
    /// <exception cref="IOException">When the output directory is not empty, a file cannot be read or written, or another process still holds the keyring lock after <see cref="ProtectionKeyring.DefaultLockTimeout"/> (30 s).</exception>
    public Task<BackupManifest> BackupAsync(string outputDirectory, IReadOnlyDictionary<string, (string Source, bool Secret)> files, CancellationToken cancellationToken = default) =>
        BackupAsync(outputDirectory, files, ProtectionKeyring.DefaultLockTimeout, cancellationToken);

    /// <summary>
    /// Writes a backup into <paramref name="outputDirectory"/> as <see cref="BackupAsync(string, IReadOnlyDictionary{string, ValueTuple{string, bool}}, CancellationToken)"/>
    /// does, waiting up to <paramref name="lockTimeout"/> for the keyring lock (held by a key or CA rotation, or another backup).
    /// </summary>
    /// <param name="outputDirectory">Where to write (created with mode 0700 when missing).</param>
    /// <param name="files">Other files of the data directory: relative path in the data directory → (full source path, whether it is secret and must be sealed). Read under the keyring lock, with the database snapshot and the keyring.</param>
    /// <param name="lockTimeout">Longest wait for the keyring lock: more than zero, at most one hour (<c>custodian backup --lock-timeout</c>, default 30 s).</param>
    /// <param name="cancellationToken">Cancels the backup (nothing is left behind).</param>
    /// <returns>The manifest written.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lockTimeout"/> is zero, negative or longer than one hour.</exception>
    /// <exception cref="IOException">When the output directory is not empty, a file cannot be read or written, or another process still holds the keyring lock after <paramref name="lockTimeout"/> (nothing is left behind).</exception>
    public async Task<BackupManifest> BackupAsync(string outputDirectory, IReadOnlyDictionary<string, (string Source, bool Secret)> files, TimeSpan lockTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lockTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lockTimeout, TimeSpan.FromHours(1));
        var root = Path.GetFullPath(outputDirectory);
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
        {
            throw new IOException($"The backup directory '{root}' is not empty.");
        }

        using var staged = StagedDirectory.Begin(root);
        var stage = staged.Path;
        var entries = new List<BackupFile>();
        var contents = new List<(string Name, byte[] Content, bool Secret)>();
        try
        {
            await _keys.WithLockAsync(async () =>
            {
                var target = Path.Combine(stage, DatabaseFileName);
                await using (var connection = await _database.OpenAsync(cancellationToken))
                await using (var vacuum = connection.Command("VACUUM INTO @path", ("@path", target)))
                {
                    await vacuum.ExecuteNonQueryAsync(cancellationToken);
                }

                SetPrivate(target);
                FlushToDisk(target);
                entries.Add(await DescribeAsync(stage, DatabaseFileName, "database", cancellationToken));
                var keyring = await File.ReadAllBytesAsync(Path.Combine(_keys.KeysDirectory, ProtectionKeyring.KeyringFileName), cancellationToken);
                await WritePrivateAsync(stage, KeyringEntry, keyring, cancellationToken);
                entries.Add(await DescribeAsync(stage, KeyringEntry, "keyring", cancellationToken));

                // The other files (the CA, ca/previous during a CA rotation, the access-secret and checkpoint keys) are read
                // under the same lock, so the backup is one instant of the data directory, not the keyring of one and the CA of another.
                foreach (var (relative, (source, secret)) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
                {
                    contents.Add((CheckRelative(relative), await File.ReadAllBytesAsync(source, cancellationToken), secret));
                }

                return 0;
            }, lockTimeout);

            foreach (var (name, content, secret) in contents)
            {
                if (secret)
                {
                    var entry = "sealed/" + name.Replace('/', '_') + ".sealed";
                    await WritePrivateAsync(stage, entry, _keys.Seal(content, name), cancellationToken);
                    entries.Add((await DescribeAsync(stage, entry, "sealed", cancellationToken)) with { RestoreTo = name });
                }
                else
                {
                    var entry = "plain/" + name;
                    await WritePrivateAsync(stage, entry, content, cancellationToken);
                    entries.Add((await DescribeAsync(stage, entry, "plain", cancellationToken)) with { RestoreTo = name });
                }
            }
        }
        finally
        {
            foreach (var (_, content, _) in contents)
            {
                CryptographicOperations.ZeroMemory(content);
            }
        }

        var manifest = new BackupManifest { Format = 1, CreatedAtUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds(), Files = entries };
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, BackupJsonContext.Default.BackupManifest);
        await WritePrivateAsync(stage, ManifestFileName, manifestBytes, cancellationToken);

        // The manifest's SHA-256, sealed under the master secret: restore accepts the manifest (and through its hashes every
        // file, the database and the plain files included) only from a holder of that secret.
        await WritePrivateAsync(stage, ManifestSealFileName, _keys.Seal(SHA256.HashData(manifestBytes), ManifestSealLabel), cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        staged.Commit();
        Log.BackupWritten(_logger, root, entries.Count);
        return manifest;
    }

    /// <summary>
    /// Restores a backup into a data directory that is missing or empty: checks every file's SHA-256,
    /// checks that <paramref name="masterKey"/> unwraps the keyring, then writes the database (as
    /// <paramref name="databaseFileName"/>), <c>keys/keyring.json</c> and the other files (secret ones
    /// unsealed, mode 0600) into a hidden staging directory (<c>.&lt;name&gt;.partial-&lt;random&gt;</c>, beside
    /// <paramref name="dataDirectory"/>, or inside it when it exists and is empty), fsyncs them and only then moves them
    /// into place. On any failure or cancellation the staging directory is deleted and <paramref name="dataDirectory"/> is
    /// left as it was; an existing empty directory is kept, with its owner and mode.
    /// </summary>
    /// <param name="backupDirectory">A directory written by <see cref="BackupAsync(string, IReadOnlyDictionary{string, ValueTuple{string, bool}}, CancellationToken)"/>.</param>
    /// <param name="dataDirectory">The data directory to fill: missing (created 0700; its parent must exist) or empty.</param>
    /// <param name="databaseFileName">The database file name in the data directory, e.g. <c>custodian.db</c>.</param>
    /// <param name="keysDirectoryName">The keys directory name in the data directory, e.g. <c>keys</c>.</param>
    /// <param name="masterKey">The master secret the backup's keyring was wrapped with (32 bytes).</param>
    /// <param name="complete">Optional: called with the staging directory once every file is written, before it is moved into place, to add files of the caller's (the CLI copies the master key there); what it throws abandons the restore.</param>
    /// <param name="cancellationToken">Cancels the restore (nothing is left behind).</param>
    /// <returns>The verified manifest.</returns>
    /// <exception cref="InvalidOperationException">The data directory exists and is not empty (<see cref="NotEmptyMessage"/>); the manifest is missing or malformed; a file's hash differs; or the master secret does not unwrap the keyring (nothing is written in these cases).</exception>
    public static async Task<BackupManifest> RestoreAsync(string backupDirectory, string dataDirectory, string databaseFileName, string keysDirectoryName, ReadOnlyMemory<byte> masterKey, Func<string, CancellationToken, Task>? complete = null, CancellationToken cancellationToken = default)
    {
        var source = Path.GetFullPath(backupDirectory);
        var target = Path.GetFullPath(dataDirectory);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new InvalidOperationException(NotEmptyMessage(target));
        }

        BackupManifest manifest;
        byte[] manifestBytes;
        try
        {
            manifestBytes = await File.ReadAllBytesAsync(Path.Combine(source, ManifestFileName), cancellationToken);
            manifest = JsonSerializer.Deserialize(manifestBytes, BackupJsonContext.Default.BackupManifest)
                ?? throw new InvalidOperationException("The backup manifest is empty.");
        }
        catch (Exception ex) when (ex is JsonException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidOperationException($"'{source}' is not a Custodian backup (no valid {ManifestFileName}).", ex);
        }

        CheckManifestSeal(source, manifestBytes, masterKey.Span);

        if (manifest.Format != 1 || manifest.Files is null || !manifest.Files.Any(f => f.Kind == "database") || !manifest.Files.Any(f => f.Kind == "keyring"))
        {
            throw new InvalidOperationException($"The backup manifest in '{source}' has an unsupported format.");
        }

        // Verify everything before writing anything.
        var contents = new Dictionary<BackupFile, byte[]>();
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(source, CheckRelative(file.Path));
            var bytes = File.Exists(path) ? await File.ReadAllBytesAsync(path, cancellationToken) : throw new InvalidOperationException($"The backup file '{file.Path}' is missing.");
            if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(bytes)), file.Sha256, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"The backup file '{file.Path}' does not match its SHA-256 in the manifest (altered or truncated).");
            }

            contents[file] = file.Kind == "sealed" ? Unseal(masterKey.Span, bytes, file) : bytes;
        }

        var keyring = contents.Single(c => c.Key.Kind == "keyring").Value;
        ProtectionKeyring.Verify(masterKey.Span, keyring, source);

        using var staged = StagedDirectory.Begin(target);
        try
        {
            foreach (var (file, bytes) in contents)
            {
                var relative = file.Kind switch
                {
                    "database" => databaseFileName,
                    "keyring" => Path.Combine(keysDirectoryName, ProtectionKeyring.KeyringFileName),
                    _ => CheckRelative(file.RestoreTo ?? throw new InvalidOperationException($"The backup file '{file.Path}' has no restore path.")),
                };
                await WritePrivateAsync(staged.Path, relative, bytes, cancellationToken);
            }
        }
        finally
        {
            foreach (var (file, bytes) in contents.Where(c => c.Key.Kind == "sealed"))
            {
                CryptographicOperations.ZeroMemory(bytes);
            }
        }

        if (complete is not null)
        {
            await complete(staged.Path, cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        staged.Commit();
        return manifest;
    }

    /// <summary>The one-line refusal of a restore into a directory that is not empty: <c>restore refuses to write into '&lt;dir&gt;': it exists and is not empty (restore only into a new or empty directory; nothing was written).</c></summary>
    /// <param name="directory">The full path of the data directory.</param>
    /// <returns>The message.</returns>
    public static string NotEmptyMessage(string directory) =>
        $"restore refuses to write into '{directory}': it exists and is not empty (restore only into a new or empty directory; nothing was written).";

    private static void FlushToDisk(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>The manifest must be the one a holder of <paramref name="masterKey"/> wrote: its SHA-256 equals the sealed one.</summary>
    private static void CheckManifestSeal(string source, byte[] manifestBytes, ReadOnlySpan<byte> masterKey)
    {
        var path = Path.Combine(source, ManifestSealFileName);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The backup in '{source}' has no {ManifestSealFileName}: its manifest cannot be authenticated, so nothing is restored (backups written before the seal was introduced on 2026-12-02 have none; take a new backup with `custodian backup`).");
        }

        byte[] sealedHash;
        try
        {
            sealedHash = ProtectionKeyring.Open(masterKey, File.ReadAllBytes(path), ManifestSealLabel);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"The backup's {ManifestSealFileName} cannot be opened with the given master key: the backup was taken with another master key, or it was altered.", ex);
        }

        if (!CryptographicOperations.FixedTimeEquals(sealedHash, SHA256.HashData(manifestBytes)))
        {
            throw new InvalidOperationException($"The backup's {ManifestFileName} is not the one written with it (its SHA-256 differs from the sealed one): the manifest was altered, so nothing is restored.");
        }
    }

    private static byte[] Unseal(ReadOnlySpan<byte> masterKey, byte[] sealedData, BackupFile file)
    {
        try
        {
            return ProtectionKeyring.Open(masterKey, sealedData, file.RestoreTo ?? string.Empty);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"The sealed backup file '{file.Path}' cannot be opened with the given master key.", ex);
        }
    }

    private static async Task<BackupFile> DescribeAsync(string root, string relative, string kind, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(root, relative), cancellationToken);
        return new BackupFile { Path = relative, Kind = kind, Size = bytes.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)) };
    }

    private static string CheckRelative(string relative)
    {
        var normalized = relative.Replace('\\', '/');
        if (normalized.Length == 0 || Path.IsPathRooted(normalized) || normalized.Split('/').Any(p => p is "" or "." or ".."))
        {
            throw new InvalidOperationException("A backup path must be relative, without '.' or '..' segments.");
        }

        return normalized;
    }

    private static async Task WritePrivateAsync(string root, string relative, byte[] content, CancellationToken cancellationToken)
    {
        var path = Path.Combine(root, relative);
        CreatePrivateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using var stream = new FileStream(path, options);
        await stream.WriteAsync(content, cancellationToken);
        await stream.FlushAsync(cancellationToken);
        stream.Flush(flushToDisk: true);
    }

    // Every directory it creates is 0700, the parents too: Directory.CreateDirectory(path, mode) gives the mode to the last
    // one only and creates the missing parents 0777 less the umask, so 'plain/' of 'plain/ca/ca.crt' was 0755.
    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        var missing = new Stack<string>();
        for (var directory = Path.GetFullPath(path); !Directory.Exists(directory); directory = Path.GetDirectoryName(directory)!)
        {
            missing.Push(directory);
        }

        while (missing.TryPop(out var directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static void SetPrivate(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3501, Level = LogLevel.Information, Message = "Wrote a backup with {Files} files to {Directory}.")]
        public static partial void BackupWritten(ILogger logger, string directory, int files);
    }
}

/// <summary>The manifest of a backup directory (<c>manifest.json</c>).</summary>
public sealed class BackupManifest
{
    /// <summary>Format version (1).</summary>
    [JsonPropertyName("format")]
    public int Format { get; set; }

    /// <summary>When the backup was written, Unix ms UTC.</summary>
    [JsonPropertyName("createdAtUnixMs")]
    public long CreatedAtUnixMs { get; set; }

    /// <summary>Every file of the backup but the manifest.</summary>
    [JsonPropertyName("files")]
    public List<BackupFile>? Files { get; set; }
}

/// <summary>One file of a backup.</summary>
public sealed record BackupFile
{
    /// <summary>Path relative to the backup directory, with '/'.</summary>
    [JsonPropertyName("path")]
    public string Path { get; init; } = "";

    /// <summary><c>database</c>, <c>keyring</c>, <c>sealed</c> or <c>plain</c>.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; init; } = "";

    /// <summary>Size in bytes.</summary>
    [JsonPropertyName("size")]
    public long Size { get; init; }

    /// <summary>SHA-256 of the file, lower-case hex.</summary>
    [JsonPropertyName("sha256")]
    public string Sha256 { get; init; } = "";

    /// <summary>For sealed and plain files: the path relative to the data directory it is restored to.</summary>
    [JsonPropertyName("restoreTo")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RestoreTo { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(BackupManifest))]
internal sealed partial class BackupJsonContext : JsonSerializerContext;
