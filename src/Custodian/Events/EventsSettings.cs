using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custodian.Problems;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace Custodian.Events;

/// <summary>
/// The parsed <c>Custodian:Events</c> setting (docs/events.md): absent, empty or <c>embedded</c> for the in-process
/// event stream (the embedded default), or <c>nats://host[:port]</c> / <c>tls://host[:port]</c> for the NATS JetStream
/// event log (<c>tls://</c>, or any of <see cref="JetStreamOptions.TlsCaFile"/>, <see cref="JetStreamOptions.TlsCertFile"/>,
/// <see cref="JetStreamOptions.TlsKeyFile"/>, requires TLS: the connection fails rather than fall back to plain text).
/// </summary>
public sealed class EventsSettings
{
    /// <summary>Error code of an invalid <c>Custodian:Events</c> value.</summary>
    public const string EventsInvalid = "events-invalid";

    /// <summary>The NATS port when the URL names none (NATS client protocol default).</summary>
    public const int DefaultPort = 4222;

    private readonly NatsCredentials? _credentials;

    private EventsSettings(Uri? url, JetStreamOptions jetStream, NatsCredentials? credentials = null)
    {
        Url = url;
        JetStream = jetStream;
        _credentials = credentials;
    }

    /// <summary>The embedded default: the in-process event stream.</summary>
    public static EventsSettings Embedded { get; } = new(null, new JetStreamOptions());

    /// <summary>The NATS server URL, with the port filled in; null when embedded. May hold credentials: never print it.</summary>
    public Uri? Url { get; }

    /// <summary>True when the JetStream event log is configured.</summary>
    public bool IsJetStream => Url is not null;

    /// <summary>The JetStream settings (used when <see cref="IsJetStream"/>).</summary>
    public JetStreamOptions JetStream { get; }

    /// <summary>
    /// True when the connection to NATS must be TLS: the URL's scheme is <c>tls</c> or a TLS file is configured. A plain
    /// <c>nats://</c> URL without TLS files uses TLS only when the server offers it (NATS.Net's <see cref="TlsMode.Auto"/>).
    /// </summary>
    public bool RequiresTls => Url is not null && (string.Equals(Url.Scheme, "tls", StringComparison.Ordinal) || JetStream.HasTlsFiles);

    /// <summary><c>embedded</c>, <c>nats host:port</c> or <c>nats host:port (TLS)</c> — for messages and logs: never the credentials or file paths.</summary>
    public string Display => Url is null
        ? "embedded"
        : string.Create(CultureInfo.InvariantCulture, $"nats {Url.Host}:{Url.Port}{(RequiresTls ? " (TLS)" : string.Empty)}");

    /// <summary>Which credential file authenticates the connection (<see cref="NatsCredentialKind.None"/>: the URL's <c>user:password@</c>, if any).</summary>
    internal NatsCredentialKind CredentialKind => _credentials?.Kind ?? NatsCredentialKind.None;

