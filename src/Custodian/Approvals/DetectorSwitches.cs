using System.Collections.Frozen;
using Custodian.Access.Approvals;
using Custodian.Monitoring;
using Custodian.Monitoring.Detection;
using Custodian.Storage;

namespace Custodian.Approvals;

/// <summary>
/// Which of the monitor's detectors officers have switched off (table <c>detector_switches</c>, migration
/// <c>approvals-001</c>). Only the <c>disable-detector</c> / <c>enable-detector</c> privileged actions change it (four eyes,
/// docs/access.md §7). The set persists, so it survives a restart; the engine asks <see cref="IsDisabled"/> for every
/// finding (<see cref="MonitorEngine.DetectorDisabled"/>), which answers from memory and re-reads the table when its copy
/// is older than <see cref="RecheckInterval"/> — so a switch made by another process (the CLI beside a server) applies
/// within a second. Thread-safe.
/// </summary>
/// <param name="db">The database.</param>
/// <param name="time">Clock for the re-check interval.</param>
public sealed class DetectorSwitches(CustodianDatabase db, TimeProvider time)
{
    /// <summary>
    /// Detectors that may be switched off: the detection engine's (<see cref="DetectorCatalog"/>, docs/monitoring.md). The hard distinct-subscriber limits
    /// (<see cref="DistinctSubjectsDetector.DetectorName"/>) are the last line against mass extraction and cannot be.
    /// </summary>
    public static readonly FrozenSet<string> Switchable = DetectorCatalog.Names
        .Where(d => d != DistinctSubjectsDetector.DetectorName)
        .ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Longest age of the in-memory copy: 1 second.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private FrozenSet<string>? _disabled;
    private DateTimeOffset _readAt;

    /// <summary>Whether <paramref name="detector"/> is switched off. Reads the table at most once per <see cref="RecheckInterval"/>.</summary>
    /// <param name="detector">A detector's stable name.</param>
    /// <returns>True when switched off.</returns>
    public bool IsDisabled(string detector) => Current().Contains(detector);

    /// <summary>The switched-off detectors, ordered.</summary>
    public IReadOnlyList<string> Disabled => [.. Current().Order(StringComparer.Ordinal)];

    /// <summary>Switches <paramref name="detector"/> off or on and records who and why in the table (the ledger has the request and approval).</summary>
    /// <param name="detector">One of <see cref="Switchable"/>.</param>
    /// <param name="disabled">True to switch off, false to switch on.</param>
    /// <param name="officer">The approving officer.</param>
    /// <param name="reason">Why.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>True when the state changed; false when it already was so.</returns>
    /// <exception cref="ArgumentException">When <paramref name="detector"/> is not switchable.</exception>
    public async Task<bool> SetAsync(string detector, bool disabled, string officer, string reason, CancellationToken cancellationToken = default)
    {
        if (!Switchable.Contains(detector))
        {
            throw new ArgumentException("The detector is not one that may be switched off.", nameof(detector));
        }

        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = disabled
            ? connection.Command(
                "INSERT INTO detector_switches (detector, disabled_ms, disabled_by, reason) VALUES (@d, @now, @by, @reason) ON CONFLICT (detector) DO NOTHING",
                ("@d", detector),
                ("@now", time.GetUtcNow().ToUnixTimeMilliseconds()),
                ("@by", officer),
                ("@reason", reason))
            : connection.Command("DELETE FROM detector_switches WHERE detector = @d", ("@d", detector));
        var changed = await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        lock (_gate)
        {
            _disabled = null; // re-read on next use
        }

        return changed;
    }

    /// <summary>Makes <paramref name="engine"/> drop the findings of switched-off detectors (<see cref="MonitorEngine.DetectorDisabled"/>).</summary>
    /// <param name="engine">The live monitor's engine.</param>
    /// <param name="services">Where <see cref="DetectorSwitches"/> is registered.</param>
    /// <returns><paramref name="engine"/>.</returns>
    public static MonitorEngine Honour(MonitorEngine engine, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(engine);
        engine.DetectorDisabled = services.GetRequiredService<DetectorSwitches>().IsDisabled;
        return engine;
    }

    private FrozenSet<string> Current()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_disabled is { } cached && now - _readAt < RecheckInterval)
            {
                return cached;
            }
        }

        // A tiny table read synchronously: the engine's loop asks at most once per second of the clock.
        var set = new HashSet<string>(StringComparer.Ordinal);
        using (var connection = db.Open())
        using (var command = connection.Command("SELECT detector FROM detector_switches"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                set.Add(reader.GetString(0));
            }
        }

        var fresh = set.ToFrozenSet(StringComparer.Ordinal);
        lock (_gate)
        {
            _disabled = fresh;
            _readAt = now;
        }

        return fresh;
    }
}

/// <summary>
/// <c>disable-detector</c> and <c>enable-detector</c>: target a detector's stable name (one of
/// <see cref="DetectorSwitches.Switchable"/>, e.g. <c>machine-timing</c>). On approval the switch is stored; the live
/// monitor honours it within a second, in every process on the database, and after restarts.
/// </summary>
/// <param name="switches">The stored switches.</param>
/// <param name="disable">True for <c>disable-detector</c>, false for <c>enable-detector</c>.</param>
/// <param name="logger">Logger (event 5403).</param>
public sealed class DetectorSwitchAction(DetectorSwitches switches, bool disable, ILogger<DetectorSwitchAction> logger) : IPrivilegedAction
{
    /// <inheritdoc />
    public string ActionName => disable ? "disable-detector" : "enable-detector";

    /// <inheritdoc />
    public Task<Problems.CustodianError?> ValidateAsync(string target, CancellationToken cancellationToken)
    {
        if (!DetectorSwitches.Switchable.Contains(target))
        {
            var rule = target == DistinctSubjectsDetector.DetectorName
                ? "the hard distinct-subscriber limits cannot be switched off"
                : "must be one of " + string.Join(", ", DetectorSwitches.Switchable.Order(StringComparer.Ordinal));
            return Task.FromResult<Problems.CustodianError?>(PrivilegedActionRefusals.MalformedTarget(rule));
        }

        return Task.FromResult<Problems.CustodianError?>(switches.IsDisabled(target) == disable
            ? new(Problems.ErrorCodes.ValidationFailed, 400, disable ? "target: is already switched off" : "target: is not switched off")
            : null);
    }

    /// <inheritdoc />
    public async Task<Problems.Result<string>> ExecuteAsync(PrivilegedRequest request, string approver, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await switches.SetAsync(request.Target, disable, approver, request.Reason, cancellationToken);
        FourEyesLog.DetectorSwitched(logger, request.Target, disable ? "off" : "on", request.RequestedBy, approver);
        return disable ? $"Detector {request.Target} switched off: it raises no alert until it is switched on again." : $"Detector {request.Target} switched on.";
    }
}
