using System.Data.Common;
using Custodian.Identity;
using Custodian.Messaging;
using Custodian.Storage;
using Microsoft.Extensions.Logging;

namespace Custodian.Portal;

/// <summary>What a subscriber notice is about. Stored by the names from <see cref="NoticeKinds.ToName"/>; values never change.</summary>
public enum NoticeKind
{
    /// <summary>The monitor flagged an access to the subscriber's data (an alert's evidence names it).</summary>
    FlaggedAccess = 1,

    /// <summary>The subscriber's data falls within an incident (breach notice, PIPA Art. 34: within 72 hours).</summary>
    Incident = 2,

    /// <summary>The periodic usage-history notice of PIPA Art. 20-2 (purposes, items, recipients).</summary>
    UsageHistory = 3,

    /// <summary>The privacy office answered the subscriber's request to disclose a clerk's identity.</summary>
    DisclosureAnswer = 4,
}

/// <summary>Stable names of <see cref="NoticeKind"/>: <c>flagged-access</c>, <c>incident</c>, <c>usage-history</c>, <c>disclosure-answer</c>.</summary>
public static class NoticeKinds
{
    /// <summary>The stable name.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For a value outside the enum.</exception>
    public static string ToName(this NoticeKind kind) => kind switch
    {
        NoticeKind.FlaggedAccess => "flagged-access",
        NoticeKind.Incident => "incident",
        NoticeKind.UsageHistory => "usage-history",
        NoticeKind.DisclosureAnswer => "disclosure-answer",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Parses a stable name (exact); false for anything else.</summary>
    public static bool TryParse(string? name, out NoticeKind kind)
    {
        foreach (var candidate in Enum.GetValues<NoticeKind>())
        {
            if (string.Equals(candidate.ToName(), name, StringComparison.Ordinal))
            {
                kind = candidate;
                return true;
            }
        }

        kind = default;
        return false;
    }
}

/// <summary>
/// A notice's text in Korean (the default language) and English. Titles 1–<see cref="MaxTitleLength"/>
/// characters, bodies 1–<see cref="MaxBodyLength"/>; no control characters except line feeds in bodies.
/// Never personal data in clear (no names, RRNs or phone numbers): name stores, dates, purposes, fields.
/// </summary>
/// <param name="TitleKo">Korean title.</param>
/// <param name="BodyKo">Korean body, plain text (line feeds allowed); Markdown for kind <c>incident</c> (<see cref="NoticeMarkdown"/>).</param>
/// <param name="TitleEn">English title.</param>
/// <param name="BodyEn">English body, plain text (line feeds allowed); Markdown for kind <c>incident</c> (<see cref="NoticeMarkdown"/>).</param>
public sealed record NoticeText(string TitleKo, string BodyKo, string TitleEn, string BodyEn)
{
    /// <summary>Longest title, in UTF-16 characters.</summary>
    public const int MaxTitleLength = 120;

    /// <summary>Longest body, in UTF-16 characters.</summary>
    public const int MaxBodyLength = 4000;

    /// <summary>Throws when a member breaks the rules above.</summary>
    /// <exception cref="ArgumentException">Naming the member and the rule, never the value.</exception>
    public void Validate()
    {
        Check(TitleKo, nameof(TitleKo), MaxTitleLength, allowNewLines: false);
        Check(BodyKo, nameof(BodyKo), MaxBodyLength, allowNewLines: true);
        Check(TitleEn, nameof(TitleEn), MaxTitleLength, allowNewLines: false);
        Check(BodyEn, nameof(BodyEn), MaxBodyLength, allowNewLines: true);
    }

    private static void Check(string? value, string member, int max, bool allowNewLines)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > max)
        {
            throw new ArgumentException($"{member} must be 1-{max} characters and not blank.", member);
        }

        if (value.Any(c => char.IsControl(c) && !(allowNewLines && c == '\n')))
        {
            throw new ArgumentException($"{member} must not contain control characters{(allowNewLines ? " other than line feeds" : string.Empty)}.", member);
        }
    }
}

/// <summary>The result of <see cref="SubscriberInbox.DeliverAsync"/>.</summary>
/// <param name="Id">The delivery (inbox message) identifier, <c>N-</c> + 32 hex digits (a UUIDv7, so identifiers sort by time).</param>
/// <param name="Created">False when a notice with the same subscriber, kind and reference was already delivered; <paramref name="Id"/> is then the earlier one.</param>
public sealed record InboxDelivery(string Id, bool Created);

