using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Custodian.Hosting;

/// <summary>
/// Server configuration. Bound from the <c>Custodian</c> configuration section (appsettings.json,
/// environment variables <c>Custodian__TerminalPort</c> etc.) and overridden by <c>serve</c> options.
/// Validated at start-up: a bad value stops the process with a one-line message.
/// </summary>
public sealed class CustodianOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Custodian";

    /// <summary>Directory holding all state (SQLite database, keys, CA, outbox).</summary>
    /// <value>The default is <c>./custodian-data</c>, relative to the working directory.</value>
    [Required]
    public string DataDirectory { get; set; } = "custodian-data";

    /// <summary>IP address both endpoints listen on.</summary>
    /// <value>The default is 127.0.0.1 (loopback only).</value>
    [Required]
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>TCP port of the sales-terminal API (mutual TLS with device certificates). 0 picks a free port.</summary>
    /// <value>The default is 7443.</value>
    [Range(0, 65535)]
    public int TerminalPort { get; set; } = 7443;

    /// <summary>TCP port of the subscriber portal API (server-authenticated TLS only). 0 picks a free port.</summary>
    /// <value>The default is 7444.</value>
    [Range(0, 65535)]
    public int PortalPort { get; set; } = 7444;

    /// <summary>Extra DNS names for the server certificate, besides <c>localhost</c> and the listen address.</summary>
    public IList<string> ServerNames { get; } = [];

    /// <summary>Largest accepted request body, in bytes (CSR uploads and JSON bodies are small).</summary>
    /// <value>The default is 65,536 bytes (64 KiB).</value>
    [Range(1024, 10 * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>How long a device certificate issued at enrollment or renewal stays valid, in days (terminals renew automatically; docs/access.md).</summary>
    /// <value>The default is 4 days.</value>
    [Range(1, 397)]
    public int DeviceCertificateDays { get; set; } = 4;

    /// <summary>PBKDF2-HMAC-SHA256 iterations for staff passwords (OWASP Password Storage Cheat Sheet, 2023: 600,000).</summary>
    /// <value>The default is 600,000.</value>
    [Range(1_000, 10_000_000)]
    public int PasswordIterations { get; set; } = 600_000;

    /// <summary>
    /// PostgreSQL only: how often, in seconds, a running server checks that the session holding its server lock is alive, and
    /// takes the lock again when it is not (docs/storage.md, "A server runs on the database"). Environment
    /// <c>Custodian__ServerLockCheckSeconds</c>.
    /// </summary>
    /// <value>The default is 5 seconds; 1–300.</value>
    [Range(1, 300)]
    public int ServerLockCheckSeconds { get; set; } = 5;

    /// <summary>The deployment's masking policy (section <c>Custodian:Masking</c>; see <see cref="Protection.Masking.MaskingOptions"/>).</summary>
    public Protection.Masking.MaskingOptions Masking { get; } = new();

    /// <summary>
    /// The storage backend (docs/storage.md): <c>sqlite</c> (the embedded file in the data directory), a
    /// <c>postgres://user:password@host:port/database</c> URL or an Npgsql connection string. Environment
    /// <c>Custodian__Storage</c>; <c>custodian serve --storage</c> overrides it.
    /// </summary>
    /// <value>The default is <c>sqlite</c>.</value>
    public string Storage { get; set; } = "sqlite";

    /// <summary>
    /// A file holding the <see cref="Storage"/> value instead (e.g. a mounted secret, so that the PostgreSQL password is
    /// neither in the environment nor on the command line). Environment <c>Custodian__StorageFile</c>. Set this or
    /// <see cref="Storage"/>, not both.
    /// </summary>
    /// <value>The default is none.</value>
    public string? StorageFile { get; set; }

    /// <summary>
    /// The event log (docs/events.md): absent, empty or <c>embedded</c> for the in-process event stream, or
    /// <c>nats://host:port</c> for the NATS JetStream event log. Environment <c>Custodian__Events</c>;
    /// <c>custodian serve --events</c> overrides it.
    /// </summary>
    /// <value>The default is none (embedded).</value>
    public string? Events { get; set; }

    /// <summary>The JetStream event log's settings (section <c>Custodian:JetStream</c>; see <see cref="Custodian.Events.JetStreamOptions"/>).</summary>
    public Custodian.Events.JetStreamOptions JetStream { get; } = new();

    /// <summary>The parsed <see cref="ListenAddress"/>.</summary>
    /// <remarks>Valid once <see cref="CustodianOptionsValidator.ValidateAll"/> has passed.</remarks>
    public IPAddress ListenIp => IPAddress.Parse(ListenAddress);
}
