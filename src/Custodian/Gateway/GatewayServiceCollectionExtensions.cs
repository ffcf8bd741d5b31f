using Microsoft.Extensions.Options;

namespace Custodian.Gateway;

/// <summary>Registers the access gateway's settings (docs/access.md).</summary>
public static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="GatewayOptions"/> from <c>Custodian:Gateway</c> in <paramref name="configuration"/> and validates
    /// them at start (<c>ValidateOnStart</c>): a bad value stops the server with the failing field named.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="configuration">The application's configuration.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddCustodianGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatewayOptions>()
            .Bind(configuration.GetSection(Hosting.CustodianOptions.Section).GetSection(GatewayOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayNetworkValidator>();
        services.AddSingleton(sp => new NetworkPolicy(sp.GetRequiredService<IOptions<GatewayOptions>>().Value));
        return services;
    }
}