/// <summary>A notice in a subscriber's inbox.</summary>
/// <param name="Id">Delivery identifier.</param>
/// <param name="Kind">Stable kind name (<see cref="NoticeKinds"/>).</param>
/// <param name="Reference">The sender's reference (e.g. <c>incident:I-42</c>), or null.</param>
/// <param name="Text">Title and body in Korean and English.</param>
/// <param name="CreatedAt">When it was delivered (UTC, millisecond precision).</param>
/// <param name="ReadAt">When the subscriber first opened it, or null.</param>
/// <param name="SmsSentAt">When its SMS copy was queued, or null when none was.</param>
public sealed record InboxMessage(string Id, string Kind, string? Reference, NoticeText Text, DateTimeOffset CreatedAt, DateTimeOffset? ReadAt, DateTimeOffset? SmsSentAt);

/// <summary>
/// The subscriber's notice inbox (table <c>portal_inbox</c>, docs/portal.md "Inbox"), with an optional SMS
/// copy through <see cref="ISmsSender"/>. Other parts (incident notices, the monitor hook, the periodic
/// usage-history notice) deliver into it; the portal lists it to the signed-in subscriber only.
/// Addressed by internal <see cref="SubscriberId"/>; holds no personal data in clear. Thread-safe: every
/// call uses its own pooled connection.
/// </summary>
public sealed class SubscriberInbox(CustodianDatabase db, ISmsSender sms, TimeProvider time, ILogger<SubscriberInbox> logger)
{
    /// <summary>Longest reference, in characters.</summary>
    public const int MaxReferenceLength = 200;

    private const string Columns = "id, kind, reference, title_ko, body_ko, title_en, body_en, created_ms, read_ms, sms_ms";

    /// <summary>
    /// Delivers a notice to <paramref name="subject"/>'s inbox and, when <paramref name="sendSms"/> is true, queues a
    /// short SMS copy (title in Korean and a pointer to the portal; <see cref="SmsKind.Notice"/>). With a
    /// <paramref name="reference"/>, delivery is idempotent per (subject, kind, reference): a repeat stores nothing
    /// new and returns the first delivery's id with <see cref="InboxDelivery.Created"/> false; it queues the SMS copy
    /// when <paramref name="sendSms"/> is true and none was queued for that notice yet. Without a reference every call is a new notice.
    /// </summary>
    /// <param name="subject">The subscriber (internal ID).</param>
    /// <param name="kind">What the notice is about.</param>
    /// <param name="text">Title and body in Korean and English (<see cref="NoticeText.Validate"/>).</param>
    /// <param name="reference">The sender's reference, 1–<see cref="MaxReferenceLength"/> printable ASCII characters without spaces (e.g. <c>incident:I-42</c>), or null. Never personal data.</param>
    /// <param name="sendSms">Whether to queue an SMS copy. The default is true.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The delivery id and whether it was new.</returns>
    /// <exception cref="ArgumentException">When the text or reference breaks its rules, or <paramref name="kind"/> is not defined.</exception>
    /// <exception cref="DbException">When the database write fails (nothing was delivered).</exception>
    public async Task<InboxDelivery> DeliverAsync(SubscriberId subject, NoticeKind kind, NoticeText text, string? reference, bool sendSms = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        text.Validate();
        var kindName = kind.ToName();
        if (reference is not null && (reference.Length is 0 or > MaxReferenceLength || reference.Any(c => c is <= ' ' or > '~')))
        {
            throw new ArgumentException($"The reference must be 1-{MaxReferenceLength} printable ASCII characters without spaces.", nameof(reference));
        }

        var now = time.GetUtcNow();
        var id = "N-" + Guid.CreateVersion7(now).ToString("N");
        string deliveredId;
        bool created;
        long? smsMs;
        await using (var connection = await db.OpenAsync(cancellationToken))
        {
            await using (var insert = connection.Command(
                "INSERT INTO portal_inbox (id, subscriber_id, kind, reference, title_ko, body_ko, title_en, body_en, created_ms, read_ms, sms_ms) " +
                "VALUES (@id, @s, @k, @r, @tk, @bk, @te, @be, @t, NULL, NULL) ON CONFLICT DO NOTHING",
                ("@id", id),
                ("@s", subject.Value),
                ("@k", kindName),
                ("@r", reference),
                ("@tk", text.TitleKo),
                ("@bk", text.BodyKo),
                ("@te", text.TitleEn),
                ("@be", text.BodyEn),
                ("@t", now.ToUnixTimeMilliseconds())))
            {
                created = await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
            }

            if (created)
            {
                deliveredId = id;
                smsMs = null;
            }
            else
            {
                await using var existing = connection.Command(
                    "SELECT id, sms_ms FROM portal_inbox WHERE subscriber_id = @s AND kind = @k AND reference = @r",
                    ("@s", subject.Value),
                    ("@k", kindName),
                    ("@r", reference));
                await using var reader = await existing.ExecuteReaderAsync(cancellationToken);
                if (!await reader.ReadAsync(cancellationToken))
                {
                    throw new InvalidOperationException("The inbox refused a notice without holding an earlier one with its reference.");
                }

                deliveredId = reader.GetString(0);
                smsMs = reader.IsDBNull(1) ? null : reader.GetInt64(1);
            }
        }

        if (created)
        {
            PortalLog.NoticeDelivered(logger, deliveredId, kindName);
        }

        if (sendSms && smsMs is null)
        {
            await SendSmsCopyAsync(subject, deliveredId, text, cancellationToken);
        }

        return new InboxDelivery(deliveredId, created);
    }

