using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Custodian.Identity;
using Custodian.Storage;

namespace Custodian.Incidents;

/// <summary>Delivery status of one notice to one subscriber on one channel (<c>incident_deliveries</c>).</summary>
/// <param name="Subscriber">Internal ID (stays inside the server; shown outside only as a token).</param>
/// <param name="Channel">Channel name: <c>sms</c>.</param>
/// <param name="Status"><c>sent</c>, <c>failed</c> or <c>not-required</c> (token-only exposure).</param>
/// <param name="UpdatedAt">When the status was set.</param>
/// <param name="Error">Why it failed (an exception type name, never a value), or null.</param>
public sealed record NoticeDelivery(SubscriberId Subscriber, string Channel, string Status, DateTimeOffset UpdatedAt, string? Error);

/// <summary>
/// Persists incident cases (<see cref="IncidentMigrations"/> tables). Scope, summary and notice facts are stored as JSON
/// (camelCase) in their columns. Thread-safe; every call opens its own pooled connection.
/// </summary>
/// <param name="db">The database.</param>
public sealed class IncidentStore(CustodianDatabase db)
{
    private const string Columns = "id, title, state, declared_ms, declared_by, alerts, scope, summary, notice, notified_ms, closed_ms, close_note";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Inserts a new case and its first action in one transaction.</summary>
    /// <param name="incident">The case.</param>
    /// <param name="action">The declaration's ledger entry.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="DbException">When the write fails (e.g. a duplicate ID).</exception>
    public async Task InsertAsync(Incident incident, IncidentAction action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(incident);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = connection.Command(
            $"INSERT INTO incidents ({Columns}) VALUES (@id, @title, @state, @declared, @by, @alerts, @scope, NULL, NULL, NULL, NULL, NULL)",
            ("@id", incident.Id),
            ("@title", incident.Title),
            ("@state", incident.State.ToName()),
            ("@declared", incident.DeclaredAt.ToUnixTimeMilliseconds()),
            ("@by", incident.DeclaredBy),
            ("@alerts", string.Join(' ', incident.Alerts)),
            ("@scope", JsonSerializer.Serialize(incident.Scope, Json))))
        {
            insert.Transaction = tx;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await AddActionAsync(connection, tx, incident.Id, action, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>The case, or null.</summary>
    public async Task<Incident?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {Columns} FROM incidents WHERE id = @id", ("@id", id));
        var list = await ReadAsync(command, cancellationToken);
        return list.Count == 0 ? null : list[0];
    }

    /// <summary>Cases, newest first, optionally only those in <paramref name="state"/>; at most <paramref name="limit"/> (1–1,000).</summary>
    /// <exception cref="ArgumentOutOfRangeException">When the limit is outside 1–1,000.</exception>
    public async Task<IReadOnlyList<Incident>> ListAsync(IncidentState? state, int limit = 200, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1_000);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = state is null
            ? connection.Command($"SELECT {Columns} FROM incidents ORDER BY declared_ms DESC, id DESC LIMIT @n", ("@n", limit))
            : connection.Command($"SELECT {Columns} FROM incidents WHERE state = @s ORDER BY declared_ms DESC, id DESC LIMIT @n", ("@s", state.Value.ToName()), ("@n", limit));
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>Replaces the case's scope result: its affected subscribers, summary and scope, and sets it <c>scoped</c>, with the action, in one transaction.</summary>
    /// <exception cref="DbException">When the write fails.</exception>
    public async Task SaveScopeAsync(string id, IncidentScope scope, ScopeSummary summary, ScopeResult result, IncidentAction action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var delete = connection.Command("DELETE FROM incident_subjects WHERE incident_id = @id", ("@id", id)))
        {
            delete.Transaction = tx;
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var insert = connection.Command(
            "INSERT INTO incident_subjects (incident_id, subscriber_id, grade, fields, unmasked, entries, first_ms, last_ms) VALUES (@id, @s, @g, @f, @u, @e, @first, @last)"))
        {
            insert.Transaction = tx;
            var p = new[] { "@id", "@s", "@g", "@f", "@u", "@e", "@first", "@last" }.Select(n => insert.AddParameter(n, null)).ToArray();
            p[0].Value = id;
            foreach (var s in result.Subjects)
            {
                p[1].Value = s.Subscriber.Value;
                p[2].Value = (int)s.Grade;
                p[3].Value = string.Join(' ', IncidentScoper.Names(s.FieldMask, result.FieldNames));
                p[4].Value = string.Join(' ', IncidentScoper.Names(s.UnmaskedMask, result.FieldNames));
                p[5].Value = s.Entries;
                p[6].Value = s.FirstMs;
                p[7].Value = s.LastMs;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using (var update = connection.Command(
            "UPDATE incidents SET state = @state, scope = @scope, summary = @summary WHERE id = @id",
            ("@state", IncidentState.Scoped.ToName()),
            ("@scope", JsonSerializer.Serialize(scope, Json)),
            ("@summary", JsonSerializer.Serialize(summary, Json)),
            ("@id", id)))
        {
            update.Transaction = tx;
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await AddActionAsync(connection, tx, id, action, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>Affected subscribers of the case ascending by internal ID, optionally only of one grade.</summary>
    public async IAsyncEnumerable<(SubscriberId Subscriber, ExposureGrade Grade, string Fields, string Unmasked, long Entries, long FirstMs, long LastMs)> ReadSubjectsAsync(
        string id,
        ExposureGrade? grade = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT subscriber_id, grade, fields, unmasked, entries, first_ms, last_ms FROM incident_subjects WHERE incident_id = @id" +
            (grade is null ? string.Empty : " AND grade = @g") + " ORDER BY subscriber_id",
            ("@id", id));
        if (grade is { } g)
        {
            command.AddParameter("@g", (int)g);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return (new SubscriberId(reader.GetInt64(0)), (ExposureGrade)reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
        }
    }

    /// <summary>The grade of <paramref name="subscriber"/> in the case, or null when not affected.</summary>
    public async Task<ExposureGrade?> GradeOfAsync(string id, SubscriberId subscriber, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT grade FROM incident_subjects WHERE incident_id = @id AND subscriber_id = @s", ("@id", id), ("@s", subscriber.Value));
        return await command.ExecuteScalarAsync(cancellationToken) is long g ? (ExposureGrade)g : null;
    }

    /// <summary>Records one delivery status (insert or replace).</summary>
    public async Task SetDeliveryAsync(string id, NoticeDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "INSERT INTO incident_deliveries (incident_id, subscriber_id, channel, status, updated_ms, error) VALUES (@id, @s, @c, @st, @t, @e) " +
            "ON CONFLICT (incident_id, subscriber_id, channel) DO UPDATE SET status = excluded.status, updated_ms = excluded.updated_ms, error = excluded.error",
            ("@id", id), ("@s", delivery.Subscriber.Value), ("@c", delivery.Channel), ("@st", delivery.Status), ("@t", delivery.UpdatedAt.ToUnixTimeMilliseconds()), ("@e", delivery.Error));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Delivery statuses of the case, ascending by subscriber and channel.</summary>
    public async Task<IReadOnlyList<NoticeDelivery>> ListDeliveriesAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT subscriber_id, channel, status, updated_ms, error FROM incident_deliveries WHERE incident_id = @id ORDER BY subscriber_id, channel", ("@id", id));
        var list = new List<NoticeDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new NoticeDelivery(new SubscriberId(reader.GetInt64(0)), reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return list;
    }

    /// <summary>Sets the case <c>notified</c> with the notice facts, and the action.</summary>
    public async Task SaveNotifiedAsync(string id, NoticeFacts facts, DateTimeOffset at, IncidentAction action, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var update = connection.Command(
            "UPDATE incidents SET state = @state, notice = @notice, notified_ms = @at WHERE id = @id",
            ("@state", IncidentState.Notified.ToName()), ("@notice", JsonSerializer.Serialize(facts, Json)), ("@at", at.ToUnixTimeMilliseconds()), ("@id", id)))
        {
            update.Transaction = tx;
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await AddActionAsync(connection, tx, id, action, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>Sets the case <c>closed</c> with the note, and the action.</summary>
    public async Task SaveClosedAsync(string id, string note, DateTimeOffset at, IncidentAction action, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var update = connection.Command(
            "UPDATE incidents SET state = @state, close_note = @note, closed_ms = @at WHERE id = @id",
            ("@state", IncidentState.Closed.ToName()), ("@note", note), ("@at", at.ToUnixTimeMilliseconds()), ("@id", id)))
        {
            update.Transaction = tx;
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await AddActionAsync(connection, tx, id, action, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>Records an action that does not change the state (an export).</summary>
    public async Task AddActionAsync(string id, IncidentAction action, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await AddActionAsync(connection, tx, id, action, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>The case's actions in ledger order.</summary>
    public async Task<IReadOnlyList<IncidentAction>> ListActionsAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT seq, time_ms, action, account, detail FROM incident_actions WHERE incident_id = @id ORDER BY seq", ("@id", id));
        var list = new List<IncidentAction>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new IncidentAction(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
        }

        return list;
    }

    private static async Task AddActionAsync(DbConnection connection, DbTransaction tx, string id, IncidentAction action, CancellationToken cancellationToken)
    {
        await using var insert = connection.Command(
            "INSERT INTO incident_actions (incident_id, seq, time_ms, action, account, detail) VALUES (@id, @seq, @t, @a, @acc, @d)",
            ("@id", id), ("@seq", action.Sequence), ("@t", action.Time.ToUnixTimeMilliseconds()), ("@a", action.Action), ("@acc", action.Account), ("@d", action.Detail));
        insert.Transaction = tx;
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<IReadOnlyList<Incident>> ReadAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<Incident>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var alerts = reader.GetString(5);
            list.Add(new Incident(
                reader.GetString(0),
                reader.GetString(1),
                IncidentStates.TryParse(reader.GetString(2), out var state) ? state : throw new FormatException("incidents.state holds an unknown state name."),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                reader.GetString(4),
                alerts.Length == 0 ? [] : alerts.Split(' '),
                JsonSerializer.Deserialize<IncidentScope>(reader.GetString(6), Json) ?? IncidentScope.Empty,
                reader.IsDBNull(7) ? null : JsonSerializer.Deserialize<ScopeSummary>(reader.GetString(7), Json),
                reader.IsDBNull(8) ? null : JsonSerializer.Deserialize<NoticeFacts>(reader.GetString(8), Json),
                reader.IsDBNull(9) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)),
                reader.IsDBNull(10) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10)),
                reader.IsDBNull(11) ? null : reader.GetString(11)));
        }

        return list;
    }

    /// <summary>Formats a time for listings: <c>yyyy-MM-dd HH:mm:ss</c> UTC.</summary>
    internal static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";
}
