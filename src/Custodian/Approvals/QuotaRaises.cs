using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;
using Custodian.Access.Approvals;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Identity;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Storage;

namespace Custodian.Approvals;

/// <summary>
/// A temporary raise of one clerk's or terminal's distinct-subscriber limits: every window of
/// <see cref="MonitorOptions.Windows"/> allows <see cref="Factor"/> times as many subscribers until <see cref="Until"/>.
/// </summary>
/// <param name="Principal">The clerk or terminal.</param>
/// <param name="Factor">2–10.</param>
/// <param name="Until">When the raise ends (ledger time).</param>
public sealed record QuotaRaise(Principal Principal, int Factor, DateTimeOffset Until);

/// <summary>
/// The quota raises in force (table <c>quota_raises</c>, migration <c>approvals-002</c>), set only by the
/// <c>raise-quota</c> privileged action (four eyes, docs/access.md §7). What a security office means by "raising a quota":
/// letting one named clerk or terminal read more distinct subscribers than the monitor's hard limits allow, for a few
/// hours, for a stated reason (a store's migration day, a recall campaign) — instead of raising the limits for everyone.
/// The live monitor asks <see cref="FactorFor"/> on every read (<see cref="DistinctSubjectsDetector.LimitFactor"/>); it answers
/// from memory and re-reads the table when its copy is older than <see cref="RecheckInterval"/>, so a raise approved in
/// another process applies within a second, and after restarts. Thread-safe.
/// </summary>
/// <param name="db">The database.</param>
/// <param name="time">Clock for the re-check interval and the raise's start.</param>
public sealed partial class QuotaRaises(CustodianDatabase db, TimeProvider time)
{
    /// <summary>Longest age of the in-memory copy: 1 second.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(1);

    private sealed record Snapshot(FrozenDictionary<Principal, QuotaRaise> Raises, DateTimeOffset ReadAt);

    private Snapshot? _snapshot;

    /// <summary>
    /// Parses a <c>raise-quota</c> target: <c>&lt;clerk|terminal&gt;:&lt;code&gt;:x&lt;factor&gt;:&lt;hours&gt;h</c>, e.g.
    /// <c>clerk:C0042:x2:8h</c> — factor 2–10, 1–24 hours (at most one working day, like a staff session's 12-hour lifetime
    /// doubled for a late shift).
    /// </summary>
    /// <param name="target">The target text.</param>
    /// <returns>The principal, factor and duration, or null when malformed or out of range.</returns>
    public static (Principal Principal, int Factor, TimeSpan Duration)? Parse(string? target)
    {
        var match = TargetPattern().Match(target ?? string.Empty);
        if (!match.Success || !PrincipalKinds.TryParse(match.Groups[1].Value, out var kind) || !Codes.IsValid(match.Groups[2].Value))
        {
            return null;
        }

        var factor = int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
        var hours = int.Parse(match.Groups[4].Value, CultureInfo.InvariantCulture);
        return factor is >= 2 and <= 10 && hours is >= 1 and <= 24
            ? (new Principal(kind, match.Groups[2].Value), factor, TimeSpan.FromHours(hours))
            : null;
    }

    /// <summary>The factor in force for <paramref name="principal"/> at ledger time <paramref name="nowMs"/> (Unix ms): 1 when none.</summary>
    public int FactorFor(Principal principal, long nowMs) =>
        Current().Raises.TryGetValue(principal, out var raise) && raise.Until.ToUnixTimeMilliseconds() > nowMs ? raise.Factor : 1;

    /// <summary>The raises not yet ended, by principal.</summary>
    public IReadOnlyList<QuotaRaise> Active
    {
        get
        {
            var now = time.GetUtcNow();
            return [.. Current().Raises.Values.Where(r => r.Until > now).OrderBy(r => r.Principal.ToString(), StringComparer.Ordinal)];
        }
    }

    /// <summary>Puts a raise in force from now (replacing any earlier raise of the same principal).</summary>
    /// <param name="principal">The clerk or terminal.</param>
    /// <param name="factor">2–10.</param>
    /// <param name="duration">1–24 hours.</param>
    /// <param name="requestId">The approved request.</param>
    /// <param name="officer">The approving officer.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The raise.</returns>
    public async Task<QuotaRaise> SetAsync(Principal principal, int factor, TimeSpan duration, string requestId, string officer, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(factor, 10);
        var raise = new QuotaRaise(principal, factor, time.GetUtcNow() + duration);
        await using (var connection = await db.OpenAsync(cancellationToken))
        await using (var command = connection.Command(
            """
            INSERT INTO quota_raises (principal_kind, principal_id, factor, until_ms, request_id, approved_by)
            VALUES (@kind, @id, @factor, @until, @request, @by)
            ON CONFLICT (principal_kind, principal_id) DO UPDATE SET factor = excluded.factor, until_ms = excluded.until_ms, request_id = excluded.request_id, approved_by = excluded.approved_by
            """,
            ("@kind", principal.Kind.ToName()),
            ("@id", principal.Id),
            ("@factor", factor),
            ("@until", raise.Until.ToUnixTimeMilliseconds()),
            ("@request", requestId),
            ("@by", officer)))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        Volatile.Write(ref _snapshot, null); // re-read on next use
        return raise;
    }

