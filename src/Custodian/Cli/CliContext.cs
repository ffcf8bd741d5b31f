using Custodian.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>
/// Opens the data directory for an administrative verb: the same service registrations as the
/// server (storage, keys, ledger), without the network. Admin verbs act on the data directory
/// directly, so they must run on the server host with access to it; the server picks up their
/// changes (revocations, restores) within a second.
/// </summary>
internal sealed class CliContext : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private CliContext(ServiceProvider services) => _services = services;

    public IServiceProvider Services => _services;

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Opens an initialised data directory, or throws <see cref="CliException"/> with a one-line message.</summary>
    public static async Task<CliContext> OpenAsync(string dataDirectory, bool initialiseIfMissing = false)
    {
        var options = new CustodianOptions { DataDirectory = dataDirectory };
        var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        ServeStartChecks.RefuseUnknownKeys(environment); // e.g. Custodian__Storag= would otherwise act on the SQLite file instead
        ConfigurationBinding.Bind(
            environment.GetSection(CustodianOptions.Section).GetSection(Protection.Masking.MaskingOptions.Section),
            options.Masking);
        StorageCli.BindFromEnvironment(options);
        EventsCli.BindFromEnvironment(options); // Custodian__Events: append through the JetStream event log (docs/events.md)
        InProcessServers.ApplyTo(options);
        var failures = CustodianOptionsValidator.ValidateAll(options);
        if (failures.Count > 0)
        {
            throw new CliException(string.Join(" ", failures));
        }

        var paths = DataPaths.For(dataDirectory);
        if (paths.CheckAccess() is { } problem)
        {
            throw new CliException(problem);
        }

        if (!StorageCli.IsInitialised(paths, options) && !initialiseIfMissing)
        {
            throw new CliException($"No Custodian data directory at {paths.Root}: run 'custodian init' or 'custodian serve' first (or pass --data).");
        }

        var services = new ServiceCollection();
        services.AddLogging(l => l.AddFilter(_ => false));
        services.AddCustodianCore(options, TimeProvider.System);
        var provider = services.BuildServiceProvider();
        var context = new CliContext(provider);
        var officer = await CustodianComposition.InitialiseAsync(provider, enforceMaskingPolicy: false, CancellationToken.None);
        if (officer is not null)
        {
            CliOutput.PrintOfficer(officer);
        }

        return context;
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}

/// <summary>A CLI failure with a one-line message: exit code 2 when the operation failed, 1 when the arguments were wrong.</summary>
internal sealed class CliException(string message, int exitCode = 2) : Exception(message)
{
    /// <summary>The process exit code.</summary>
    public int ExitCode { get; } = exitCode;

    /// <summary>An argument error (exit code 1).</summary>
    public static CliException Usage(string message) => new(message, 1);
}

/// <summary>Shared console output.</summary>
internal static class CliOutput
{
    public static void PrintOfficer(Access.Staff.NewAccount officer)
    {
        // Plain lines: secrets and URIs must not be wrapped or styled by the console renderer.
        AnsiConsole.MarkupLine("[yellow bold]First start: security-officer account created. This is shown ONCE.[/]");
        Console.WriteLine($"  account:            {officer.Id}");
        Console.WriteLine($"  one-time password:  {officer.OneTimePassword}  (must be changed at first sign-in)");
        Console.WriteLine($"  TOTP secret:        {officer.TotpSecretBase32}");
        Console.WriteLine($"  TOTP URI:           {officer.OtpAuthUri}");
    }

    public static int Fail(string message, int exitCode = 2)
    {
        Console.Error.WriteLine("error: " + message);
        return exitCode;
    }
}
