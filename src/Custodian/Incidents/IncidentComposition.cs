using Custodian.Storage;

namespace Custodian.Incidents;

/// <summary>Registers incident response (docs/incidents.md).</summary>
public static class IncidentComposition
{
    /// <summary>
    /// Adds <see cref="IncidentMigrations"/>, <see cref="IncidentStore"/>, <see cref="IncidentScopeProjector"/>, <see cref="IncidentScoper"/>, <see cref="IncidentService"/> and <see cref="Claims.ClaimService"/>.
    /// Needs the core services (<c>AddCustodianCore</c>: database, ledger, alert store, tokenizer, SMS seam, review options),
    /// and must be called after the ledger's migrations are registered (its migrations read <c>ledger_entries</c>). The background
    /// <see cref="IncidentScopeProjectorService"/> is added by the server (<c>CustodianServer</c>), not here.
    /// </summary>
    /// <param name="services">The collection.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddCustodianIncidents(this IServiceCollection services)
    {
        services.AddSingleton<IMigrationSource, IncidentMigrations>();
        services.AddSingleton<IncidentStore>();
        services.AddSingleton<IncidentScopeProjector>();
        services.AddSingleton<IncidentScoper>();
        services.AddSingleton<IncidentService>();
        services.AddSingleton<Claims.ClaimService>();
        return services;
    }
}