    /// <summary>
    /// The NATS.Net connection options for this event log: the URL (with any <c>user:password@</c>), the credentials read
    /// from <see cref="JetStreamOptions.NKeyFile"/>, <see cref="JetStreamOptions.CredsFile"/> or
    /// <see cref="JetStreamOptions.TokenFile"/> (handed over by <see cref="NatsAuthOpts.AuthCredCallback"/> at each
    /// connection attempt, so that the options' <c>ToString</c> never holds the seed or token; the file is read again at
    /// each attempt, so a renewed file is used from the next reconnect, and an unreadable or invalid one keeps the last
    /// good credentials and logs event 6190 on <paramref name="logger"/>; docs/events.md, "Credentials"), TLS required per
    /// <see cref="RequiresTls"/> with the configured CA and client certificate files, and the given timeouts; reconnects
    /// wait 200 ms to 2 s.
    /// </summary>
    /// <param name="name">The connection's name, as the server lists it (e.g. <c>custodian</c>).</param>
    /// <param name="connectTimeout">How long a connection attempt may take.</param>
    /// <param name="logger">Where a credential file's renewal events (6190–6192) go; null for none.</param>
    /// <param name="time">The clock a user JWT's expiry is judged by (event 6191); null for <see cref="TimeProvider.System"/>.</param>
    /// <returns>The options.</returns>
    /// <exception cref="InvalidOperationException">When the event log is embedded.</exception>
    public NatsOpts ConnectionOptions(string name, TimeSpan connectTimeout, ILogger? logger = null, TimeProvider? time = null)
    {
        if (Url is null)
        {
            throw new InvalidOperationException("The embedded event log has no NATS connection.");
        }

        return NatsOpts.Default with
        {
            Url = Url.ToString(),
            Name = name,
            ConnectTimeout = connectTimeout,
            RequestTimeout = JetStream.AckTimeout,
            CommandTimeout = JetStream.AckTimeout,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(200),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
            AuthOpts = _credentials is null ? NatsAuthOpts.Default : NatsAuthOpts.Default with { AuthCredCallback = _credentials.Callback(logger ?? NullLogger.Instance, time ?? TimeProvider.System) },
            TlsOpts = NatsTlsOpts.Default with
            {
                Mode = RequiresTls ? TlsMode.Require : TlsMode.Auto,
                CaFile = NullIfEmpty(JetStream.TlsCaFile),
                CertFile = NullIfEmpty(JetStream.TlsCertFile),
                KeyFile = NullIfEmpty(JetStream.TlsKeyFile),
            },
        };

        static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
    }

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

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || !(string.Equals(uri.Scheme, "nats", StringComparison.OrdinalIgnoreCase) || string.Equals(uri.Scheme, "tls", StringComparison.OrdinalIgnoreCase)))
        {
            return Invalid(Cli.ConfigurationBinding.WithDocumentPointer("Custodian:Events must be 'embedded' or a nats://host:port or tls://host:port URL.", Setting));
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            return Invalid(Cli.ConfigurationBinding.WithDocumentPointer("Custodian:Events names no host.", Setting));
        }

        if (uri.AbsolutePath is not ("" or "/") || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return Invalid(Cli.ConfigurationBinding.WithDocumentPointer("Custodian:Events must be nats://host:port or tls://host:port with no path, query or fragment.", Setting));
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

        if (CheckTlsFiles(jetStream) is { } tlsFailure)
        {
            return Invalid(tlsFailure);
        }

        if (uri.UserInfo.Length > 0 && jetStream.CredentialFiles is [var file, ..])
        {
            return Invalid(Cli.ConfigurationBinding.WithDocumentPointer(
                $"Custodian:Events carries user:password@ and Custodian:{JetStreamOptions.Section}:{file} is set: one way to authenticate to NATS (NKeyFile, CredsFile, TokenFile, or user:password@ in Custodian:Events).",
                Setting));
        }

        if (NatsCredentials.Read(jetStream, out var credentials) is { } credentialFailure)
        {
            return Invalid(credentialFailure);
        }

        var builder = new UriBuilder(uri) { Scheme = uri.Scheme.ToLowerInvariant(), Port = port, Path = string.Empty };
        return new EventsSettings(builder.Uri, jetStream, credentials);
    }

    // Most bytes of a PEM file of the TLS settings: 1 MiB (a CA bundle of a few hundred certificates).
    private const int MaxPemFileBytes = 1024 * 1024;

    // The TLS files are read once here, so that a missing, unreadable or wrong file stops the start with one line naming
    // the setting (never the path or the content) instead of failing every connection attempt later.
    private static string? CheckTlsFiles(JetStreamOptions jetStream)
    {
        if (!string.IsNullOrEmpty(jetStream.TlsCaFile))
        {
            var authorities = new X509Certificate2Collection();
            if (SettingFile.TryRead(jetStream.TlsCaFile, MaxPemFileBytes, out var caPem) is { } unreadable)
            {
                return TlsFileRule("TlsCaFile", "must be a readable PEM file of the NATS servers' certificate authority (" + unreadable.Reason + ").");
            }

            try
            {
                authorities.ImportFromPem(System.Text.Encoding.UTF8.GetString(caPem!));
            }
            catch (CryptographicException)
            {
                return TlsFileRule("TlsCaFile", "must be a readable PEM file of the NATS servers' certificate authority (not PEM).");
            }

            if (authorities.Count == 0)
            {
                return TlsFileRule("TlsCaFile", "must hold at least one PEM CERTIFICATE (none found).");
            }

            foreach (var authority in authorities)
            {
                authority.Dispose();
            }
        }

        if (!string.IsNullOrEmpty(jetStream.TlsCertFile) && !string.IsNullOrEmpty(jetStream.TlsKeyFile))
        {
            byte[]? keyPem = null;
            var unreadable = SettingFile.TryRead(jetStream.TlsCertFile, MaxPemFileBytes, out var certPem)
                ?? SettingFile.TryRead(jetStream.TlsKeyFile, MaxPemFileBytes, out keyPem);
            if (unreadable is { } refused)
            {
                return TlsFileRule("TlsCertFile", "and Custodian:JetStream:TlsKeyFile must be readable PEM files (" + refused.Reason + ").");
            }

            char[] keyText = [];
            try
            {
                keyText = System.Text.Encoding.UTF8.GetChars(keyPem!);
                using var client = X509Certificate2.CreateFromPem(System.Text.Encoding.UTF8.GetString(certPem!), keyText);
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException)
            {
                // ArgumentException: a key that is not the certificate's.
                return TlsFileRule("TlsCertFile", "and Custodian:JetStream:TlsKeyFile must hold a PEM certificate and its unencrypted private key, which must match.");
            }
            finally
            {
                Array.Clear(keyText);
                Array.Clear(keyPem ?? []);
            }
        }

        return null;

        static string TlsFileRule(string key, string rule) =>
            Cli.ConfigurationBinding.WithDocumentPointer($"Custodian:{JetStreamOptions.Section}:{key} {rule}", $"Custodian:{JetStreamOptions.Section}:{key}");
    }

    // The setting the refusals name, and whose document (docs/events.md) they point to.
    private const string Setting = "Custodian:Events";

    private static CustodianError Invalid(string message) => new(EventsInvalid, 400, message);
}
