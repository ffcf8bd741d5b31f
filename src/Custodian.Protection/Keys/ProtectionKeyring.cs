using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Protection.Keys;

/// <summary>
/// The protection keyring: envelope encryption of Custodian's data keys.
/// <para>
/// A 32-byte master secret (from the environment variable <see cref="MasterKeyEnvironmentVariable"/>
/// as base64, else the file <see cref="MasterKeyFileName"/> in the keys directory, created with
/// owner-only permissions 0600 on first use) is stretched with HKDF-SHA256 (RFC 5869, empty salt,
/// info <c>"Custodian keyring KEK v1"</c>) into the key-encryption key (KEK). The KEK wraps, with
/// AES-256-GCM (NIST SP 800-38D, 96-bit random nonce, 128-bit tag), every 256-bit key the keyring
/// holds: the data keys used by <see cref="FieldCipher"/>, the blind-index keys used by
/// <see cref="BlindIndex"/> and the FF1 token key used by <see cref="Tokenizer"/>. The wrapped keys
/// live in <see cref="KeyringFileName"/> with their id, purpose, version and creation time; the
/// associated data of each wrap binds the entry's purpose, id and version so entries cannot be
/// swapped. Files are written atomically (temporary file, fsync, rename) under an exclusive lock file
/// (<see cref="LockFileName"/>), so several processes (server, CLI) can share one keyring.
/// </para>
/// <para>
/// Rotation: <see cref="RotateDataKey()"/> adds a data key used for new writes (old ones still
/// decrypt until retired with <see cref="RetireDataKey(uint)"/>); <see cref="BeginBlindIndexRotation()"/> and
/// <see cref="CompleteBlindIndexRotation()"/> roll the blind-index key while the index is rebuilt. Every
/// instance notices changes written by another process within <see cref="RefreshInterval"/> (it
/// checks the file's time stamp and size), and at once through <see cref="Refresh"/>, which the
/// cipher calls when a ciphertext names a key it does not hold yet. The KEK stays in memory for the
/// instance's lifetime so that new keys can be unwrapped; raw key bytes never leave this assembly.
/// Thread-safe.
/// </para>
/// </summary>
public sealed partial class ProtectionKeyring
{
    /// <summary>Environment variable holding the master secret as base64 of exactly 32 bytes. Takes precedence over the file.</summary>
    public const string MasterKeyEnvironmentVariable = "CUSTODIAN_MASTER_KEY";

    /// <summary>Name of the master secret file in the keys directory (base64 of 32 bytes, one line, mode 0600), used when the environment variable is not set.</summary>
    public const string MasterKeyFileName = "master.key";

    /// <summary>Name of the keyring file in the keys directory (JSON, wrapped keys only).</summary>
    public const string KeyringFileName = "keyring.json";

    /// <summary>Name of the lock file serializing changes to the keyring across processes (empty, mode 0600).</summary>
    public const string LockFileName = "keyring.lock";

    /// <summary>Length of the master secret, of the KEK and of every key in the keyring, in bytes (256 bits).</summary>
    public const int KeySizeBytes = 32;

    internal const string DataPurpose = "data";
    internal const string BlindIndexPurpose = "blind-index";
    internal const string TokenPurpose = "token";
    private const int FormatVersion = 1;
    private const int WrapNonceSize = 12;
    private const int WrapTagSize = 16;
    private static readonly byte[] KekInfo = "Custodian keyring KEK v1"u8.ToArray();

    private readonly byte[] _kek;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _refreshLock = new();
    private volatile KeyState _state;
    private long _nextCheck;

    private ProtectionKeyring(string directory, byte[] kek, TimeProvider time, ILogger logger, KeyState state)
    {
        KeysDirectory = directory;
        _kek = kek;
        _time = time;
        _logger = logger;
        _state = state;
        _nextCheck = Environment.TickCount64 + (long)RefreshInterval.TotalMilliseconds;
    }

    /// <summary>
    /// How long <see cref="WithLockAsync{T}(Func{Task{T}})"/> and the keyring's own changes (key rotation, retirement) wait
    /// for the cross-process keyring lock before giving up: 30 seconds. The CLI verbs that take the lock (<c>backup</c>,
    /// <c>ca rotate</c>, <c>ca finish-rotation</c>, <c>keys rotate</c>, <c>keys reencrypt</c>) accept another wait with <c>--lock-timeout</c>.
    /// </summary>
    public static TimeSpan DefaultLockTimeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an instance may go on using its view of the keyring before it checks the file for changes made by another process: 1 second.</summary>
    public static TimeSpan RefreshInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Full path of the keys directory.</summary>
    public string KeysDirectory { get; }

    /// <summary>Id of the data key new field ciphertexts are encrypted under (1 for a fresh keyring). Embedded in each ciphertext.</summary>
    public uint CurrentDataKeyId => State.CurrentDataKeyId;

    /// <summary>Id of the blind-index HMAC key searches and writes use (2 for a fresh keyring).</summary>
    public uint BlindIndexKeyId => State.IndexKey.Id;

    /// <summary>Id of a blind-index key being rolled in while the index is rebuilt, or null when no index rotation is in progress.</summary>
    public uint? PendingBlindIndexKeyId => State.PendingIndexKey?.Id;

