using System.Data.Common;
using Custodian.Identity;
using Custodian.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Monitoring;

/// <summary>A suspension of a clerk or terminal, active while <see cref="LiftedAt"/> is null.</summary>
/// <param name="Principal">The suspended clerk or terminal.</param>
/// <param name="Since">When it was suspended (UTC, millisecond precision).</param>
/// <param name="AlertId">The alert that caused it, or null for a manual suspension.</param>
/// <param name="Reason">Why (no personal data), at most 500 characters.</param>
/// <param name="LiftedAt">When it was lifted, or null while active.</param>
/// <param name="LiftedBy">The officer who lifted it, or null while active.</param>
public sealed record Suspension(Principal Principal, DateTimeOffset Since, string? AlertId, string Reason, DateTimeOffset? LiftedAt, string? LiftedBy);

/// <summary>
/// Which clerks and terminals are suspended: the <c>suspensions</c> table (<see cref="MonitoringMigrations"/>) and an
/// in-memory set in front of it for the guard's per-request check.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="IsSuspended(PrincipalKind, string)"/> answers from an immutable in-memory set (a hash lookup, well
/// under 1 µs, no allocation). Suspensions and lifts made through THIS instance change the set before their task
/// completes. Changes made by another process (the CLI, another API node) reach the set by a refresh from the
/// database, at most once per <see cref="RefreshInterval"/> (1 second): the first check after the set is one second
/// old starts a background refresh and answers from the current set; <see cref="IsSuspendedAsync"/> instead waits
/// for that refresh, so a change made elsewhere is visible to it one second (plus one query) after it was committed.
/// Until the first refresh completes, <see cref="IsSuspended(PrincipalKind, string)"/> loads the set synchronously
/// (once) rather than answer from an empty set; the monitor loads it on start.
/// </para>
/// <para>
/// Fail closed: if writing a suspension to the database fails, the principal stays suspended in memory (and the
/// exception propagates) until lifted through this instance.
/// </para>
/// <para>Thread-safe.</para>
/// </remarks>
public sealed class SuspensionRegistry
{
    /// <summary>Longest reason accepted, in characters (same bound as a ledger entry's reason).</summary>
    public const int MaxReasonLength = 500;

    /// <summary>How old the in-memory set may get before it is refreshed from the database: 1 second.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private const string Columns = "principal_kind, principal_id, since_ms, alert_id, reason, lifted_ms, lifted_by";

    private readonly CustodianDatabase _db;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly HashSet<Principal> _unpersisted = [];
    private HashSet<Principal> _active = [];
    private List<(Principal Principal, bool Add)>? _changesDuringRefresh;
    private long _refreshedAt;
    private bool _loaded;
    private Task? _refreshing;
    private long _refreshingSince;
    private Task? _followUp;

