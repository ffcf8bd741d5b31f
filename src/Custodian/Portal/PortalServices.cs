using Custodian.Storage;

namespace Custodian.Portal;

/// <summary>Registers the subscriber portal's services (docs/portal.md).</summary>
public static class PortalServices
{
    /// <summary>Adds the portal tables' migrations and <see cref="SubscriberInbox"/>.</summary>
    /// <param name="services">The collection.</param>
    /// <returns>The collection.</returns>
    public static IServiceCollection AddSubscriberPortal(this IServiceCollection services)
    {
        services.AddSingleton<IMigrationSource, PortalMigrations>();
        services.AddSingleton<SubscriberInbox>();
        services.AddSingleton<PortalCodeQueue>();
        return services;
    }

    /// <summary>Adds the portal's hosted services to the server: <see cref="PortalCodeDispatcher"/>.</summary>
    /// <param name="services">The server's collection (after <see cref="AddSubscriberPortal"/>).</param>
    /// <returns>The collection.</returns>
    public static IServiceCollection AddSubscriberPortalHosting(this IServiceCollection services)
    {
        services.AddHostedService<PortalCodeDispatcher>();
        return services;
    }
}