    /// <summary>The subscriber's notices, newest first.</summary>
    /// <param name="subject">The signed-in subscriber.</param>
    /// <param name="limit">1–200.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="limit"/> is outside 1–200.</exception>
    public async Task<IReadOnlyList<InboxMessage>> ListAsync(SubscriberId subject, int limit = 50, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 200);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT {Columns} FROM portal_inbox WHERE subscriber_id = @s ORDER BY created_ms DESC, id DESC LIMIT @n",
            ("@s", subject.Value),
            ("@n", limit));
        var list = new List<InboxMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new InboxMessage(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                new NoticeText(reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                reader.IsDBNull(8) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
                reader.IsDBNull(9) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9))));
        }

        return list;
    }

    /// <summary>How many of the subscriber's notices are unread.</summary>
    public async Task<int> CountUnreadAsync(SubscriberId subject, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COUNT(*) FROM portal_inbox WHERE subscriber_id = @s AND read_ms IS NULL", ("@s", subject.Value));
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Marks one of the subscriber's own notices read (the first time only).</summary>
    /// <param name="subject">The signed-in subscriber; a notice of anyone else is treated as missing.</param>
    /// <param name="id">The delivery id.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>True when the subscriber has a notice with this id; false otherwise.</returns>
    public async Task<bool> MarkReadAsync(SubscriberId subject, string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using (var update = connection.Command(
            "UPDATE portal_inbox SET read_ms = @t WHERE id = @id AND subscriber_id = @s AND read_ms IS NULL",
            ("@t", time.GetUtcNow().ToUnixTimeMilliseconds()),
            ("@id", id),
            ("@s", subject.Value)))
        {
            if (await update.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                return true;
            }
        }

        await using var exists = connection.Command("SELECT 1 FROM portal_inbox WHERE id = @id AND subscriber_id = @s", ("@id", id), ("@s", subject.Value));
        return await exists.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private async Task SendSmsCopyAsync(SubscriberId subject, string deliveryId, NoticeText text, CancellationToken cancellationToken)
    {
        const string Prefix = "[Custodian] 새 알림: ";
        const string Suffix = " — 개인정보 이용내역 포털의 알림함에서 확인하세요.";
        var title = text.TitleKo.Length > 300 - Prefix.Length - Suffix.Length ? text.TitleKo[..(300 - Prefix.Length - Suffix.Length)] : text.TitleKo;
        try
        {
            await sms.SendAsync(subject, SmsKind.Notice, Prefix + title + Suffix, cancellationToken);
        }
        catch (Exception ex) when (ex is DbException or IOException or InvalidOperationException)
        {
            PortalLog.NoticeSmsFailed(logger, deliveryId, ex);
            return;
        }

        await using var connection = await db.OpenAsync(cancellationToken);
        await using var update = connection.Command(
            "UPDATE portal_inbox SET sms_ms = @t WHERE id = @id",
            ("@t", time.GetUtcNow().ToUnixTimeMilliseconds()),
            ("@id", deliveryId));
        await update.ExecuteNonQueryAsync(cancellationToken);
    }
}
