using System.Globalization;
using Custodian.Problems;

namespace Custodian.Events;

/// <summary>
/// The parsed <c>Custodian:Events</c> setting (docs/events.md): absent, empty or <c>embedded</c> for the in-process
/// event stream (the embedded default), or <c>nats://host[:port]</c> for the NATS JetStream event log.
/// </summary>
public sealed class EventsSettings
{
    /// <summary>Error code of an invalid <c>Custodian:Events</c> value.</summary>
    public const string EventsInvalid = "events-invalid";

    /// <summary>The NATS port when the URL names none (NATS client protocol default).</summary>
    public const int DefaultPort = 4222;

    private EventsSettings(Uri? url, JetStreamOptions jetStream)
    {
        Url = url;
        JetStream = jetStream;
    }

    /// <summary>The embedded default: the in-process event stream.</summary>
    public static EventsSettings Embedded { get; } = new(null, new JetStreamOptions());

    /// <summary>The NATS server URL, with the port filled in; null when embedded. May hold credentials: never print it.</summary>
    public Uri? Url { get; }

    /// <summary>True when the JetStream event log is configured.</summary>
    public bool IsJetStream => Url is not null;

    /// <summary>The JetStream settings (used when <see cref="IsJetStream"/>).</summary>
    public JetStreamOptions JetStream { get; }

    /// <summary><c>embedded</c>, or <c>nats host:port</c> — for messages and logs: never the credentials.</summary>
    public string Display => Url is null ? "embedded" : string.Create(CultureInfo.InvariantCulture, $"nats {Url.Host}:{Url.Port}");

    /// <summary>Parses <paramref name="value"/> and validates <paramref name="jetStream"/> when it names a NATS server.</summary>
    /// <param name="value">The setting; null, empty or <c>embedded</c> for the default.</param>
    /// <param name="jetStream">The JetStream settings.</param>
    /// <returns>The settings, or an error naming the setting and the rule (never echoing the value).</returns>
    public static Result<EventsSettings> Parse(string? value, JetStreamOptions jetStream)
    {
        ArgumentNullException.ThrowIfNull(jetStream);
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text) || string.Equals(text, "embedded", StringComparison.OrdinalIgnoreCase))
        {
            if (!string.Equals(jetStream.Monitor, "embedded", StringComparison.Ordinal))
            {
                return Invalid(Cli.ConfigurationBinding.WithDocumentPointer(
                    "Custodian:JetStream:Monitor 'workers' needs the JetStream event log (Custodian:Events = nats://host:port).", "Custodian:JetStream:Monitor"));
            }

            return Embedded;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || !string.Equals(uri.Scheme, "nats", StringComparison.OrdinalIgnoreCase))
        {
            return Invalid(Cli.ConfigurationBinding.WithDocumentPointer("Custodian:Events must be 'embedded' or a nats://host:port URL.", Setting));
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            return Invalid(Cli.ConfigurationBinding.WithDocumentPointer("Custodian:Events names no host.", Setting));
        }

        if (uri.AbsolutePath is not ("" or "/") || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return Invalid(Cli.ConfigurationBinding.WithDocumentPointer("Custodian:Events must be nats://host:port with no path, query or fragment.", Setting));
        }

        var port = uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port;
        if (port is < 1 or > 65_535)
        {
            return Invalid(Cli.ConfigurationBinding.WithDocumentPointer("Custodian:Events port must be 1-65535.", Setting));
        }

        var failures = jetStream.Validate();
        if (failures.Count > 0)
        {
            return Invalid(string.Join(" ", failures));
        }

        var builder = new UriBuilder(uri) { Scheme = "nats", Port = port, Path = string.Empty };
        return new EventsSettings(builder.Uri, jetStream);
    }

    // The setting the refusals name, and whose document (docs/events.md) they point to.
    private const string Setting = "Custodian:Events";

    private static CustodianError Invalid(string message) => new(EventsInvalid, 400, message);
}
