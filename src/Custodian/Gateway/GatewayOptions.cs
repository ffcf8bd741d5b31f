using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Custodian.Gateway;

/// <summary>
/// Settings of the access gateway, bound from the <c>Custodian:Gateway</c> configuration section
/// (environment variables <c>Custodian__Gateway__MaxRequestHeaderBytes</c> etc., or <c>appsettings.json</c> in the
/// data directory). Validated at start: a bad value stops the server, not the first request (docs/access.md).
/// </summary>
public sealed class GatewayOptions
{
    /// <summary>Configuration section, below <c>Custodian</c>.</summary>
    public const string Section = "Gateway";

    /// <summary>
    /// Largest total size of a request's header names and values, in bytes, that reaches a handler; a larger
    /// request is refused with <c>headers-too-large</c> (431, RFC 6585 §5) and recorded as a security event.
    /// Kestrel itself drops requests over 32 KiB of headers before any middleware runs (not recorded).
    /// </summary>
    /// <value>The default is 16,384 bytes (16 KiB); allowed 1,024 to 32,768.</value>
    [Range(1024, 32 * 1024)]
    public int MaxRequestHeaderBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// IP addresses of reverse proxies whose <c>X-Forwarded-For</c> header is believed (ASP.NET Core forwarded headers,
    /// one hop). The client address of a request arriving from anywhere else is its TCP peer, whatever headers it sends.
    /// </summary>
    /// <value>The default is empty: no proxy is trusted and <c>X-Forwarded-For</c> is ignored.</value>
    public IList<string> TrustedProxies { get; } = [];

    /// <summary>Networks (CIDR, e.g. <c>10.0.5.0/24</c>) of reverse proxies whose <c>X-Forwarded-For</c> is believed, like <see cref="TrustedProxies"/>.</summary>
    /// <value>The default is empty.</value>
    public IList<string> TrustedProxyNetworks { get; } = [];

    /// <summary>
    /// Network zones of stores, by store code: the networks a store's terminals may connect from and its opening hours.
    /// Once any zone (or <see cref="VdiNetworks"/>) is configured, zones are enforced and a store without a zone is refused
    /// (deny by default); with none configured, network zones are off (a warning is logged at start).
    /// </summary>
    /// <value>The default is empty (zones off).</value>
    public IDictionary<string, StoreZoneOptions> Zones { get; } = new Dictionary<string, StoreZoneOptions>(StringComparer.Ordinal);

    /// <summary>The VDI zone: networks (CIDR) that VDI hosts connect from. A VDI host is refused from anywhere else, and a store terminal from here.</summary>
    /// <value>The default is empty.</value>
    public IList<string> VdiNetworks { get; } = [];

    /// <summary>
    /// Trust classes required per task, by ledger task name (<c>unmask</c>, <c>export</c>, <c>download</c>, <c>view</c>,
    /// <c>search</c>), e.g. <c>unmask = [vdi-host]</c> for "unmask an RRN only from VDI", <c>export = [vdi-host]</c> for
    /// "downloads never from store terminals". A task not listed may be done from any class.
    /// </summary>
    /// <value>The default is empty (no class requirement).</value>
    public IDictionary<string, IList<string>> TaskClasses { get; } = new Dictionary<string, IList<string>>(StringComparer.Ordinal);

    /// <summary>Offset of store local time from UTC for opening hours (Korea Standard Time, no daylight saving time).</summary>
    /// <value>The default is +09:00; allowed −14:00 to +14:00.</value>
    [Range(typeof(TimeSpan), "-14:00:00", "14:00:00")]
    public TimeSpan LocalTimeOffset { get; set; } = TimeSpan.FromHours(9);

    /// <summary>With <see cref="OutsideHoursMode.StepUp"/>: how recent the session's sign-in (password + TOTP) must be outside opening hours.</summary>
    /// <value>The default is 10 minutes; allowed 1 minute to 2 hours.</value>
    [Range(typeof(TimeSpan), "00:01:00", "02:00:00")]
    public TimeSpan StepUpWindow { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>What happens to a store terminal's request outside its store's opening hours.</summary>
public enum OutsideHoursMode
{
    /// <summary>Refused (<c>outside-opening-hours</c>, 403). Certificate renewal, the CA certificate and health checks still work.</summary>
    Refuse = 0,

    /// <summary>Allowed only on a session signed in (password + TOTP) within <see cref="GatewayOptions.StepUpWindow"/>; else <c>step-up-required</c> (401).</summary>
    StepUp = 1,
}

/// <summary>One store's network zone (<c>Custodian:Gateway:Zones:&lt;store&gt;</c>).</summary>
public sealed class StoreZoneOptions
{
    /// <summary>Networks (CIDR, IPv4 or IPv6) the store's terminals may connect from; at least one.</summary>
    public IList<string> Networks { get; } = [];

    /// <summary>Opening hours in local time (<see cref="GatewayOptions.LocalTimeOffset"/>) as <c>HH:mm-HH:mm</c>, e.g. <c>09:00-21:00</c>; an end before the start spans midnight.</summary>
    /// <value>The default is null: open around the clock.</value>
    public string? Hours { get; set; }

    /// <summary>What happens outside <see cref="Hours"/>.</summary>
    /// <value>The default is <see cref="OutsideHoursMode.Refuse"/>.</value>
    public OutsideHoursMode OutsideHours { get; set; } = OutsideHoursMode.Refuse;
}

/// <summary>Source-generated validator of <see cref="GatewayOptions"/>.</summary>
[OptionsValidator]
public sealed partial class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
}
