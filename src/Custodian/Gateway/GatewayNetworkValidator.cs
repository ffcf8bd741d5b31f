using Custodian.Access.Terminals;
using Custodian.Identity;
using Microsoft.Extensions.Options;

namespace Custodian.Gateway;

/// <summary>
/// Validates the network parts of <see cref="GatewayOptions"/> at start: proxies are IP addresses, networks are CIDRs,
/// zones are named by store codes and have at least one network, hours are <c>HH:mm-HH:mm</c>, task classes name
/// trust classes. Each failure names the setting and the rule, never only "invalid"; a bad entry of a list is named by its
/// key with its index (<c>Gateway:VdiNetworks:1: …</c>), as its environment variable is (<c>Custodian__Gateway__VdiNetworks__1</c>).
/// </summary>
public sealed class GatewayNetworkValidator : IValidateOptions<GatewayOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var (proxy, index) in options.TrustedProxies.Select((p, i) => (p, i)))
        {
            if (!System.Net.IPAddress.TryParse(proxy, out _))
            {
                failures.Add($"Gateway:TrustedProxies:{index}: not an IP address."); // never the value // the entry's key: Custodian__Gateway__TrustedProxies__<index>
            }
        }

        Networks(options.TrustedProxyNetworks, "Gateway:TrustedProxyNetworks");
        Networks(options.VdiNetworks, "Gateway:VdiNetworks");
        foreach (var (store, zone) in options.Zones)
        {
            if (!Codes.IsValid(store))
            {
                failures.Add($"Gateway:Zones: '{store}' is not a store code.");
            }

            if (zone.Networks.Count == 0)
            {
                failures.Add($"Gateway:Zones:{store}:Networks: at least one network (CIDR) is required.");
            }

            Networks(zone.Networks, $"Gateway:Zones:{store}:Networks");
            if (zone.Hours is not null)
            {
                try
                {
                    NetworkPolicy.ParseHours(zone.Hours);
                }
                catch (FormatException e)
                {
                    failures.Add($"Gateway:Zones:{store}:Hours: {e.Message}");
                }
            }
        }

        foreach (var (task, classes) in options.TaskClasses)
        {
            if (classes.Count == 0 || classes.Any(c => !TrustClasses.TryParse(c, out _)))
            {
                failures.Add($"Gateway:TaskClasses:{task}: list one or more of store-terminal, vdi-host.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Networks(IEnumerable<string> values, string setting)
        {
            foreach (var (value, index) in values.Select((v, i) => (v, i)))
            {
                if (!NetworkPolicy.TryParseNetwork(value, out _))
                {
                    failures.Add($"{setting}:{index}: not a CIDR network such as 10.1.0.0/24 (host bits must be zero)."); // never the value
                }
            }
        }
    }
}
