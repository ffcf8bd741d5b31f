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
}

/// <summary>Source-generated validator of <see cref="GatewayOptions"/>.</summary>
[OptionsValidator]
public sealed partial class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
}