    /// <summary>Makes <paramref name="detector"/> apply the raises (<see cref="DistinctSubjectsDetector.LimitFactor"/>).</summary>
    /// <param name="detector">The live monitor's hard-limit detector.</param>
    /// <param name="services">Where <see cref="QuotaRaises"/> is registered.</param>
    /// <returns><paramref name="detector"/>.</returns>
    public static DistinctSubjectsDetector Honour(DistinctSubjectsDetector detector, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(detector);
        detector.LimitFactor = services.GetRequiredService<QuotaRaises>().FactorFor;
        return detector;
    }

    private Snapshot Current()
    {
        var now = time.GetUtcNow();
        if (Volatile.Read(ref _snapshot) is { } cached && now - cached.ReadAt < RecheckInterval)
        {
            return cached;
        }

        // A tiny table read synchronously, at most once per second of the clock.
        var raises = new Dictionary<Principal, QuotaRaise>();
        using (var connection = db.Open())
        using (var command = connection.Command("SELECT principal_kind, principal_id, factor, until_ms FROM quota_raises WHERE until_ms > @now", ("@now", now.ToUnixTimeMilliseconds())))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                if (PrincipalKinds.TryParse(reader.GetString(0), out var kind))
                {
                    var principal = new Principal(kind, reader.GetString(1));
                    raises[principal] = new QuotaRaise(principal, reader.GetInt32(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
                }
            }
        }

        var fresh = new Snapshot(raises.ToFrozenDictionary(), now);
        Volatile.Write(ref _snapshot, fresh);
        return fresh;
    }

    [GeneratedRegex("^(clerk|terminal):([^:]+):x([0-9]{1,2}):([0-9]{1,2})h$", RegexOptions.CultureInvariant)]
    private static partial Regex TargetPattern();
}

/// <summary>
/// <c>raise-quota</c>: target <c>&lt;clerk|terminal&gt;:&lt;code&gt;:x&lt;2-10&gt;:&lt;1-24&gt;h</c> (<see cref="QuotaRaises.Parse"/>),
/// e.g. <c>clerk:C0042:x2:8h</c>. Refused at request time when malformed, or when the clerk is not an active account or
/// the terminal is not an active terminal. On approval the raise is in force from that moment for the hours given.
/// </summary>
/// <param name="raises">The raises.</param>
/// <param name="staff">Staff accounts, to check a clerk target.</param>
/// <param name="terminals">Terminals, to check a terminal target.</param>
/// <param name="logger">Logger (event 5404).</param>
public sealed class RaiseQuotaAction(QuotaRaises raises, StaffDirectory staff, TerminalRegistry terminals, ILogger<RaiseQuotaAction> logger) : IPrivilegedAction
{
    /// <inheritdoc />
    public string ActionName => "raise-quota";

    /// <inheritdoc />
    public async Task<CustodianError?> ValidateAsync(string target, CancellationToken cancellationToken)
    {
        if (QuotaRaises.Parse(target) is not { } parsed)
        {
            return PrivilegedActionRefusals.MalformedTarget("must be <clerk|terminal>:<code>:x<2-10>:<1-24>h, e.g. clerk:C0042:x2:8h");
        }

        var active = parsed.Principal.Kind == PrincipalKind.Clerk
            ? await staff.GetAsync(parsed.Principal.Id) is { Status: StaffAccountStatus.Active, Role: StaffRole.Clerk or StaffRole.StoreManager }
            : await terminals.GetAsync(parsed.Principal.Id) is { Status: TerminalState.Active };
        return active ? null : new CustodianError(ErrorCodes.ValidationFailed, 400, parsed.Principal.Kind == PrincipalKind.Clerk
            ? "target: must name an active clerk or store manager account"
            : "target: must name an active terminal");
    }

    /// <inheritdoc />
    public async Task<Result<string>> ExecuteAsync(PrivilegedRequest request, string approver, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (principal, factor, duration) = QuotaRaises.Parse(request.Target)!.Value;
        var raise = await raises.SetAsync(principal, factor, duration, request.Id, approver, cancellationToken);
        FourEyesLog.QuotaRaised(logger, principal.ToString(), factor, raise.Until, request.RequestedBy, approver);
        return string.Create(CultureInfo.InvariantCulture, $"Limits of {principal} raised {factor}x until {raise.Until:yyyy-MM-ddTHH:mm:ssZ}.");
    }
}
