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
        return services;
    }
}
