using System.Globalization;
using System.Security.Cryptography;
using System.Threading.Channels;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Projection;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Custodian.Events;

/// <summary>
/// The access ledger with the NATS JetStream event log as its one total order (docs/events.md). <see cref="AppendAsync"/>
/// publishes the entry's canonical encoding (<see cref="LeafCodec"/>) to a file-stored stream with a de-duplication id
/// (<c>Nats-Msg-Id</c>) and waits for JetStream's acknowledgement; the entry's ledger sequence is its stream sequence
/// minus one. A projector in every process consumes the stream in order into the configured storage
/// (<see cref="LedgerProjection"/>): the ledger table, Merkle tree, subtree hashes and tree heads, exactly as the embedded
/// writers build them, then publishes each entry to the in-process <see cref="IAccessEventStream"/> (monitor, portal
/// notifier, SIEM). <see cref="AppendAsync"/> returns once its entry is projected, so callers see what they see in
/// embedded mode: the committed sequence, present in the tables and already on its way to the monitor.
/// </summary>
/// <remarks>
/// Fail closed: a publish that fails or is not acknowledged within <see cref="JetStreamOptions.AckTimeout"/>, or an
/// acknowledged entry not projected within the same bound, throws <see cref="LedgerUnavailableException"/> and the read
/// is refused. In the second case the entry stays in the log (a refused read recorded, never an unrecorded one).
/// Thread-safe.
/// </remarks>
public sealed class JetStreamAccessLedger : IAccessLedger, IAccessLedgerReader, IAsyncDisposable
{
    private static readonly TimeSpan RestartDelay = TimeSpan.FromMilliseconds(500);

    // JetStream's error code for "subjects overlap with an existing stream" (nats-server JSStreamSubjectOverlapErr).
    private const int SubjectsOverlapErrorCode = 10065;

    // JetStream's error codes for a stream asking more replicas than there are servers: "replicas > 1 not supported in
    // non-clustered mode" (JSStreamReplicasNotSupportedErr, a single nats-server), "insufficient resources"
    // (JSInsufficientResourcesErr) and "no suitable peers for placement" (JSClusterNoPeersErrF), a cluster too small.
    private const int ReplicasNotSupportedErrorCode = 10074;
    private const int InsufficientResourcesErrorCode = 10023;
    private const int NoSuitablePeersErrorCode = 10005;

    private readonly EventsSettings _settings;
    private readonly JetStreamOptions _options;
    private readonly LedgerProjection _projection;
    private readonly IAccessEventStream _events;
    private readonly ILogger<JetStreamAccessLedger> _logger;
    private readonly TimeProvider _time;
    private readonly int _maxBatch;
    private readonly Func<string> _deployment;
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private NatsConnection? _nats;
    private NatsJSContext? _js;
    private Task _projector = Task.CompletedTask;
    private long _projected = -1;
    private long _published = -1;
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;
    private int _diverged; // 1 once the tables were found to differ from the stream: appends are refused for good (docs/events.md)