    /// <summary>Creates the registry.</summary>
    /// <param name="db">The database; <see cref="MonitoringMigrations"/> must have been applied.</param>
    /// <param name="time">Clock for suspension times and the refresh interval.</param>
    /// <param name="logger">Logs refresh failures; optional.</param>
    public SuspensionRegistry(CustodianDatabase db, TimeProvider time, ILogger<SuspensionRegistry>? logger = null)
    {
        _db = db ?? throw new ArgumentNullException(nameof(db));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Whether <paramref name="id"/> of <paramref name="kind"/> is suspended, from memory (see remarks for staleness).</summary>
    public bool IsSuspended(PrincipalKind kind, string id) => IsSuspended(new Principal(kind, id));

    /// <summary>Whether <paramref name="principal"/> is suspended, from memory (see remarks for staleness).</summary>
    public bool IsSuspended(Principal principal)
    {
        if (!Volatile.Read(ref _loaded))
        {
            // Fail closed at start: never answer from a set that was never loaded.
            RefreshAsync().GetAwaiter().GetResult();
        }
        else if (IsStale())
        {
            StartBackgroundRefresh();
        }

        return principal.Id is not null && Volatile.Read(ref _active).Contains(principal);
    }

    /// <summary>
    /// Whether <paramref name="id"/> of <paramref name="kind"/> is suspended; when the in-memory set is older than
    /// <see cref="RefreshInterval"/>, first waits for its refresh. Completes synchronously (no allocation) otherwise.
    /// </summary>
    /// <exception cref="DbException">When a needed refresh fails.</exception>
    public async ValueTask<bool> IsSuspendedAsync(PrincipalKind kind, string id, CancellationToken cancellationToken = default)
    {
        if (!Volatile.Read(ref _loaded) || IsStale())
        {
            await StartRefresh().WaitAsync(cancellationToken);
        }

        return id is not null && Volatile.Read(ref _active).Contains(new Principal(kind, id));
    }

    /// <summary>Reloads the in-memory set from the database now (joining a refresh already running).</summary>
    /// <exception cref="DbException">When the query fails; the set is left as it was.</exception>
    public Task RefreshAsync(CancellationToken cancellationToken = default) => StartRefresh().WaitAsync(cancellationToken);

    /// <summary>
    /// Suspends a clerk or terminal: records an active suspension (no-op when one is already active) and adds it to
    /// the in-memory set before returning.
    /// </summary>
    /// <param name="kind">Clerk or terminal.</param>
    /// <param name="id">Its code (<see cref="Codes"/> rules).</param>
    /// <param name="alertId">The alert that caused it, or null for a manual suspension.</param>
    /// <param name="reason">Why, 1–<see cref="MaxReasonLength"/> characters, never personal data.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when a new suspension was recorded; false when one was already active.</returns>
    /// <exception cref="ArgumentException">When <paramref name="id"/> is not a code or <paramref name="reason"/> is empty or too long.</exception>
    /// <exception cref="DbException">When the write fails (the principal then stays suspended in memory).</exception>
    public async Task<bool> SuspendAsync(PrincipalKind kind, string id, string? alertId, string reason, CancellationToken cancellationToken = default)
    {
        var principal = Principal.Create(kind, id);
        RequireReason(reason);
        bool inserted;
        try
        {
            await using var connection = await _db.OpenAsync(cancellationToken);
            await using var insert = connection.Command(
                $"INSERT INTO suspensions ({Columns}) VALUES (@kind, @pid, @since, @alert, @reason, NULL, NULL) ON CONFLICT DO NOTHING",
                ("@kind", kind.ToName()),
                ("@pid", principal.Id),
                ("@since", _time.GetUtcNow().ToUnixTimeMilliseconds()),
                ("@alert", alertId),
                ("@reason", reason));
            inserted = await insert.ExecuteNonQueryAsync(cancellationToken) > 0;
        }
        catch
        {
            lock (_gate)
            {
                _unpersisted.Add(principal);
                Mutate(principal, add: true);
            }

            throw;
        }

        lock (_gate)
        {
            Mutate(principal, add: true);
        }

        return inserted;
    }

    /// <summary>Lifts the active suspension of a clerk or terminal, if any, and removes it from the in-memory set.</summary>
    /// <param name="kind">Clerk or terminal.</param>
    /// <param name="id">Its code.</param>
    /// <param name="officer">The officer's account code, recorded as <c>lifted_by</c>.</param>
    /// <param name="reason">Why (not stored here; the caller records it in the ledger), 1–<see cref="MaxReasonLength"/> characters.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when a suspension was lifted; false when none was active.</returns>
    /// <exception cref="ArgumentException">When a code is malformed or <paramref name="reason"/> is empty or too long.</exception>
    public async Task<bool> LiftAsync(PrincipalKind kind, string id, string officer, string reason, CancellationToken cancellationToken = default)
    {
        var principal = Principal.Create(kind, id);
        Codes.Require(officer, "officer");
        RequireReason(reason);
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var update = connection.Command(
            "UPDATE suspensions SET lifted_ms = @lifted, lifted_by = @by WHERE principal_kind = @kind AND principal_id = @pid AND lifted_ms IS NULL",
            ("@lifted", _time.GetUtcNow().ToUnixTimeMilliseconds()),
            ("@by", officer),
            ("@kind", kind.ToName()),
            ("@pid", principal.Id));
        var lifted = await update.ExecuteNonQueryAsync(cancellationToken) > 0;
        lock (_gate)
        {
            lifted |= _unpersisted.Remove(principal);
            Mutate(principal, add: false);
        }

        return lifted;
    }

    /// <summary>The active suspension of <paramref name="principal"/> from the database, or null.</summary>
    public async Task<Suspension?> GetActiveAsync(Principal principal, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT {Columns} FROM suspensions WHERE principal_kind = @kind AND principal_id = @pid AND lifted_ms IS NULL",
            ("@kind", principal.Kind.ToName()),
            ("@pid", principal.Id));
        var list = await ReadAllAsync(command, cancellationToken);
        return list.Count == 0 ? null : list[0];
    }

