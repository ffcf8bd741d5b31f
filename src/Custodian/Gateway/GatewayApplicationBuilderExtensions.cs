using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Custodian.Gateway;

/// <summary>The gateway's pipeline steps in front of device trust (docs/access.md §3).</summary>
public static class GatewayApplicationBuilderExtensions
{
    /// <summary>
    /// Adds, in order: forwarded headers from the configured trusted proxies only (<see cref="GatewayOptions.TrustedProxies"/>,
    /// <see cref="GatewayOptions.TrustedProxyNetworks"/>; the built-in loopback defaults are cleared, and with none configured
    /// the middleware is not added at all, so <c>X-Forwarded-For</c> is ignored), then <see cref="RequestLimitsMiddleware"/>.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <returns>The same application.</returns>
    /// <exception cref="InvalidOperationException">When the <c>Custodian:Gateway</c> settings are invalid (the message names each failing setting).</exception>
    public static WebApplication UseAccessGatewayEdge(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        GatewayOptions options;
        NetworkPolicy policy;
        try
        {
            options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
            policy = app.Services.GetRequiredService<NetworkPolicy>();
        }
        catch (OptionsValidationException e)
        {
            // One line for 'serve' (CliException-style), naming every failing setting.
            throw new InvalidOperationException("invalid gateway configuration: " + string.Join(" ", e.Failures), e);
        }

        if (!policy.ZonesEnforced)
        {
            // Said once the server has started, not while it is being built: a start that a configuration error stops later
            // (a changed masking policy, a wrong master key) prints that one-line error and nothing else.
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<NetworkPolicy>();
            app.Lifetime.ApplicationStarted.Register(() => GatewayLog.ZonesOff(logger));
        }

        if (options.TrustedProxies.Count > 0 || options.TrustedProxyNetworks.Count > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor, ForwardLimit = 1 };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in options.TrustedProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in options.TrustedProxyNetworks)
            {
                forwarded.KnownIPNetworks.Add(NetworkPolicy.ParseNetwork(network));
            }

            app.UseForwardedHeaders(forwarded);
        }

        app.UseMiddleware<RequestLimitsMiddleware>();
        return app;
    }
}
