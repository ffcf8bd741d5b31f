using Custodian.Identity;
using Custodian.Storage;

namespace Custodian.Messaging;

/// <summary>What an SMS is for; outbox readers filter on it.</summary>
public enum SmsKind
{
    /// <summary>A consent (customer-presence) code for a clerk's unmask request.</summary>
    ConsentCode = 1,
    /// <summary>A portal sign-in code.</summary>
    PortalCode = 2,
    /// <summary>A notice to the subscriber (unusual access, incident).</summary>
    Notice = 3,
}

/// <summary>
/// The SMS-sender seam. Messages are addressed by internal <see cref="SubscriberId"/>, never by
/// phone number, so nothing upstream of the carrier's SMS gateway adapter handles a phone number
/// in clear. The embedded default, <see cref="OutboxSmsSender"/>, stores messages in an outbox table
/// that tests, the simulator and <c>custodian outbox</c> read.
/// </summary>
public interface ISmsSender
{
    /// <summary>Queues <paramref name="body"/> (≤ 300 characters, no personal data) for <paramref name="recipient"/>.</summary>
    Task SendAsync(SubscriberId recipient, SmsKind kind, string body, CancellationToken cancellationToken = default);
}

/// <summary>An outbox message.</summary>
/// <param name="Id">Message identifier.</param>
/// <param name="Recipient">Subscriber the message is for.</param>
/// <param name="Kind">Purpose of the message.</param>
/// <param name="Body">Text, which may contain a one-time code (a secret while it is valid).</param>
/// <param name="CreatedAt">When it was queued.</param>
public sealed record OutboxMessage(string Id, SubscriberId Recipient, SmsKind Kind, string Body, DateTimeOffset CreatedAt);

/// <summary>Embedded SMS sender: an outbox table in the Custodian database. Thread-safe.</summary>
public sealed class OutboxSmsSender(CustodianDatabase db, TimeProvider time) : ISmsSender
{
    /// <inheritdoc />
    public async Task SendAsync(SubscriberId recipient, SmsKind kind, string body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(body);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(body.Length, 300);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "INSERT INTO sms_outbox (id, subscriber_id, kind, body, created_ms) VALUES (@id, @s, @k, @b, @t)",
            ("@id", Guid.CreateVersion7(time.GetUtcNow()).ToString("N")),
            ("@s", recipient.Value),
            ("@k", (int)kind),
            ("@b", body),
            ("@t", time.GetUtcNow().ToUnixTimeMilliseconds()));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The newest messages, newest first, optionally only those for one subscriber and of one kind.</summary>
    /// <param name="recipient">Only this subscriber's messages, or all.</param>
    /// <param name="kind">Only this kind, or all.</param>
    /// <param name="limit">1–1000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<IReadOnlyList<OutboxMessage>> ReadAsync(SubscriberId? recipient, SmsKind? kind, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);
        // Only the filters given go into the SQL, so a per-subscriber read uses the (subscriber_id,
        // created_ms) index instead of scanning and sorting the whole outbox.
        var where = (recipient, kind) switch
        {
            (not null, not null) => "WHERE subscriber_id = @s AND kind = @k ",
            (not null, null) => "WHERE subscriber_id = @s ",
            (null, not null) => "WHERE kind = @k ",
            _ => string.Empty,
        };
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT id, subscriber_id, kind, body, created_ms FROM sms_outbox " + where + "ORDER BY created_ms DESC, id DESC LIMIT @n",
            ("@n", limit));
        if (recipient is { } r)
        {
            command.AddParameter("@s", r.Value);
        }

        if (kind is { } k)
        {
            command.AddParameter("@k", (int)k);
        }

        var list = new List<OutboxMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new OutboxMessage(
                reader.GetString(0),
                new SubscriberId(reader.GetInt64(1)),
                (SmsKind)reader.GetInt32(2),
                reader.GetString(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }

        return list;
    }
}

/// <summary>Tables of the messaging seam: the SMS outbox and the one-time codes (<see cref="OneTimeCodes"/>); times are Unix milliseconds UTC.</summary>
public sealed class MessagingMigrations : IMigrationSource
{
    /// <inheritdoc />
    public IEnumerable<Migration> Migrations { get; } =
    [
        new Migration(
            "messaging-001",
            "CREATE TABLE sms_outbox (id TEXT PRIMARY KEY, subscriber_id INTEGER NOT NULL, kind INTEGER NOT NULL, body TEXT NOT NULL, created_ms INTEGER NOT NULL);" +
            "CREATE INDEX ix_sms_outbox_subscriber ON sms_outbox (subscriber_id, created_ms)"),
        new Migration(
            "messaging-002",
            """
            CREATE TABLE one_time_codes (
                scope TEXT NOT NULL,
                code_key TEXT NOT NULL,
                issue_id TEXT NOT NULL,
                code_hmac BLOB NOT NULL,
                expires_ms INTEGER NOT NULL,
                attempts INTEGER NOT NULL,
                used INTEGER NOT NULL,
                PRIMARY KEY (scope, code_key)
            );
            CREATE INDEX ix_one_time_codes_expiry ON one_time_codes (scope, expires_ms);
            """),
    ];
}
