using Custodian.Identity;
using Custodian.Protection.Keys;
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
/// (bodies encrypted) that tests, the simulator, the bench and <c>custodian outbox list</c> read.
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

/// <summary>
/// Embedded SMS sender: an outbox table in the Custodian database, <c>sms_outbox</c> (docs/storage.md, "The SMS outbox").
/// Bodies hold one-time codes, so they are stored encrypted (<c>body_ct</c>, <see cref="SmsBodyCipher"/>: AES-256-GCM
/// under the keyring's data key, bound to the row's id and recipient); only <see cref="ReadAsync"/> and
/// <see cref="ReadSinceAsync"/> decrypt them. Rows are never deleted (no retention yet). Thread-safe.
/// </summary>
/// <param name="db">The deployment's database (migrated with <see cref="MessagingMigrations"/>).</param>
/// <param name="time">Clock for the message ids and <c>created_ms</c>.</param>
/// <param name="cipher">The body cipher over the deployment's keyring.</param>
public sealed class OutboxSmsSender(CustodianDatabase db, TimeProvider time, SmsBodyCipher cipher) : ISmsSender
{
    /// <inheritdoc />
    public async Task SendAsync(SubscriberId recipient, SmsKind kind, string body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(body);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(body.Length, 300);
        var now = time.GetUtcNow();
        var id = Guid.CreateVersion7(now).ToString("N");
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "INSERT INTO sms_outbox (id, subscriber_id, kind, body_ct, created_ms) VALUES (@id, @s, @k, @b, @t)",
            ("@id", id),
            ("@s", recipient.Value),
            ("@k", (int)kind),
            ("@b", cipher.Seal(recipient, id, body)),
            ("@t", now.ToUnixTimeMilliseconds()));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The newest messages, newest first, optionally only those for one subscriber and of one kind; bodies decrypted.</summary>
    /// <param name="recipient">Only this subscriber's messages, or all.</param>
    /// <param name="kind">Only this kind, or all.</param>
    /// <param name="limit">1–1000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The messages.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="limit"/> is outside 1–1000.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">When a body fails to decrypt: altered, moved from
    /// another row, or under a data key the keyring does not hold.</exception>
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
            "SELECT id, subscriber_id, kind, body_ct, created_ms FROM sms_outbox " + where + "ORDER BY created_ms DESC, id DESC LIMIT @n",
            ("@n", limit));
        if (recipient is { } r)
        {
            command.AddParameter("@s", r.Value);
        }

        if (kind is { } k)
        {
            command.AddParameter("@k", (int)k);
        }

        return await ReadMessagesAsync(command, cancellationToken);
    }

    /// <summary>
    /// The messages of one kind queued strictly after <paramref name="after"/> (by <c>created_ms</c>, millisecond
    /// precision), oldest first; bodies decrypted. For the bench, which reads a round's codes in one query.
    /// </summary>
    /// <param name="kind">Only this kind.</param>
    /// <param name="after">Only messages queued after this instant (its milliseconds).</param>
    /// <param name="limit">1–1,000,000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The messages.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="limit"/> is outside 1–1,000,000.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">As <see cref="ReadAsync"/>.</exception>
    public async Task<IReadOnlyList<OutboxMessage>> ReadSinceAsync(SmsKind kind, DateTimeOffset after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1_000_000);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT id, subscriber_id, kind, body_ct, created_ms FROM sms_outbox WHERE kind = @k AND created_ms > @after ORDER BY created_ms, id LIMIT @n",
            ("@k", (int)kind),
            ("@after", after.ToUnixTimeMilliseconds()),
            ("@n", limit));
        return await ReadMessagesAsync(command, cancellationToken);
    }

    private async Task<IReadOnlyList<OutboxMessage>> ReadMessagesAsync(System.Data.Common.DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<OutboxMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetString(0);
            var recipient = new SubscriberId(reader.GetInt64(1));
            list.Add(new OutboxMessage(
                id,
                recipient,
                (SmsKind)reader.GetInt32(2),
                cipher.Open(recipient, id, (byte[])reader.GetValue(3)),
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

        // Bodies encrypted at rest (SmsBodyCipher). A migration is SQL only and holds no key, so the rows written in
        // clear before it cannot be encrypted here: they are purged with the table (docs/storage.md, "The SMS outbox":
        // their codes expired minutes after they were sent, and notices carry no personal data).
        new Migration(
            "messaging-003",
            """
            DROP TABLE sms_outbox;
            CREATE TABLE sms_outbox (id TEXT PRIMARY KEY, subscriber_id INTEGER NOT NULL, kind INTEGER NOT NULL, body_ct BLOB NOT NULL, created_ms INTEGER NOT NULL);
            CREATE INDEX ix_sms_outbox_subscriber ON sms_outbox (subscriber_id, created_ms);
            """),
    ];
}
