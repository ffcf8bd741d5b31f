using System.Text.RegularExpressions;

namespace Custodian.Events;

/// <summary>
/// Settings of the JetStream event log (section <c>Custodian:JetStream</c>, e.g. <c>Custodian__JetStream__Replicas=3</c>;
/// docs/events.md). Used only when <see cref="Hosting.CustodianOptions.Events"/> names a NATS server. Validated by
/// <see cref="Validate"/> before anything is created.
/// </summary>
public sealed partial class JetStreamOptions
{
    /// <summary>Configuration section under <c>Custodian</c>.</summary>
    public const string Section = "JetStream";

    /// <summary>The JetStream stream holding the ledger entries, created on first start when missing.</summary>
    /// <value>1–32 characters of <c>A–Z a–z 0–9 _ -</c> (NATS stream names may not contain spaces, <c>.</c>, <c>*</c>, <c>&gt;</c> or path separators). The default is <c>CUSTODIAN_LEDGER</c>.</value>
    public string Stream { get; set; } = DefaultStream;

    /// <summary>The default <see cref="Stream"/>: <c>CUSTODIAN_LEDGER</c>.</summary>
    public const string DefaultStream = "CUSTODIAN_LEDGER";

    /// <summary>The default <see cref="SubjectPrefix"/>: <c>custodian.ledger</c>.</summary>
    public const string DefaultSubjectPrefix = "custodian.ledger";

    /// <summary>The subject prefix: entries are published on <c>&lt;prefix&gt;.c&lt;NN&gt;.t&lt;NN&gt;</c> (<see cref="LedgerSubjects"/>) and the stream captures <c>&lt;prefix&gt;.*.*</c>.</summary>
    /// <value>1–4 dot-separated tokens of <c>a–z 0–9 _ -</c>, at most 64 characters, no wildcards. The default is <c>custodian.ledger</c>.</value>
    public string SubjectPrefix { get; set; } = DefaultSubjectPrefix;

    /// <summary>
    /// Copies of the stream kept by the JetStream cluster (NATS JetStream: R1 or R3 in practice; an acknowledged publish
    /// is on a majority of them). 1 for a single nats-server; 3 for a three-node cluster, which survives the loss of one.
    /// </summary>
    /// <value>1–5. The default is 1.</value>
    public int Replicas { get; set; } = 1;

    /// <summary>
    /// How long a guarded read waits for JetStream to acknowledge its entry's publish, and then again for the entry to be
    /// projected into the ledger tables, before it is refused (fail closed, <c>ledger-unavailable</c>, 503).
    /// </summary>
    /// <value>100–60,000 milliseconds. The default is 5,000 (5 seconds, the embedded ledger's lock timeout).</value>
    public int AckTimeoutMilliseconds { get; set; } = 5_000;

    /// <summary>
    /// Whether a start may bind a stream that already holds entries but is bound to no deployment (a stream created before
    /// streams were bound, docs/events.md "One stream per deployment") to this deployment. Set it once, for the start
    /// after an upgrade, and only when the stream holds this deployment's own ledger: the stream's entries are then
    /// projected into this deployment's ledger. A stream bound to another deployment is refused whatever this says.
    /// </summary>
    /// <value>The default is false: such a stream stops the start with one line naming it.</value>
    public bool AdoptUnboundStream { get; set; }

    /// <summary>
    /// Where the access monitor runs (docs/events.md, "Monitor workers"): <c>embedded</c> — inside each <c>serve</c>
    /// process, over the whole ledger; <c>workers</c> — in <c>custodian monitor-worker</c> processes that share the
    /// clerk and terminal partitions, while <c>serve</c> only answers the inline risk check from the shared storage.
    /// </summary>
    /// <value><c>embedded</c> or <c>workers</c>. The default is <c>embedded</c>.</value>
    public string Monitor { get; set; } = "embedded";

    /// <summary>Whether <see cref="Monitor"/> selects sharded workers.</summary>
    public bool UsesWorkers => string.Equals(Monitor, "workers", StringComparison.Ordinal);