    /// <summary>Creates the ledger; <see cref="StartAsync"/> connects and starts the projector.</summary>
    /// <param name="settings">The events settings; must name a NATS server.</param>
    /// <param name="projection">The ledger tables of the configured storage.</param>
    /// <param name="events">The in-process stream that the projector feeds, in sequence order.</param>
    /// <param name="deployment">
    /// This deployment's identity, read once by <see cref="StartAsync"/>: the checkpoint log key's name and key ID,
    /// <c>&lt;origin&gt;+&lt;8 hex digits&gt;</c> (<see cref="DeploymentIdentity"/>). The stream is bound to it (docs/events.md, "One stream per deployment").
    /// </param>
    /// <param name="logger">Logger (counts and sequence numbers only).</param>
    /// <param name="ledgerOptions">Ledger settings (<see cref="LedgerOptions.MaxBatchSize"/> bounds a projected batch); null for the defaults.</param>
    /// <param name="time">The clock a credential file's user JWT expiry is judged by at each connection attempt (event 6191); null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">When <paramref name="settings"/> is the embedded default.</exception>
    public JetStreamAccessLedger(EventsSettings settings, LedgerProjection projection, IAccessEventStream events, Func<string> deployment, ILogger<JetStreamAccessLedger> logger, LedgerOptions? ledgerOptions = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(projection);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(logger);
        if (!settings.IsJetStream)
        {
            throw new ArgumentException("The JetStream ledger needs Custodian:Events to name a NATS server.", nameof(settings));
        }

        _settings = settings;
        _options = settings.JetStream;
        _projection = projection;
        _events = events;
        _logger = logger;
        _deployment = deployment;
        _maxBatch = (ledgerOptions ?? new LedgerOptions()).MaxBatchSize;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The newest ledger sequence projected into the tables by this process; -1 before the first.</summary>
    public long ProjectedSequence => Volatile.Read(ref _projected);

    /// <summary>
    /// Whether the projector found the ledger tables diverging from the stream (a stored position that differs, a gap, an
    /// inconsistent tail, a message that is not a ledger entry). Once true it stays true for this instance: the projector
    /// stopped and every <see cref="AppendAsync"/> throws <see cref="LedgerUnavailableException"/> (docs/events.md, "Failure
    /// behaviour").
    /// </summary>
    public bool IsDiverged => Volatile.Read(ref _diverged) == 1;

    private const string DivergedMessage = "The ledger tables diverge from the event log; reads are refused until an operator investigates (docs/events.md).";

    /// <summary>
    /// Connects to NATS, creates the stream when missing and the ledger tables are empty (file storage,
    /// <see cref="JetStreamOptions.Replicas"/>, deletes and purges denied, 2-minute de-duplication window, bound to this
    /// deployment by its description), checks that the stream belongs to this deployment and is not behind the ledger
    /// tables, and starts the projector. Idempotent.
    /// </summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="EventsUnavailableException">
    /// One line: unreachable, JetStream off, a stream configured otherwise, a stream bound to another deployment (naming
    /// both identities), a non-empty stream bound to none without <see cref="JetStreamOptions.AdoptUnboundStream"/>, a
    /// missing stream while the tables hold entries (naming the stream bound to this deployment, if any), or a stream
    /// behind the tables.
    /// </exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_js is not null)
        {
            return;
        }

        await _startGate.WaitAsync(cancellationToken);
        try
        {
            if (_js is not null)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
            var nats = await ConnectAsync(_settings, cancellationToken, _logger, _time);
            try
            {
                await StartOnAsync(nats, cancellationToken);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                await nats.DisposeAsync();
                throw new EventsUnavailableException($"events {_settings.Display} is unavailable: JetStream did not answer for stream {_options.Stream} ({ex.GetType().Name}).", ex);
            }
            catch
            {
                await nats.DisposeAsync();
                throw;
            }
        }
        finally
        {
            _startGate.Release();
        }
    }

