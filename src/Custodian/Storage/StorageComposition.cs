using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Ledger.Postgres;
using Custodian.Problems;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Custodian.Storage;

/// <summary>
/// Chooses the storage backend from <see cref="CustodianOptions.Storage"/> / <see cref="CustodianOptions.StorageFile"/>
/// (docs/storage.md): the embedded SQLite default registered by <see cref="CustodianComposition.AddCustodianCore"/>, or
/// PostgreSQL, for which the database, the ledger writer and the ledger proofs are replaced by their PostgreSQL
/// implementations. Everything else runs the same portable SQL on either.
/// </summary>
public static class StorageComposition
{
    /// <summary>Error code when <see cref="CustodianOptions.StorageFile"/> cannot be used.</summary>
    public const string StorageFileInvalid = "storage-file-invalid";

    /// <summary>
    /// Resolves the configured backend: <see cref="CustodianOptions.StorageFile"/> (a file holding the value, e.g. a
    /// mounted secret, trimmed) when set, else <see cref="CustodianOptions.Storage"/>.
    /// </summary>
    /// <param name="options">The options.</param>
    /// <returns>The settings, or an error naming the setting and the rule (never the value).</returns>
    public static Result<StorageSettings> Resolve(CustodianOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.StorageFile))
        {
            return StorageSettings.Parse(options.Storage);
        }

        if (StorageSettings.Parse(options.Storage) is not { IsSuccess: true, Value.IsSqlite: true })
        {
            return new CustodianError(StorageFileInvalid, 400, "Custodian:Storage and Custodian:StorageFile are both set; set one.");
        }

        string text;
        try
        {
            text = File.ReadAllText(options.StorageFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new CustodianError(StorageFileInvalid, 400, "Custodian:StorageFile names a file that cannot be read.");
        }

        return StorageSettings.Parse(text);
    }

    /// <summary>
    /// Registers <see cref="StorageSettings"/> and, for PostgreSQL, replaces the SQLite registrations of
    /// <see cref="CustodianDatabase"/>, <see cref="IAccessLedger"/>, <see cref="IAccessLedgerReader"/> and
    /// <see cref="ILedgerProofs"/>. Resolving the SQLite ledger writer itself (<see cref="SqliteAccessLedger"/>) there throws
    /// <see cref="StorageFeatureUnavailableException"/>; ledger retention uses whichever <see cref="IAccessLedger"/> is registered.
    /// </summary>
    /// <param name="services">The collection, after the SQLite defaults are registered.</param>
    /// <param name="options">Validated options.</param>
    /// <returns>The same collection.</returns>
    /// <exception cref="InvalidOperationException">When the storage setting is invalid (validation should have stopped the start first).</exception>
    public static IServiceCollection AddStorageBackend(this IServiceCollection services, CustodianOptions options)
    {
        var resolved = Resolve(options);
        if (!resolved.IsSuccess)
        {
            throw new InvalidOperationException("invalid configuration: " + resolved.Error!.Message);
        }

        var settings = resolved.Value!;
        services.AddSingleton(settings);
        if (settings.IsSqlite)
        {
            return services;
        }

        services.Replace(ServiceDescriptor.Singleton(_ => CustodianDatabase.ForPostgres(settings)));
        services.AddSingleton<PostgresAccessLedger>();
        services.Replace(ServiceDescriptor.Singleton<IAccessLedger>(sp => sp.GetRequiredService<PostgresAccessLedger>()));
        services.Replace(ServiceDescriptor.Singleton<IAccessLedgerReader>(sp => sp.GetRequiredService<PostgresAccessLedger>()));
        services.Replace(ServiceDescriptor.Singleton<ILedgerProofs>(sp => new LedgerProofs(sp.GetRequiredService<CustodianDatabase>(), sp.GetRequiredService<PostgresAccessLedger>())));
        services.Replace(ServiceDescriptor.Singleton<SqliteAccessLedger>(_ => throw StorageFeatureUnavailableException.For("the SQLite ledger writer")));
        return services;
    }
}