    /// <summary>
    /// A monitor worker's lease in the membership bucket: a worker that has not renewed its key for this long is gone,
    /// its partitions move to the others, and it stops acting on them itself (fencing).
    /// </summary>
    /// <value>2–300 seconds. The default is 10; renewed every third of it.</value>
    public int WorkerLeaseSeconds { get; set; } = 10;

    /// <summary>
    /// PEM file of the certificate authority (or authorities) that issued the NATS servers' TLS certificates. With it, TLS
    /// is required and the servers' certificates are checked against these certificates only, not the system's roots.
    /// </summary>
    /// <value>A readable file holding at least one PEM <c>CERTIFICATE</c>; null (the default) for the system's roots.</value>
    public string? TlsCaFile { get; set; }

    /// <summary>
    /// PEM file of this process's TLS client certificate, for a NATS server that verifies clients (nats-server
    /// <c>tls { verify: true }</c>, mutual TLS). Needs <see cref="TlsKeyFile"/>; with it, TLS is required.
    /// </summary>
    /// <value>A readable PEM certificate file; null (the default) for none.</value>
    public string? TlsCertFile { get; set; }

    /// <summary>PEM file of the private key of <see cref="TlsCertFile"/> (PKCS #8 or the algorithm's own PEM form, unencrypted).</summary>
    /// <value>A readable PEM key file matching <see cref="TlsCertFile"/>; null (the default) for none.</value>
    public string? TlsKeyFile { get; set; }

    /// <summary>
    /// File holding this process's NKey user seed (<c>SU…</c>, one line, as <c>nk -gen user</c> writes it; a second line
    /// with its public key <c>U…</c> is allowed), for a NATS server whose <c>authorization { users = [ { nkey: U… } ] }</c>
    /// lists the seed's public key. Read when the settings are read; a missing, unreadable or malformed file, or a seed
    /// that is not a user seed, stops the start with one line naming this setting; read again at each reconnect like
    /// <see cref="CredsFile"/>. The seed is a secret: never printed or logged. Excludes <see cref="CredsFile"/>, <see cref="TokenFile"/> and <c>user:password@</c> in the URL.
    /// </summary>
    /// <value>A readable text file of at most 64 KiB; null (the default) for none.</value>
    public string? NKeyFile { get; set; }

    /// <summary>
    /// NATS credentials file (<c>.creds</c>, as <c>nsc generate creds</c> writes it: a user JWT and its NKey user seed), for
    /// a NATS server in operator mode (decentralised JWT authentication). Read when the settings are read; a file without
    /// a user JWT and a valid user seed, or whose JWT's subject is not the seed's public key, stops the start with one
    /// line naming this setting. The JWT's signature, issuer, expiry and revocation are the server's to judge (refused
    /// credentials; Custodian logs event 6191 for an expired one). Read again at each connect and reconnect: a renewed
    /// file is used from the next reconnect, and one that cannot be read or is not valid keeps the last good credentials
    /// (event 6190; docs/events.md, "Credentials"). Excludes <see cref="NKeyFile"/>,
    /// <see cref="TokenFile"/> and <c>user:password@</c> in the URL.
    /// </summary>
    /// <value>A readable text file of at most 64 KiB; null (the default) for none.</value>
    public string? CredsFile { get; set; }

    /// <summary>
    /// File holding the token of a NATS server with <c>authorization { token: … }</c> (<c>nats-server --auth</c>): one line,
    /// no white space. Read when the settings are read, and again at each reconnect like <see cref="CredsFile"/>; the token
    /// is a secret, never printed or logged. Excludes
    /// <see cref="NKeyFile"/>, <see cref="CredsFile"/> and <c>user:password@</c> in the URL.
    /// </summary>
    /// <value>A readable text file of at most 64 KiB; null (the default) for none.</value>
    public string? TokenFile { get; set; }

