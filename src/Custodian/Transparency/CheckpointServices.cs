using System.ComponentModel.DataAnnotations;
using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Storage;
using Microsoft.Extensions.Logging;

namespace Custodian.Transparency;

/// <summary>Registers signed checkpoints, cosignatures and receipts (docs/ledger-format.md, "Checkpoints").</summary>
public static class CheckpointServices
{
    /// <summary>
    /// Adds <see cref="CheckpointOptions"/> (bound from the environment, <c>Custodian__Checkpoints__*</c>,
    /// and validated now), the checkpoint tables' migrations, <see cref="CheckpointStore"/>,
    /// <see cref="CheckpointAudit"/> and <see cref="LedgerCheckpoints"/> with the log key at
    /// <c>&lt;data&gt;/checkpoints/log.key</c> (created on first use).
    /// </summary>
    /// <param name="services">The collection.</param>
    /// <param name="paths">The data directory layout.</param>
    /// <returns>The collection.</returns>
    /// <exception cref="InvalidOperationException">When a checkpoint setting is invalid.</exception>
    public static IServiceCollection AddLedgerCheckpoints(this IServiceCollection services, DataPaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var options = new CheckpointOptions();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(CheckpointOptions.Section).Bind(options);
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
            || !NoteKeyIds.IsValidName(options.EffectiveOrigin()))
        {
            throw new InvalidOperationException("invalid checkpoint settings (Custodian__Checkpoints__*): IntervalSeconds must be 1-3600, MaxFutureSkewSeconds 0-86400, and Origin a name without spaces or '+'.");
        }

        services.AddSingleton(options);
        services.AddSingleton<IMigrationSource, CheckpointMigrations>();
        services.AddSingleton<CheckpointStore>();
        services.AddSingleton<CheckpointAudit>();
        services.AddSingleton(sp => new LedgerCheckpoints(
            sp.GetRequiredService<ILedgerProofs>(),
            sp.GetRequiredService<CheckpointStore>(),
            sp.GetRequiredService<CustodianDatabase>(),
            () => LogKeyFile.LoadOrCreate(LogKeyFile.PathFor(paths.Root), sp.GetRequiredService<CheckpointOptions>().EffectiveOrigin()),
            sp.GetRequiredService<CheckpointOptions>(),
            sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}

/// <summary>
/// Hosted service of the server: on start (creating the log key on first start) and then every
/// <see cref="CheckpointOptions.IntervalSeconds"/> on the injected clock, signs a checkpoint of the
/// newest tree head when the ledger grew. A failure is logged and retried at the next tick.
/// </summary>
public sealed class CheckpointPublisher(LedgerCheckpoints checkpoints, CheckpointOptions options, TimeProvider time, ILogger<CheckpointPublisher> logger) : BackgroundService
{
    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Create (or load) the key now: a bad key file stops the server at start, not at the first tick.
        var key = checkpoints.LogKey.ToString();
        CheckpointLog.CheckpointKey(logger, key);
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.IntervalSeconds), time);
        do
        {
            try
            {
                var before = await checkpoints.Store.GetLatestAsync(0, stoppingToken);
                var after = await checkpoints.SignLatestAsync(stoppingToken);
                if (after is not null && after.Size != before?.Size)
                {
                    CheckpointLog.CheckpointSigned(logger, after.Size);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or InvalidOperationException)
            {
                CheckpointLog.CheckpointFailed(logger, ex);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>Log catalog of checkpoints (event IDs 2600–2649). Only sizes, key names and exception types; never entry contents.</summary>
internal static partial class CheckpointLog
{
    [LoggerMessage(EventId = 2600, Level = LogLevel.Information, Message = "Ledger checkpoint key (verifier key for witnesses and verifiers): {VerifierKey}")]
    public static partial void CheckpointKey(ILogger logger, string verifierKey);

    [LoggerMessage(EventId = 2601, Level = LogLevel.Debug, Message = "Ledger checkpoint signed at tree size {TreeSize}.")]
    public static partial void CheckpointSigned(ILogger logger, long treeSize);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Error, Message = "Signing a ledger checkpoint failed; retrying at the next interval.")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2603, Level = LogLevel.Information, Message = "Cosignature of witness {Witness} accepted for tree size {TreeSize}.")]
    public static partial void CosignatureAccepted(ILogger logger, string witness, long treeSize);

    [LoggerMessage(EventId = 2604, Level = LogLevel.Warning, Message = "Cosignature refused: {ErrorCode}.")]
    public static partial void CosignatureRefused(ILogger logger, string errorCode);
}
