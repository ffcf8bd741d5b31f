using Microsoft.AspNetCore.Connections.Features;

namespace Custodian.Gateway;

/// <summary>
/// Which Kestrel listener a request arrived on. Tagged per connection (not from the Host header,
/// which a client controls) so that terminal-only routes cannot be reached through the portal port.
/// </summary>
public static class Listeners
{
    /// <summary>Connection item key.</summary>
    public const string ItemKey = "custodian.listener";

    /// <summary>The sales-terminal API listener (mutual TLS).</summary>
    public const string Terminal = "terminal";

    /// <summary>The subscriber portal listener.</summary>
    public const string Portal = "portal";

    /// <summary>The listener of <paramref name="context"/>'s connection, or null when untagged (test servers).</summary>
    public static string? Of(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ItemKey, out var value) == true ? value as string : null;
}
