using System.CommandLine;
using Custodian.Hosting;

namespace Custodian.Cli;

/// <summary>The storage setting on the command line (<c>serve --storage</c>) and for the administrative verbs (environment only).</summary>
internal static class StorageCli
{
    /// <summary><c>--storage</c>: overrides <c>Custodian__Storage</c> and <c>Custodian__StorageFile</c>; an empty or blank value is a parse error (exit 1, <c>error: --storage must not be empty</c>).</summary>
    public static Option<string?> StorageOption() => new Option<string?>("--storage")
    {
        Description = "Storage backend: 'sqlite' (default, the data directory's file), a postgres://user:password@host:port/database URL, or an Npgsql connection string. Default: $Custodian__Storage (or the file named by $Custodian__StorageFile).",
    }.NotEmpty(); // an empty value is refused (exit 1), never taken for the default

    /// <summary>Applies <c>--storage</c> when given.</summary>
    public static void ApplyOverride(CustodianOptions options, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            options.Storage = value;
            options.StorageFile = null;
        }
    }

    /// <summary>Binds <c>Custodian__Storage</c> and <c>Custodian__StorageFile</c> for the administrative verbs, so that they use the server's database.</summary>
    public static void BindFromEnvironment(CustodianOptions options)
    {
        var section = new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(CustodianOptions.Section);
        options.Storage = section[nameof(CustodianOptions.Storage)] ?? options.Storage;
        options.StorageFile = section[nameof(CustodianOptions.StorageFile)] ?? options.StorageFile;
    }

    /// <summary>Proves a configured PostgreSQL reachable with the credentials given (nothing to do for SQLite).</summary>
    /// <exception cref="Storage.StorageUnavailableException">With a one-line reason.</exception>
    public static async Task CheckAvailableAsync(CustodianOptions options, CancellationToken cancellationToken)
    {
        if (Storage.StorageComposition.Resolve(options) is { IsSuccess: true, Value: { IsSqlite: false } settings })
        {
            await using var db = Storage.CustodianDatabase.ForPostgres(settings);
            await db.CheckAvailableAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Whether the data directory was initialised: it holds a storage record (<see cref="StorageRecord"/>), or, initialised
    /// before the record existed, its SQLite database or its keyring.
    /// </summary>
    public static bool IsInitialised(DataPaths paths) => StorageRecord.Read(paths) is not null;

    /// <summary>Refuses a configured storage backend other than the one the data directory was initialised for (docs/storage.md).</summary>
    /// <exception cref="CliException">One line naming the recorded and the configured backend (exit 2).</exception>
    public static void CheckRecorded(DataPaths paths, CustodianOptions options)
    {
        if (Storage.StorageComposition.Resolve(options) is { IsSuccess: true, Value: { } settings } && StorageRecord.Check(paths, settings) is { } problem)
        {
            throw new CliException(problem);
        }
    }
}
