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
/// holds: the data keys used by <see cref="FieldCipher"/> and a separate blind-index key used by
/// <see cref="BlindIndex"/>. The wrapped keys live in <see cref="KeyringFileName"/> with their
/// id, purpose, version and creation time; the associated data of each wrap binds the entry's
/// purpose, id and version so entries cannot be swapped. Files are written atomically
/// (temporary file, fsync, rename).
/// </para>
/// <para>
/// Raw key bytes never leave this assembly. Key ids are embedded in every field ciphertext so a
/// later rotation can add data keys without re-encrypting (rotation itself is not implemented yet).
/// Thread-safe once loaded.
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

    /// <summary>Length of the master secret, of the KEK and of every key in the keyring, in bytes (256 bits).</summary>
    public const int KeySizeBytes = 32;

    internal const string DataPurpose = "data";
    internal const string BlindIndexPurpose = "blind-index";
    private const int FormatVersion = 1;
    private const int WrapNonceSize = 12;
    private const int WrapTagSize = 16;
    private static readonly byte[] KekInfo = "Custodian keyring KEK v1"u8.ToArray();

    private readonly FrozenDictionary<uint, DataKey> _dataKeys;
    private readonly byte[] _blindIndexKey;

    private ProtectionKeyring(string directory, FrozenDictionary<uint, DataKey> dataKeys, uint currentDataKeyId, uint blindIndexKeyId, byte[] blindIndexKey)
    {
        KeysDirectory = directory;
        _dataKeys = dataKeys;
        CurrentDataKeyId = currentDataKeyId;
        BlindIndexKeyId = blindIndexKeyId;
        _blindIndexKey = blindIndexKey;
    }

    /// <summary>Full path of the keys directory.</summary>
    public string KeysDirectory { get; }

    /// <summary>Id of the data key new field ciphertexts are encrypted under (1 for a fresh keyring). Embedded in each ciphertext.</summary>
    public uint CurrentDataKeyId { get; }

    /// <summary>Id of the blind-index HMAC key (2 for a fresh keyring).</summary>
    public uint BlindIndexKeyId { get; }

    /// <summary>Ids of every data key the keyring can decrypt with.</summary>
    public IReadOnlyCollection<uint> DataKeyIds => _dataKeys.Keys;

    /// <summary>The blind-index key (32 bytes). Internal: never exposed outside Protection.</summary>
    internal ReadOnlySpan<byte> BlindIndexKey => _blindIndexKey;

    /// <summary>
    /// Loads the keyring from <paramref name="keysDirectory"/>, creating the directory (mode 0700),
    /// the master secret file (when <see cref="MasterKeyEnvironmentVariable"/> is not set) and a
    /// fresh keyring (one data key, one blind-index key) on first use.
    /// </summary>
    /// <param name="keysDirectory">Directory holding <see cref="KeyringFileName"/> and, without the environment variable, <see cref="MasterKeyFileName"/>.</param>
    /// <param name="time">Clock for the created-at stamps.</param>
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
    /// <param name="time">Clock for the created-at stamps.</param>
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
        try
        {
            var path = Path.Combine(directory, KeyringFileName);
            if (!File.Exists(path))
            {
                var created = CreateKeyringDocument(kek, time);
                if (AtomicFile.TryWriteNew(path, JsonSerializer.SerializeToUtf8Bytes(created, KeyringJsonContext.Default.KeyringDocument)))
                {
                    Log.KeyringCreated(logger, created.CurrentDataKeyId, created.BlindIndexKeyId);
                }
            }

            var keyring = Unwrap(directory, ReadDocument(path), kek);
            Log.KeyringLoaded(logger, keyring.CurrentDataKeyId, keyring._dataKeys.Count);
            return keyring;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>Finds the data key with <paramref name="keyId"/>.</summary>
    internal bool TryGetDataKey(uint keyId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DataKey? key) =>
        _dataKeys.TryGetValue(keyId, out key);

    /// <summary>The current data key.</summary>
    internal DataKey CurrentDataKey => _dataKeys[CurrentDataKeyId];

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

    private static byte[] DecodeMasterKey(string base64, string message)
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
        var dataKey = RandomNumberGenerator.GetBytes(KeySizeBytes);
        var indexKey = RandomNumberGenerator.GetBytes(KeySizeBytes);
        try
        {
            return new KeyringDocument
            {
                Format = FormatVersion,
                Kdf = "HKDF-SHA256",
                Wrap = "AES-256-GCM",
                CurrentDataKeyId = 1,
                BlindIndexKeyId = 2,
                Keys =
                [
                    NewEntry(kek, 1, DataPurpose, "AES-256-GCM", now, dataKey),
                    NewEntry(kek, 2, BlindIndexPurpose, "HMAC-SHA256", now, indexKey),
                ],
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
            CryptographicOperations.ZeroMemory(indexKey);
        }
    }

    private static KeyEntry NewEntry(byte[] kek, uint id, string purpose, string algorithm, DateTimeOffset now, byte[] key)
    {
        const int version = 1;
        var wrapped = new byte[WrapNonceSize + KeySizeBytes + WrapTagSize];
        var nonce = wrapped.AsSpan(0, WrapNonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(kek, WrapTagSize);
        aes.Encrypt(nonce, key, wrapped.AsSpan(WrapNonceSize, KeySizeBytes), wrapped.AsSpan(WrapNonceSize + KeySizeBytes), WrapAssociatedData(purpose, id, version));
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

    private static KeyringDocument ReadDocument(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), KeyringJsonContext.Default.KeyringDocument)
                ?? throw new InvalidOperationException($"The keyring file '{path}' is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The keyring file '{path}' is not valid keyring JSON.", ex);
        }
    }

    private static ProtectionKeyring Unwrap(string directory, KeyringDocument document, byte[] kek)
    {
        var path = Path.Combine(directory, KeyringFileName);
        if (document.Format != FormatVersion || document.Keys is null)
        {
            throw new InvalidOperationException($"The keyring file '{path}' has an unsupported format (expected format {FormatVersion}).");
        }

        var dataKeys = new Dictionary<uint, DataKey>();
        byte[]? indexKey = null;
        var seen = new HashSet<uint>();
        using var aes = new AesGcm(kek, WrapTagSize);
        foreach (var entry in document.Keys)
        {
            if (!seen.Add(entry.Id) || entry.Id == 0 || entry.Purpose is not (DataPurpose or BlindIndexPurpose))
            {
                throw new InvalidOperationException($"The keyring file '{path}' has a duplicate, zero or unknown-purpose key entry.");
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

            if (entry.Purpose == DataPurpose)
            {
                dataKeys.Add(entry.Id, new DataKey(entry.Id, key));
            }
            else if (entry.Id == document.BlindIndexKeyId)
            {
                indexKey = key;
            }
        }

        if (!dataKeys.ContainsKey(document.CurrentDataKeyId) || indexKey is null)
        {
            throw new InvalidOperationException($"The keyring file '{path}' does not hold its current data key or its blind-index key.");
        }

        return new ProtectionKeyring(directory, dataKeys.ToFrozenDictionary(), document.CurrentDataKeyId, document.BlindIndexKeyId, indexKey);
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
    }
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
