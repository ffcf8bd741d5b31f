using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Custodian.Events;
using Custodian.Ledger;
using Custodian.Monitoring.Detection;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Custodian.Monitoring.Workers;

/// <summary>
/// A sharded monitor worker (<c>custodian monitor-worker</c>; docs/events.md, "Monitor workers"). It joins a membership
/// (a NATS key-value bucket whose keys expire after <see cref="JetStreamOptions.WorkerLeaseSeconds"/>), owns the
/// partitions <see cref="MonitorPartition.Assign"/> gives it among the live members, and runs one durable pull consumer
/// per owned partition. Clerk partitions run the hard-limit detector (<see cref="DistinctSubjectsDetector"/>) for
/// clerks, terminal partitions for terminals; a breach raises one alert and suspends the clerk and the terminal of the
/// breaching entry, exactly as the embedded <see cref="AccessMonitor"/> does, through the shared storage. The aggregate
/// partition (<see cref="MonitorPartition.Aggregate"/>, one owner at a time) feeds every entry in stream order to a
/// <see cref="MonitorEngine"/> and acts on its decisions as the embedded monitor does — alerts, step-up and suspensions —
/// and stores each changed principal's risk (<see cref="RiskStandingStore"/>) in the transaction that commits its progress.
/// </summary>
/// <remarks>
/// <para>
/// Exactly once: a partition's progress (last stream sequence, entries processed) is stored in
/// <see cref="PartitionProgressStore"/> after the batch's alerts and suspensions are stored, and the messages are
/// acknowledged only after that commit. A replacement owner rebuilds the partition's window state from the ledger tables
/// (entries up to the stored sequence, without acting) and processes only stream sequences above it; re-processing a
/// batch whose commit was lost finds its alert (same detector, principal and last evidence sequence) and its suspension
/// already stored and adds neither again. The aggregate partition rebuilds its engine the same way (every entry of its
/// engine's <see cref="MonitorEngine.History"/> — 7 days and 1 hour — up to the stored sequence, without acting) and finds its alerts again by detector, principal and last evidence
/// sequence; it appends <c>alert-raised</c> and <c>stepped-up</c> entries only with an alert it created.
/// </para>
/// <para>
/// Baseline days (docs/events.md, "Monitor workers"): the aggregate partition stores the days its batches close with the
/// batch's progress, and its principals' open days' counts every <see cref="DetectionOptions.BaselineOpenDayInterval"/>
/// (on the worker's <see cref="TimeProvider"/>) and when it stops, always at the committed progress
/// (<see cref="PartitionProgressStore.StoreAtProgressAsync"/> between batches), as the embedded monitor does. An open day
/// on or after the first day a rebuild counts is not read back but rebuilt from the ledger, so it is counted once.
/// </para>
/// <para>
/// Fencing: acquiring a partition increments its epoch; commits name the epoch and are refused after another worker
/// acquired it, and a worker whose lease ran out (not renewed within the lease) stops all its partitions before acting.
/// </para>
/// <para>Not thread-safe to start twice; <see cref="OwnedPartitions"/> may be read from any thread.</para>
/// </remarks>
public sealed class MonitorWorker
{
    private const int MaxBatch = 512;
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);

    /// <summary>First pause before partitions are acquired again after a storage failure: 1 s, doubled per failed attempt up to <see cref="StorageBackoffMax"/>.</summary>
    private static readonly TimeSpan StorageBackoffMin = TimeSpan.FromSeconds(1);

    /// <summary>Longest pause between two attempts to acquire partitions while the storage fails: 30 s.</summary>
    private static readonly TimeSpan StorageBackoffMax = TimeSpan.FromSeconds(30);

    private readonly EventsSettings _settings;
    private readonly string _workerId;
    private readonly string _instance; // the membership key's value: the identifier and a random nonce (TryClaimAsync)
    private readonly PartitionProgressStore _progress;
    private readonly IAccessLedger _ledger;
    private readonly IAccessLedgerReader _reader;
    private readonly AlertStore _alerts;
    private readonly SuspensionRegistry _suspensions;
    private readonly Func<DistinctSubjectsDetector> _detectorFactory;
    private readonly Func<MonitorEngine> _engineFactory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _lease;
    private readonly Dictionary<string, Runner> _runners = new(StringComparer.Ordinal);
    private readonly Lock _ownedGate = new();
    private IReadOnlyList<string> _owned = [];
    private long _renewedAt;
    private bool _runnersRunning;

    // Storage outage state (NoteStorageFailure): guarded by _storageGate; timestamps of _time.
    private readonly Lock _storageGate = new();
    private bool _storageDown;
    private long _storageDownSince;
    private long _storageRetryAt;
    private TimeSpan _storageBackoff = StorageBackoffMin;

    /// <summary>Creates the worker; nothing happens until <see cref="RunAsync"/>.</summary>
    /// <param name="settings">The JetStream event log settings (<see cref="EventsSettings.IsJetStream"/> must be true).</param>
    /// <param name="workerId">This worker's identifier: 1–64 characters of <c>A–Z a–z 0–9 _ -</c>, unique among live workers.</param>
    /// <param name="progress">Partition progress and fencing in the shared storage.</param>
    /// <param name="ledger">Where the worker appends its alert and suspension entries (the JetStream ledger).</param>
    /// <param name="reader">The ledger tables, to rebuild a partition's window state on acquisition.</param>
    /// <param name="alerts">The shared alert store.</param>
    /// <param name="suspensions">The shared suspension registry (the API nodes' inline check reads the same table).</param>
    /// <param name="detectorFactory">Creates one hard-limit detector per partition (limits and quota raises as configured).</param>
    /// <param name="engineFactory">
    /// Creates the aggregate partition's detection engine, WITHOUT hard limits (those run in the clerk and terminal
    /// partitions): <see cref="MonitorEngine.CreateDefault"/> with the deployment's <see cref="DetectionOptions"/>, as the
    /// embedded monitor's. Called on each acquisition of the aggregate partition.
    /// </param>
    /// <param name="time">Clock for leases, windows and the worker's own entries.</param>
    /// <param name="logger">Logger (event IDs 6100–6159).</param>
    /// <exception cref="ArgumentException">When the settings are not JetStream or the identifier is malformed.</exception>
    public MonitorWorker(
        EventsSettings settings,
        string workerId,
        PartitionProgressStore progress,
        IAccessLedger ledger,
        IAccessLedgerReader reader,
        AlertStore alerts,
        SuspensionRegistry suspensions,
        Func<DistinctSubjectsDetector> detectorFactory,
        Func<MonitorEngine> engineFactory,
        TimeProvider time,
        ILogger<MonitorWorker> logger)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        if (!settings.IsJetStream)
        {
            throw new ArgumentException("Monitor workers need the JetStream event log (Custodian:Events = nats://host:port).", nameof(settings));
        }

        if (!IsValidId(workerId))
        {
            throw new ArgumentException("The worker id must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'.", nameof(workerId));
        }

        _workerId = workerId;
        // A create whose reply was lost (a NATS leader change) but that took the key is then recognised as this worker's
        // own, not another's with the same identifier.
        _instance = workerId + "/" + Guid.NewGuid().ToString("N");
        _progress = progress ?? throw new ArgumentNullException(nameof(progress));
        _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
        _reader = reader ?? throw new ArgumentNullException(nameof(reader));
        _alerts = alerts ?? throw new ArgumentNullException(nameof(alerts));
        _suspensions = suspensions ?? throw new ArgumentNullException(nameof(suspensions));
        _detectorFactory = detectorFactory ?? throw new ArgumentNullException(nameof(detectorFactory));
        _engineFactory = engineFactory ?? throw new ArgumentNullException(nameof(engineFactory));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _lease = TimeSpan.FromSeconds(settings.JetStream.WorkerLeaseSeconds);
    }

    /// <summary>The membership bucket's name: the stream's name followed by <c>_monitor_workers</c>.</summary>
    public string Bucket => _settings.JetStream.Stream + "_monitor_workers";

    /// <summary>This worker's identifier.</summary>
    public string WorkerId => _workerId;

    /// <summary>The names of the partitions this worker runs now (e.g. <c>a00</c>, <c>c00</c>, <c>t17</c>), sorted ordinally.</summary>
    public IReadOnlyList<string> OwnedPartitions
    {
        get
        {
            lock (_ownedGate)
            {
                return _owned;
            }
        }
    }

    /// <summary>Whether <paramref name="id"/> is a well-formed worker identifier (1–64 of <c>A–Z a–z 0–9 _ -</c>).</summary>
    /// <param name="id">The candidate.</param>
    /// <returns>True when valid.</returns>
    public static bool IsValidId(string? id) =>
        id is { Length: >= 1 and <= 64 } && id.All(c => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-');

    /// <summary>
    /// Joins the membership and runs owned partitions until <paramref name="stoppingToken"/> is cancelled; then stops every
    /// partition (committed progress stays) and leaves the membership.
    /// </summary>
    /// <param name="stoppingToken">Stops the worker.</param>
    /// <returns>Completes when stopped.</returns>
    /// <exception cref="EventsUnavailableException">When NATS cannot be reached at the start.</exception>
    /// <exception cref="InvalidOperationException">
    /// When another running worker holds this worker's identifier: its membership key is still held after one lease plus
    /// a third of it (a crashed predecessor's key expires within the lease, and is waited for). When the membership
    /// bucket has live members and its lease (max age) is not this worker's <see cref="JetStreamOptions.WorkerLeaseSeconds"/>:
    /// refused before the bucket is touched. When, while running, the bucket's lease is found changed to another value (a
    /// worker with another lease started at the same moment as this one, when no member was live): this worker stops its
    /// partitions, leaves, and throws. Storage failures while running do not end the worker: the affected partitions
    /// stop without acknowledging what was not committed and are acquired again, with back-off (1 s doubling to 30 s),
    /// when the storage answers (docs/events.md, "Monitor workers").
    /// </exception>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        await using var nats = new NatsConnection(_settings.ConnectionOptions("custodian-monitor-worker", TimeSpan.FromSeconds(5), _logger, _time));
        INatsKVStore members;
        NatsJSContext js;
        try
        {
            await nats.ConnectAsync();
            js = new NatsJSContext(nats);
            var kv = new NatsKVContext(js);

            // The bucket's max age is every member's lease: changing it under live members with another lease would make
            // their keys expire between renewals (and free their identifiers). Refuse instead, without touching it.
            if (await BucketLeaseAsync(js, stoppingToken) is { } current && current != _lease)
            {
                var (live, _) = await LiveMembersAsync(js, await kv.GetStoreAsync(Bucket, stoppingToken), stoppingToken);
                if (live.Count > 0)
                {
                    throw new InvalidOperationException(LeaseConflict(current, live));
                }
            }

            members = await kv.CreateOrUpdateStoreAsync(
                new NatsKVConfig(Bucket)
                {
                    History = 1,
                    MaxAge = _lease,
                    NumberOfReplicas = _settings.JetStream.Replicas,
                    Storage = NatsKVStorageType.File,
                    Description = "Custodian monitor workers (docs/events.md)",
                },
                stoppingToken);
        }
        catch (Exception ex) when (JetStreamAccessLedger.IsAuthenticationFailure(ex))
        {
            throw new EventsUnavailableException($"events {_settings.Display} is unavailable for the monitor worker: {JetStreamAccessLedger.CredentialsRefused(_settings)}", ex);
        }
        catch (Exception ex) when (JetStreamAccessLedger.IsTlsFailure(ex))
        {
            throw new EventsUnavailableException($"events {_settings.Display} is unavailable for the monitor worker: {JetStreamAccessLedger.TlsFailure(_settings)}", ex);
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException || (ex is OperationCanceledException && !stoppingToken.IsCancellationRequested))
        {
            throw new EventsUnavailableException($"events {_settings.Display} is unavailable for the monitor worker: {ex.GetType().Name}.", ex);
        }

        var key = "w." + _workerId;
        LeaseChangedException? leaseChanged = null;
        var interval = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(300).Ticks, _lease.Ticks / 3));
        var revision = await JoinAsync(members, key, interval, stoppingToken);
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeat = Task.Run(() => HeartbeatAsync(members, key, interval, revision, heartbeatStop.Token), CancellationToken.None);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!LeaseValid())
                {
                    // Not renewed within the lease: the others may own our partitions already. Stop acting at once.
                    if (_runners.Count > 0)
                    {
                        WorkerLog.LeaseLost(_logger, _workerId);
                        await RebalanceAsync(js, [], 0, CancellationToken.None);
                    }
                }
                else
                {
                    try
                    {
                        var (live, bucketLease) = await LiveMembersAsync(js, members, stoppingToken);
                        if (bucketLease is { } changed && changed != _lease)
                        {
                            // Another worker with another lease changed the bucket when no member was live (started at
                            // the same moment as this one): the bucket's lease wins, this worker leaves (finally below).
                            throw new LeaseChangedException(string.Create(CultureInfo.InvariantCulture,
                                $"the monitor workers' membership bucket {Bucket} on {_settings.Display} now has a {(long)changed.TotalSeconds} s lease, set by a worker started at the same time as this one, whose lease is {_settings.JetStream.WorkerLeaseSeconds} s: this worker stopped; start it again with --lease-seconds {(long)changed.TotalSeconds} (docs/events.md, \"Monitor workers\")."));
                        }

                        await RebalanceAsync(js, MonitorPartition.Assign(live, _workerId), live.Count, stoppingToken, StorageRetryDue());
                    }
                    catch (Exception ex) when (ex is NatsException or TimeoutException or NatsKVException || (ex is OperationCanceledException && !stoppingToken.IsCancellationRequested))
                    {
                        WorkerLog.MembershipUnavailable(_logger, _workerId, ex);
                    }
                    catch (Exception ex) when (IsStorageFailure(ex))
                    {
                        NoteStorageFailure("acquiring partitions", ex, escalate: true); // nothing acquired is run; retried after the back-off
                    }
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown.
        }
        catch (LeaseChangedException ex)
        {
            leaseChanged = ex;
        }
        finally
        {
            await RebalanceAsync(js, [], 0, CancellationToken.None);
            await heartbeatStop.CancelAsync();
            await heartbeat;
            try
            {
                using var leave = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await members.DeleteAsync(key, cancellationToken: leave.Token); // leave at once rather than at expiry
            }
            catch (Exception ex) when (ex is NatsException or OperationCanceledException or NatsKVException)
            {
                // The key expires with the lease.
            }

            WorkerLog.Stopped(_logger, _workerId);
        }

        if (leaseChanged is not null)
        {
            throw new InvalidOperationException(leaseChanged.Message, leaseChanged);
        }
    }

    // The membership bucket's max age (every member's lease), or null when the bucket does not exist yet.
    private async Task<TimeSpan?> BucketLeaseAsync(NatsJSContext js, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await js.GetStreamAsync("KV_" + Bucket, cancellationToken: cancellationToken);
            return stream.Info.Config.MaxAge;
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return null;
        }
    }

    // The refusal of a worker whose lease is not the live members' (RunAsync): one line, both leases, the live workers.
    private string LeaseConflict(TimeSpan current, List<string> live)
    {
        var names = string.Join(", ", live.Order(StringComparer.Ordinal).Take(5)) + (live.Count > 5 ? ", …" : string.Empty);
        return string.Create(CultureInfo.InvariantCulture,
            $"the deployment's monitor workers run with a {(long)current.TotalSeconds} s lease ({live.Count} live on {_settings.Display}: {names}); this worker's lease is {_settings.JetStream.WorkerLeaseSeconds} s: start this one with --lease-seconds {(long)current.TotalSeconds} or stop them all first (docs/events.md, \"Monitor workers\").");
    }

    // Whether a failure is the storage's (the database unreachable, a connection lost, a query refused): any DbException or
    // StorageUnavailableException, alone or wrapped. The worker survives these (NoteStorageFailure); others stay failures.
    internal static bool IsStorageFailure(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is System.Data.Common.DbException or Storage.StorageUnavailableException)
            {
                return true;
            }

            if (e is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(IsStorageFailure);
            }
        }

        return false;
    }

    // One line for the log: the backend and server (never credentials) and the reason (StorageUnavailableException.From).
    private string StorageReason(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is Storage.StorageUnavailableException unavailable)
            {
                return unavailable.Message;
            }

            if (e is System.Data.Common.DbException db)
            {
                return Storage.StorageUnavailableException.From(_progress.Storage, db).Message;
            }
        }

        return Storage.StorageUnavailableException.From(_progress.Storage, exception).Message;
    }

    // A storage failure: the first of an outage logs 5750 (a warning, no stack trace); acquisitions wait for the back-off
    // (1 s, doubled by every failed acquisition up to 30 s: escalate), partitions' own failures only log 5752 (debug).
    private void NoteStorageFailure(string activity, Exception exception, bool escalate)
    {
        var reason = StorageReason(exception);
        lock (_storageGate)
        {
            var now = _time.GetTimestamp();
            if (!_storageDown)
            {
                _storageDown = true;
                _storageDownSince = now;
                _storageBackoff = StorageBackoffMin;
                WorkerLog.StorageUnavailable(_logger, _workerId, reason, activity, _storageBackoff.TotalSeconds, (int)StorageBackoffMax.TotalSeconds);
            }
            else if (escalate)
            {
                _storageBackoff = TimeSpan.FromTicks(Math.Min(StorageBackoffMax.Ticks, _storageBackoff.Ticks * 2));
                WorkerLog.StorageRetryFailed(_logger, _workerId, reason, _storageBackoff.TotalSeconds);
            }

            _storageRetryAt = now + (long)(_storageBackoff.TotalSeconds * _time.TimestampFrequency);
        }
    }

    // Whether partitions may be acquired now: the storage is not known to fail, or its back-off has passed.
    private bool StorageRetryDue()
    {
        lock (_storageGate)
        {
            return !_storageDown || _time.GetTimestamp() >= _storageRetryAt;
        }
    }

    // An acquisition succeeded: an outage, if any, is over (5751).
    private void NoteStorageBack(int acquired)
    {
        lock (_storageGate)
        {
            if (!_storageDown)
            {
                return;
            }

            _storageDown = false;
            _storageBackoff = StorageBackoffMin;
            var outageSeconds = (long)_time.GetElapsedTime(_storageDownSince).TotalSeconds;
            WorkerLog.StorageBack(_logger, _workerId, outageSeconds, acquired);
        }
    }

    // The live members: the bucket's subjects under w. that still hold a message (an expired lease has none), less those
    // whose last operation is a delete (a clean leave). One stream-info request plus one get per member, bounded by the
    // lease: the key watcher behind GetKeysAsync can wait forever when a key expires while it runs (nats-server 2.9,
    // nats-io/nats-server#3481), which would freeze the membership and leave a dead worker's partitions unowned.
    // Also returns the bucket's max age (its lease), so that every round sees a change (RunAsync).
    private async Task<(List<string> Live, TimeSpan? BucketLease)> LiveMembersAsync(NatsJSContext js, INatsKVStore members, CancellationToken stoppingToken)
    {
        using var timeout = new CancellationTokenSource(_lease, _time);
        using var round = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        var prefix = "$KV." + Bucket + ".w.";
        var stream = await js.GetStreamAsync("KV_" + Bucket, new StreamInfoRequest { SubjectsFilter = prefix + ">" }, round.Token);
        var live = new List<string>();
        foreach (var subject in stream.Info.State.Subjects?.Keys ?? Enumerable.Empty<string>())
        {
            var id = subject[prefix.Length..];
            var entry = await members.TryGetEntryAsync<string>("w." + id, cancellationToken: round.Token);
            if (entry.Success && entry.Value.Operation == NatsKVOperation.Put)
            {
                live.Add(id);
            }
        }

        return (live, stream.Info.Config.MaxAge);
    }

    // Joins the membership: creates this worker's key, which only succeeds when no live worker holds it (a missing,
    // expired or deleted key). A crashed predecessor's key expires within one lease, so a held key is asked again every
    // interval for one lease plus one interval; a key still held then is renewed by a running worker with the same
    // identifier, and the start is refused — two workers under one key would each own the same partitions.
    private async Task<ulong> JoinAsync(INatsKVStore members, string key, TimeSpan interval, CancellationToken stop)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            ulong? claimed;
            try
            {
                claimed = await TryClaimAsync(members, key, stop);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException || (ex is OperationCanceledException && !stop.IsCancellationRequested))
            {
                throw new EventsUnavailableException($"events {_settings.Display} is unavailable for the monitor worker: {ex.GetType().Name}.", ex);
            }

            if (claimed is { } revision)
            {
                Volatile.Write(ref _renewedAt, _time.GetTimestamp());
                WorkerLog.Joined(_logger, _workerId, Bucket, _settings.JetStream.WorkerLeaseSeconds);
                return revision;
            }

            if (_time.GetElapsedTime(started) >= _lease + interval)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"another monitor worker with --worker-id {_workerId} is running on {_settings.Display}: its membership key stayed held for longer than the {_settings.JetStream.WorkerLeaseSeconds} s lease; give each worker its own identifier (docs/events.md, \"Monitor workers\")."));
            }

            await Task.Delay(interval, _time, stop);
        }
    }

    // Creates the membership key with this instance's value: its revision, or null when the key is held by another
    // instance (a worker with the same identifier). A held key whose value is this instance's own (a create that took the
    // key but whose reply was lost) is this worker's: its current revision. Other failures throw (NatsException, ...).
    private async Task<ulong?> TryClaimAsync(INatsKVStore members, string key, CancellationToken stop)
    {
        var created = await members.TryCreateAsync(key, _instance, cancellationToken: stop);
        if (created.Success)
        {
            return created.Value;
        }

        if (created.Error is not NatsKVCreateException)
        {
            throw created.Error;
        }

        var held = await members.TryGetEntryAsync<string>(key, cancellationToken: stop);
        return held.Success && held.Value.Operation == NatsKVOperation.Put && held.Value.Value == _instance ? held.Value.Revision : null;
    }

    // Renews the membership key every third of the lease, from the revision JoinAsync created; a renewal refused because
    // the key expired or changed means the lease was lost (the partitions stop when LeaseValid turns false) and the worker
    // joins again, by creating the key: a key another worker with the same identifier took meanwhile is not overwritten
    // (6120), the worker stays without partitions and asks again every interval.
    private async Task HeartbeatAsync(INatsKVStore members, string key, TimeSpan interval, ulong revision, CancellationToken stop)
    {
        var joined = true;
        var heldReported = false;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!joined)
                {
                    if (!LeaseValid() && _runnersRunning)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(100), _time, stop); // rejoin only after the partitions stopped
                        continue;
                    }

                    if (await TryClaimAsync(members, key, stop) is not { } created)
                    {
                        if (!heldReported)
                        {
                            WorkerLog.IdentifierHeld(_logger, _workerId);
                            heldReported = true;
                        }
                    }
                    else
                    {
                        revision = created;
                        joined = true;
                        heldReported = false;
                        Volatile.Write(ref _renewedAt, _time.GetTimestamp());
                        WorkerLog.Joined(_logger, _workerId, Bucket, _settings.JetStream.WorkerLeaseSeconds);
                    }
                }
                else
                {
                    revision = await members.UpdateAsync(key, _instance, revision, cancellationToken: stop);
                    Volatile.Write(ref _renewedAt, _time.GetTimestamp());
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (NatsKVWrongLastRevisionException)
            {
                joined = false; // expired or replaced: the lease is lost
                Volatile.Write(ref _renewedAt, _time.GetTimestamp() - (long)(_lease.TotalSeconds * _time.TimestampFrequency) - 1);
                continue;
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or NatsKVException or OperationCanceledException)
            {
                WorkerLog.MembershipUnavailable(_logger, _workerId, ex);
            }

            try
            {
                await Task.Delay(interval, _time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Why a partition's batch was not committed: this worker's own lease ran out (6116), or another worker's epoch is current (6103).</summary>
    private void LogStopped(PartitionState state)
    {
        if (LeaseValid())
        {
            WorkerLog.Fenced(_logger, state.Partition.Token, state.Epoch);
        }
        else
        {
            WorkerLog.LeaseRanOut(_logger, state.Partition.Token, state.Epoch);
        }
    }

    private bool LeaseValid() => Volatile.Read(ref _renewedAt) != 0 && _time.GetElapsedTime(Volatile.Read(ref _renewedAt)) < _lease;

    // Stops the runners not wanted (or ended), then, when mayAcquire (the storage is not in its back-off), acquires and
    // starts the wanted ones. A storage failure of the acquisition propagates (nothing of it runs); the owned list is
    // updated either way.
    private async Task RebalanceAsync(NatsJSContext js, IReadOnlyList<MonitorPartition> owned, int memberCount, CancellationToken cancellationToken, bool mayAcquire = true)
    {
        var wanted = owned.Select(p => p.Token).ToHashSet(StringComparer.Ordinal);
        var before = _runners.Count;
        var toStart = new List<MonitorPartition>();
        var dropped = 0;
        try
        {
            foreach (var (name, runner) in _runners.Where(r => !wanted.Contains(r.Key) || r.Value.Task.IsCompleted).ToList())
            {
                await runner.StopAsync();
                _runners.Remove(name);
            }

            dropped = before - _runners.Count;
            toStart = mayAcquire ? owned.Where(p => !_runners.ContainsKey(p.Token)).ToList() : [];
            if (toStart.Count > 0 && !cancellationToken.IsCancellationRequested)
            {
                foreach (var runner in await AcquireAsync(js, toStart, cancellationToken))
                {
                    _runners[runner.Partition.Token] = runner;
                }

                NoteStorageBack(toStart.Count);
            }
        }
        finally
        {
            lock (_ownedGate)
            {
                _owned = [.. _runners.Keys.Order(StringComparer.Ordinal)];
            }

            Volatile.Write(ref _runnersRunning, _runners.Count > 0);
        }

        if (toStart.Count > 0 || dropped > 0)
        {
            var owning = _runners.Count;
            WorkerLog.Rebalanced(_logger, _workerId, memberCount, owning, toStart.Count, dropped);
        }
    }

    // Acquires the partitions (new epochs), rebuilds their window state from one pass over the ledger tables, and starts
    // one consumer per partition after its stored progress.
    private async Task<List<Runner>> AcquireAsync(NatsJSContext js, List<MonitorPartition> partitions, CancellationToken cancellationToken)
    {
        var states = new Dictionary<MonitorPartition, PartitionState>();
        var acquired = await _progress.AcquireAsync([.. partitions.Select(p => p.Token)], _workerId, cancellationToken);
        for (var i = 0; i < partitions.Count; i++)
        {
            states[partitions[i]] = new PartitionState(partitions[i], acquired[i].Epoch, acquired[i].LastStreamSequence, _detectorFactory(), partitions[i].IsAggregate ? _engineFactory() : null);
        }

        states.TryGetValue(MonitorPartition.Aggregate, out var aggregate);

        // The tables must hold every entry up to the highest stored progress (ledger size ≥ stream sequence).
        var needed = states.Values.Max(s => s.LastStreamSequence);
        while (await _reader.GetSizeAsync(cancellationToken) < needed)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, cancellationToken);
        }

        // Clerk and terminal partitions rebuild their largest window (24 h by default); the aggregate partition its
        // engine's History (7 days and 1 hour: side lookups, collusion, watch list and findings' risk count for 7 days).
        var now = _time.GetUtcNow();
        var windowSince = now - states.Values.First().Detector.LargestWindow;
        var since = aggregate?.Engine is { History: var history } && now - history < windowSince ? now - history : windowSince;
        if (aggregate?.Engine?.Baseline is { } baseline)
        {
            // The baseline's stored days before the replay (docs/monitoring.md, "Restart"), as the embedded monitor does.
            var firstDay = baseline.FirstReplayedDay(now - aggregate.Engine.History);
            var days = await BaselineDayStore.Beside(_alerts).ReadBeforeAsync(firstDay, cancellationToken);
            baseline.SeedThrough(firstDay);
            foreach (var day in days)
            {
                baseline.Seed(day);
            }

            baseline.RecordsClosedDays = true; // written with each committed batch's progress
            baseline.RecordsOpenDays = true; // written at the committed progress every BaselineOpenDayInterval and at the stop (the rebuilt ones too)
            WorkerLog.BaselineRestored(_logger, days.Count, firstDay);
        }
        await foreach (var committed in _reader.ReadSinceAsync(since, cancellationToken))
        {
            var streamSequence = committed.Sequence + 1;
            if (streamSequence > needed)
            {
                break;
            }

            if (aggregate is not null && streamSequence <= aggregate.LastStreamSequence)
            {
                aggregate.ReplayAll(committed);
            }

            if (committed.Entry.Time < windowSince)
            {
                continue; // older than every clerk and terminal window
            }

            foreach (var principal in PrincipalsOf(committed.Entry))
            {
                if (states.TryGetValue(MonitorPartition.Of(principal), out var state) && streamSequence <= state.LastStreamSequence)
                {
                    state.Replay(principal, committed);
                }
            }
        }

        if (aggregate?.Engine is { } engine)
        {
            engine.TracksRiskChanges = true; // from here on: the stored risk already reflects everything replayed
            aggregate.MoveQuietAnchor(engine.LedgerTime, _time.GetUtcNow()); // the quiet-period tick counts from the acquisition
        }

        var runners = new List<Runner>(states.Count);
        foreach (var state in states.Values)
        {
            WorkerLog.PartitionStarted(_logger, state.Partition.Token, state.Epoch, state.LastStreamSequence, state.Replayed);
            var stop = new CancellationTokenSource();
            runners.Add(new Runner(state.Partition, stop, Task.Run(() => RunPartitionAsync(js, state, stop.Token), CancellationToken.None)));
        }

        return runners;
    }

    private static IEnumerable<Principal> PrincipalsOf(AccessEntry entry)
    {
        if (entry.Outcome != AccessOutcome.Allowed || !entry.Task.ReadsPersonalData() || entry.Subjects.Count == 0)
        {
            yield break;
        }

        if (entry.Account is not null)
        {
            yield return new Principal(PrincipalKind.Clerk, entry.Account);
        }

        if (entry.Terminal is not null)
        {
            yield return new Principal(PrincipalKind.Terminal, entry.Terminal);
        }
    }

    private async Task RunPartitionAsync(NatsJSContext js, PartitionState state, CancellationToken stop)
    {
        try
        {
            while (!await ConsumeAsync(js, state, stop))
            {
                // A delivery gap: consume again after the committed progress.
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Rebalanced away or shutting down; committed progress stays, and the open days changed since the last write
            // are stored at it (as the embedded monitor does at a graceful stop), unless another owner acquired it already.
            try
            {
                await StoreBaselineDaysAsync(state);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                WorkerLog.BaselineDaysNotStored(_logger, IsStorageFailure(ex) ? null : ex); // a storage outage: no stack trace
            }
        }
        catch (NatsJSProtocolException ex) when (IsConsumerDeleted(ex))
        {
            // The new owner deletes the consumer when it acquires the partition (ConsumeAsync), which ends this worker's
            // pull with 409 Consumer Deleted before its own membership round has stopped the runner: the expected end of a
            // hand-off, not a failure. If the partition is still this worker's, the runner starts again at the next round.
            WorkerLog.ConsumerDeleted(_logger, state.Partition.Token);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            // The storage failed (unreachable, connection lost, commit refused): what was not committed is not acknowledged;
            // the partition is acquired again from its stored progress once the storage answers (RunAsync's back-off).
            var failure = ex.GetType().Name;
            WorkerLog.PartitionStorageFailed(_logger, state.Partition.Token, failure, state.LastStreamSequence);
            NoteStorageFailure("running partition " + state.Partition.Token, ex, escalate: false);
        }
        catch (Exception ex)
        {
            WorkerLog.PartitionFailed(_logger, state.Partition.Token, ex); // the runner is restarted at the next membership round
        }
    }

    // JetStream's status for a pull whose consumer was deleted meanwhile: 409 "Consumer Deleted".
    private static bool IsConsumerDeleted(NatsJSProtocolException ex) =>
        ex.HeaderCode == 409
        && ((ex.HeaderMessageText ?? string.Empty).Contains("Consumer Deleted", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("Consumer Deleted", StringComparison.OrdinalIgnoreCase));

    // The aggregate partition's baseline days — closed ones and the open days changed since the last write — stored at the
    // committed progress without moving it (PartitionProgressStore.StoreAtProgressAsync), when the engine reflects exactly
    // that progress (no batch processed but not committed). False when fenced or the lease ran out (nothing stored).
    private async Task<bool> StoreBaselineDaysAsync(PartitionState state)
    {
        if (state.Engine?.Baseline is not { RecordsOpenDays: true } baseline || state.Uncommitted)
        {
            return true;
        }

        state.OpenDaysDue = false;
        var days = new List<BaselineDay>();
        baseline.DrainClosedDays(days);
        baseline.DrainChangedOpenDays(days); // after the closed ones: a later snapshot of a day replaces an earlier one
        if (days.Count == 0)
        {
            return true;
        }

        if (!LeaseValid() || !await _progress.StoreAtProgressAsync(
                state.Partition.Token,
                state.Epoch,
                state.LastStreamSequence,
                (connection, transaction, token) => BaselineDayStore.WriteAsync(connection, transaction, days, token),
                CancellationToken.None))
        {
            LogStopped(state);
            return false;
        }

        WorkerLog.BaselineDaysStored(_logger, days.Count, state.LastStreamSequence);
        return true;
    }

    // The quiet-period tick of a partition with an engine (a00; docs/monitoring.md, "Restart"), between batches: when no
    // entry has moved the engine's ledger time for MonitorEngine.AdvanceInterval on the worker's clock and nothing is
    // waiting for the partition, the engine's time-driven detectors are advanced and their decisions acted on, as the
    // embedded monitor's tick does — so lookups left open are judged about a minute after OrphanAfter even when nobody
    // reads after them. The engine is advanced to its ledger time plus the worker-clock time since that ledger time last
    // moved, never to the worker's clock itself: entries carry the API nodes' clock, and a worker clock ahead of theirs
    // would age every open lookup at once (docs/events.md, "Clocks"). Nothing waiting means: no message in the channel,
    // none pending after the last one delivered (its JetStream metadata's NumPending), and, from the server's consumer
    // info, none undelivered (NumPending) and none delivered beyond the committed progress. Advancing ahead of a backlog
    // would judge a read whose service-complete is still waiting an orphan. The risk the decisions changed, and the
    // baseline days the advance closed, are stored at the committed progress. False when fenced or the lease ran out.
    private async Task<bool> QuietTickAsync(INatsJSConsumer consumer, PartitionState state, CancellationToken stop)
    {
        state.TickDue = false;
        if (state.Engine is not { } engine || state.Uncommitted || state.QuietLedgerAnchor is not { } ledgerAnchor)
        {
            return true; // no engine, a batch in hand, or nothing observed yet
        }

        var now = _time.GetUtcNow();
        var quietFor = now - state.QuietClockAnchor;
        if (quietFor < MonitorEngine.AdvanceInterval)
        {
            return true; // the engine's time moved within the interval: not quiet
        }

        long pending = state.Waiting + state.PendingAfterLast; // messages only: the channel's wake-up nulls are no backlog
        if (pending == 0)
        {
            try
            {
                await consumer.RefreshAsync(stop);
                var info = consumer.Info;
                pending = (long)Math.Min(info.NumPending, long.MaxValue / 2) + Math.Max(0L, (long)info.Delivered.StreamSeq - state.LastStreamSequence);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException || (ex is OperationCanceledException && !stop.IsCancellationRequested))
            {
                WorkerLog.QuietTickBacklogUnknown(_logger, state.Partition.Token, ex);
                return true; // unknown: not quiet
            }
        }

        if (pending > 0)
        {
            WorkerLog.QuietTickSkipped(_logger, state.Partition.Token, pending, state.LastStreamSequence);
            return true;
        }

        List<MonitorDecision> decisions = [.. engine.AdvanceIfQuiet(ledgerAnchor + quietFor)]; // the engine reuses its list
        if (engine.LedgerTime != ledgerAnchor)
        {
            state.MoveQuietAnchor(engine.LedgerTime, now); // advanced: the next tick counts from here
        }
        WorkerLog.QuietTick(_logger, state.Partition.Token, engine.LedgerTime ?? ledgerAnchor, decisions.Count);
        if (decisions.Count > 0)
        {
            if (!LeaseValid() || !await _progress.IsCurrentAsync(state.Partition.Token, state.Epoch, stop))
            {
                LogStopped(state);
                return false;
            }

            foreach (var decision in decisions)
            {
                await ActOnDecisionAsync(state.Partition, decision, null);
            }
        }

        var changed = new List<Principal>();
        engine.DrainRiskChanges(changed);
        var closedDays = new List<BaselineDay>();
        engine.Baseline?.DrainClosedDays(closedDays);
        if (changed.Count == 0 && closedDays.Count == 0)
        {
            return true;
        }

        var schedules = changed.Select(p => KeyValuePair.Create(p, engine.RiskSchedule(p))).ToList();
        if (!LeaseValid() || !await _progress.StoreAtProgressAsync(
                state.Partition.Token,
                state.Epoch,
                state.LastStreamSequence,
                async (connection, transaction, token) =>
                {
                    await RiskStandingStore.WriteAsync(connection, transaction, schedules, now, token);
                    await BaselineDayStore.WriteAsync(connection, transaction, closedDays, token);
                },
                CancellationToken.None))
        {
            LogStopped(state);
            return false;
        }

        if (schedules.Count > 0)
        {
            WorkerLog.RiskStored(_logger, state.Partition.Token, schedules.Count, state.LastStreamSequence);
        }

        return true;
    }

    // Creates the partition's durable consumer at the committed progress + 1 and processes what it delivers until the
    // partition is stopped or fenced (true), or until a delivery gap (false: the caller creates the consumer again).
    //
    // Gap detection: a consumer numbers every delivery, redeliveries included, 1, 2, 3, … (the consumer sequence in the
    // message's metadata). A delivery lost on the way — a stream or consumer leader moving, a server killed — shows as a
    // consumer sequence beyond the next one. JetStream would redeliver the lost message only after the ack wait, behind
    // later entries whose progress is already committed, where it would be skipped as a duplicate: one entry of the
    // partition never counted. So the partition stops at the gap (the messages before it are processed and committed)
    // and starts a new consumer after its committed progress, which delivers the lost message next, in order. A consumer
    // sequence lower than expected (a new consumer leader that had not yet replicated the last deliveries) only repeats
    // deliveries, which the committed-progress check skips.
    private async Task<bool> ConsumeAsync(NatsJSContext js, PartitionState state, CancellationToken stop)
    {
        var partition = state.Partition;
        var stream = _settings.JetStream.Stream;
        try
        {
            await js.DeleteConsumerAsync(stream, partition.ConsumerName, stop); // the stored progress, not the consumer's ack floor, says where to resume
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            // First start.
        }

        var consumer = await js.CreateOrUpdateConsumerAsync(
            stream,
            new ConsumerConfig(partition.ConsumerName)
            {
                FilterSubject = partition.FilterSubject(_settings.JetStream.SubjectPrefix),
                AckPolicy = ConsumerConfigAckPolicy.Explicit,
                DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                OptStartSeq = (ulong)state.LastStreamSequence + 1,
                AckWait = TimeSpan.FromMinutes(2),
                MaxAckPending = 4 * MaxBatch,
            },
            stop);
        var expected = consumer.Info.Delivered.ConsumerSeq + 1; // 1 for the new consumer
        // A null in the channel wakes the loop when the baseline's open days are due (every BaselineOpenDayInterval on the
        // worker's TimeProvider, as the embedded monitor's timer): stored at the committed progress, or with the next batch.
        var arrived = Channel.CreateBounded<INatsJSMsg<byte[]>?>(new BoundedChannelOptions(2 * MaxBatch) { SingleReader = true, SingleWriter = false });
        state.ResetWaiting(); // a new channel: what a previous consumer left untaken is delivered again
        using var openDaysTimer = state.Engine is { Baseline.RecordsOpenDays: true, Options.BaselineOpenDayInterval: var openDayInterval }
            ? _time.CreateTimer(
                _ =>
                {
                    state.OpenDaysDue = true;
                    arrived.Writer.TryWrite(null);
                },
                null,
                openDayInterval,
                openDayInterval)
            : null;
        // The quiet-period tick (QuietTickAsync): every MonitorEngine.AdvanceInterval on the worker's TimeProvider, a null
        // wakes the loop; the tick runs between batches, never beside one.
        using var quietTimer = state.Engine is not null
            ? _time.CreateTimer(
                _ =>
                {
                    state.TickDue = true;
                    arrived.Writer.TryWrite(null);
                },
                null,
                MonitorEngine.AdvanceInterval,
                MonitorEngine.AdvanceInterval)
            : null;
        using var pumpStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var pump = Task.Run(
            async () =>
            {
                try
                {
                    await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = MaxBatch }, cancellationToken: pumpStop.Token))
                    {
                        var metadata = msg.Metadata ?? throw new NatsJSException("A stream message arrived without its metadata.");
                        var delivered = metadata.Sequence.Consumer;
                        if (delivered > expected)
                        {
                            throw new DeliveryGapException(expected, delivered);
                        }

                        expected = delivered + 1;
                        state.PendingAfterLast = (long)Math.Min(metadata.NumPending, long.MaxValue); // before it is in the channel: the tick sees one or the other
                        state.MessageArriving();
                        await arrived.Writer.WriteAsync(msg, pumpStop.Token);
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
            var batch = new List<INatsJSMsg<byte[]>>(MaxBatch);
            while (await arrived.Reader.WaitToReadAsync(stop))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && arrived.Reader.TryRead(out var msg))
                {
                    if (msg is not null)
                    {
                        state.MessageTaken();
                        batch.Add(msg);
                    }
                }

                if (batch.Count == 0)
                {
                    if (state.OpenDaysDue && !await StoreBaselineDaysAsync(state))
                    {
                        return true; // fenced or lease lost
                    }
                }
                else
                {
                    if (!await ProcessBatchAsync(state, batch, stop))
                    {
                        return true; // fenced or lease lost: never acknowledge
                    }

                    foreach (var msg in batch)
                    {
                        await msg.AckAsync(cancellationToken: stop);
                    }
                }

                if (state.TickDue && !await QuietTickAsync(consumer, state, stop))
                {
                    return true; // fenced or lease lost
                }
            }

            return true;
        }
        catch (DeliveryGapException gap)
        {
            WorkerLog.DeliveryGap(_logger, partition.Token, gap.Expected, gap.Delivered, state.LastStreamSequence);
            return false;
        }
        finally
        {
            await pumpStop.CancelAsync();
            await pump;
        }
    }

    // A consumer sequence beyond the next one: a delivery was lost (ConsumeAsync).
    private sealed class DeliveryGapException(ulong expected, ulong delivered)
        : Exception($"Consumer sequence {delivered} arrived where {expected} was due.")
    {
        public ulong Expected { get; } = expected;

        public ulong Delivered { get; } = delivered;
    }

    // Processes a batch, then commits its progress under the partition's epoch. False when fenced.
    private async Task<bool> ProcessBatchAsync(PartitionState state, List<INatsJSMsg<byte[]>> batch, CancellationToken stop)
    {
        var last = state.LastStreamSequence;
        long processed = 0;
        foreach (var msg in batch)
        {
            var streamSequence = (long)(msg.Metadata ?? throw new NatsJSException("A stream message arrived without its metadata.")).Sequence.Stream;
            if (streamSequence <= last)
            {
                continue; // a redelivery of what is already committed
            }

            var entry = LeafCodec.Decode(msg.Data ?? []);
            state.Uncommitted = true; // the engine is ahead of the committed progress until the commit below
            try
            {
                if (state.Engine is { } engine)
                {
                    await ProcessAggregateAsync(state, engine, new CommittedEntry(streamSequence - 1, default, entry), stop);
                }
                else
                {
                    await ProcessAsync(state, new CommittedEntry(streamSequence - 1, default, entry), stop);
                }
            }
            catch (FencedException)
            {
                LogStopped(state);
                return false;
            }

            last = streamSequence;
            processed++;
        }

        if (processed == 0)
        {
            return !state.OpenDaysDue || await StoreBaselineDaysAsync(state);
        }

        if (state.Engine is { LedgerTime: var ledgerTime } && ledgerTime != state.QuietLedgerAnchor)
        {
            state.MoveQuietAnchor(ledgerTime, _time.GetUtcNow()); // an entry moved the engine's time: the quiet period starts again
        }

        Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, CancellationToken, Task>? alsoStore = null;
        if (state.Engine is { } aggregateEngine)
        {
            // The risk of every principal whose findings changed, stored in the commit's transaction: never ahead of or behind the progress.
            var changed = new List<Principal>();
            aggregateEngine.DrainRiskChanges(changed);
            var baselineDays = new List<BaselineDay>();
            aggregateEngine.Baseline?.DrainClosedDays(baselineDays); // the baseline's days closed by this batch (or the rebuild), same transaction
            if (state.OpenDaysDue && aggregateEngine.Baseline is { } baseline)
            {
                state.OpenDaysDue = false;
                baseline.DrainChangedOpenDays(baselineDays); // the open days' counts up to this batch, after the closed ones
            }

            if (changed.Count > 0 || baselineDays.Count > 0)
            {
                var schedules = changed.Select(p => KeyValuePair.Create(p, aggregateEngine.RiskSchedule(p))).ToList();
                var now = _time.GetUtcNow();
                alsoStore = async (connection, transaction, token) =>
                {
                    await RiskStandingStore.WriteAsync(connection, transaction, schedules, now, token);
                    await BaselineDayStore.WriteAsync(connection, transaction, baselineDays, token);
                };
                if (schedules.Count > 0)
                {
                    WorkerLog.RiskStored(_logger, state.Partition.Token, schedules.Count, last);
                }
            }
        }

        if (!LeaseValid() || !await _progress.CommitAsync(state.Partition.Token, state.Epoch, last, processed, alsoStore, CancellationToken.None))
        {
            LogStopped(state);
            return false;
        }

        state.LastStreamSequence = last;
        state.Uncommitted = false;
        return true;
    }

    private async Task ProcessAsync(PartitionState state, CommittedEntry committed, CancellationToken stop)
    {
        var entry = committed.Entry;
        Principal? principal = null;
        foreach (var p in PrincipalsOf(entry))
        {
            if (p.Kind == state.Partition.Kind)
            {
                principal = p;
            }
        }

        if (principal is not { } subject)
        {
            return;
        }

        var detector = state.Detector;
        if (detector.IsLatched(subject) && !_suspensions.IsSuspended(subject))
        {
            detector.Reset(subject); // lifted by an officer: its past activity was judged legitimate
        }

        var entryMs = entry.Time.ToUnixTimeMilliseconds();
        if (entryMs - state.LastPruneMs >= (long)PruneEvery.TotalMilliseconds)
        {
            state.LastPruneMs = entryMs;
            detector.Prune(entry.Time, p => _suspensions.IsSuspended(p));
        }

        if (!detector.Observe(subject, entry.Time, entry.Subjects, committed.Sequence, out var breach))
        {
            return;
        }

        detector.Latch(subject);
        if (await _suspensions.GetActiveAsync(subject, stop) is not null)
        {
            return; // already suspended (by this breach before a lost commit, or by another partition): no second alert
        }

        if (!LeaseValid() || !await _progress.IsCurrentAsync(state.Partition.Token, state.Epoch, stop))
        {
            throw new FencedException(); // another owner acts on this partition now
        }

        var draft = HardLimitBreaches.Alert(detector, breach, entry.Store);
        await ActOnBreachAsync(state.Partition, breach, draft, entry);
    }

    // As AccessMonitor.ActOnBreachAsync, made idempotent: an alert of the same detector and principal ending at the same
    // sequence is reused, and a suspension already active is not recorded again.
    private async Task ActOnBreachAsync(MonitorPartition partition, DetectorBreach breach, NewAlert draft, AccessEntry entry)
    {
        var cancellationToken = CancellationToken.None; // once found, completed even during shutdown
        var p = breach.Principal;
        var windowSeconds = (long)breach.Window.TotalSeconds;
        string? alertId = null;
        var created = false;
        try
        {
            var existing = (await _alerts.ListForPrincipalAsync(p, cancellationToken))
                .FirstOrDefault(a => a.Detector == draft.Detector && a.Evidence.LastSequence == draft.Evidence.LastSequence);
            if (existing is not null)
            {
                alertId = existing.Id;
            }
            else
            {
                var alert = await _alerts.CreateAsync(draft, cancellationToken);
                alertId = alert.Id;
                created = true;
                WorkerLog.AlertRaised(_logger, alert.Id, draft.Detector, partition.Token, p.Kind.ToName(), p.Id, breach.Observed, windowSeconds, breach.Limit, breach.Sequence);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !IsStorageFailure(ex)) // a storage failure stops the partition (5750, 5752)
        {
            WorkerLog.ActionFailed(_logger, p.Kind.ToName(), p.Id, ex);
            throw; // the batch is not committed; it is processed again
        }

        var finding = HardLimitBreaches.Finding(draft.Detector, breach);
        var targets = HardLimitBreaches.Targets(entry);

        var suspended = new List<Principal>(2);
        foreach (var target in targets)
        {
            var reason = HardLimitBreaches.SuspensionReason(finding, target, p, alertId!);
            if (await _suspensions.SuspendAsync(target.Kind, target.Id, alertId, reason, cancellationToken))
            {
                suspended.Add(target);
                WorkerLog.Suspended(_logger, target.Kind.ToName(), target.Id, alertId);
            }
        }

        if (created)
        {
            await AppendAsync(MonitorEntry(AccessTask.AlertRaised, entry.Store, alertId!, Truncate(finding + ".")));
        }

        foreach (var target in suspended)
        {
            await AppendAsync(MonitorEntry(AccessTask.Suspended, entry.Store, target.ToString(), Truncate($"{finding} (alert {alertId}).")));
        }
    }

    // The aggregate partition: every entry through the engine, in stream order; its decisions acted on as
    // AccessMonitor.ActOnDecisionAsync does, after checking that this worker still owns the partition.
    private async Task ProcessAggregateAsync(PartitionState state, MonitorEngine engine, CommittedEntry committed, CancellationToken stop)
    {
        var found = engine.Process(committed.Sequence, committed.Entry);
        if (found.Count == 0)
        {
            return;
        }

        List<MonitorDecision> decisions = [.. found]; // the engine reuses its list
        if (!LeaseValid() || !await _progress.IsCurrentAsync(state.Partition.Token, state.Epoch, stop))
        {
            throw new FencedException();
        }

        foreach (var decision in decisions)
        {
            await ActOnDecisionAsync(state.Partition, decision, committed.Entry);
        }
    }

    // As AccessMonitor.ActOnDecisionAsync, made idempotent: an alert of the same detector about the same principal whose
    // evidence reaches the finding's last evidence entry, raised at the decision's action or higher, answers the decision
    // (MonitorDecision.IsAnsweredBy, AccessMonitor.ActOnMissedDecisionsAsync's rule) and is reused; a rise of the action
    // over such an alert's gets its own alert (and so its stepped-up or suspended entries, once: the new alert answers
    // the decision re-made after a restart); its ledger entries are appended only when it was created, and a suspension already active is
    // not recorded again. The finding's own evidence, not the deciding entry: a decision of the quiet-period tick has no
    // entry (entry null, sequence -1), and after a restart or a rebalance the rebuilt engine makes the same decision again
    // at its own tick or at the next entry of anyone, whose sequence is not the one the first alert ended at.
    private async Task ActOnDecisionAsync(MonitorPartition partition, MonitorDecision decision, AccessEntry? entry)
    {
        var cancellationToken = CancellationToken.None; // once found, completed even during shutdown
        var f = decision.Finding;
        if (await _suspensions.GetActiveAsync(f.Principal, cancellationToken) is not null)
        {
            return; // suspended (by a hard limit, an earlier decision, or this one before a lost commit): nothing more
        }

        var action = decision.Action.ToName();
        string alertId;
        var created = false;
        try
        {
            var sequences = f.Evidence.Count > 0 ? f.Evidence : [decision.Sequence];
            var evidence = new AlertEvidence(sequences[0], Math.Max(decision.Sequence, sequences[^1]), sequences, sequences.Count)
            {
                Detail = Truncate(string.Create(CultureInfo.InvariantCulture, $"{f.Detail}; risk {decision.Risk}, action {action}")),
                Action = decision.Action,
            };
            var existing = (await _alerts.ListForPrincipalAsync(f.Principal, cancellationToken)).FirstOrDefault(decision.IsAnsweredBy);
            if (existing is not null)
            {
                alertId = existing.Id;
            }
            else
            {
                var alert = await _alerts.CreateAsync(
                    new NewAlert(f.Detector, f.Principal, f.Store, f.Window, f.Observed, f.Threshold, evidence, RiskPolicy.SeverityOf(decision.Action)),
                    cancellationToken);
                alertId = alert.Id;
                created = true;
                WorkerLog.DecisionMade(_logger, alert.Id, f.Detector, partition.Token, f.Principal.Kind.ToName(), f.Principal.Id, decision.Risk, action, decision.Sequence);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !IsStorageFailure(ex)) // a storage failure stops the partition (5750, 5752)
        {
            WorkerLog.ActionFailed(_logger, f.Principal.Kind.ToName(), f.Principal.Id, ex);
            throw; // the batch is not committed; it is processed again
        }

        var finding = Truncate(string.Create(CultureInfo.InvariantCulture, $"{f.Detector}: {f.Principal} {f.Detail}; risk {decision.Risk}, action {action} (alert {alertId})."));
        if (created)
        {
            await AppendAsync(MonitorEntry(AccessTask.AlertRaised, entry?.Store ?? f.Store, alertId, finding));
        }

        if (decision.Action == MonitorAction.StepUp)
        {
            foreach (var target in decision.Targets)
            {
                if (created)
                {
                    WorkerLog.SteppedUp(_logger, target.Kind.ToName(), target.Id, alertId);
                    await AppendAsync(MonitorEntry(AccessTask.SteppedUp, entry?.Store ?? f.Store, target.ToString(), finding));
                }
            }

            return;
        }

        if (decision.Action != MonitorAction.Suspend)
        {
            return;
        }

        foreach (var target in decision.Targets)
        {
            if (await _suspensions.SuspendAsync(target.Kind, target.Id, alertId, finding, cancellationToken))
            {
                WorkerLog.Suspended(_logger, target.Kind.ToName(), target.Id, alertId);
                await AppendAsync(MonitorEntry(AccessTask.Suspended, entry?.Store ?? f.Store, target.ToString(), finding));
            }
        }
    }

    private AccessEntry MonitorEntry(AccessTask task, string? store, string target, string reason) =>
        HardLimitBreaches.MonitorEntry(_time.GetUtcNow(), task, store, target, reason);

    private async Task AppendAsync(AccessEntry entry)
    {
        try
        {
            await _ledger.AppendAsync(entry, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            WorkerLog.LedgerAppendFailed(_logger, entry.Task.ToName(), entry.Target ?? string.Empty, ex);
        }
    }

    private static string Truncate(string text) => HardLimitBreaches.Truncate(text);

    private sealed class PartitionState(MonitorPartition partition, long epoch, long lastStreamSequence, DistinctSubjectsDetector detector, MonitorEngine? engine)
    {
        private bool _openDaysDue;
        private bool _tickDue;
        private long _pendingAfterLast;
        private long _waiting;

        public MonitorPartition Partition { get; } = partition;

        public long Epoch { get; } = epoch;

        public long LastStreamSequence { get; set; } = lastStreamSequence;

        public DistinctSubjectsDetector Detector { get; } = detector;

        // The aggregate partition's engine; null for clerk and terminal partitions.
        public MonitorEngine? Engine { get; } = engine;

        public long LastPruneMs { get; set; } = long.MinValue / 2;

        // Set by the quiet-period timer (any thread); cleared by the tick (QuietTickAsync).
        public bool TickDue
        {
            get => Volatile.Read(ref _tickDue);
            set => Volatile.Write(ref _tickDue, value);
        }

        // Messages the pump has handed (or is handing) to the channel that the loop has not taken yet. Not the channel's
        // Count: that also counts the timers' wake-up nulls, and a tick that took those for a backlog skipped itself (with
        // its TickDue already cleared, a clock that then stood still never ticked again).
        public long Waiting => Volatile.Read(ref _waiting);

        public void MessageArriving() => Interlocked.Increment(ref _waiting);

        public void MessageTaken() => Interlocked.Decrement(ref _waiting);

        public void ResetWaiting() => Volatile.Write(ref _waiting, 0);

        // The JetStream NumPending of the last message the consumer delivered (written by the pump, read by the tick).
        public long PendingAfterLast
        {
            get => Volatile.Read(ref _pendingAfterLast);
            set => Volatile.Write(ref _pendingAfterLast, value);
        }

        // The engine's ledger time when it last moved (an entry, the tick, the acquisition), and the worker's clock then.
        public DateTimeOffset? QuietLedgerAnchor { get; private set; }

        public DateTimeOffset QuietClockAnchor { get; private set; }

        public void MoveQuietAnchor(DateTimeOffset? ledgerTime, DateTimeOffset clock)
        {
            QuietLedgerAnchor = ledgerTime;
            QuietClockAnchor = clock;
        }

        // Set by the open-day timer (any thread); cleared when the aggregate partition drains its changed open days.
        public bool OpenDaysDue
        {
            get => Volatile.Read(ref _openDaysDue);
            set => Volatile.Write(ref _openDaysDue, value);
        }

        // True from the first entry of a batch until its commit: the engine is ahead of the committed progress, so its
        // open days must not be stored at that progress (a stop in between stores none; the next owner rebuilds them).
        public bool Uncommitted { get; set; }

        public int Replayed { get; private set; }

        // Rebuilds the aggregate partition's engine from an entry already processed; its decisions were acted on by the owner then.
        public void ReplayAll(CommittedEntry committed)
        {
            Replayed++;
            Engine!.Process(committed.Sequence, committed.Entry);
        }

        // Rebuilds window state from an entry already processed; a breach then was acted on (or suppressed) by its owner.
        public void Replay(Principal principal, CommittedEntry committed)
        {
            Replayed++;
            if (Detector.Observe(principal, committed.Entry.Time, committed.Entry.Subjects, committed.Sequence, out _))
            {
                Detector.Latch(principal);
            }
        }
    }

    private sealed class FencedException : Exception;

    // The membership bucket's lease was changed to another value while this worker ran (RunAsync).
    private sealed class LeaseChangedException(string message) : Exception(message);

    private sealed record Runner(MonitorPartition Partition, CancellationTokenSource Stop, Task Task)
    {
        public async Task StopAsync()
        {
            await Stop.CancelAsync();
            try
            {
                await Task;
            }
            finally
            {
                Stop.Dispose();
            }
        }
    }
}
