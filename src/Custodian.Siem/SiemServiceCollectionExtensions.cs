using Custodian.Siem.Export;
using Custodian.Siem.Ocsf;
using Custodian.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Siem;

/// <summary>Registration of the SIEM export.</summary>
public static class SiemServiceCollectionExtensions
{
    /// <summary>
    /// Registers the mapper, cursor store, exporter and the <c>siem-001</c> migration. Needs an
    /// <see cref="ISubjectTokenizer"/>, the ledger reader, the alert store, the database and a <see cref="TimeProvider"/>
    /// registered elsewhere. The background service is added separately (<see cref="AddSiemExportService"/>).
    /// </summary>
    public static IServiceCollection AddSiemExport(this IServiceCollection services)
    {
        services.AddSingleton<OcsfMapper>();
        services.AddSingleton<SiemCursorStore>();
        services.AddSingleton<SiemExporter>();
        services.AddSingleton<IMigrationSource, SiemMigrations>();
        return services;
    }

    /// <summary>Adds the background export with validated <paramref name="options"/> when they are enabled; does nothing otherwise.</summary>
    public static IServiceCollection AddSiemExportService(this IServiceCollection services, SiemExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Enabled)
        {
            services.AddSingleton(options);
            services.AddHostedService<SiemExportService>();
        }

        return services;
    }
}
