using Custodian.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Custodian.Monitoring;

/// <summary>Registers the monitoring capability in a host.</summary>
public static class MonitoringServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="MonitorOptions"/> (bound from <paramref name="configuration"/> when given, validated by
    /// <see cref="MonitorOptionsValidator"/> on start), <see cref="DistinctSubjectsDetector"/>, <see cref="AlertStore"/>,
    /// <see cref="SuspensionRegistry"/>, <see cref="AccessMonitor"/> (singleton and hosted service) and
    /// <see cref="MonitoringMigrations"/> as an <see cref="IMigrationSource"/>. The host registers
    /// <see cref="CustodianDatabase"/>, <see cref="TimeProvider"/>, <c>IAccessEventStream</c>, <c>IAccessLedger</c>
    /// and <c>IAccessLedgerReader</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section shaped like <see cref="MonitorOptions"/> (e.g. <c>Custodian:Monitoring</c>);
    /// when it lists <c>Windows</c>, they replace the defaults instead of being appended to them.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddCustodianMonitoring(this IServiceCollection services, IConfiguration? configuration = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<MonitorOptions>();
        if (configuration is not null)
        {
            options.Configure(o => Bind(o, configuration));
        }

        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<MonitorOptions>, MonitorOptionsValidator>();
        services.AddSingleton(sp => new DistinctSubjectsDetector(sp.GetRequiredService<IOptions<MonitorOptions>>().Value));
        services.AddSingleton<AlertStore>();
        services.AddSingleton<SuspensionRegistry>();
        services.AddSingleton<AccessMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<AccessMonitor>());
        services.AddSingleton<IMigrationSource, MonitoringMigrations>();
        return services;
    }

    /// <summary>
    /// Binds <paramref name="configuration"/> onto <paramref name="options"/>, replacing (not appending to) the default
    /// <see cref="MonitorOptions.Windows"/> when the section lists windows.
    /// </summary>
    public static void Bind(MonitorOptions options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration.GetSection(nameof(MonitorOptions.Windows)).GetChildren().Any())
        {
            options.Windows.Clear();
        }

        configuration.Bind(options);
    }
}
