using System.Globalization;
using System.Net;
using Custodian.Access.Certificates;
using Custodian.Access.Terminals;
using Custodian.Problems;

namespace Custodian.Gateway;

/// <summary>
/// The parsed, immutable form of <see cref="GatewayOptions"/>' zones, hours and task classes, and the decisions made
/// from them. Pure: no I/O; the clock and the client address are arguments. Thread-safe.
/// </summary>
public sealed class NetworkPolicy
{
    private readonly Dictionary<string, StoreZone> _zones;
    private readonly IPNetwork[] _vdi;
    private readonly Dictionary<string, TrustClass[]> _taskClasses;
    private readonly TimeSpan _offset;
    private readonly TimeSpan _stepUpWindow;

    /// <summary>Parses <paramref name="options"/>.</summary>
    /// <param name="options">Validated options (<see cref="GatewayNetworkValidator"/>).</param>
    /// <exception cref="FormatException">When a network, hours or class is malformed (the validator reports these at start).</exception>
    public NetworkPolicy(GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _zones = options.Zones.ToDictionary(
            z => z.Key,
            z => new StoreZone([.. z.Value.Networks.Select(ParseNetwork)], z.Value.Hours is null ? null : ParseHours(z.Value.Hours), z.Value.OutsideHours),
            StringComparer.Ordinal);
        _vdi = [.. options.VdiNetworks.Select(ParseNetwork)];
        _taskClasses = options.TaskClasses.ToDictionary(
            t => t.Key,
            t => t.Value.Select(c => TrustClasses.TryParse(c, out var parsed) ? parsed : throw new FormatException($"Gateway:TaskClasses:{t.Key}: not a trust class (store-terminal or vdi-host).")).ToArray(),
            StringComparer.Ordinal);
        _offset = options.LocalTimeOffset;
        _stepUpWindow = options.StepUpWindow;
    }

    /// <summary>Whether network zones are enforced: true once any store zone or VDI network is configured.</summary>
    public bool ZonesEnforced => _zones.Count > 0 || _vdi.Length > 0;

    /// <summary>
    /// The zone decision for a validated device connecting from <paramref name="address"/>: a VDI host must come from a VDI
    /// network; a store terminal from one of its store's networks (and never from a VDI network).
    /// </summary>
    /// <param name="device">The validated device.</param>
    /// <param name="address">The client address (after trusted-proxy processing), or null when unknown.</param>
    /// <returns>Null when allowed, else <see cref="GatewayErrorCodes.NetworkZoneRefused"/> (403).</returns>
    public CustodianError? CheckZone(DeviceIdentity device, IPAddress? address)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (!ZonesEnforced)
        {
            return null;
        }

        var ip = address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
        if (device.TrustClass == TrustClass.VdiHost)
        {
            return ip is not null && _vdi.Any(n => n.Contains(ip)) ? null : Refused("VDI hosts may connect only from the VDI zone's networks.");
        }

        if (ip is not null && _vdi.Any(n => n.Contains(ip)))
        {
            return Refused("Store terminals may not connect from the VDI zone.");
        }

        if (!_zones.TryGetValue(device.Store, out var zone))
        {
            return Refused("The terminal's store has no network zone configured; access is refused by default.");
        }