    /// <summary>Id of the FF1 token key (3 for a fresh keyring; added on first load to keyrings that predate tokens).</summary>
    public uint TokenKeyId => State.TokenKeyId;

    /// <summary>Ids of every data key the keyring can decrypt with (retired keys excluded), ascending.</summary>
    public IReadOnlyCollection<uint> DataKeyIds => State.DataKeyIds;

    /// <summary>Every key entry of the keyring, retired ones included, in id order (no key material).</summary>
    public IReadOnlyList<KeyringEntry> Entries => State.Entries;

    /// <summary>The current blind-index key (32 bytes). Internal: never exposed outside Protection.</summary>
    internal ReadOnlySpan<byte> BlindIndexKey => State.IndexKey.Key;

    /// <summary>The current blind-index key with its id.</summary>
    internal IndexKey CurrentIndexKey => State.IndexKey;

    /// <summary>The pending blind-index key, or null.</summary>
    internal IndexKey? PendingIndexKey => State.PendingIndexKey;

    /// <summary>The FF1 token key (32 bytes, AES-256).</summary>
    internal ReadOnlySpan<byte> TokenKey => State.TokenKey;

    /// <summary>The current data key.</summary>
    internal DataKey CurrentDataKey => State.DataKeys[State.CurrentDataKeyId];

    private KeyState State
    {
        get
        {
            if (Environment.TickCount64 >= Volatile.Read(ref _nextCheck))
            {
                Refresh();
            }

            return _state;
        }
    }

    /// <summary>
    /// Loads the keyring from <paramref name="keysDirectory"/>, creating the directory (mode 0700),
    /// the master secret file (when <see cref="MasterKeyEnvironmentVariable"/> is not set) and a
    /// fresh keyring (one data key, one blind-index key, one token key) on first use.
    /// </summary>
    /// <param name="keysDirectory">Directory holding <see cref="KeyringFileName"/> and, without the environment variable, <see cref="MasterKeyFileName"/>.</param>
    /// <param name="time">Clock for the created-at and retired-at stamps.</param>
    /// <param name="logger">Optional logger (events 3001–3009); never receives key material.</param>
    /// <returns>The loaded keyring.</returns>
    /// <exception cref="InvalidOperationException">
    /// The environment variable is not base64 of 32 bytes; the master key file is malformed; a keyring
    /// exists but no master secret is available; the keyring is malformed; or it cannot be unwrapped
    /// with the given master secret (wrong <c>CUSTODIAN_MASTER_KEY</c> or <c>master.key</c>).
    /// </exception>
    public static ProtectionKeyring LoadOrCreate(string keysDirectory, TimeProvider time, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(keysDirectory);
        ArgumentNullException.ThrowIfNull(time);
        logger ??= NullLogger.Instance;
        var directory = Path.GetFullPath(keysDirectory);
        EnsureDirectory(directory);

        var fromEnvironment = Environment.GetEnvironmentVariable(MasterKeyEnvironmentVariable);
        byte[] master;
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            master = DecodeMasterKey(fromEnvironment, $"The environment variable {MasterKeyEnvironmentVariable} must be base64 of exactly {KeySizeBytes} bytes.");
            Log.MasterKeyFromEnvironment(logger);
        }
        else
        {
            master = ReadOrCreateMasterKeyFile(directory, logger);
        }

