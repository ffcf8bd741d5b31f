using System.Text.Json;
using System.Text.Json.Serialization;
using Custodian.Storage;
using Npgsql;

namespace Custodian.Hosting;

/// <summary>
/// The storage backend a data directory was initialised for, recorded in <c>&lt;data&gt;/storage.json</c> by the first
/// start (<c>serve</c> or <c>init</c>) so that a later start or administrative verb with another configuration is refused
/// instead of creating a second, empty database beside the deployment's (docs/storage.md, "One data directory, one
/// database"). Holds no secret: the backend (<c>sqlite</c> or <c>postgres</c>) and, for PostgreSQL, <c>host:port/database</c>
/// (no user, no password); and the deployment's event log (<see cref="EventLogRecord"/>, docs/events.md). Immutable.
/// </summary>
/// <param name="Backend"><c>sqlite</c> or <c>postgres</c>.</param>
/// <param name="Target">For PostgreSQL <c>host:port/database</c>; null for SQLite, and for a PostgreSQL data directory initialised before the record existed (any PostgreSQL target then matches).</param>
/// <param name="Events">
/// The event log the deployment appends through; null for a data directory whose record was written before the event log
/// was recorded (nothing is refused for it until the next <c>serve</c> records it).
/// </param>
public sealed record StorageRecord(string Backend, string? Target, EventLogRecord? Events = null)
{
    /// <summary>The record's file name in the data directory.</summary>
    public const string FileName = "storage.json";

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The record for the configured backend.</summary>
    /// <param name="settings">The resolved storage settings.</param>
    /// <returns>The backend and, for PostgreSQL, its <c>host:port/database</c>.</returns>
    public static StorageRecord For(StorageSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.ConnectionString is null)
        {
            return new StorageRecord(settings.Dialect.Backend, null);
        }

        var b = new NpgsqlConnectionStringBuilder(settings.ConnectionString);
        return new StorageRecord(settings.Dialect.Backend, $"{b.Host}:{b.Port}/{b.Database}");
    }

    /// <summary>The record's path below <paramref name="paths"/>.</summary>
    /// <param name="paths">The data directory.</param>
    /// <returns>The file path.</returns>
    public static string PathFor(DataPaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return Path.Combine(paths.Root, FileName);
    }

    /// <summary>
    /// What the data directory was initialised for: the record when present; otherwise, for a directory initialised before
    /// the record existed, <c>sqlite</c> when it holds <c>custodian.db</c>, <c>postgres</c> (target unknown) when it holds a
    /// keyring but no database; null when it is not initialised.
    /// </summary>
    /// <param name="paths">The data directory.</param>
    /// <returns>The record, or null.</returns>
    /// <exception cref="InvalidOperationException">When the record file exists but cannot be read as a record (one line naming the file).</exception>
    public static StorageRecord? Read(DataPaths paths)
    {
        var path = PathFor(paths);
        if (File.Exists(path))
        {
            try
            {
                var record = JsonSerializer.Deserialize<StorageRecord>(File.ReadAllText(path), Json);
                if (record is { Backend: "sqlite" or "postgres" } && record.Events is null or { IsValid: true })
                {
                    return record;
                }
            }
            catch (JsonException)
            {
            }

            throw new InvalidOperationException($"the storage record {path} is not valid: it must be {{\"backend\":\"sqlite\"}} or {{\"backend\":\"postgres\",\"target\":\"host:port/database\"}}, with an optional \"events\" of {{\"backend\":\"embedded\"}} or {{\"backend\":\"jetstream\",\"stream\":\"…\",\"subjectPrefix\":\"…\"}} (docs/storage.md).");
        }

        if (File.Exists(paths.Database))
        {
            return new StorageRecord("sqlite", null);
        }

        return File.Exists(Path.Combine(paths.Keys, Protection.Keys.ProtectionKeyring.KeyringFileName)) ? new StorageRecord("postgres", null) : null;
    }

    /// <summary>
    /// Checks the configured backend against the one the data directory was initialised for.
    /// </summary>
    /// <param name="paths">The data directory.</param>
    /// <param name="configured">The configured backend.</param>
    /// <returns>
    /// Null when the directory is not initialised or the configuration matches (same backend; for PostgreSQL the same
    /// <c>host:port/database</c>, or any when the record names none); otherwise one line naming both (never credentials).
    /// </returns>
    /// <exception cref="InvalidOperationException">When the record file is not valid.</exception>
    public static string? Check(DataPaths paths, StorageSettings configured)
    {
        if (Read(paths) is not { } recorded)
        {
            return null;
        }

        var current = For(configured);
        if (recorded.Backend == current.Backend && (recorded.Target is null || string.Equals(recorded.Target, current.Target, StringComparison.Ordinal)))
        {
            return null;
        }

        return $"the data directory {paths.Root} belongs to a deployment on storage {recorded.Describe()}, but the configured storage is {current.Describe()}: "
            + "set Custodian__Storage (or Custodian__StorageFile; serve --storage) as the deployment's server has it (docs/storage.md).";
    }

    /// <summary>
    /// Writes the record for <paramref name="paths"/> (owner-only, whole or not at all) unless the file exists; when it
    /// exists without an event log and <paramref name="recordEvents"/> is true, adds this record's <see cref="Events"/> to
    /// it (the storage part stays as recorded). A recorded event log is never changed.
    /// </summary>
    /// <param name="paths">The data directory.</param>
    /// <param name="recordEvents">
    /// Whether this start may record the event log of a directory that has none yet: true for <c>serve</c> (and every first
    /// start), false for the administrative verbs, whose configuration is not the deployment's definition.
    /// </param>
    /// <exception cref="InvalidOperationException">When the existing record file is not valid.</exception>
    public void WriteIfMissing(DataPaths paths, bool recordEvents)
    {
        var path = PathFor(paths);
        if (!File.Exists(path))
        {
            Ledger.Checkpoints.LogKeyFile.WriteSecret(path, JsonSerializer.Serialize(recordEvents ? this : this with { Events = null }, Json) + "\n");
            return;
        }

        if (recordEvents && Events is not null && Read(paths) is { Events: null } existing)
        {
            Ledger.Checkpoints.LogKeyFile.WriteSecret(path, JsonSerializer.Serialize(existing with { Events = Events }, Json) + "\n");
        }
    }

    /// <summary>
    /// Checks the configured event log against the one the data directory's deployment recorded.
    /// </summary>
    /// <param name="paths">The data directory.</param>
    /// <param name="configured">The configured event log.</param>
    /// <returns>Null when the directory is not initialised, records no event log yet, or records this one; otherwise one line naming both and the settings to use.</returns>
    /// <exception cref="InvalidOperationException">When the record file is not valid.</exception>
    public static string? CheckEvents(DataPaths paths, Events.EventsSettings configured)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return Read(paths) is { Events: { } recorded } ? recorded.Refusal(paths.Root, EventLogRecord.For(configured)) : null;
    }

    /// <summary>The backend and target, e.g. <c>sqlite</c> or <c>postgres db1:5432/custodian</c>.</summary>
    /// <returns>The text.</returns>
    public string Describe() => Target is null ? Backend : $"{Backend} {Target}";
}
