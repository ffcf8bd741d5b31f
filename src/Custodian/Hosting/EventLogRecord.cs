using System.Text.Json.Serialization;
using Custodian.Events;

namespace Custodian.Hosting;

/// <summary>
/// The event log a data directory's deployment appends through, recorded in <c>storage.json</c> beside the storage backend
/// (<see cref="StorageRecord.Events"/>; docs/events.md, "One event log per deployment"), so that a verb or start configured
/// for another event log is refused instead of writing the ledger tables around the stream. Holds no secret and no server
/// address (the API nodes of one deployment may name different NATS servers of one cluster): the kind and, for JetStream,
/// the stream name and subject prefix that identify the stream. Immutable.
/// </summary>
/// <param name="Backend"><c>embedded</c> or <c>jetstream</c>.</param>
/// <param name="Stream">For JetStream the stream name (<see cref="JetStreamOptions.Stream"/>); null when embedded.</param>
/// <param name="SubjectPrefix">For JetStream the subject prefix (<see cref="JetStreamOptions.SubjectPrefix"/>); null when embedded.</param>
public sealed record EventLogRecord(string Backend, string? Stream, string? SubjectPrefix)
{
    /// <summary>The record for the configured event log.</summary>
    /// <param name="settings">The resolved events settings.</param>
    /// <returns><c>embedded</c>, or <c>jetstream</c> with the stream name and subject prefix.</returns>
    public static EventLogRecord For(EventsSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.IsJetStream
            ? new EventLogRecord("jetstream", settings.JetStream.Stream, settings.JetStream.SubjectPrefix)
            : new EventLogRecord("embedded", null, null);
    }

    /// <summary>Whether the record is well formed: <c>embedded</c> without a stream, or <c>jetstream</c> with both a stream and a prefix.</summary>
    [JsonIgnore]
    public bool IsValid => Backend switch
    {
        "embedded" => Stream is null && SubjectPrefix is null,
        "jetstream" => !string.IsNullOrEmpty(Stream) && !string.IsNullOrEmpty(SubjectPrefix),
        _ => false,
    };

    /// <summary>E.g. <c>embedded</c> or <c>NATS JetStream stream CUSTODIAN_LEDGER (subject prefix custodian.ledger)</c>.</summary>
    /// <returns>The text.</returns>
    public string Describe() => Backend == "embedded" ? "embedded" : $"NATS JetStream stream {Stream} (subject prefix {SubjectPrefix})";

    /// <summary>
    /// The one line refusing <paramref name="configured"/> on a data directory recorded for this event log, naming the
    /// settings that select the recorded one; null when they match.
    /// </summary>
    /// <param name="root">The data directory's full path.</param>
    /// <param name="configured">The configured event log.</param>
    /// <returns>Null, or the message (no URL, no credentials).</returns>
    public string? Refusal(string root, EventLogRecord configured) => RefusalFor($"the data directory {root}", configured);

    /// <summary>
    /// The one line refusing <paramref name="configured"/> on a PostgreSQL database whose ledger belongs to this event log
    /// (<see cref="DatabaseDeployment"/>; docs/storage.md, "One database, one deployment"), naming the settings that select
    /// the recorded one; null when they match.
    /// </summary>
    /// <param name="database">The deployment's database.</param>
    /// <param name="configured">The configured event log.</param>
    /// <returns>Null, or the message (the database's host, port, name and user; no password, no NATS URL).</returns>
    public string? Refusal(Storage.CustodianDatabase database, EventLogRecord configured)
    {
        ArgumentNullException.ThrowIfNull(database);
        return RefusalFor($"the database {database.Path}", configured);
    }

    private string? RefusalFor(string owner, EventLogRecord configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        if (this == configured)
        {
            return null;
        }

        string fix;
        if (Backend == "embedded")
        {
            fix = "unset Custodian__Events (or set it to embedded; serve --events) as the deployment's server has it; a ledger cannot be moved onto a stream yet";
        }
        else
        {
            var settings = new List<string>();
            if (configured.Backend != Backend)
            {
                settings.Add("Custodian__Events to the deployment's nats://host:port (serve --events)");
            }

            if (configured.Backend != Backend ? Stream != JetStreamOptions.DefaultStream : Stream != configured.Stream)
            {
                settings.Add($"Custodian__JetStream__Stream={Stream}");
            }

            if (configured.Backend != Backend ? SubjectPrefix != JetStreamOptions.DefaultSubjectPrefix : SubjectPrefix != configured.SubjectPrefix)
            {
                settings.Add($"Custodian__JetStream__SubjectPrefix={SubjectPrefix}");
            }

            fix = "set " + string.Join(" and ", settings) + " as the deployment's server has it";
        }

        return $"{owner} belongs to a deployment whose event log is {Describe()}, but the configured event log is {configured.Describe()}: {fix}; nothing was changed (docs/events.md).";
    }
}