        try
        {
            return LoadOrCreate(directory, time, master, logger);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(master);
        }
    }

    /// <summary>
    /// Loads or creates the keyring in <paramref name="keysDirectory"/> with an explicit master secret
    /// (no environment variable, no <see cref="MasterKeyFileName"/>). For tools and tests.
    /// </summary>
    /// <param name="keysDirectory">Directory holding <see cref="KeyringFileName"/>; created (0700) when missing.</param>
    /// <param name="time">Clock for the created-at and retired-at stamps.</param>
    /// <param name="masterKey">The master secret, exactly 32 bytes.</param>
    /// <param name="logger">Optional logger.</param>
    /// <returns>The loaded keyring.</returns>
    /// <exception cref="ArgumentException">When <paramref name="masterKey"/> is not 32 bytes.</exception>
    /// <exception cref="InvalidOperationException">The keyring is malformed or cannot be unwrapped with <paramref name="masterKey"/>.</exception>
    public static ProtectionKeyring LoadOrCreate(string keysDirectory, TimeProvider time, ReadOnlySpan<byte> masterKey, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(keysDirectory);
        ArgumentNullException.ThrowIfNull(time);
        if (masterKey.Length != KeySizeBytes)
        {
            throw new ArgumentException($"The master key must be exactly {KeySizeBytes} bytes.", nameof(masterKey));
        }

        logger ??= NullLogger.Instance;
        var directory = Path.GetFullPath(keysDirectory);
        EnsureDirectory(directory);
        var kek = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey.ToArray(), KeySizeBytes, salt: [], info: KekInfo);
        var path = Path.Combine(directory, KeyringFileName);
        if (!File.Exists(path))
        {
            var created = CreateKeyringDocument(kek, time);
            if (AtomicFile.TryWriteNew(path, JsonSerializer.SerializeToUtf8Bytes(created, KeyringJsonContext.Default.KeyringDocument)))
            {
                Log.KeyringCreated(logger, created.CurrentDataKeyId, created.BlindIndexKeyId);
            }
        }

        var (document, stamp) = ReadDocument(path);
        if (document.TokenKeyId == 0)
        {
            // A keyring written before FF1 tokens existed: add a token key once, under the lock.
            (document, stamp) = Mutate(directory, kek, doc =>
            {
                if (doc.TokenKeyId != 0)
                {
                    return false;
                }

                var id = NextId(doc);
                doc.Keys!.Add(NewEntry(kek, id, TokenPurpose, "AES-256 FF1", time.GetUtcNow()));
                doc.TokenKeyId = id;
                return true;
            });
        }

        var keyring = new ProtectionKeyring(directory, kek, time, logger, Unwrap(directory, document, kek, stamp));
        Log.KeyringLoaded(logger, keyring.CurrentDataKeyId, keyring._state.DataKeys.Count);
        return keyring;
    }

    /// <summary>
    /// Re-reads <see cref="KeyringFileName"/> when another process changed it since this instance last
    /// read it (compared by last-write time and size). Called automatically at most every
    /// <see cref="RefreshInterval"/>, and by the cipher and vault when a key is missing.
    /// </summary>
    /// <returns>True when a changed keyring was loaded.</returns>
    /// <exception cref="InvalidOperationException">The changed file is malformed or cannot be unwrapped (the previous view is kept).</exception>
    public bool Refresh()
    {
        lock (_refreshLock)
        {
            Volatile.Write(ref _nextCheck, Environment.TickCount64 + (long)RefreshInterval.TotalMilliseconds);
            var path = Path.Combine(KeysDirectory, KeyringFileName);
            if (FileStamp.Of(path) == _state.Stamp)
            {
                return false;
            }

            var (document, stamp) = ReadDocument(path);
            _state = Unwrap(KeysDirectory, document, _kek, stamp);
            Log.KeyringReloaded(_logger, _state.CurrentDataKeyId, _state.IndexKey.Id);
            return true;
        }
    }

    /// <summary>
    /// Creates a new data key and makes it current: every process sharing the keyring encrypts new
    /// writes under it within <see cref="RefreshInterval"/>. Older data keys still decrypt until retired.
    /// </summary>
    /// <returns>The new key's id.</returns>
    /// <exception cref="IOException">The keyring lock is still held by another process after <see cref="DefaultLockTimeout"/> (30 s).</exception>
    public uint RotateDataKey() => RotateDataKey(DefaultLockTimeout);

    /// <summary>As <see cref="RotateDataKey()"/>, waiting up to <paramref name="lockTimeout"/> for the keyring lock.</summary>
    /// <param name="lockTimeout">Longest wait for the cross-process keyring lock: more than zero, at most one hour (the CLI's
    /// <c>--lock-timeout</c>, whole seconds, default <see cref="DefaultLockTimeout"/>).</param>
    /// <returns>The new key's id.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lockTimeout"/> is zero, negative or longer than one hour.</exception>
    /// <exception cref="IOException">Another process (a backup, a key or CA rotation) still holds the keyring lock after
    /// <paramref name="lockTimeout"/>; nothing was changed. The message is <see cref="WithLockAsync{T}(Func{Task{T}}, TimeSpan)"/>'s.</exception>
    public uint RotateDataKey(TimeSpan lockTimeout)
    {
        uint created = 0;
        Apply(lockTimeout, doc =>
        {
            created = NextId(doc);
            doc.Keys!.Add(NewEntry(_kek, created, DataPurpose, "AES-256-GCM", _time.GetUtcNow()));
            doc.CurrentDataKeyId = created;
            return true;
        });
        Log.DataKeyRotated(_logger, created);
        return created;
    }

    /// <summary>
    /// Retires a data key that no stored ciphertext uses any more: its wrapped bytes are destroyed and
    /// its entry keeps only id and dates. The caller must have checked that no row uses it (see
    /// <c>KeyRotation.CountRowsByKeyAsync</c>); a ciphertext under a retired key can never be decrypted again.
    /// </summary>
    /// <param name="keyId">A data key id other than <see cref="CurrentDataKeyId"/>.</param>
    /// <returns>True when the key was retired; false when it was already retired.</returns>
    /// <exception cref="ArgumentException">When <paramref name="keyId"/> is not a data key, or is the current one.</exception>
    /// <exception cref="IOException">The keyring lock is still held by another process after <see cref="DefaultLockTimeout"/> (30 s).</exception>
    public bool RetireDataKey(uint keyId) => RetireDataKey(keyId, DefaultLockTimeout);

    /// <summary>As <see cref="RetireDataKey(uint)"/>, waiting up to <paramref name="lockTimeout"/> for the keyring lock.</summary>
    /// <param name="keyId">A data key id other than <see cref="CurrentDataKeyId"/>.</param>
    /// <param name="lockTimeout">Longest wait for the cross-process keyring lock: more than zero, at most one hour (the CLI's
    /// <c>--lock-timeout</c>, whole seconds, default <see cref="DefaultLockTimeout"/>).</param>
    /// <returns>True when the key was retired; false when it was already retired.</returns>
    /// <exception cref="ArgumentException">When <paramref name="keyId"/> is not a data key, or is the current one.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lockTimeout"/> is zero, negative or longer than one hour.</exception>
    /// <exception cref="IOException">Another process (a backup, a key or CA rotation) still holds the keyring lock after
    /// <paramref name="lockTimeout"/>; nothing was changed. The message is <see cref="WithLockAsync{T}(Func{Task{T}}, TimeSpan)"/>'s.</exception>
    public bool RetireDataKey(uint keyId, TimeSpan lockTimeout)
    {
        var retired = false;
        Apply(lockTimeout, doc =>
        {
            var entry = doc.Keys!.FirstOrDefault(k => k.Id == keyId && k.Purpose == DataPurpose)
                ?? throw new ArgumentException("The key id does not name a data key of this keyring.", nameof(keyId));
            if (keyId == doc.CurrentDataKeyId)
            {
                throw new ArgumentException("The current data key cannot be retired; rotate first.", nameof(keyId));
            }

            if (entry.RetiredAtUnixMs is not null)
            {
                return false;
            }

            entry.Wrapped = null;
            entry.RetiredAtUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            retired = true;
            return true;
        });
        if (retired)
        {
            Log.DataKeyRetired(_logger, keyId);
        }

        return retired;
    }

    /// <summary>
    /// Starts a blind-index key rotation: creates a pending index key (or returns the one already
    /// pending). Searches consult the indexes under both keys until <see cref="CompleteBlindIndexRotation()"/>.
    /// </summary>
    /// <returns>The pending key's id.</returns>
    /// <exception cref="IOException">The keyring lock is still held by another process after <see cref="DefaultLockTimeout"/> (30 s).</exception>
    public uint BeginBlindIndexRotation() => BeginBlindIndexRotation(DefaultLockTimeout);

    /// <summary>As <see cref="BeginBlindIndexRotation()"/>, waiting up to <paramref name="lockTimeout"/> for the keyring lock.</summary>
    /// <param name="lockTimeout">Longest wait for the cross-process keyring lock: more than zero, at most one hour (the CLI's
    /// <c>--lock-timeout</c>, whole seconds, default <see cref="DefaultLockTimeout"/>).</param>
    /// <returns>The pending key's id.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lockTimeout"/> is zero, negative or longer than one hour.</exception>
    /// <exception cref="IOException">Another process (a backup, a key or CA rotation) still holds the keyring lock after
    /// <paramref name="lockTimeout"/>; nothing was changed. The message is <see cref="WithLockAsync{T}(Func{Task{T}}, TimeSpan)"/>'s.</exception>
    public uint BeginBlindIndexRotation(TimeSpan lockTimeout)
    {
        uint pending = 0;
        Apply(lockTimeout, doc =>
        {
            if (doc.PendingBlindIndexKeyId is { } existing)
            {
                pending = existing;
                return false;
            }

            pending = NextId(doc);
            doc.Keys!.Add(NewEntry(_kek, pending, BlindIndexPurpose, "HMAC-SHA256", _time.GetUtcNow()));
            doc.PendingBlindIndexKeyId = pending;
            return true;
        });
        Log.BlindIndexRotationStarted(_logger, pending);
        return pending;
    }

    /// <summary>
    /// Completes a blind-index key rotation: the pending key becomes current and the previous index
    /// key is retired (its wrapped bytes destroyed). Call only after every row's index under the
    /// pending key has been promoted to the main index columns.
    /// </summary>
    /// <exception cref="InvalidOperationException">When no index rotation is pending.</exception>
    /// <exception cref="IOException">The keyring lock is still held by another process after <see cref="DefaultLockTimeout"/> (30 s).</exception>
    public void CompleteBlindIndexRotation() => CompleteBlindIndexRotation(DefaultLockTimeout);

    /// <summary>As <see cref="CompleteBlindIndexRotation()"/>, waiting up to <paramref name="lockTimeout"/> for the keyring lock.</summary>
    /// <param name="lockTimeout">Longest wait for the cross-process keyring lock: more than zero, at most one hour (the CLI's
    /// <c>--lock-timeout</c>, whole seconds, default <see cref="DefaultLockTimeout"/>).</param>
    /// <exception cref="InvalidOperationException">When no index rotation is pending.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lockTimeout"/> is zero, negative or longer than one hour.</exception>
    /// <exception cref="IOException">Another process (a backup, a key or CA rotation) still holds the keyring lock after
    /// <paramref name="lockTimeout"/>; nothing was changed. The message is <see cref="WithLockAsync{T}(Func{Task{T}}, TimeSpan)"/>'s.</exception>
    public void CompleteBlindIndexRotation(TimeSpan lockTimeout)
    {
        uint current = 0;
        Apply(lockTimeout, doc =>
        {
            var pending = doc.PendingBlindIndexKeyId ?? throw new InvalidOperationException("No blind-index key rotation is pending.");
            var old = doc.Keys!.First(k => k.Id == doc.BlindIndexKeyId);
            old.Wrapped = null;
            old.RetiredAtUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            doc.BlindIndexKeyId = pending;
            doc.PendingBlindIndexKeyId = null;
            current = pending;
            return true;
        });
        Log.BlindIndexRotationCompleted(_logger, current);
    }

    /// <summary>
    /// Seals <paramref name="plaintext"/> under a key derived from the master secret for
    /// <paramref name="label"/> (HKDF-SHA256 info <c>"Custodian sealed v1|" + label</c>; AES-256-GCM, label as
    /// associated data). Output: nonce (12) ‖ ciphertext ‖ tag (16). Used to keep backups free of raw key files.
    /// </summary>
    internal byte[] Seal(ReadOnlySpan<byte> plaintext, string label) => Seal(_kek, plaintext, label);

    /// <summary>
    /// A 256-bit key for <paramref name="purpose"/> derived from the KEK (HKDF-SHA256, RFC 5869, empty salt, info
    /// <c>"Custodian keyring subkey v1|" + purpose</c>): fixed for the master secret, independent of every wrapped key, so it
    /// does not change with data-key or blind-index-key rotations. Used by <see cref="Households.HouseholdIndex"/>.
    /// </summary>
    /// <param name="purpose">A short stable label, e.g. <c>household-index</c>; not empty.</param>
    /// <returns>A new 32-byte array; the caller owns it.</returns>
    internal byte[] DeriveSubkey(string purpose)
    {
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, _kek, KeySizeBytes, salt: [], info: Encoding.UTF8.GetBytes("Custodian keyring subkey v1|" + purpose));
    }

    /// <summary>Opens what <see cref="Seal(ReadOnlySpan{byte}, string)"/> produced, given the master secret.</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">Wrong master secret, wrong label or altered data.</exception>
    internal static byte[] Open(ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> sealedData, string label)
    {
        var kek = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey.ToArray(), KeySizeBytes, salt: [], info: KekInfo);
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, kek, KeySizeBytes, salt: [], info: Encoding.UTF8.GetBytes("Custodian sealed v1|" + label));
        try
        {
            if (sealedData.Length < WrapNonceSize + WrapTagSize)
            {
                throw new CryptographicException("The sealed data is too short.");
            }

            var plaintext = new byte[sealedData.Length - WrapNonceSize - WrapTagSize];
            using var aes = new AesGcm(key, WrapTagSize);
            aes.Decrypt(sealedData[..WrapNonceSize], sealedData[WrapNonceSize..^WrapTagSize], sealedData[^WrapTagSize..], plaintext, Encoding.UTF8.GetBytes(label));
            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Checks that <paramref name="masterKey"/> unwraps the keyring document <paramref name="keyringJson"/>.</summary>
    /// <exception cref="InvalidOperationException">The document is malformed or cannot be unwrapped with the master secret.</exception>
    internal static void Verify(ReadOnlySpan<byte> masterKey, byte[] keyringJson, string directory)
    {
        var kek = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey.ToArray(), KeySizeBytes, salt: [], info: KekInfo);
        try
        {
            KeyringDocument document;
            try
            {
                document = JsonSerializer.Deserialize(keyringJson, KeyringJsonContext.Default.KeyringDocument) ?? throw new InvalidOperationException("The keyring is empty.");
            }
            catch (JsonException ex)
            {
                throw new InvalidOperationException("The keyring is not valid keyring JSON.", ex);
            }

            _ = Unwrap(directory, document, kek, default);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> holding the cross-process keyring lock, waiting up to <see cref="DefaultLockTimeout"/>
    /// (30 s) for it; see <see cref="WithLockAsync{T}(Func{Task{T}}, TimeSpan)"/>.
    /// </summary>
    /// <typeparam name="T">The action's result.</typeparam>
    /// <param name="action">The work to do under the lock; the lock is released when its task completes or fails.</param>
    /// <returns>The action's result.</returns>
    /// <exception cref="IOException">When another process (a backup, a key or CA rotation) still holds the lock after 30 s; the action did not run.</exception>
    public Task<T> WithLockAsync<T>(Func<Task<T>> action) => WithLockAsync(action, DefaultLockTimeout);

    /// <summary>
    /// Runs <paramref name="action"/> holding the cross-process keyring lock (<see cref="LockFileName"/> in the keys
    /// directory, an exclusive lock on the open file), so no key rotation or retirement happens meanwhile. Backups read
    /// the database, the keyring and the CA files under it (<c>SnapshotBackup</c>); CA rotation changes the CA files
    /// under it (docs/access.md §2.4), so a backup never copies a half-rotated CA. Waits up to <paramref name="timeout"/>
    /// for the lock (retrying every 20 ms), then gives up.
    /// </summary>
    /// <typeparam name="T">The action's result.</typeparam>
    /// <param name="action">The work to do under the lock; the lock is released when its task completes or fails.</param>
    /// <param name="timeout">Longest wait for the lock: more than zero, at most one hour (the CLI's <c>--lock-timeout</c>, whole seconds, default <see cref="DefaultLockTimeout"/>).</param>
    /// <returns>The action's result.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is zero, negative or longer than one hour.</exception>
    /// <exception cref="IOException">
    /// When another process (a backup, a key or CA rotation) still holds the lock after <paramref name="timeout"/>; the
    /// action did not run. The message names the wait in whole seconds: <c>the keyring lock (keyring.lock in the keys
    /// directory) is still held by another process after 30 s (a backup, or a key or CA rotation); nothing was changed, try
    /// again when it is done.</c>
    /// </exception>
    public async Task<T> WithLockAsync<T>(Func<Task<T>> action, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(action);
        CheckLockTimeout(timeout);
        using (TakeLock(KeysDirectory, timeout))
        {
            return await action();
        }
    }

    private static void CheckLockTimeout(TimeSpan timeout, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(timeout))] string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, name);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timeout, TimeSpan.FromHours(1), name);
    }

    // The cross-process keyring lock, or the one-line refusal naming the wait in whole seconds (WithLockAsync's docs).
    private static FileStream TakeLock(string directory, TimeSpan timeout)
    {
        try
        {
            return AtomicFile.Lock(Path.Combine(directory, LockFileName), timeout);
        }
        catch (IOException ex)
        {
            throw new IOException($"the keyring lock ({LockFileName} in the keys directory) is still held by another process after {timeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s (a backup, or a key or CA rotation); nothing was changed, try again when it is done.", ex);
        }
    }

    private static byte[] Seal(byte[] kek, ReadOnlySpan<byte> plaintext, string label)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, kek, KeySizeBytes, salt: [], info: Encoding.UTF8.GetBytes("Custodian sealed v1|" + label));
        try
        {
            var output = new byte[WrapNonceSize + plaintext.Length + WrapTagSize];
            RandomNumberGenerator.Fill(output.AsSpan(0, WrapNonceSize));
            using var aes = new AesGcm(key, WrapTagSize);
            aes.Encrypt(output.AsSpan(0, WrapNonceSize), plaintext, output.AsSpan(WrapNonceSize, plaintext.Length), output.AsSpan(WrapNonceSize + plaintext.Length), Encoding.UTF8.GetBytes(label));
            return output;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Finds the data key with <paramref name="keyId"/>, re-reading the keyring once when it is not known yet (another process may have rotated).</summary>
    internal bool TryGetDataKey(uint keyId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DataKey? key)
    {
        if (State.DataKeys.TryGetValue(keyId, out key))
        {
            return true;
        }

        Refresh();
        return _state.DataKeys.TryGetValue(keyId, out key);
    }

    private void Apply(TimeSpan lockTimeout, Func<KeyringDocument, bool> edit)
    {
        CheckLockTimeout(lockTimeout);
        lock (_refreshLock)
        {
            var (document, stamp) = Mutate(KeysDirectory, _kek, edit, lockTimeout);
            _state = Unwrap(KeysDirectory, document, _kek, stamp);
            Volatile.Write(ref _nextCheck, Environment.TickCount64 + (long)RefreshInterval.TotalMilliseconds);
        }
    }

    /// <summary>Read-modify-write of the keyring file under the cross-process lock; returns the document as written (or as read when unchanged).</summary>
    private static (KeyringDocument Document, FileStamp Stamp) Mutate(string directory, byte[] kek, Func<KeyringDocument, bool> edit, TimeSpan? lockTimeout = null)
    {
        var path = Path.Combine(directory, KeyringFileName);
        using (TakeLock(directory, lockTimeout ?? DefaultLockTimeout))
        {
            var (document, _) = ReadDocument(path);

            // Unwrapping first proves the master key is right before anything is written.
            _ = Unwrap(directory, document, kek, default);
            if (edit(document))
            {
                AtomicFile.Replace(path, JsonSerializer.SerializeToUtf8Bytes(document, KeyringJsonContext.Default.KeyringDocument));
            }

            return ReadDocument(path);
        }
    }

    private static uint NextId(KeyringDocument document) => document.Keys!.Max(k => k.Id) + 1;

    private static void EnsureDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static byte[] ReadOrCreateMasterKeyFile(string directory, ILogger logger)
    {
        var path = Path.Combine(directory, MasterKeyFileName);
        if (!File.Exists(path))
        {
            if (File.Exists(Path.Combine(directory, KeyringFileName)))
            {
                throw new InvalidOperationException(
                    $"The keyring in '{directory}' exists but no master key was found: set {MasterKeyEnvironmentVariable} or restore {MasterKeyFileName}.");
            }

            var fresh = RandomNumberGenerator.GetBytes(KeySizeBytes);
            var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(fresh) + "\n");
            CryptographicOperations.ZeroMemory(fresh);
            if (AtomicFile.TryWriteNew(path, text))
            {
                Log.MasterKeyFileCreated(logger);
            }

            CryptographicOperations.ZeroMemory(text);
        }

        return DecodeMasterKey(File.ReadAllText(path), $"The master key file '{path}' must hold base64 of exactly {KeySizeBytes} bytes.");
    }

    /// <summary>Decodes a master secret given as base64 of 32 bytes (the <see cref="MasterKeyFileName"/> or environment-variable form).</summary>
    /// <exception cref="InvalidOperationException">With <paramref name="message"/> when the text is not base64 of 32 bytes.</exception>
    internal static byte[] DecodeMasterKey(string base64, string message)
    {
        var buffer = new byte[KeySizeBytes + 3];
        try
        {
            if (!Convert.TryFromBase64String(base64.Trim(), buffer, out var written) || written != KeySizeBytes)
            {
                throw new InvalidOperationException(message);
            }

            return buffer.AsSpan(0, KeySizeBytes).ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer);
        }
    }

    private static KeyringDocument CreateKeyringDocument(byte[] kek, TimeProvider time)
    {
        var now = time.GetUtcNow();
        return new KeyringDocument
        {
            Format = FormatVersion,
            Kdf = "HKDF-SHA256",
            Wrap = "AES-256-GCM",
            CurrentDataKeyId = 1,
            BlindIndexKeyId = 2,
            TokenKeyId = 3,
            Keys =
            [
                NewEntry(kek, 1, DataPurpose, "AES-256-GCM", now),
                NewEntry(kek, 2, BlindIndexPurpose, "HMAC-SHA256", now),
                NewEntry(kek, 3, TokenPurpose, "AES-256 FF1", now),
            ],
        };
    }

    private static KeyEntry NewEntry(byte[] kek, uint id, string purpose, string algorithm, DateTimeOffset now)
    {
        const int version = 1;
        var key = RandomNumberGenerator.GetBytes(KeySizeBytes);
        var wrapped = new byte[WrapNonceSize + KeySizeBytes + WrapTagSize];
        try
        {
            var nonce = wrapped.AsSpan(0, WrapNonceSize);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(kek, WrapTagSize);
            aes.Encrypt(nonce, key, wrapped.AsSpan(WrapNonceSize, KeySizeBytes), wrapped.AsSpan(WrapNonceSize + KeySizeBytes), WrapAssociatedData(purpose, id, version));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return new KeyEntry
        {
            Id = id,
            Purpose = purpose,
            Version = version,
            Algorithm = algorithm,
            CreatedAt = now.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            CreatedAtUnixMs = now.ToUnixTimeMilliseconds(),
            Wrapped = Convert.ToBase64String(wrapped),
        };
    }

    private static byte[] WrapAssociatedData(string purpose, uint id, int version) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"custodian-keyring-v1|{purpose}|{id}|{version}"));

    private static (KeyringDocument Document, FileStamp Stamp) ReadDocument(string path)
    {
        try
        {
            var stamp = FileStamp.Of(path);
            var document = JsonSerializer.Deserialize(File.ReadAllBytes(path), KeyringJsonContext.Default.KeyringDocument)
                ?? throw new InvalidOperationException($"The keyring file '{path}' is empty.");
            return (document, stamp);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The keyring file '{path}' is not valid keyring JSON.", ex);
        }
    }

    private static KeyState Unwrap(string directory, KeyringDocument document, byte[] kek, FileStamp stamp)
    {
        var path = Path.Combine(directory, KeyringFileName);
        if (document.Format != FormatVersion || document.Keys is null)
        {
            throw new InvalidOperationException($"The keyring file '{path}' has an unsupported format (expected format {FormatVersion}).");
        }

        var dataKeys = new Dictionary<uint, DataKey>();
        var indexKeys = new Dictionary<uint, byte[]>();
        byte[]? tokenKey = null;
        var seen = new HashSet<uint>();
        var entries = new List<KeyringEntry>();
        using var aes = new AesGcm(kek, WrapTagSize);
        foreach (var entry in document.Keys.OrderBy(k => k.Id))
        {
            if (!seen.Add(entry.Id) || entry.Id == 0 || entry.Purpose is not (DataPurpose or BlindIndexPurpose or TokenPurpose))
            {
                throw new InvalidOperationException($"The keyring file '{path}' has a duplicate, zero or unknown-purpose key entry.");
            }

            var retiredAt = entry.RetiredAtUnixMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
            entries.Add(new KeyringEntry(entry.Id, entry.Purpose, entry.Algorithm, DateTimeOffset.FromUnixTimeMilliseconds(entry.CreatedAtUnixMs), retiredAt));
            if (retiredAt is not null)
            {
                continue;
            }

            var wrapped = DecodeWrapped(entry.Wrapped, path);
            var key = new byte[KeySizeBytes];
            try
            {
                aes.Decrypt(
                    wrapped.AsSpan(0, WrapNonceSize),
                    wrapped.AsSpan(WrapNonceSize, KeySizeBytes),
                    wrapped.AsSpan(WrapNonceSize + KeySizeBytes),
                    key,
                    WrapAssociatedData(entry.Purpose, entry.Id, entry.Version));
            }
            catch (CryptographicException ex)
            {
                throw new InvalidOperationException(
                    $"The keyring in '{directory}' cannot be unwrapped with the configured master key ({MasterKeyEnvironmentVariable} or {MasterKeyFileName}): wrong master key or altered keyring.",
                    ex);
            }

            switch (entry.Purpose)
            {
                case DataPurpose:
                    dataKeys.Add(entry.Id, new DataKey(entry.Id, key));
                    break;
                case BlindIndexPurpose:
                    indexKeys.Add(entry.Id, key);
                    break;
                default:
                    if (entry.Id == document.TokenKeyId)
                    {
                        tokenKey = key;
                    }

                    break;
            }
        }

        if (!dataKeys.ContainsKey(document.CurrentDataKeyId)
            || !indexKeys.TryGetValue(document.BlindIndexKeyId, out var indexKey)
            || (document.PendingBlindIndexKeyId is { } p && !indexKeys.ContainsKey(p))
            || (document.TokenKeyId != 0 && tokenKey is null))
        {
            throw new InvalidOperationException($"The keyring file '{path}' does not hold its current data key, its blind-index keys or its token key.");
        }

        return new KeyState(
            dataKeys.ToFrozenDictionary(),
            document.CurrentDataKeyId,
            new IndexKey(document.BlindIndexKeyId, indexKey),
            document.PendingBlindIndexKeyId is { } pending ? new IndexKey(pending, indexKeys[pending]) : null,
            document.TokenKeyId,
            tokenKey ?? [],
            entries,
            stamp);
    }

    private static byte[] DecodeWrapped(string? base64, string path)
    {
        var buffer = new byte[WrapNonceSize + KeySizeBytes + WrapTagSize];
        if (base64 is null || !Convert.TryFromBase64String(base64, buffer, out var written) || written != buffer.Length)
        {
            throw new InvalidOperationException($"The keyring file '{path}' has a malformed wrapped key.");
        }

        return buffer;
    }

    /// <summary>An immutable view of the unwrapped keyring; swapped whole on refresh.</summary>
    private sealed class KeyState(
        FrozenDictionary<uint, DataKey> dataKeys,
        uint currentDataKeyId,
        IndexKey indexKey,
        IndexKey? pendingIndexKey,
        uint tokenKeyId,
        byte[] tokenKey,
        IReadOnlyList<KeyringEntry> entries,
        FileStamp stamp)
    {
        public FrozenDictionary<uint, DataKey> DataKeys { get; } = dataKeys;

        public IReadOnlyCollection<uint> DataKeyIds { get; } = [.. dataKeys.Keys.Order()];

        public uint CurrentDataKeyId { get; } = currentDataKeyId;

        public IndexKey IndexKey { get; } = indexKey;

        public IndexKey? PendingIndexKey { get; } = pendingIndexKey;

        public uint TokenKeyId { get; } = tokenKeyId;

        public byte[] TokenKey { get; } = tokenKey;

        public IReadOnlyList<KeyringEntry> Entries { get; } = entries;

        public FileStamp Stamp { get; } = stamp;
    }

    /// <summary>Last-write time and size of a file: enough to notice an atomic replace.</summary>
    private readonly record struct FileStamp(long LastWriteTicks, long Length)
    {
        public static FileStamp Of(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? new FileStamp(info.LastWriteTimeUtc.Ticks, info.Length) : default;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Created a new protection keyring (data key {DataKeyId}, blind-index key {BlindIndexKeyId}).")]
        public static partial void KeyringCreated(ILogger logger, uint dataKeyId, uint blindIndexKeyId);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Created a new master key file; back it up separately from the database, or set CUSTODIAN_MASTER_KEY instead.")]
        public static partial void MasterKeyFileCreated(ILogger logger);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Using the master key from the CUSTODIAN_MASTER_KEY environment variable.")]
        public static partial void MasterKeyFromEnvironment(ILogger logger);

        [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Loaded the protection keyring (current data key {DataKeyId}, {DataKeyCount} data keys).")]
        public static partial void KeyringLoaded(ILogger logger, uint dataKeyId, int dataKeyCount);

        [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Reloaded the protection keyring changed by another process (current data key {DataKeyId}, blind-index key {BlindIndexKeyId}).")]
        public static partial void KeyringReloaded(ILogger logger, uint dataKeyId, uint blindIndexKeyId);

        [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Rotated the data key: new writes use data key {DataKeyId}.")]
        public static partial void DataKeyRotated(ILogger logger, uint dataKeyId);

        [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Retired data key {DataKeyId}: no stored ciphertext uses it; its wrapped bytes were destroyed.")]
        public static partial void DataKeyRetired(ILogger logger, uint dataKeyId);

        [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Started a blind-index key rotation to key {BlindIndexKeyId}.")]
        public static partial void BlindIndexRotationStarted(ILogger logger, uint blindIndexKeyId);

        [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "Completed the blind-index key rotation: key {BlindIndexKeyId} is current.")]
        public static partial void BlindIndexRotationCompleted(ILogger logger, uint blindIndexKeyId);
    }
}

/// <summary>One entry of the keyring as reported by <see cref="ProtectionKeyring.Entries"/> (no key material).</summary>
/// <param name="Id">Key id, unique in the keyring, embedded in ciphertexts (data keys).</param>
/// <param name="Purpose"><c>data</c>, <c>blind-index</c> or <c>token</c>.</param>
/// <param name="Algorithm"><c>AES-256-GCM</c>, <c>HMAC-SHA256</c> or <c>AES-256 FF1</c>.</param>
/// <param name="CreatedAt">When the key was created (UTC).</param>
/// <param name="RetiredAt">When it was retired (its material destroyed), or null while usable.</param>
public sealed record KeyringEntry(uint Id, string Purpose, string Algorithm, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt);

/// <summary>An unwrapped blind-index key with its id.</summary>
internal sealed class IndexKey(uint id, byte[] key)
{
    public uint Id { get; } = id;

    public byte[] Key { get; } = key;
}

/// <summary>One unwrapped AES-256 data key with a small pool of <see cref="AesGcm"/> instances (an instance is not safe for concurrent use).</summary>
internal sealed class DataKey
{
    private readonly byte[] _key;
    private readonly System.Collections.Concurrent.ConcurrentBag<AesGcm> _pool = [];

    public DataKey(uint id, byte[] key)
    {
        Id = id;
        _key = key;
    }

    public uint Id { get; }

    public AesGcm Rent() => _pool.TryTake(out var aes) ? aes : new AesGcm(_key, FieldCipher.TagSize);

    public void Return(AesGcm aes)
    {
        if (_pool.Count < Environment.ProcessorCount * 2)
        {
            _pool.Add(aes);
        }
        else
        {
            aes.Dispose();
        }
    }
}