        return ip is not null && zone.Networks.Any(n => n.Contains(ip)) ? null : Refused("The request comes from outside the network zone of the terminal's store.");
    }

    /// <summary>
    /// The opening-hours decision for a store terminal at <paramref name="now"/>. VDI hosts and stores without hours are
    /// always open.
    /// </summary>
    /// <param name="device">The validated device.</param>
    /// <param name="now">The current time.</param>
    /// <param name="sessionSignedInAt">When the presented session was signed in, or null when the request carries no valid session.</param>
    /// <returns>Null when allowed; <see cref="GatewayErrorCodes.OutsideOpeningHours"/> (403) or <see cref="GatewayErrorCodes.StepUpRequired"/> (401).</returns>
    public CustodianError? CheckHours(DeviceIdentity device, DateTimeOffset now, DateTimeOffset? sessionSignedInAt)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.TrustClass == TrustClass.VdiHost || !_zones.TryGetValue(device.Store, out var zone) || zone.Hours is not { } hours)
        {
            return null;
        }

        var local = now.ToOffset(_offset).TimeOfDay;
        var open = hours.Open <= hours.Close ? local >= hours.Open && local < hours.Close : local >= hours.Open || local < hours.Close;
        if (open)
        {
            return null;
        }

        if (zone.OutsideHours == OutsideHoursMode.Refuse)
        {
            return new CustodianError(GatewayErrorCodes.OutsideOpeningHours, 403, "The store is closed; its terminals cannot reach personal data outside opening hours.");
        }

        // Step-up: a request without a valid session goes on (sign-in pages and the sign-in call are how one steps up;
        // everything else is refused downstream for want of a session).
        return sessionSignedInAt is { } signedIn && now - signedIn > _stepUpWindow
            ? new CustodianError(GatewayErrorCodes.StepUpRequired, 401, $"The store is closed: outside opening hours a session must have signed in (password and one-time code) within the last {_stepUpWindow.TotalMinutes:0} minutes. Sign in again.")
            : null;
    }

    /// <summary>The trust-class decision for doing <paramref name="task"/> from <paramref name="device"/>.</summary>
    /// <param name="device">The validated device.</param>
    /// <param name="task">The ledger task name the endpoint performs (<c>unmask</c>, <c>export</c>, …).</param>
    /// <returns>Null when allowed, else <see cref="GatewayErrorCodes.TrustClassRequired"/> (403).</returns>
    public CustodianError? CheckTaskClass(DeviceIdentity device, string task)
    {
        ArgumentNullException.ThrowIfNull(device);
        return _taskClasses.TryGetValue(task, out var classes) && !classes.Contains(device.TrustClass)
            ? new CustodianError(GatewayErrorCodes.TrustClassRequired, 403, $"'{task}' may be done only from a {string.Join(" or ", classes.Select(c => c.ToName()))}, not from a {device.TrustClass.ToName()}.")
            : null;
    }

    /// <summary>Parses a CIDR network (IPv4 or IPv6), e.g. <c>10.1.0.0/24</c>.</summary>
    /// <exception cref="FormatException">When malformed or with host bits set.</exception>
    internal static IPNetwork ParseNetwork(string cidr) =>
        TryParseNetwork(cidr, out var network) ? network : throw new FormatException("not a CIDR network such as 10.1.0.0/24 (host bits must be zero).");

    /// <summary>Parses a CIDR network, refusing one whose address has host bits set (<c>10.0.0.1/8</c> is a typo for <c>10.0.0.0/8</c> or <c>10.0.0.1/32</c>).</summary>
    internal static bool TryParseNetwork(string? cidr, out IPNetwork network)
    {
        network = default;
        var slash = cidr?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        return slash > 0
            && IPNetwork.TryParse(cidr, out network)
            && IPAddress.TryParse(cidr.AsSpan(0, slash), out var address)
            && network.BaseAddress.Equals(address);
    }

    /// <summary>Parses <c>HH:mm-HH:mm</c>.</summary>
    /// <exception cref="FormatException">When malformed or empty (start equal to end).</exception>
    internal static (TimeSpan Open, TimeSpan Close) ParseHours(string hours)
    {
        var parts = hours.Split('-');
        if (parts.Length != 2
            || !TimeSpan.TryParseExact(parts[0].Trim(), @"hh\:mm", CultureInfo.InvariantCulture, out var open)
            || !TimeSpan.TryParseExact(parts[1].Trim(), @"hh\:mm", CultureInfo.InvariantCulture, out var close)
            || open == close || open >= TimeSpan.FromDays(1) || close >= TimeSpan.FromDays(1))
        {
            throw new FormatException("not opening hours such as 09:00-21:00.");
        }

        return (open, close);
    }

    private static CustodianError Refused(string message) => new(GatewayErrorCodes.NetworkZoneRefused, 403, message);

    private sealed record StoreZone(IPNetwork[] Networks, (TimeSpan Open, TimeSpan Close)? Hours, OutsideHoursMode OutsideHours);
}