    /// <summary>The credential files that are set, by setting name (<c>NKeyFile</c>, <c>CredsFile</c>, <c>TokenFile</c>), in that order.</summary>
    internal IReadOnlyList<string> CredentialFiles =>
        [.. new[] { ("NKeyFile", NKeyFile), ("CredsFile", CredsFile), ("TokenFile", TokenFile) }.Where(f => !string.IsNullOrEmpty(f.Item2)).Select(f => f.Item1)];

    /// <summary>Whether a TLS file is configured (<see cref="TlsCaFile"/>, <see cref="TlsCertFile"/> or <see cref="TlsKeyFile"/>): TLS is then required.</summary>
    public bool HasTlsFiles => !string.IsNullOrEmpty(TlsCaFile) || !string.IsNullOrEmpty(TlsCertFile) || !string.IsNullOrEmpty(TlsKeyFile);

    /// <summary><see cref="AckTimeoutMilliseconds"/> as a span.</summary>
    public TimeSpan AckTimeout => TimeSpan.FromMilliseconds(AckTimeoutMilliseconds);

    /// <summary>The stream's subject filter, <c>&lt;prefix&gt;.*.*</c>.</summary>
    public string StreamSubjects => SubjectPrefix + ".*.*";

    /// <summary>
    /// Every rule this instance breaks, each as one sentence naming the setting, the rule (never the value), the document
    /// that lists the values and the environment variable: <c>Custodian:JetStream:WorkerLeaseSeconds must be 2-300
    /// (docs/events.md lists the values; as an environment variable it is Custodian__JetStream__WorkerLeaseSeconds).</c>
    /// </summary>
    /// <returns>Empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (Stream is null || !StreamName().IsMatch(Stream))
        {
            Add("Stream must be 1-32 characters of A-Z, a-z, 0-9, '_' or '-'.");
        }

        if (SubjectPrefix is null || SubjectPrefix.Length > 64 || !Prefix().IsMatch(SubjectPrefix))
        {
            Add("SubjectPrefix must be 1-4 dot-separated tokens of a-z, 0-9, '_' or '-', at most 64 characters.");
        }

        if (Replicas is < 1 or > 5)
        {
            Add("Replicas must be 1-5 (1 for one nats-server, 3 for a cluster).");
        }

        if (AckTimeoutMilliseconds is < 100 or > 60_000)
        {
            Add("AckTimeoutMilliseconds must be 100-60000.");
        }

        if (Monitor is not ("embedded" or "workers"))
        {
            Add("Monitor must be 'embedded' or 'workers'.");
        }

        if (WorkerLeaseSeconds is < 2 or > 300)
        {
            Add("WorkerLeaseSeconds must be 2-300.");
        }

        if (string.IsNullOrEmpty(TlsCertFile) != string.IsNullOrEmpty(TlsKeyFile))
        {
            Add(string.IsNullOrEmpty(TlsCertFile)
                ? "TlsCertFile must be set with TlsKeyFile (the client certificate and its key go together)."
                : "TlsKeyFile must be set with TlsCertFile (the client certificate and its key go together).");
        }

        if (CredentialFiles is [var first, var second, ..])
        {
            Add($"{first} must not be set with {second}: one way to authenticate to NATS (NKeyFile, CredsFile, TokenFile, or user:password@ in Custodian:Events).");
        }

        return failures;

        // "Replicas must be 1-5 (…)." becomes "Custodian:JetStream:Replicas must be 1-5 (…; docs/events.md lists the values;
        // as an environment variable it is Custodian__JetStream__Replicas)."
        void Add(string rule)
        {
            var setting = $"Custodian:{Section}:{rule.Split(' ', 2)[0]}";
            failures.Add(Cli.ConfigurationBinding.WithDocumentPointer($"Custodian:{Section}:{rule}", setting));
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex StreamName();

    [GeneratedRegex("^[a-z0-9_-]+(\\.[a-z0-9_-]+){0,3}$", RegexOptions.CultureInvariant)]
    private static partial Regex Prefix();
}