    // Ensures the stream, checks it against the tables and starts the projector on an open connection.
    private async Task StartOnAsync(NatsConnection nats, CancellationToken cancellationToken)
    {
        var js = new NatsJSContext(nats);
        var ledgerSize = await _projection.GetSizeAsync(cancellationToken);
        var streamSize = await EnsureStreamAsync(js, _deployment(), ledgerSize, cancellationToken);
        if (streamSize < ledgerSize)
        {
            throw new EventsUnavailableException(
                $"events {_settings.Display} stream {_options.Stream} holds {streamSize} entries but the ledger holds {ledgerSize}: the stream must hold the whole ledger (an existing ledger cannot be moved onto a new stream yet; docs/events.md).");
        }

        Volatile.Write(ref _projected, ledgerSize - 1);
        Volatile.Write(ref _published, ledgerSize - 1);
        Log.Started(_logger, _options.Stream, streamSize, ledgerSize);
        _nats = nats;
        _js = js;
        _projector = Task.Run(() => RunProjectorAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>
    /// Proves the configured NATS server reachable with JetStream enabled, then disconnects (<c>serve</c>'s start-up check,
    /// before anything is created).
    /// </summary>
    /// <param name="settings">The events settings; nothing is done when embedded.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <exception cref="EventsUnavailableException">One line naming the dependency and the reason.</exception>
    public static async Task CheckAvailableAsync(EventsSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.IsJetStream)
        {
            return;
        }

        await using var nats = await ConnectAsync(settings, cancellationToken);
    }

    /// <summary>Whether NATS is connected and JetStream answers for the stream (for <c>/health</c>).</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>True when healthy.</returns>
    public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken = default)
    {
        if (_js is not { } js || _nats is not { ConnectionState: NatsConnectionState.Open })
        {
            return false;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.AckTimeout);
        try
        {
            await js.GetStreamAsync(_options.Stream, cancellationToken: timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// How many monitor workers are live (for <c>/health</c> with <c>--monitor workers</c>; docs/events.md, "Monitor
    /// workers"): the keys <c>w.&lt;id&gt;</c> of the membership bucket <c>&lt;stream&gt;_monitor_workers</c> that hold a value
    /// (an expired lease holds none, a clean leave a delete marker), read as the workers read them (stream info filtered to
    /// <c>w.&gt;</c>, one get per key), within the ack timeout.
    /// </summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The number of live workers (0 when the bucket does not exist), or null when NATS does not answer.</returns>
    public async Task<int?> CountLiveMonitorWorkersAsync(CancellationToken cancellationToken = default)
    {
        if (_js is not { } js || _nats is not { ConnectionState: NatsConnectionState.Open })
        {
            return null;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.AckTimeout);
        var bucket = _options.Stream + "_monitor_workers"; // MonitorWorker.Bucket
        var prefix = "$KV." + bucket + ".";
        try
        {
            var stream = await js.GetStreamAsync("KV_" + bucket, new StreamInfoRequest { SubjectsFilter = prefix + "w.>" }, timeout.Token);
            var store = await new NATS.Client.KeyValueStore.NatsKVContext(js).GetStoreAsync(bucket, timeout.Token);
            var live = 0;
            foreach (var subject in stream.Info.State.Subjects?.Keys ?? Enumerable.Empty<string>())
            {
                var entry = await store.TryGetEntryAsync<string>(subject[prefix.Length..], cancellationToken: timeout.Token);
                if (entry.Success && entry.Value.Operation == NATS.Client.KeyValueStore.NatsKVOperation.Put)
                {
                    live++;
                }
            }

            return live;
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return 0; // no worker ever joined
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// Publishes <paramref name="entry"/> to the stream, waits for the acknowledgement, then for its projection into the
    /// ledger tables.
    /// </summary>
    /// <param name="entry">The entry; its time is recorded to the millisecond.</param>
    /// <param name="cancellationToken">Stops waiting; an entry already published may still be recorded, so the caller must treat cancellation as a refused read.</param>
    /// <returns>The committed entry: sequence (stream sequence − 1), leaf hash and the entry as recorded.</returns>
    /// <exception cref="LedgerUnavailableException">When the publish failed or was not acknowledged in time, or the entry was not projected in time.</exception>
    /// <exception cref="ArgumentException">When the entry cannot be encoded (see <see cref="LeafCodec.Encode"/>).</exception>
    public async ValueTask<CommittedEntry> AppendAsync(AccessEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var payload = LeafCodec.Encode(entry);
        if (Volatile.Read(ref _disposed) == 1)
        {
            throw new LedgerUnavailableException("The access ledger is shut down; the entry was not recorded.");
        }

        if (IsDiverged)
        {
            throw new LedgerUnavailableException(DivergedMessage); // nothing is published: the tables no longer mirror the stream
        }

        try
        {
            await StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new LedgerUnavailableException("The event log is unavailable; the entry was not recorded.", ex);
        }

        var sequence = await PublishAsync(_js!, LedgerSubjects.For(_options.SubjectPrefix, entry), payload, cancellationToken);
        await WaitProjectedAsync(sequence, cancellationToken);
        return new CommittedEntry(sequence, MerkleTree.HashLeaf(payload), LeafCodec.Decode(payload));
    }

    /// <inheritdoc />
    public ValueTask<long> GetSizeAsync(CancellationToken cancellationToken = default) => _projection.GetSizeAsync(cancellationToken);

    /// <summary>The newest tree head of the projected tables.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The head.</returns>
    public Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken = default) => _projection.GetTreeHeadAsync(cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<CommittedEntry> ReadAsync(long fromSequence, CancellationToken cancellationToken = default) => _projection.ReadAsync(fromSequence, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<CommittedEntry> ReadSinceAsync(DateTimeOffset since, CancellationToken cancellationToken = default) => _projection.ReadSinceAsync(since, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<CommittedEntry>> ReadBySubjectAsync(SubscriberId subject, long? before, int limit, CancellationToken cancellationToken = default) =>
        _projection.ReadBySubjectAsync(subject, before, limit, cancellationToken);

    /// <summary>Stops the projector and disconnects. Later appends throw <see cref="LedgerUnavailableException"/>. Safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        await _projector;
        if (_nats is not null)
        {
            await _nats.DisposeAsync();
        }

        _stop.Dispose();
        _startGate.Dispose();
    }

    /// <summary>
    /// Compares the ledger tables with the stream (<c>ledger verify</c>; docs/events.md, "Comparing the tables with the
    /// stream"), read-only and without starting the projector: connects on its own, reads the stream's state, checks that the
    /// stream belongs to this deployment, then reads its messages in order from its first held one with an ordered consumer
    /// (at most <paramref name="batchSize"/> prefetched) and compares each with the table row at the same sequence by leaf
    /// hash (<see cref="LedgerProjection.CompareWithLogAsync"/>, which decodes each message as the projector does), over
    /// [first held entry, min(stream size, <paramref name="tableSize"/>)).
    /// </summary>
    /// <param name="tableSize">The tables' verified size (entries); at least 0.</param>
    /// <param name="batchSize">Messages prefetched and table rows read per batch, 1–10,000; default 1,000.</param>
    /// <param name="cancellationToken">Cancels the comparison.</param>
    /// <returns>The comparison: entries compared, the first differing sequence if any, the stream's first held sequence and size.</returns>
    /// <exception cref="EventsUnavailableException">
    /// One line: NATS unreachable or without JetStream, the stream missing, bound to another deployment, or not delivering a
    /// message it holds within the ack timeout (<see cref="JetStreamOptions.AckTimeout"/>, at least 5 s).
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="tableSize"/> or <paramref name="batchSize"/> is out of range.</exception>
    public async Task<LogComparison> CompareWithTablesAsync(long tableSize, int batchSize = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tableSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, 10_000);
        await using var nats = await ConnectAsync(_settings, cancellationToken, _logger, _time);
        var js = new NatsJSContext(nats);
        try
        {
            INatsJSStream stream;
            try
            {
                stream = await js.GetStreamAsync(_options.Stream, cancellationToken: cancellationToken);
            }
            catch (NatsJSApiException ex) when (ex.Error.Code == 404)
            {
                throw new EventsUnavailableException($"events {_settings.Display} stream {_options.Stream} does not exist: there is no stream to compare the ledger tables with (docs/events.md).", ex);
            }

            var deployment = _deployment();
            if (DeploymentIdentity.FromStreamDescription(stream.Info.Config.Description) is { } bound && !string.Equals(bound, deployment, StringComparison.Ordinal))
            {
                throw new EventsUnavailableException(
                    $"events {_settings.Display} stream {_options.Stream} belongs to deployment {bound}, not to this deployment ({deployment}): the ledger tables were not compared with it (docs/events.md).");
            }

            var state = stream.Info.State;
            var size = (long)state.LastSeq;
            var start = state.Messages > 0 ? Math.Min((long)state.FirstSeq - 1, size) : size; // a purged head is not compared
            return await _projection.CompareWithLogAsync(tableSize, start, size, ReadStreamAsync(js, start, batchSize, cancellationToken), batchSize, cancellationToken);
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new EventsUnavailableException($"events {_settings.Display} is unavailable: JetStream did not answer for stream {_options.Stream} ({ex.GetType().Name}); the ledger tables were not compared with it.", ex);
        }
    }

    // The stream's messages from ledger sequence `from` on, in order, as ledger events; at most `batch` prefetched. Waits at
    // most the ack timeout (at least 5 s) for each message: the caller reads only as far as the stream's state said it holds.
    private async IAsyncEnumerable<(long Sequence, ReadOnlyMemory<byte> Payload)> ReadStreamAsync(NatsJSContext js, long from, int batch, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var consumer = await js.CreateOrderedConsumerAsync(
            _options.Stream,
            new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = (ulong)from + 1 },
            cancellationToken);
        var wait = _options.AckTimeout < TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : _options.AckTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var messages = consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = batch }, cancellationToken: timeout.Token).GetAsyncEnumerator(timeout.Token);
        while (true)
        {
            timeout.CancelAfter(wait);
            bool more;
            try
            {
                more = await messages.MoveNextAsync();
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new EventsUnavailableException($"events {_settings.Display} stream {_options.Stream} did not deliver its next message within {wait.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} s; the ledger tables were not fully compared with it.", ex);
            }

            timeout.CancelAfter(Timeout.InfiniteTimeSpan); // not while the caller reads the tables
            if (!more)
            {
                yield break;
            }

            var (sequence, payload) = AsLedgerEvent(messages.Current);
            yield return (sequence, payload);
        }
    }

    // logger and time: for the credential file's renewal events (6190–6192); null for none and the system clock.
    private static async Task<NatsConnection> ConnectAsync(EventsSettings settings, CancellationToken cancellationToken, ILogger? logger = null, TimeProvider? time = null)
    {
        var timeout = settings.JetStream.AckTimeout;
        var nats = new NatsConnection(settings.ConnectionOptions("custodian", timeout < TimeSpan.FromSeconds(2) ? TimeSpan.FromSeconds(2) : timeout, logger, time) with
        {
            PublishTimeoutOnDisconnected = true, // a publish while disconnected fails within the timeout instead of being sent after the read was refused
        });
        try
        {
            await nats.ConnectAsync();
            var js = new NatsJSContext(nats);
            await js.GetAccountInfoAsync(cancellationToken);
            return nats;
        }
        catch (NatsJSApiException ex)
        {
            await nats.DisposeAsync();
            throw new EventsUnavailableException($"events {settings.Display} is unavailable: JetStream refused the account ({ex.Error.Description}).", ex);
        }
        catch (NatsNoRespondersException ex)
        {
            await nats.DisposeAsync();
            throw new EventsUnavailableException($"events {settings.Display} is unavailable: JetStream is not enabled on the server (start nats-server with -js).", ex);
        }
        catch (Exception ex) when (IsAuthenticationFailure(ex))
        {
            // The server answered -ERR 'Authorization Violation' (or an expired or revoked user): it is reachable, the
            // credentials are wrong or missing. The URL's password is never part of the message (settings.Display).
            await nats.DisposeAsync();
            throw new EventsUnavailableException($"events {settings.Display} is unavailable: {CredentialsRefused(settings)}", ex);
        }
        catch (Exception ex) when (IsTlsFailure(ex))
        {
            await nats.DisposeAsync();
            throw new EventsUnavailableException($"events {settings.Display} is unavailable: {TlsFailure(settings)}", ex);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            await nats.DisposeAsync();
            throw new EventsUnavailableException($"events {settings.Display} is unavailable: the server is unreachable (connection refused or timed out).", ex);
        }
    }

    // Whether the TLS handshake failed (the server's certificate not trusted, or the client's refused), anywhere in the
    // chain the client wraps it in; or TLS was required and the server offers none.
    internal static bool IsTlsFailure(Exception ex)
    {
        for (Exception? current = ex; current is not null; current = current.InnerException)
        {
            // AuthenticationException: the handshake itself failed (the server's certificate refused here). The OpenSSL
            // SslException under an IOException: with TLS 1.3 the server judges the client's certificate after the
            // client's handshake completed, and its alert (bad certificate, certificate required) arrives on the first read.
            // A NatsException naming TLS: TLS required and the server offers none.
            if (current is System.Security.Authentication.AuthenticationException
                || string.Equals(current.GetType().Name, "SslException", StringComparison.Ordinal)
                || current is NatsException { Message: var message } && message.Contains("TLS", StringComparison.Ordinal) && !message.Contains("can not connect", StringComparison.Ordinal))
            {
                return true;
            }

            if (current is AggregateException aggregate && aggregate.InnerExceptions.Any(IsTlsFailure))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The one-line reason for a failed TLS handshake with NATS, naming the settings that decide it (never their values).</summary>
    internal static string TlsFailure(EventsSettings settings) => settings.RequiresTls
        ? "the TLS handshake failed (the server offers no TLS, its certificate is not issued by Custodian__JetStream__TlsCaFile or the system's roots or does not name the host, or it refused the client certificate of Custodian__JetStream__TlsCertFile)."
        : "the TLS handshake failed (the server's certificate is not trusted by the system's roots; set Custodian__JetStream__TlsCaFile).";

    /// <summary>
    /// The one-line reason for credentials the NATS server refused (<c>-ERR 'Authorization Violation'</c>), naming the
    /// setting that holds them (never their value or the file's path).
    /// </summary>
    internal static string CredentialsRefused(EventsSettings settings) => settings.CredentialKind switch
    {
        NatsCredentialKind.NKey => "the server refused the credentials (authorization violation; the server lists no user with the public key of the NKey seed in Custodian__JetStream__NKeyFile).",
        NatsCredentialKind.Creds => "the server refused the credentials (authorization violation; the server does not accept the user JWT of Custodian__JetStream__CredsFile: not issued by an account it trusts, expired or revoked).",
        NatsCredentialKind.Token => "the server refused the credentials (authorization violation; the server does not accept the token in Custodian__JetStream__TokenFile).",
        _ => "the server refused the credentials (authorization violation; set the user and password in Custodian__Events as nats://user:password@host:port).",
    };

    // Whether the server refused the connection's credentials: a NatsServerException flagged as an auth error anywhere in
    // the chain (the client wraps it in NatsException "can not connect uris").
    internal static bool IsAuthenticationFailure(Exception ex)
    {
        for (Exception? current = ex; current is not null; current = current.InnerException)
        {
            if (current is NatsServerException { IsAuthError: true })
            {
                return true;
            }

            if (current is AggregateException aggregate && aggregate.InnerExceptions.Any(IsAuthenticationFailure))
            {
                return true;
            }
        }

        return false;
    }

    // Creates the stream when missing (only while the ledger tables are empty), bound to this deployment; refuses one
    // configured otherwise or belonging to another deployment. Returns the stream's last sequence (its size, since deletes
    // and purges are denied and sequences start at 1).
    private async Task<long> EnsureStreamAsync(NatsJSContext js, string deployment, long ledgerSize, CancellationToken cancellationToken)
    {
        INatsJSStream stream;
        try
        {
            stream = await js.GetStreamAsync(_options.Stream, cancellationToken: cancellationToken);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            if (ledgerSize > 0)
            {
                // A ledger with entries never starts a new stream: it would have to hold the whole ledger.
                var ours = await FindBoundStreamsAsync(js, deployment, cancellationToken);
                throw new EventsUnavailableException(ours.Count > 0
                    ? $"events {_settings.Display} stream {_options.Stream} does not exist but the ledger holds {ledgerSize} entries: this deployment's ledger ({deployment}) is in stream {string.Join(", ", ours)}; set Custodian:JetStream:Stream back to it (docs/events.md)."
                    : $"events {_settings.Display} stream {_options.Stream} does not exist but the ledger holds {ledgerSize} entries: the stream must hold the whole ledger (an existing ledger cannot be moved onto a new stream yet; docs/events.md).");
            }

            try
            {
                stream = await js.CreateStreamAsync(
                    new StreamConfig(_options.Stream, [_options.StreamSubjects])
                    {
                        Description = DeploymentIdentity.StreamDescription(deployment),
                        Storage = StreamConfigStorage.File,
                        NumReplicas = _options.Replicas,
                        Retention = StreamConfigRetention.Limits,
                        DuplicateWindow = TimeSpan.FromMinutes(2),
                        DenyDelete = true,
                        DenyPurge = true,
                    },
                    cancellationToken);
            }
            catch (NatsJSApiException tooFew) when (_options.Replicas > 1 && tooFew.Error.ErrCode is ReplicasNotSupportedErrorCode or InsufficientResourcesErrorCode or NoSuitablePeersErrorCode)
            {
                throw new EventsUnavailableException(
                    string.Create(
                        CultureInfo.InvariantCulture,
                        $"events {_settings.Display} stream {_options.Stream} cannot be created with Custodian__JetStream__Replicas={_options.Replicas}: the JetStream server has fewer nodes than replicas (JetStream error {tooFew.Error.ErrCode}: {tooFew.Error.Description}); set Custodian__JetStream__Replicas to 1 for a single nats-server, at most the cluster's size otherwise (docs/events.md)."),
                    tooFew);
            }
            catch (NatsJSApiException overlap) when (overlap.Error.ErrCode == SubjectsOverlapErrorCode)
            {
                var owners = new List<string>();
                await foreach (var other in js.ListStreamsAsync(_options.StreamSubjects, cancellationToken))
                {
                    owners.Add(other.Info.Config.Name ?? "?");
                }

                throw new EventsUnavailableException(
                    $"events {_settings.Display} stream {_options.Stream} does not exist and cannot be created: its subjects {_options.StreamSubjects} are already captured by stream {(owners.Count > 0 ? string.Join(", ", owners) : "another stream")} (if Custodian:JetStream:Stream was changed, set it back; a separate deployment needs its own Custodian:JetStream:SubjectPrefix; docs/events.md).",
                    overlap);
            }

            Log.StreamCreated(_logger, _options.Stream, _options.Replicas);
        }

        var config = stream.Info.Config;
        if (config.Storage != StreamConfigStorage.File || config.Subjects is not { } subjects || !subjects.Contains(_options.StreamSubjects))
        {
            throw new EventsUnavailableException($"events {_settings.Display} stream {_options.Stream} exists with other subjects or storage: it must be file-stored and capture {_options.StreamSubjects} (docs/events.md).");
        }

        if (config.NumReplicas != _options.Replicas)
        {
            throw new EventsUnavailableException($"events {_settings.Display} stream {_options.Stream} has {config.NumReplicas} replicas but Custodian:JetStream:Replicas is {_options.Replicas}: change one of them (docs/events.md).");
        }

        var state = stream.Info.State;
        var bound = DeploymentIdentity.FromStreamDescription(config.Description);
        if (bound is not null && !string.Equals(bound, deployment, StringComparison.Ordinal))
        {
            throw new EventsUnavailableException(
                $"events {_settings.Display} stream {_options.Stream} belongs to deployment {bound}, not to this deployment ({deployment}): each deployment needs its own stream and subjects (Custodian:JetStream:Stream, Custodian:JetStream:SubjectPrefix; docs/events.md).");
        }

        if (bound is null)
        {
            if (state.Messages > 0 && !_options.AdoptUnboundStream)
            {
                throw new EventsUnavailableException(
                    $"events {_settings.Display} stream {_options.Stream} holds {state.Messages} entries but belongs to no deployment; this deployment is {deployment}: if it holds this deployment's ledger, start once with Custodian__JetStream__AdoptUnboundStream=true to bind it (docs/events.md).");
            }

            stream = await js.UpdateStreamAsync(config with { Description = DeploymentIdentity.StreamDescription(deployment) }, cancellationToken);
            Log.StreamBound(_logger, _options.Stream, (long)state.Messages);
            state = stream.Info.State;
        }

        if (state.Messages > 0 && state.FirstSeq != 1)
        {
            throw new EventsUnavailableException($"events {_settings.Display} stream {_options.Stream} does not start at sequence 1: it no longer holds the whole ledger (docs/events.md).");
        }

        return (long)state.LastSeq;
    }

    // The streams whose description binds them to this deployment.
    private static async Task<List<string>> FindBoundStreamsAsync(NatsJSContext js, string deployment, CancellationToken cancellationToken)
    {
        var found = new List<string>();
        await foreach (var stream in js.ListStreamsAsync(cancellationToken: cancellationToken))
        {
            if (string.Equals(DeploymentIdentity.FromStreamDescription(stream.Info.Config.Description), deployment, StringComparison.Ordinal))
            {
                found.Add(stream.Info.Config.Name ?? "?");
            }
        }

        return found;
    }

    private async Task<long> PublishAsync(NatsJSContext js, string subject, byte[] payload, CancellationToken cancellationToken)
    {
        // One id per append: a retry of this publish (the client's, after no responders) is stored once within the
        // stream's 2-minute de-duplication window (NATS JetStream, "Message Deduplication").
        var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.AckTimeout);
        try
        {
            var ack = await js.PublishAsync(subject, payload, opts: new NatsJSPubOpts { MsgId = id }, cancellationToken: timeout.Token);
            if (ack.Error is { } error)
            {
                throw new NatsJSApiException(error);
            }

            if (ack.Stream != _options.Stream)
            {
                throw new NatsJSException("The publish was acknowledged by another stream.");
            }

            return checked((long)ack.Seq - 1);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Whatever went wrong (no acknowledgement in time, disconnected, refused), the entry is not known to be recorded: fail closed.
            Log.PublishFailed(_logger, ex);
            throw new LedgerUnavailableException("The event log did not acknowledge the entry; the read must be refused.", ex);
        }
    }

    private async Task WaitProjectedAsync(long sequence, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.AckTimeout);
        try
        {
            while (true)
            {
                var signal = Volatile.Read(ref _advanced).Task;
                if (IsDiverged)
                {
                    throw new LedgerUnavailableException(DivergedMessage);
                }

                if (Volatile.Read(ref _projected) >= sequence)
                {
                    return;
                }

                await signal.WaitAsync(timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.ProjectionLate(_logger, sequence);
            throw new LedgerUnavailableException("The entry was recorded in the event log but not projected into the ledger in time; the read must be refused.");
        }
    }

    private void Advance(long sequence)
    {
        Volatile.Write(ref _projected, sequence);
        Interlocked.Exchange(ref _advanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    // Consumes the stream in order from this projector's position on, with an ordered consumer (client-side, no acks; it
    // recreates itself after a gap or a reconnect), applies what has arrived in batches, then publishes to the in-process
    // stream. The first pass starts one entry early, so that the tables' last entry is checked against the stream at every
    // start. A failure restarts from this projector's position, not from the tables' size: positions another writer stored
    // meanwhile are checked against the stream (LedgerProjection.ApplyAsync), never taken on trust. A divergence
    // (LedgerProjectionException) stops the projector for good and refuses every append (fail closed).
    private async Task RunProjectorAsync(CancellationToken stop)
    {
        var first = true;
        while (!stop.IsCancellationRequested)
        {
            var from = Volatile.Read(ref _projected) + 1;
            if (first && from > 0)
            {
                from--; // re-apply the stored tail: ApplyAsync compares it with the stream's message
            }

            first = false;
            try
            {
                await ProjectFromAsync(from, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (LedgerProjectionException ex)
            {
                Volatile.Write(ref _diverged, 1);
                Log.Diverged(_logger, ex.Sequence ?? from, ex); // the divergent position, not where this projection pass started
                Interlocked.Exchange(ref _advanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(); // waiting appends fail now
                break;
            }
            catch (Exception ex)
            {
                Log.ProjectorFailed(_logger, from, ex);
                try
                {
                    await Task.Delay(RestartDelay, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        var stoppedAt = Volatile.Read(ref _projected) + 1;
        Log.ProjectorStopped(_logger, stoppedAt);
    }

    private async Task ProjectFromAsync(long size, CancellationToken stop)
    {
        var js = _js!;
        var consumer = await js.CreateOrderedConsumerAsync(
            _options.Stream,
            new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = (ulong)size + 1 },
            stop);
        var arrived = Channel.CreateBounded<(long Sequence, byte[] Payload)>(new BoundedChannelOptions(_maxBatch * 2) { SingleReader = true, SingleWriter = true });
        using var pumpStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var pump = Task.Run(
            async () =>
            {
                try
                {
                    await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: pumpStop.Token))
                    {
                        await arrived.Writer.WriteAsync(AsLedgerEvent(msg), pumpStop.Token);
                    }

                    arrived.Writer.TryComplete();
                }
                catch (Exception ex)
                {
                    arrived.Writer.TryComplete(ex);
                }
            },
            CancellationToken.None);

        try
        {
            var next = size;
            var batch = new List<(long Sequence, byte[] Payload)>(_maxBatch);
            while (await arrived.Reader.WaitToReadAsync(stop))
            {
                batch.Clear();
                while (batch.Count < _maxBatch && arrived.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                for (var i = 0; i < batch.Count; i++)
                {
                    if (batch[i].Sequence != next + i)
                    {
                        throw new LedgerProjectionException($"The event log delivered sequence {batch[i].Sequence + 1} where {next + i + 1} was due.", next + i);
                    }
                }

                var committed = await _projection.ApplyAsync(next, batch.Select(b => (ReadOnlyMemory<byte>)b.Payload).ToList(), stop);
                foreach (var entry in committed)
                {
                    await PublishLocallyAsync(entry);
                }

                var first = next;
                var last = next + batch.Count - 1;
                next = last + 1;
                Log.Projected(_logger, first, last);
                Advance(last);
            }
        }
        finally
        {
            await pumpStop.CancelAsync();
            await pump;
        }
    }

    // A stream message as the ledger event it carries: ledger sequence = stream sequence − 1, the payload as published.
    // The projector and the comparison both read messages through this (and LedgerProjection.FromEvent for the leaf).
    private static (long Sequence, byte[] Payload) AsLedgerEvent(INatsJSMsg<byte[]> msg)
    {
        var metadata = msg.Metadata ?? throw new NatsJSException("A stream message arrived without its metadata.");
        return ((long)metadata.Sequence.Stream - 1, msg.Data ?? []);
    }

    private async Task PublishLocallyAsync(CommittedEntry entry)
    {
        if (entry.Sequence <= Volatile.Read(ref _published))
        {
            return;
        }

        try
        {
            await _events.PublishAsync(entry, CancellationToken.None);
        }
        catch (Exception ex)
        {
            Log.LocalPublishFailed(_logger, entry.Sequence, ex);
        }

        Volatile.Write(ref _published, entry.Sequence);
    }
}
