using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using Custodian.Storage;

namespace Custodian.Hosting;

/// <summary>
/// The table in which a deployment's database records facts about the deployment that every data directory using the
/// database must agree on (docs/storage.md, "One database, one deployment"): <c>deployment_records</c>, one row per
/// fact, <c>name</c> (primary key) and <c>value</c> (JSON). Created on both backends, so that the schemas stay the same;
/// only PostgreSQL, whose database is shared by the API nodes, reads and writes it.
/// </summary>
public sealed class DeploymentMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new Migration("deployment-001", "CREATE TABLE deployment_records (name TEXT PRIMARY KEY, value TEXT NOT NULL)"),
    ];
}

/// <summary>
/// What a shared (PostgreSQL) database says about the deployment whose tables it holds, so that a data directory with
/// another configuration, or a new data directory, is refused before it writes around the deployment
/// (docs/storage.md, "One database, one deployment"; docs/events.md, "One event log per deployment").
/// </summary>
public static class DatabaseDeployment
{
    /// <summary>The <c>deployment_records</c> row naming the event log the database's ledger belongs to.</summary>
    public const string EventLogName = "event_log";

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The event log the database's ledger belongs to.</summary>
    /// <param name="db">The deployment's database (migrated).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The recorded event log; null when none is recorded (a database initialised before the record existed).</returns>
    /// <exception cref="InvalidOperationException">When the recorded value is not a valid event-log record.</exception>
    /// <exception cref="DbException">When the database fails.</exception>
    public static async Task<EventLogRecord?> ReadEventLogAsync(CustodianDatabase db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT value FROM deployment_records WHERE name = @name", ("name", EventLogName));
        return await command.ExecuteScalarAsync(cancellationToken) is string value ? Parse(value) : null;
    }

    /// <summary>
    /// Records <paramref name="configured"/> as the event log of the database's ledger unless one is recorded already
    /// (the first writer wins); returns the record the database holds afterwards.
    /// </summary>
    /// <param name="db">The deployment's database (migrated).</param>
    /// <param name="configured">The event log this start is configured for.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The recorded event log: <paramref name="configured"/>, or the one another start recorded first.</returns>
    /// <exception cref="InvalidOperationException">When the recorded value is not a valid event-log record.</exception>
    /// <exception cref="DbException">When the database fails.</exception>
    public static async Task<EventLogRecord> RecordEventLogAsync(CustodianDatabase db, EventLogRecord configured, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(configured);
        await using (var connection = await db.OpenAsync(cancellationToken))
        {
            await using var insert = connection.Command(
                "INSERT INTO deployment_records (name, value) VALUES (@name, @value) ON CONFLICT (name) DO NOTHING",
                ("name", EventLogName),
                ("value", JsonSerializer.Serialize(configured, Json)));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return await ReadEventLogAsync(db, cancellationToken) ?? configured;
    }

    private static EventLogRecord Parse(string value)
    {
        EventLogRecord? record;
        try
        {
            record = JsonSerializer.Deserialize<EventLogRecord>(value, Json);
        }
        catch (JsonException)
        {
            record = null;
        }

        return record is { IsValid: true }
            ? record
            : throw new InvalidOperationException($"the database's deployment_records row '{EventLogName}' is not a valid event-log record (docs/events.md).");
    }
}