    /// <summary>Active suspensions from the database, oldest first.</summary>
    public async Task<IReadOnlyList<Suspension>> ListActiveAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {Columns} FROM suspensions WHERE lifted_ms IS NULL ORDER BY since_ms, principal_kind, principal_id");
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>Every suspension of <paramref name="principal"/>, active or lifted, newest first.</summary>
    public async Task<IReadOnlyList<Suspension>> ListHistoryAsync(Principal principal, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT {Columns} FROM suspensions WHERE principal_kind = @kind AND principal_id = @pid ORDER BY since_ms DESC",
            ("@kind", principal.Kind.ToName()),
            ("@pid", principal.Id));
        return await ReadAllAsync(command, cancellationToken);
    }

    private static void RequireReason(string reason)
    {
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
        {
            throw new ArgumentException($"The reason must be 1-{MaxReasonLength} characters.", nameof(reason));
        }
    }

    private bool IsStale() => _time.GetElapsedTime(Volatile.Read(ref _refreshedAt)) >= RefreshInterval;

    // Caller holds _gate.
    private void Mutate(Principal principal, bool add)
    {
        var next = new HashSet<Principal>(_active);
        if (add ? next.Add(principal) : next.Remove(principal))
        {
            Volatile.Write(ref _active, next);
        }

        _changesDuringRefresh?.Add((principal, add));
    }

    private Task StartRefresh()
    {
        lock (_gate)
        {
            if (_refreshing is null)
            {
                // At most one attempt per interval, successful or not.
                var now = _time.GetTimestamp();
                Volatile.Write(ref _refreshedAt, now);
                _refreshingSince = now;
                _followUp = null;
                _changesDuringRefresh = [];
                _refreshing = Task.Run(RefreshCoreAsync);
                return _refreshing;
            }

            if (_time.GetElapsedTime(_refreshingSince) < RefreshInterval)
            {
                return _refreshing; // recent enough to join
            }

            // The running query started a full interval ago and may predate the change the caller must see:
            // run one more after it.
            return _followUp ??= _refreshing.ContinueWith(_ => StartRefresh(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    private void StartBackgroundRefresh() =>
        StartRefresh().ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private async Task RefreshCoreAsync()
    {
        try
        {
            var active = new HashSet<Principal>();
            await using (var connection = await _db.OpenAsync())
            await using (var command = connection.Command("SELECT principal_kind, principal_id FROM suspensions WHERE lifted_ms IS NULL"))
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    if (PrincipalKinds.TryParse(reader.GetString(0), out var kind))
                    {
                        active.Add(new Principal(kind, reader.GetString(1)));
                    }
                }
            }

            lock (_gate)
            {
                // Local suspends and lifts that completed while the query ran win over what it read.
                foreach (var (principal, add) in _changesDuringRefresh ?? [])
                {
                    if (add)
                    {
                        active.Add(principal);
                    }
                    else
                    {
                        active.Remove(principal);
                    }
                }

                active.UnionWith(_unpersisted);
                Volatile.Write(ref _active, active);
                Volatile.Write(ref _loaded, true);
            }
        }
        catch (Exception ex)
        {
            Log.SuspensionRefreshFailed(_logger, ex);
            throw;
        }
        finally
        {
            lock (_gate)
            {
                _refreshing = null;
                _changesDuringRefresh = null;
            }
        }
    }

    private static async Task<IReadOnlyList<Suspension>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<Suspension>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!PrincipalKinds.TryParse(reader.GetString(0), out var kind))
            {
                throw new InvalidDataException("A suspensions row has an unknown principal kind.");
            }

            list.Add(new Suspension(
                new Principal(kind, reader.GetString(1)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4),
                reader.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return list;
    }
}
