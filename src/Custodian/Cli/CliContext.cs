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
    /// <exception cref="CliException">Invalid configuration; the directory unusable, not initialised, or initialised for another storage backend.</exception>
    /// <param name="dataDirectory">The data directory (<c>--data</c>).</param>
    /// <param name="startEventLog">
    /// False for a verb that only reads the ledger (<c>ledger verify</c>): the JetStream event log is not started, so no
    /// projector writes the tables meanwhile. True (default) for every other verb.
    /// </param>
    public static async Task<CliContext> OpenAsync(string dataDirectory, bool startEventLog = true)
    {
        var (options, paths) = Configure(dataDirectory);
        if (!StorageCli.IsInitialised(paths))
        {
            throw new CliException($"No Custodian data directory at {paths.Root}: run 'custodian init' or 'custodian serve' first (or pass --data).");
        }

        return await StartAsync(options, paths, FirstStart.Begin(paths), startEventLog);
    }

    /// <summary>
    /// <c>custodian init</c>: initialises a new data directory while holding its server lock; a failure removes what it
    /// created (<see cref="FirstStart"/>).
    /// </summary>
    /// <param name="dataDirectory">The data directory (<c>--data</c>).</param>
    /// <param name="storage"><c>init --storage</c>: overrides <c>Custodian__Storage</c> as <c>serve --storage</c> does; null keeps it.</param>
    /// <param name="events"><c>init --events</c>: overrides <c>Custodian__Events</c> as <c>serve --events</c> does; null keeps it.</param>
    /// <exception cref="CliException">Invalid configuration; the directory unusable, already initialised (naming its storage backend), or held by a server.</exception>
    public static async Task<CliContext> InitialiseAsync(string dataDirectory, string? storage = null, string? events = null)
    {
        var (options, paths) = Configure(dataDirectory, options =>
        {
            StorageCli.ApplyOverride(options, storage);
            EventsCli.ApplyOverride(options, events);
        });
        if (StorageRecord.Read(paths) is { } recorded)
        {
            throw new CliException($"the data directory {paths.Root} is already initialised (storage {recorded.Describe()}); init changed nothing.");
        }

        var firstStart = FirstStart.Begin(paths);
        paths.EnsureCreated();
        // Not rolled back when refused: what is there belongs to the server holding the lock.
        var serverLock = paths.TryHoldServerLock() ?? throw new CliException($"{paths.HeldByAnother}; init changed nothing."); // a server, or a second init, holds it
        await using (serverLock)
        {
            return await StartAsync(options, paths, firstStart);
        }
    }

    // Binds the verbs' configuration from the environment and checks it and the data directory.
    private static (CustodianOptions Options, DataPaths Paths) Configure(string dataDirectory, Action<CustodianOptions>? overrides = null)
    {
        var options = new CustodianOptions { DataDirectory = dataDirectory };
        var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        ServeStartChecks.RefuseUnknownKeys(environment); // e.g. Custodian__Storag= would otherwise act on the SQLite file instead
        ConfigurationBinding.Bind(
            environment.GetSection(CustodianOptions.Section).GetSection(Protection.Masking.MaskingOptions.Section),
            options.Masking);
        StorageCli.BindFromEnvironment(options);
        EventsCli.BindFromEnvironment(options); // Custodian__Events: append through the JetStream event log (docs/events.md)
        BindPasswordIterations(environment, options); // staff add, staff import and init hash passwords as serve does
        overrides?.Invoke(options); // init --storage / --events win over the environment, as for serve
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

        StorageCli.CheckRecorded(paths, options); // never a second database beside the deployment's (docs/storage.md)
        EventsCli.CheckRecorded(paths, options); // never the ledger tables written around the deployment's stream (docs/events.md)
        return (options, paths);
    }

    /// <summary>
    /// Binds <c>Custodian__PasswordIterations</c> alone from <paramref name="environment"/>, as <c>serve</c> binds it (the
    /// whole <c>Custodian</c> section), so that a password a verb sets (<c>init</c>'s first officer, <c>staff add</c>,
    /// <c>staff import</c>) is hashed with the deployment's PBKDF2 iteration count, not the default 600,000. A value that is no
    /// whole number is refused in the binder's one line; one out of range by <see cref="CustodianOptionsValidator"/>, as
    /// for serve.
    /// </summary>
    private static void BindPasswordIterations(IConfiguration environment, CustodianOptions options)
    {
        var key = $"{CustodianOptions.Section}:{nameof(CustodianOptions.PasswordIterations)}";
        if (environment[key] is { } value)
        {
            var only = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();
            ConfigurationBinding.Bind(only.GetSection(CustodianOptions.Section), options);
        }
    }

    private static async Task<CliContext> StartAsync(CustodianOptions options, DataPaths paths, FirstStart firstStart, bool startEventLog = true)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddFilter(_ => false));
        services.AddCustodianCore(options, TimeProvider.System);
        var provider = services.BuildServiceProvider();
        Access.Staff.NewAccount? officer;
        try
        {
            officer = startEventLog
                ? await CustodianComposition.InitialiseAsync(provider, enforceMaskingPolicy: false, CancellationToken.None)
                : await CustodianComposition.InitialiseWithoutEventLogAsync(provider, CancellationToken.None);
        }
        catch
        {
            await provider.DisposeAsync();
            firstStart.RollBack();
            throw;
        }

        if (officer is not null)
        {
            CliOutput.PrintOfficer(officer);
        }

        return new CliContext(provider);
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

    /// <summary>
    /// The CLI form of a service's refusal: a validation error (HTTP status 400, a value given on the command line) is a
    /// usage error, exit 1, its message followed by each field's first rule that the message does not already state
    /// ("field: rule; …"); any other refusal (not found, conflict, state) exits 2 with the message alone. The README's
    /// exit-code table is the rule.
    /// </summary>
    public static CliException From(Problems.CustodianError error)
    {
        if (error.Status != 400)
        {
            return new CliException(error.Message);
        }

        var rules = (error.Errors ?? new Dictionary<string, string[]>())
            .Where(e => e.Value.Length > 0 && !error.Message.Contains(e.Value[0], StringComparison.Ordinal))
            .Select(e => $"{e.Key}: {e.Value[0]}")
            .ToList();
        return Usage(rules.Count == 0 ? error.Message : error.Message + " " + string.Join("; ", rules));
    }
}

/// <summary>Shared console output.</summary>
internal static class CliOutput
{
    public static void PrintOfficer(Access.Staff.NewAccount officer)
    {
        // Plain lines: secrets and URIs must not be wrapped or styled by the console renderer.
        AnsiConsole.MarkupLine("[yellow bold]New data directory: the first security-officer account was created. This is shown ONCE.[/]");
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
